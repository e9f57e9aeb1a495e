package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/emiago/sipgo/sip"
	"github.com/robfig/cron/v3"
)

// recDoer is a presence server in memory: it answers every PUBLISH with 200
// and records, per presentity, which document it holds from when.
type recDoer struct {
	mu    sync.Mutex
	n     int
	held  map[string][]byte    // presentity -> body in force; absent: none
	until map[string]time.Time // presentity -> when its publication expires
	log   []pubRecord
	fail  map[string]bool // presentities whose PUBLISH gets 503
	etags map[string]string
}

type pubRecord struct {
	at   time.Time
	aor  string
	body []byte // nil: removed
	op   string
}

func newRecDoer() *recDoer {
	return &recDoer{held: map[string][]byte{}, until: map[string]time.Time{}, fail: map[string]bool{}, etags: map[string]string{}}
}

func (d *recDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	aor := "sip:" + req.Recipient.User + "@" + req.Recipient.Host
	if h := req.GetHeader("Event"); h != nil && h.Value() != "presence" {
		// Another event package (the BLF lamp's dialog) is another
		// publication: kept apart under "EVENT AOR".
		aor = h.Value() + " " + aor
	}
	if d.fail[aor] {
		return sip.NewResponseFromRequest(req, 503, "Service Unavailable", nil), nil
	}
	exp := 3600
	if h := req.GetHeader("Expires"); h != nil {
		exp, _ = strconv.Atoi(h.Value())
	}
	now := time.Now()
	switch {
	case exp == 0:
		delete(d.held, aor)
		d.log = append(d.log, pubRecord{at: now, aor: aor, op: "remove"})
	case isFarewell(req.Body()):
		// Watchers get nothing from it (farewell.go); the removal follows.
		d.held[aor] = bytes.Clone(req.Body())
		d.log = append(d.log, pubRecord{at: now, aor: aor, body: bytes.Clone(req.Body()), op: "farewell"})
	case len(req.Body()) > 0:
		d.held[aor] = bytes.Clone(req.Body())
		d.log = append(d.log, pubRecord{at: now, aor: aor, body: bytes.Clone(req.Body()), op: "publish"})
	}
	if exp > 0 {
		d.until[aor] = now.Add(time.Duration(exp) * time.Second)
	}
	d.n++
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("SIP-ETag", fmt.Sprintf("e%d", d.n)))
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(exp)))
	return res, nil
}

// isFarewell reports whether body is the presence farewell.
func isFarewell(body []byte) bool {
	d, err := pidf.Unmarshal(body)
	return err == nil && d.Farewell
}

func (d *recDoer) records(aor string) []pubRecord {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []pubRecord
	for _, r := range d.log {
		if r.aor == aor {
			out = append(out, r)
		}
	}
	return out
}

func (d *recDoer) heldState(t *testing.T, aor string) (rules.State, bool) {
	t.Helper()
	d.mu.Lock()
	body, ok := d.held[aor]
	if ok && !time.Now().Before(d.until[aor]) {
		delete(d.held, aor) // expired
		ok = false
	}
	d.mu.Unlock()
	if !ok {
		return rules.State{}, false
	}
	return decodeState(t, body), true
}

// decodeState reads back what phones see of a document.
func decodeState(t *testing.T, body []byte) rules.State {
	t.Helper()
	doc, err := pidf.Unmarshal(body)
	if err != nil {
		t.Fatalf("pidf.Unmarshal(%s) = %v", body, err)
	}
	var s rules.State
	if len(doc.Tuples) > 0 {
		s.Basic = doc.Tuples[0].Basic
		if len(doc.Tuples[0].Notes) > 0 {
			s.Note = doc.Tuples[0].Notes[0].Text
		}
	}
	if len(doc.Persons) > 0 && doc.Persons[0].Activities != nil {
		for _, a := range doc.Persons[0].Activities.Values {
			s.Activities = append(s.Activities, a.Name)
		}
	}
	return s
}

func sameState(a, b rules.State) bool {
	return a.Basic == b.Basic && slices.Equal(a.Activities, b.Activities) && a.Note == b.Note
}

func fmtState(s rules.State) string {
	return fmt.Sprintf("%s %v %q", s.Basic, s.Activities, s.Note)
}

// fakeSource serves an ICS text that a test may change, or an error.
type fakeSource struct {
	name string
	zone *time.Location

	mu      sync.Mutex
	ics     string
	err     error
	block   bool // Fetch waits until its ctx ends
	fetches int
	last    []*calendar.Event
	lastICS string
}

func (s *fakeSource) Name() string { return s.name }

func (s *fakeSource) set(ics string, err error) {
	s.mu.Lock()
	s.ics, s.err = ics, err
	s.mu.Unlock()
}

func (s *fakeSource) Fetch(ctx context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	s.mu.Lock()
	s.fetches++
	ics, err, block := s.ics, s.err, s.block
	s.mu.Unlock()
	if block {
		<-ctx.Done()
		return nil, nil, fmt.Errorf("fetch %s: %w", s.name, ctx.Err())
	}
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ics == s.lastICS && s.last != nil {
		return s.last, nil, nil // unchanged, as a 304 would say
	}
	evs, warns, err := calendar.ParseICS(strings.NewReader(ics), calendar.ParseOptions{
		Calendar: s.name, Source: s.name + ".ics", Zone: s.zone, Me: []string{"mailto:alice@example.com"},
	})
	if err != nil {
		return nil, warns, err
	}
	s.last, s.lastICS = evs, ics
	return evs, warns, nil
}

func builtin(t testing.TB) *rules.Rules {
	t.Helper()
	rs, err := rules.Parse("rules.example.toml", calpresence.DefaultRules())
	if err != nil {
		t.Fatalf("rules.Parse(built-in) = %v", err)
	}
	return rs
}

func zoneBerlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// icsEvent is one VEVENT for the generated calendars.
type icsEvent struct {
	uid, summary string
	start, end   time.Time
	allDay       bool
	attendees    int
	class        string
	transparent  bool
	rrule        string
	exdates      []time.Time
}

func buildICS(events []icsEvent) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calpresence//test//EN\r\n")
	for _, e := range events {
		b.WriteString("BEGIN:VEVENT\r\nUID:" + e.uid + "\r\nDTSTAMP:20000101T000000Z\r\n")
		if e.allDay {
			fmt.Fprintf(&b, "DTSTART;VALUE=DATE:%s\r\nDTEND;VALUE=DATE:%s\r\n", e.start.Format("20060102"), e.end.Format("20060102"))
		} else {
			fmt.Fprintf(&b, "DTSTART:%s\r\nDTEND:%s\r\n", e.start.UTC().Format("20060102T150405Z"), e.end.UTC().Format("20060102T150405Z"))
		}
		b.WriteString("SUMMARY:" + e.summary + "\r\n")
		if e.rrule != "" {
			b.WriteString("RRULE:" + e.rrule + "\r\n")
		}
		for _, x := range e.exdates {
			b.WriteString("EXDATE:" + x.UTC().Format("20060102T150405Z") + "\r\n")
		}
		if e.class != "" {
			b.WriteString("CLASS:" + e.class + "\r\n")
		}
		if e.transparent {
			b.WriteString("TRANSP:TRANSPARENT\r\n")
		}
		for i := range e.attendees {
			fmt.Fprintf(&b, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:p%d@example.com\r\n", i)
		}
		b.WriteString("END:VEVENT\r\n")
	}
	b.WriteString("END:VCALENDAR\r\n")
	return b.String()
}

// busyMonth is a month of a busy calendar from start: recurring meetings,
// daily lunch, many overlapping one-off events of every kind, a vacation.
func busyMonth(start time.Time, zone *time.Location) string {
	day0 := startOfDay(start, zone)
	at := func(d, h, m int) time.Time {
		return time.Date(day0.Year(), day0.Month(), day0.Day()+d, h, m, 0, 0, zone)
	}
	evs := []icsEvent{
		{uid: "standup", summary: "Stand-up", start: at(0, 9, 0), end: at(0, 9, 15), attendees: 5,
			rrule: "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", exdates: []time.Time{at(7, 9, 0)}},
		{uid: "lunch", summary: "Lunch", start: at(0, 12, 0), end: at(0, 13, 0), rrule: "FREQ=DAILY"},
		{uid: "vacation", summary: "Vacation", start: at(17, 0, 0), end: at(20, 0, 0), allDay: true},
		{uid: "offsite", summary: "Company offsite", start: at(24, 0, 0), end: at(25, 0, 0), allDay: true},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 120 {
		d, h, m := r.IntN(30), 7+r.IntN(11), 5*r.IntN(12)
		s := at(d, h, m)
		e := icsEvent{uid: fmt.Sprintf("ev%d", i), summary: fmt.Sprintf("Event %d", i), start: s,
			end: s.Add(time.Duration(15+15*r.IntN(8)) * time.Minute)}
		switch r.IntN(6) {
		case 0:
			e.attendees = 2 + r.IntN(4)
		case 1:
			e.class = "PRIVATE"
		case 2:
			e.transparent = true
		case 3:
			e.summary = "Team lunch"
		}
		evs = append(evs, e)
	}
	return buildICS(evs)
}

type agentHarness struct {
	a      *Agent
	doer   *recDoer
	cancel context.CancelFunc
	done   chan struct{}
}

func startAgent(t *testing.T, d *recDoer, store *stateStore, opts Options, specs ...User) *agentHarness {
	t.Helper()
	if opts.JumpCheck == 0 {
		opts.JumpCheck = time.Hour
	}
	opts.Doer, opts.StateDir = d, store.dir
	a := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	h := &agentHarness{a: a, doer: d, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(h.done)
		a.Run(ctx, specs)
	}()
	// A failed check ends the test function; the agent must stop too, or
	// the bubble's timers would keep fake time running forever.
	t.Cleanup(h.stop)
	return h
}

// stop stops the agent and waits for it; it may be called more than once.
func (h *agentHarness) stop() {
	h.cancel()
	<-h.done
}

func userFor(aor string, zone *time.Location, rs *rules.Rules, srcs ...*fakeSource) User {
	s := User{
		ID: aor, Zone: zone, Rules: rs,
		Publisher: publisher.Options{AOR: aor, Proxy: "sip:127.0.0.1:5060;transport=tcp", ClockCheck: time.Hour},
	}
	for _, src := range srcs {
		s.Calendars = append(s.Calendars, Calendar{Name: src.name, Source: src, Poll: cron.Every(5 * time.Minute), Key: src.name})
	}
	return s
}

// A month of a busy calendar in fake time: at every boundary the state the
// server holds is what rules.Timeline (and so `preview`) computes, every
// document published was the right one at the instant it went out, and
// nothing is left running afterwards.
func TestAgentMonth(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		// The bubble's clock starts on 1 Jan 2000; the month runs over the
		// night Berlin moves to summer time (26 Mar 2000).
		time.Sleep(time.Until(time.Date(2000, 3, 10, 6, 0, 0, 0, time.UTC)))
		start := time.Now()
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone, ics: busyMonth(start, zone)}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, userFor(aor, zone, rs, src))

		events, _, err := calendar.ParseICS(strings.NewReader(src.ics), calendar.ParseOptions{Calendar: "work", Zone: zone, Me: []string{"mailto:alice@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		end := start.AddDate(0, 0, 31)
		occs, _ := calendar.Expand(events, start.AddDate(0, 0, -2), end.AddDate(0, 0, 2), calendar.ExpandOptions{Zone: zone})
		want := rs.Timeline(occs, start.AddDate(0, 0, -1), end, zone)
		if len(want) < 200 {
			t.Fatalf("the busy month has only %d segments", len(want))
		}

		checked := 0
		for _, seg := range want {
			if !seg.Start.After(start) {
				continue
			}
			time.Sleep(time.Until(seg.Start))
			synctest.Wait()
			got, ok := d.heldState(t, aor)
			if saysNothing(seg) {
				// Nothing is published: the segment before lapses
				// with its end (rounded up to the second).
				if at := seg.Start.Add(time.Second); at.Before(seg.End) {
					time.Sleep(time.Until(at))
					synctest.Wait()
					if got, ok := d.heldState(t, aor); ok {
						t.Fatalf("at %v the server holds %s, want nothing (the default says nothing)", at.In(zone), fmtState(got))
					}
					checked++
				}
				continue
			}
			if !ok || !sameState(got, seg.State) {
				t.Fatalf("at %v the server holds %s (held %v), want %s (rule %q)", seg.Start.In(zone), fmtState(got), ok, fmtState(seg.State), seg.Rule)
			}
			checked++
		}
		h.stop()
		synctest.Wait()
		if _, ok := d.heldState(t, aor); ok {
			t.Errorf("after stop the server still holds a publication")
		}
		// Every document went out when it was right, never early or late,
		// and never twice in a row (no flapping).
		recs := d.records(aor)
		var prev []byte
		for i, r := range recs {
			if r.op == "farewell" && (i+1 == len(recs) || recs[i+1].op != "remove") {
				t.Errorf("at %v a farewell not followed by the removal", r.at.In(zone))
			}
			if r.op != "publish" {
				continue
			}
			st := decodeState(t, r.body)
			i, found := slices.BinarySearchFunc(want, r.at, func(s rules.Segment, at time.Time) int {
				switch {
				case s.End.Compare(at) <= 0:
					return -1
				case s.Start.After(at):
					return 1
				}
				return 0
			})
			if !found || !sameState(st, want[i].State) {
				t.Errorf("at %v published %s, want %v", r.at.In(zone), fmtState(st), want[min(i, len(want)-1)].State)
			}
			if bytes.Equal(prev, r.body) {
				t.Errorf("at %v the same document was published again", r.at.In(zone))
			}
			prev = r.body
		}
		if checked < 200 {
			t.Errorf("checked %d boundaries, want at least 200", checked)
		}
		assertStopped(t, h.a)
	})
}

// assertStopped checks that no timer of the agent is armed and no calendar
// scheduled after Run.
func assertStopped(t *testing.T, a *Agent) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, p := range a.users {
		if p.rebuild.Stop() {
			t.Errorf("user %s: rebuild timer still armed after Run", p.id)
		}
		for _, c := range p.cals {
			if st := c.poll.Status(); !st.Next.IsZero() {
				t.Errorf("user %s calendar %s: poll still scheduled at %v after Run", p.id, c.spec.Name, st.Next)
			}
		}
	}
}

// meetingICS is one meeting (two attendees: Do Not Disturb) in [s, e).
func meetingICS(s, e time.Time) string {
	return buildICS([]icsEvent{{uid: "m1", summary: "Review", start: s, end: e, attendees: 3}})
}

// A calendar that fails keeps its last good data until the staleness limit,
// then the default presence applies; the saved data carries over a restart.
func TestAgentStaleAndRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		store := &stateStore{dir: t.TempDir()}
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(10*time.Hour))}
		d := newRecDoer()
		opts := Options{StaleAfter: 3 * time.Hour}
		h := startAgent(t, d, store, opts, userFor(aor, zone, rs, src))
		time.Sleep(time.Minute)
		synctest.Wait()
		if got, ok := d.heldState(t, aor); ok {
			t.Fatalf("before the meeting the server holds %s, want nothing (the default says nothing)", fmtState(got))
		}
		// The calendar breaks; the meeting still starts.
		src.set("", errors.New("fetch work: 503 Service Unavailable"))
		time.Sleep(time.Hour)
		synctest.Wait()
		if got, _ := d.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("during the meeting, calendar down, the server holds %s, want closed", fmtState(got))
		}
		h.stop()

		// A restart while the calendar is still down publishes the saved data.
		time.Sleep(time.Minute)
		d2 := newRecDoer()
		h2 := startAgent(t, d2, store, opts, userFor(aor, zone, rs, src))
		time.Sleep(time.Second)
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("after a restart with the calendar down the server holds %s, want closed (saved data)", fmtState(got))
		}
		// Three hours after the last good poll the data is stale: default.
		time.Sleep(time.Until(start.Add(3*time.Hour + time.Second)))
		synctest.Wait()
		if got, ok := d2.heldState(t, aor); ok {
			t.Fatalf("with stale data the server holds %s, want nothing (the default says nothing)", fmtState(got))
		}
		// The calendar comes back: the meeting is back at the next poll.
		src.set(meetingICS(start.Add(time.Hour), start.Add(10*time.Hour)), nil)
		time.Sleep(5 * time.Minute)
		synctest.Wait()
		if got, _ := d2.heldState(t, aor); got.Basic != "closed" {
			t.Fatalf("after the calendar recovered the server holds %s, want closed", fmtState(got))
		}
		h2.stop()
		assertStopped(t, h2.a)
	})
}

// An edit of the calendar moves the flip at the next poll; a reload swaps
// rules and users without touching the others.
func TestAgentEditAndApply(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		start := time.Now()
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(2*time.Hour))}
		bobSrc := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(2*time.Hour))}
		d := newRecDoer()
		alice := userFor("sip:alice@example.com", zone, rs, src)
		bob := userFor("sip:bob@example.com", zone, rs, bobSrc)
		h := startAgent(t, d, &stateStore{}, Options{}, alice, bob)

		// Move alice's meeting 30 minutes earlier; the next poll sees it.
		time.Sleep(10 * time.Minute)
		src.set(meetingICS(start.Add(30*time.Minute), start.Add(2*time.Hour)), nil)
		time.Sleep(time.Until(start.Add(30*time.Minute + time.Second)))
		synctest.Wait()
		if got, _ := d.heldState(t, "sip:alice@example.com"); got.Basic != "closed" {
			t.Fatalf("after the edit alice's meeting should have started: server holds %s", fmtState(got))
		}
		if got, ok := d.heldState(t, "sip:bob@example.com"); ok {
			t.Fatalf("bob's meeting has not started: server holds %s, want nothing", fmtState(got))
		}

		// Reload: rules that make every event "open, busy"; bob leaves.
		strict, err := rules.Parse("all-open.toml", []byte(`
[default]
basic = "open"

[[rule]]
name = "all"
[rule.presence]
basic = "open"
activities = ["busy"]
note = "Busy"
`))
		if err != nil {
			t.Fatalf("rules.Parse = %v", err)
		}
		alice2 := userFor("sip:alice@example.com", zone, strict, src)
		h.a.Apply([]User{alice2})
		synctest.Wait()
		if got, _ := d.heldState(t, "sip:alice@example.com"); got.Basic != "open" || !slices.Equal(got.Activities, []string{"busy"}) {
			t.Errorf("after reload alice's server state = %s, want open [busy]", fmtState(got))
		}
		if _, ok := d.heldState(t, "sip:bob@example.com"); ok {
			t.Errorf("after reload without bob his publication is still held")
		}
		if n := src.fetches; n == 0 {
			t.Errorf("alice's calendar was never fetched")
		}
		h.stop()
		assertStopped(t, h.a)
	})
}

// A calendar that hangs holds up neither its user's other work beyond the
// fetch timeout nor any other user.
func TestAgentSlowCalendarIsolated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		start := time.Now()
		var specs []User
		d := newRecDoer()
		for i := range 40 {
			s := &fakeSource{name: "work", zone: zone, block: true}
			specs = append(specs, userFor(fmt.Sprintf("sip:slow%d@example.com", i), zone, rs, s))
		}
		fast := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Minute), start.Add(time.Hour))}
		specs = append(specs, userFor("sip:fast@example.com", zone, rs, fast))
		h := startAgent(t, d, &stateStore{}, Options{FetchTimeout: 30 * time.Second}, specs...)
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if got, _ := d.heldState(t, "sip:fast@example.com"); got.Basic != "closed" {
			t.Fatalf("the fast user's meeting did not go out on time: server holds %s", fmtState(got))
		}
		// The slow users have the default once their fetch timed out,
		// which says nothing, so nothing is published.
		found := false
		for _, u := range h.a.Stats().Users {
			if u.ID == "sip:slow0@example.com" {
				found = true
				if !u.HasPresence || u.Current.Basic != "open" {
					t.Errorf("a user whose calendar timed out has no timeline: %+v", u.Current)
				}
			}
		}
		if !found {
			t.Errorf("Stats lacks sip:slow0@example.com")
		}
		if got, ok := d.heldState(t, "sip:slow0@example.com"); ok {
			t.Errorf("a user whose calendar timed out publishes %s, want nothing", fmtState(got))
		}
		h.stop()
	})
}

// A failing calendar is retried less and less often, but never later than
// its schedule; a clock jump polls the calendars that fell due at once and
// rebuilds every timeline.
func TestAgentBackoffAndCatchUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		src := &fakeSource{name: "work", zone: zone, err: errors.New("fetch work: connection refused")}
		spec := userFor("sip:alice@example.com", zone, builtin(t), src)
		spec.Calendars[0].Poll = cron.Every(time.Hour)
		h := startAgent(t, newRecDoer(), &stateStore{}, Options{}, spec)
		time.Sleep(time.Minute)
		synctest.Wait()
		src.mu.Lock()
		n := src.fetches
		src.mu.Unlock()
		// Retries after 0.5-1, 1-2, 2-4, ... 16-32 s: 6 to 8 polls in the
		// first minute, not 60 (every second) nor 1 (the schedule).
		if n < 5 || n > 9 {
			t.Errorf("a failing calendar was fetched %d times in a minute, want about 7", n)
		}
		if st := h.a.users["sip:alice@example.com"].cals[0].poll.Status(); st.Failures != n {
			t.Errorf("Status() = %+v, want %d failures", st, n)
		}

		// A calendar on @every 1s is polled every second however it fails.
		src.set("", errors.New("fetch work: connection refused"))
		spec.Calendars[0].Poll = cron.Every(time.Second)
		h.a.Apply([]User{spec})
		time.Sleep(10 * time.Second)
		synctest.Wait()
		src.mu.Lock()
		n2 := src.fetches
		src.mu.Unlock()
		if n2-n < 9 || n2-n > 11 {
			t.Errorf("a failing calendar on @every 1s was fetched %d times in 10s, want 10", n2-n)
		}
		spec.Calendars[0].Poll = cron.Every(time.Hour)
		h.a.Apply([]User{spec})
		time.Sleep(10 * time.Minute) // back to the backoff: the next try is minutes away
		synctest.Wait()

		// The wall clock jumps past the next poll (as after a suspend): the
		// catch-up polls at once, and the agent rebuilds the timelines.
		src.mu.Lock()
		n = src.fetches
		src.mu.Unlock()
		rebuilds := h.a.rebuilds.Load()
		h.a.sched.CatchUp(time.Now().Add(time.Hour))
		// Rebuilds go through one queue, which merges the requests that
		// wait in it: the poll's is let through before the jump's comes.
		synctest.Wait()
		h.a.clockJumped(time.Hour)
		synctest.Wait()
		src.mu.Lock()
		m := src.fetches
		src.mu.Unlock()
		if m != n+1 {
			t.Errorf("after a clock jump the calendar was fetched %d more times, want 1", m-n)
		}
		if r := h.a.rebuilds.Load(); r < rebuilds+2 {
			t.Errorf("after a clock jump %d rebuilds, want the poll's and the jump's", r-rebuilds)
		}
		h.stop()
		assertStopped(t, h.a)
	})
}

// A source that panics fails its polls; the user publishes without it and
// the agent goes on.
func TestAgentSourcePanics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		start := time.Now()
		good := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Minute), start.Add(time.Hour))}
		spec := userFor("sip:alice@example.com", zone, builtin(t), good)
		spec.Calendars = append(spec.Calendars, Calendar{Name: "broken", Source: panicSource{}, Poll: cron.Every(5 * time.Minute), Key: "broken"})
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, spec)
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		if got, _ := d.heldState(t, "sip:alice@example.com"); got.Basic != "closed" {
			t.Errorf("with one calendar panicking the server holds %s, want the other's meeting (closed)", fmtState(got))
		}
		c := h.a.users["sip:alice@example.com"].cals[1]
		if st := c.poll.Status(); st.LastErr == nil || !strings.Contains(st.LastErr.Error(), "panicked") || st.Errors == 0 {
			t.Errorf("Status() of the panicking calendar = %+v, want the panic as its error", st)
		}
		h.stop()
	})
}

type panicSource struct{}

func (panicSource) Name() string { return "broken" }

func (panicSource) Fetch(context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	panic("nil map")
}

// The agent tells the time by its Clock alone: on a clock that runs in 2031
// at 60 times real speed, the timeline, the segment in force and what the
// publisher sends all follow that clock, not the machine's.
func TestAgentOnInjectedClock(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		sim := time.Date(2031, 1, 6, 8, 0, 0, 0, time.UTC)
		clk := clock.NewScaled(sim, 60)
		const aor = "sip:alice@example.com"
		meeting := sim.Add(time.Hour)
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(meeting, meeting.Add(time.Hour))}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{Clock: clk}, userFor(aor, zone, builtin(t), src))

		time.Sleep(time.Second) // a minute on clk
		st := h.a.Stats()
		if len(st.Users) != 1 || !st.Users[0].HasPresence {
			t.Fatalf("Stats() = %+v, want alice with a presence in force", st)
		}
		u := st.Users[0]
		if now := clk.Now(); u.Current.Start.After(now) || !u.Current.End.After(now) || u.Current.End.After(meeting) {
			t.Errorf("at %v the segment in force is [%v, %v), want one holding now and ending by the meeting at %v",
				now, u.Current.Start, u.Current.End, meeting)
		}
		if u.Current.Rule != "" {
			t.Errorf("before the meeting the rule in force is %q, want the default presence", u.Current.Rule)
		}

		time.Sleep(time.Until(time.Now().Add(90 * time.Second))) // 09:31 on clk
		u = h.a.Stats().Users[0]
		if !u.HasPresence || u.Current.Rule == "" || u.Current.Start.After(meeting) || u.Current.End.Before(meeting.Add(time.Hour)) {
			t.Errorf("at %v the segment in force is %+v, want the meeting's", clk.Now(), u.Current)
		}
		held, ok := d.heldState(t, aor)
		if !ok || held.Basic != u.Current.Basic || strings.Join(held.Activities, ",") != u.Current.Activities {
			t.Errorf("the server holds %s (%v), want %s %s", fmtState(held), ok, u.Current.Basic, u.Current.Activities)
		}
	})
}

// A lag of two days carries a meeting of two days ago into today's timeline
// of the agent just as preview shows it: the agent reads the events of the
// rules' window, not only those of its own days.
func TestAgentLongLag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rs, err := rules.Parse("lag.toml", []byte(`[default]
basic = "open"
[[rule]]
name = "debrief"
lag = "50h"
[rule.presence]
basic = "closed"
activities = ["busy"]
`))
		if err != nil {
			t.Fatal(err)
		}
		zone := zoneBerlin(t)
		time.Sleep(time.Until(time.Date(2000, 3, 10, 7, 0, 0, 0, time.UTC))) // 08:00 in Berlin
		now := time.Now()
		meeting := now.Add(-47 * time.Hour) // two days ago, 09:00; counts until today 12:00
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(meeting, meeting.Add(time.Hour))}
		d := newRecDoer()
		h := startAgent(t, d, &stateStore{}, Options{}, userFor(aor, zone, rs, src))
		time.Sleep(time.Second)

		// What preview computes for today.
		events, _, err := calendar.ParseICS(strings.NewReader(src.ics), calendar.ParseOptions{Calendar: "work", Zone: zone})
		if err != nil {
			t.Fatal(err)
		}
		from, to := startOfDay(now, zone), startOfDay(now, zone).AddDate(0, 0, 1)
		evFrom, evTo := rs.Window(from, to)
		occs, _ := calendar.Expand(events, evFrom, evTo, calendar.ExpandOptions{Zone: zone})
		var want rules.Segment
		for _, s := range rs.Timeline(occs, from, to, zone) {
			if !s.Start.After(now) && s.End.After(now) {
				want = s
			}
		}
		if want.Rule != "debrief" || !want.End.Equal(meeting.Add(51*time.Hour)) {
			t.Fatalf("preview's segment at %v = %+v, want the debrief until %v", now, want, meeting.Add(51*time.Hour))
		}
		u := h.a.Stats().Users[0]
		if !u.HasPresence || u.Current.Rule != want.Rule || !u.Current.End.Equal(want.End) || u.Current.Basic != want.State.Basic {
			t.Errorf("the agent's segment at %v = %+v, want preview's %+v", now, u.Current, want)
		}
		if held, ok := d.heldState(t, aor); !ok || !sameState(held, want.State) {
			t.Errorf("the server holds %s, want %s", fmtState(held), fmtState(want.State))
		}
	})
}

// A change to a field that the presence does not show (the description)
// is saved at the next poll, not up to an hour later: the save hash covers
// every field of calendar's JSON form.
func TestAgentSavesEveryChange(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		store := &stateStore{dir: t.TempDir()}
		ics := meetingICS(start.Add(time.Hour), start.Add(2*time.Hour))
		src := &fakeSource{name: "work", zone: zone, ics: ics}
		h := startAgent(t, newRecDoer(), store, Options{}, userFor(aor, zone, builtin(t), src))
		time.Sleep(time.Minute)
		synctest.Wait()
		saved := func() string {
			sc, ok, err := store.Load(aor, "work")
			if err != nil || !ok {
				t.Fatalf("Load() = _, %v, %v, want the saved calendar", ok, err)
			}
			occs, err := sc.occurrences()
			if err != nil || len(occs) != 1 {
				t.Fatalf("saved occurrences = %v, %v, want the meeting", occs, err)
			}
			return occs[0].Description
		}
		if d := saved(); d != "" {
			t.Fatalf("saved description = %q, want none", d)
		}
		src.set(strings.Replace(ics, "SUMMARY:Review\r\n", "SUMMARY:Review\r\nDESCRIPTION:Agenda\r\n", 1), nil)
		time.Sleep(5 * time.Minute) // the next poll
		synctest.Wait()
		if d := saved(); d != "Agenda" {
			t.Errorf("saved description after the next poll = %q, want %q", d, "Agenda")
		}
		h.stop()
	})
}
