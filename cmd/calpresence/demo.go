package main

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"github.com/calpresence/calpresence/pidf"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/robfig/cron/v3"
)

// demoICS is the demo's calendar: events that recur every day, in floating
// time, so that the demo shows the same day wherever it runs.
//
//go:embed demo.ics
var demoICS []byte

// demoAOR is the demo's presentity; demoProxy is where its requests would
// go: a presence server on the same machine, so that the dry run needs no
// DNS.
const (
	demoAOR   = "sip:alice@example.com"
	demoProxy = "sip:127.0.0.1:5060;transport=tcp"
)

func runDemo(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "demo", "usage: calpresence demo [-speed N] [-tz ZONE] [-start T] [-duration D]",
		"Publishes an embedded example calendar through the built-in rules to a dry-run sink that prints each PUBLISH.")
	speed := fs.Float64("speed", 1, "run the clock `N` times faster")
	tz := fs.String("tz", "", "IANA `zone` of the calendar's times (default: the machine's zone)")
	duration := fs.Duration("duration", 0, "stop after this much simulated time (default: run until interrupted)")
	start := fs.String("start", "", "simulated start time, RFC 3339 or a date (default: now)")
	logLevel := fs.String("log-level", "warn", "log `level`: debug, info, warn or error")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	if !(*speed > 0) || *speed > 1e7 {
		fmt.Fprintln(e.stderr, "calpresence demo: -speed must be a number above 0 and at most 10000000.")
		return 2
	}
	zone, err := demoZone(*tz)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence demo: %v.\n", err)
		return 2
	}
	log, err := newLogger(e.stderr, "text", *logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence demo: %v.\n", err)
		return 2
	}
	now := time.Now()
	simStart := now
	if *start != "" {
		if simStart, err = parseTime("start", *start, zone); err != nil {
			fmt.Fprintf(e.stderr, "calpresence demo: %v.\n", err)
			return 2
		}
	}
	rs, err := loadRules("")
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence demo: built-in rules: %v.\n", err)
		return 1
	}
	events, warns, err := calendar.ParseICS(bytes.NewReader(demoICS), calendar.ParseOptions{
		Calendar: "demo", Source: "demo.ics", Zone: zone, Me: []string{"mailto:alice@example.com"},
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence demo: embedded calendar: %v.\n", err)
		return 1
	}
	for _, w := range warns {
		fmt.Fprintf(e.stderr, "calpresence demo: embedded calendar: %s\n", w)
	}

	out := &syncWriter{w: e.stdout}
	d := &demo{out: out, zone: zone, simStart: simStart}
	sink, err := newDryRunSink(out, d.simTimeOf)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence demo: %v.\n", err)
		return 1
	}
	if *speed != 1 || *start != "" {
		sink.label = " (simulated)"
	}
	defer sink.Close()

	fmt.Fprintf(out, "calpresence demo: the calendar of %s through the built-in rules (rules.example.toml),\n", demoAOR)
	fmt.Fprintf(out, "published to a dry-run sink that prints each PUBLISH it would send to %s;\n", demoProxy)
	fmt.Fprintf(out, "clock %s, zone %s.\n", speed2str(*speed), zone)
	fmt.Fprintf(out, "Simulated start: %s. Stop with Ctrl-C.\n", simStart.In(zone).Format("Mon 2 Jan 2006 15:04:05 MST"))

	// The simulated clock starts once everything else is set up, so that
	// at a high speed the start-up does not skip the first boundaries.
	clk := clock.NewScaled(simStart, *speed)
	d.clock = clk
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if *duration > 0 {
		t := clk.AfterFunc(*duration, cancel)
		defer t.Stop()
	}
	// The demo is the agent of `run` with one user whose calendar is
	// embedded, on the simulated clock, sending to the dry-run sink.
	a := agent.New(agent.Options{
		Logger: log, Doer: sink, Clock: clk, OnTimeline: d.timeline, OnDialogTimeline: d.dialogTimeline,
		// The embedded calendar cannot go stale, and the simulated clock
		// runs ahead of the monotonic one by design: no jumps to notice.
		StaleAfter: 100 * 365 * 24 * time.Hour, JumpCheck: 100 * 365 * 24 * time.Hour, Splay: -1,
		// The terminated dialog that turns a BLF lamp dark stays published
		// for at least 100 ms of real time, so that at any speed the timer
		// that sends it fires before the one that removes it.
		DialogLinger: max(dialoginfo.DefaultLinger, time.Duration(*speed*float64(100*time.Millisecond))),
	})
	user := agent.User{
		ID: demoAOR, Zone: zone, Rules: rs,
		Calendars: []agent.Calendar{{Name: "demo", Source: embeddedSource{events}, Poll: cron.Every(time.Hour), Key: "demo"}},
		Publisher: publisher.Options{AOR: demoAOR, Proxy: demoProxy},
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx, []agent.User{user}) }()
	<-runCtx.Done() // the agent's publisher removes the publication, which the sink prints
	select {
	case err := <-done:
		if err != nil {
			fmt.Fprintf(e.stderr, "calpresence demo: %v.\n", err)
			return 1
		}
	case <-time.After(5 * time.Second):
		fmt.Fprintln(e.stderr, "calpresence demo: the publisher did not stop within 5 s.")
		return 1
	}
	fmt.Fprintf(out, "\nDemo ended at %s (simulated).\n", clk.Now().In(zone).Format("Mon 2 Jan 15:04:05"))
	return 0
}

func speed2str(s float64) string {
	v := "real time"
	if s != 1 {
		v = strconv.FormatFloat(s, 'f', -1, 64) + "x speed"
	}
	return v
}

// demoZone is the zone named by -tz, else the machine's zone, which the
// contract makes the default for the demo.
func demoZone(name string) (*time.Location, error) {
	if name == "" {
		return time.Local, nil
	}
	return parseZone(name)
}

// embeddedSource is the demo's calendar: the events parsed from demo.ics,
// the same ones at every poll.
type embeddedSource struct{ events []*calendar.Event }

func (embeddedSource) Name() string { return "demo" }

func (s embeddedSource) Fetch(context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	return s.events, nil, nil
}

// demo prints what the agent does in the demo.
type demo struct {
	out      io.Writer
	zone     *time.Location
	clock    clock.Clock
	simStart time.Time

	mu      sync.Mutex
	printed time.Time   // the last day whose timeline was printed
	entries []demoEntry // the timeline in force, in simulated time
	dialogs []demoEntry // the BLF lamp's dialog timeline in force
}

type demoEntry struct {
	start time.Time
	body  string
}

// timeline is the agent's OnTimeline: it prints each simulated day's
// timeline once, when the agent first hands over a timeline of that day,
// before the publisher sends anything of it, and keeps the entries for
// simTimeOf.
func (d *demo) timeline(_ string, segs []rules.Segment, entries []publisher.Entry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entries = d.entries[:0]
	for _, e := range entries {
		d.entries = append(d.entries, demoEntry{start: e.Start, body: string(e.Body)})
	}
	if day := startOfDay(d.clock.Now(), d.zone); day.After(d.printed) {
		d.printed = day
		d.printDay(day, segs)
	}
}

// dialogTimeline is the agent's OnDialogTimeline: it keeps the entries of
// the BLF lamp's dialog publication for simTimeOf.
func (d *demo) dialogTimeline(_ string, entries []publisher.Entry) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.dialogs = d.dialogs[:0]
	for _, e := range entries {
		d.dialogs = append(d.dialogs, demoEntry{start: e.Start, body: string(e.Body)})
	}
}

// printDay prints the segments of one day.
func (d *demo) printDay(day time.Time, segs []rules.Segment) {
	end := day.AddDate(0, 0, 1)
	var b strings.Builder
	fmt.Fprintf(&b, "\nTimeline of %s (%s):\n", day.Format("Mon 2 Jan 2006"), d.zone)
	for _, s := range segs {
		if !s.End.After(day) {
			continue
		}
		if !s.Start.Before(end) {
			break
		}
		start, stop := s.Start, s.End
		if start.Before(day) {
			start = day
		}
		if stop.After(end) {
			stop = end
		}
		to := stop.In(d.zone).Format("15:04")
		if stop.Equal(end) {
			to = "24:00"
		}
		line := fmt.Sprintf("  %s-%s  %-6s  %-16s  %s", start.In(d.zone).Format("15:04"), to,
			s.State.Basic, strings.Join(s.State.Activities, ","), s.State.Note)
		if s.Rule != "" {
			line += "  [rule " + s.Rule + "]"
		}
		if s.State.BLF {
			line += "  BLF lit"
		}
		b.WriteString(strings.TrimRight(line, " ") + "\n")
	}
	io.WriteString(d.out, b.String())
}

// simTimeOf is the simulated instant a request belongs to: the boundary
// at which the document it carries took effect (or the demo's start), when
// the request went out at that boundary; else the simulated now.
func (d *demo) simTimeOf(body []byte) time.Time {
	now := d.clock.Now().In(d.zone)
	if len(body) == 0 {
		return now.Truncate(time.Second)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	// How far off a timer may fire, in simulated time.
	speed := 1.0
	if s, ok := d.clock.(interface{ Speed() float64 }); ok {
		speed = s.Speed()
	}
	tolerance := time.Duration(float64(250*time.Millisecond) * speed)
	for _, e := range slices.Concat(d.entries, d.dialogs) {
		if e.body != string(body) {
			continue
		}
		at := e.start
		if at.Before(d.simStart) {
			at = d.simStart
		}
		if now.Sub(at).Abs() <= tolerance {
			return at.In(d.zone)
		}
	}
	return now.Truncate(time.Second)
}

// syncWriter serializes writes from the demo loop and the sink.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// dryRunSink is a publisher.Doer that sends nothing: it prints each request
// in full, as it would go on the wire, and answers 200 OK with a SIP-ETag,
// as a presence server would.
type dryRunSink struct {
	out    io.Writer
	when   func(body []byte) time.Time
	label  string // after the time: " (simulated)" when the clock is not real
	ua     *sipgo.UserAgent
	client *sipgo.Client

	mu    sync.Mutex
	etags int
}

func newDryRunSink(out io.Writer, when func([]byte) time.Time) (*dryRunSink, error) {
	// A client that never sends: it fills in the headers that sipgo adds to
	// a request on its way out (Via, From, Call-ID, CSeq, Max-Forwards), so
	// that the printout is the whole request.
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("calpresence"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		return nil, fmt.Errorf("dry-run sink: %w", err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("dry-run sink: %w", err)
	}
	return &dryRunSink{out: out, when: when, ua: ua, client: c}, nil
}

// Close releases the sink's client.
func (s *dryRunSink) Close() error {
	s.client.Close()
	return s.ua.Close()
}

// Do prints req and answers it.
func (s *dryRunSink) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := req.Clone()
	if err := sipgo.ClientRequestBuild(s.client, r); err != nil {
		return nil, fmt.Errorf("dry-run sink: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.etags++
	res := sip.NewResponseFromRequest(r, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("SIP-ETag", fmt.Sprintf("dry%d", s.etags)))
	exp := "3600"
	if h := r.GetHeader("Expires"); h != nil {
		exp = h.Value()
	}
	res.AppendHeader(sip.NewHeader("Expires", exp))

	at := s.when(r.Body()) // in the demo's zone
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== %s%s: %s ===\n", at.Format("15:04:05"), s.label, describe(r))
	b.WriteString(r.String())
	if len(r.Body()) > 0 && !bytes.HasSuffix(r.Body(), []byte("\n")) {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "<<< %s (dry run, SIP-ETag: dry%d, Expires: %s)\n", res.StartLine(), s.etags, exp)
	io.WriteString(s.out, b.String())
	return res, nil
}

// describe names what a PUBLISH does (RFC 3903 §4), and its event
// package when it is not presence (the BLF lamp's dialog).
func describe(r *sip.Request) string {
	exp := r.GetHeader("Expires")
	match := r.GetHeader("SIP-If-Match")
	var what string
	switch {
	case exp != nil && exp.Value() == "0":
		what = "PUBLISH remove"
	case match == nil:
		what = "PUBLISH initial"
	case len(r.Body()) == 0:
		what = "PUBLISH refresh"
	case isFarewell(r):
		what = "PUBLISH farewell"
	default:
		what = "PUBLISH modify"
	}
	if ev := r.GetHeader("Event"); ev != nil && ev.Value() != "presence" {
		what += ", Event: " + ev.Value()
	}
	return what
}

// startOfDay is midnight (or the first instant, on a DST night without a
// midnight) of t's day in loc.
func startOfDay(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// isFarewell reports whether r carries the presence farewell, the
// document that goes out just before a removal.
func isFarewell(r *sip.Request) bool {
	if ev := r.GetHeader("Event"); ev != nil && ev.Value() != "presence" {
		return false
	}
	d, err := pidf.Unmarshal(r.Body())
	return err == nil && d.Farewell
}
