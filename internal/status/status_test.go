package status

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/net/html"

	"github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/publishertest"
	"github.com/calpresence/calpresence/rules"
	"github.com/robfig/cron/v3"
)

// fakeSource is an agent's stats, fixed.
type fakeSource struct {
	st  agent.Stats
	tls map[string]agent.UserTimeline
}

func (f *fakeSource) Stats() agent.Stats { return f.st }
func (f *fakeSource) Timeline(id string) (agent.UserTimeline, bool) {
	tl, ok := f.tls[id]
	return tl, ok
}

var (
	berlin, _ = time.LoadLocation("Europe/Berlin")
	now       = time.Date(2026, 3, 2, 14, 30, 0, 0, berlin)
)

func at(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, berlin) }

// fakeUsers: n users, every third in a meeting, every third busy, the
// rest available; user 5's calendar fails and is stale.
func fakeUsers(n int) *fakeSource {
	f := &fakeSource{tls: map[string]agent.UserTimeline{}}
	for i := range n {
		id := fmt.Sprintf("sip:user%05d@example.com", i)
		segs := []agent.Segment{
			{Start: at(0, 0).AddDate(0, 0, -1), End: at(14, 0), Basic: "open"},
			{Start: at(14, 0), End: at(15, 0), Basic: "open"},
			{Start: at(15, 0), End: at(0, 0).AddDate(0, 0, 3), Basic: "open"},
		}
		switch i % 3 {
		case 0:
			segs[1] = agent.Segment{Start: at(14, 0), End: at(15, 0), Basic: "closed", Activities: "busy,meeting", Note: "In a meeting until 15:00", Rule: "meeting"}
		case 1:
			segs[1] = agent.Segment{Start: at(14, 0), End: at(15, 0), Basic: "open", Activities: "away,meal", Note: "Out for lunch until 15:00", Rule: "lunch"}
		}
		cal := agent.CalendarStats{Name: "work", LastGood: at(14, 25), Poll: poll.Status{LastOK: at(14, 25), Polls: 10, Next: at(14, 35)}}
		if i == 5 {
			cal.Stale = true
			cal.Poll.LastErr = errors.New("fetch work: 503 Service Unavailable")
			cal.Poll.Failures = 3
		}
		u := agent.UserStats{ID: id, Zone: berlin, Current: segs[1], HasPresence: true, Calendars: []agent.CalendarStats{cal}}
		u.Requests[2] = 4
		f.st.Users = append(f.st.Users, u)
		f.tls[id] = agent.UserTimeline{ID: id, Zone: berlin, Segments: segs}
	}
	return f
}

func get(t testing.TB, h http.Handler, target string) (int, string, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec.Code, rec.Header().Get("Content-Type"), rec.Body.String()
}

// node helpers over a parsed page.
func attr(n *html.Node, name string) string {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val
		}
	}
	return ""
}

// text is the text of n, one space between the text nodes.
func text(n *html.Node) string {
	var words []string
	for d := range n.Descendants() {
		if d.Type == html.TextNode {
			words = append(words, strings.Fields(d.Data)...)
		}
	}
	return strings.Join(words, " ")
}

func parsePage(t testing.TB, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("html.Parse() = %v", err)
	}
	return doc
}

// find returns the elements with the tag and, if class is set, the class.
func find(doc *html.Node, tag, class string) []*html.Node {
	var out []*html.Node
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && n.Data == tag && (class == "" || strings.Contains(" "+attr(n, "class")+" ", " "+class+" ")) {
			out = append(out, n)
		}
	}
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	for n := range doc.Descendants() {
		if n.Type == html.ElementNode && attr(n, "id") == id {
			return n
		}
	}
	return nil
}

func TestIndex(t *testing.T) {
	h := Handler(fakeUsers(250), Options{Now: func() time.Time { return now }})
	tests := []struct {
		target    string
		code      int
		rows      int
		first     string // the first row's AOR
		rangeText string
		next      string // the next link; "" none
	}{
		{"/", 200, 100, "sip:user00000@example.com", "Showing 1–100 of 250 · page 1 of 3", "/?page=2"},
		{"/?page=3", 200, 50, "sip:user00200@example.com", "Showing 201–250 of 250 · page 3 of 3", ""},
		{"/?page=9", 200, 0, "", "No user matches · page 9 of 3", ""},
		{"/?q=USER0012", 200, 10, "sip:user00120@example.com", "Showing 1–10 of 10 for “USER0012” · page 1 of 1", ""},
		{"/?q=closed&per_page=20", 200, 20, "sip:user00000@example.com", "Showing 1–20 of 84 for “closed” · page 1 of 5", "/?page=2&per_page=20&q=closed"},
		{"/?q=lunch", 200, 83, "sip:user00001@example.com", "Showing 1–83 of 83 for “lunch” · page 1 of 1", ""},
		{"/?q=stale", 200, 1, "sip:user00005@example.com", "Showing 1–1 of 1 for “stale” · page 1 of 1", ""},
		{"/?page=0", 400, 0, "", "", ""},
		{"/?per_page=x", 400, 0, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			code, ctype, body := get(t, h, tt.target)
			if code != tt.code {
				t.Fatalf("GET %s = %d, want %d", tt.target, code, tt.code)
			}
			if code != 200 {
				return
			}
			if ctype != "text/html; charset=utf-8" {
				t.Errorf("GET %s Content-Type = %q", tt.target, ctype)
			}
			doc := parsePage(t, body)
			rows := find(doc, "tr", "user")
			if len(rows) != tt.rows {
				t.Fatalf("GET %s lists %d users, want %d", tt.target, len(rows), tt.rows)
			}
			if tt.rows > 0 && attr(rows[0], "data-aor") != tt.first {
				t.Errorf("GET %s first user = %q, want %q", tt.target, attr(rows[0], "data-aor"), tt.first)
			}
			if got := text(byID(doc, "range")); got != tt.rangeText {
				t.Errorf("GET %s range = %q, want %q", tt.target, got, tt.rangeText)
			}
			next := ""
			for _, a := range find(doc, "a", "") {
				if attr(a, "rel") == "next" {
					next = attr(a, "href")
				}
			}
			if next != tt.next {
				t.Errorf("GET %s next link = %q, want %q", tt.target, next, tt.next)
			}
			if len(find(doc, "script", "")) != 0 {
				t.Errorf("GET %s has a script; the page works without JavaScript", tt.target)
			}
		})
	}

	// One row in full: state, note, rule, until, calendar health.
	_, _, body := get(t, h, "/?q=user00005")
	doc := parsePage(t, body)
	rows := find(doc, "tr", "user")
	if len(rows) != 1 {
		t.Fatalf("GET /?q=user00005 lists %d users", len(rows))
	}
	want := "sip:user00005@example.com open default Mon 2 Mar 15:00:00 CET work: " +
		"last good poll Mon 2 Mar 14:25:00 CET stale error (3 in a row): fetch work: 503 Service Unavailable · 10 polls, 0 failed · next Mon 2 Mar 14:35:00 CET"
	if got := text(rows[0]); got != want {
		t.Errorf("user row =\n%q, want\n%q", got, want)
	}
	if got := attr(rows[0], "data-basic") + " " + attr(rows[0], "data-activities"); got != "open " {
		t.Errorf("user row data = %q, want open", got)
	}
	_, _, body = get(t, h, "/?q=user00004")
	rows = find(parsePage(t, body), "tr", "user")
	if len(rows) != 1 || text(rows[0]) != "sip:user00004@example.com open away, meal Out for lunch until 15:00 rule lunch Mon 2 Mar 15:00:00 CET work: "+
		"last good poll Mon 2 Mar 14:25:00 CET · 10 polls, 0 failed · next Mon 2 Mar 14:35:00 CET" || attr(rows[0], "data-activities") != "away,meal" {
		t.Errorf("GET /?q=user00004 rows = %d", len(rows))
	}
	if got := text(byID(doc, "summary")); got != "250 users 83 available 83 busy or away 84 closed 0 without presence 1 stale calendars 1 failing calendars" {
		t.Errorf("summary = %q", got)
	}
}

func TestUserPage(t *testing.T) {
	h := Handler(fakeUsers(3), Options{Now: func() time.Time { return now }})
	tests := []struct {
		target   string
		code     int
		day      string
		segments []string // the day's table rows
	}{
		{"/user/sip:user00000@example.com", 200, "Monday 2 March 2026", []string{
			"Sun 1 Mar 00:00 Mon 2 Mar 14:00 open default",
			"Mon 2 Mar 14:00 Mon 2 Mar 15:00 closed busy,meeting In a meeting until 15:00 rule meeting",
			"Mon 2 Mar 15:00 Thu 5 Mar 00:00 open default",
		}},
		{"/user/sip:user00000@example.com?day=2026-03-04", 200, "Wednesday 4 March 2026", []string{
			"Mon 2 Mar 15:00 Thu 5 Mar 00:00 open default",
		}},
		{"/user/sip:user00000@example.com?day=2026-03-09", 200, "Monday 9 March 2026", []string{
			"The agent's timeline does not reach this day.",
		}},
		{"/user/sip:user00000@example.com?day=tomorrow", 400, "", nil},
		{"/user/sip:nobody@example.com", 404, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			code, _, body := get(t, h, tt.target)
			if code != tt.code {
				t.Fatalf("GET %s = %d, want %d", tt.target, code, tt.code)
			}
			if code != 200 {
				return
			}
			doc := parsePage(t, body)
			if got := text(byID(doc, "day")); got != tt.day {
				t.Errorf("GET %s day = %q, want %q", tt.target, got, tt.day)
			}
			var got []string
			for _, tr := range find(byID(doc, "segments"), "tr", "") {
				if tr.Parent.Data == "tbody" {
					got = append(got, text(tr))
				}
			}
			if strings.Join(got, "\n") != strings.Join(tt.segments, "\n") {
				t.Errorf("GET %s segments =\n%s\nwant\n%s", tt.target, strings.Join(got, "\n"), strings.Join(tt.segments, "\n"))
			}
			if len(find(byID(doc, "chart"), "svg", "")) != 1 {
				t.Errorf("GET %s has no chart", tt.target)
			}
		})
	}
	// Today's chart: the meeting, with its note, and the now line.
	_, _, body := get(t, h, "/user/sip:user00000@example.com")
	doc := parsePage(t, body)
	var titles []string
	for _, g := range find(doc, "g", "seg") {
		titles = append(titles, text(g))
	}
	if want := "14:00–15:00 closed (busy,meeting): In a meeting until 15:00 [rule meeting]"; !strings.Contains(strings.Join(titles, "\n"), want) {
		t.Errorf("chart segments = %q, want one %q", titles, want)
	}
	if len(find(doc, "line", "now")) != 1 {
		t.Errorf("chart has no now line")
	}
	if got := text(byID(doc, "current")); !strings.HasPrefix(got, "state closed activities busy, meeting note In a meeting until 15:00 decided by rule meeting since Mon 2 Mar 14:00:00 CET until Mon 2 Mar 15:00:00 CET zone Europe/Berlin") {
		t.Errorf("current = %q", got)
	}
}

func TestAPI(t *testing.T) {
	h := Handler(fakeUsers(250), Options{Now: func() time.Time { return now }})
	tests := []struct {
		target         string
		code           int
		users, matched int
		perPage        int
	}{
		{"/api/status", 200, 250, 250, 0},
		{"/api/status?q=closed", 200, 84, 84, 0},
		{"/api/status?page=2&per_page=100", 200, 100, 250, 100},
		{"/api/status?per_page=5000", 200, 250, 250, MaxPerPage},
		{"/api/status?page=-1", 400, 0, 0, 0},
	}
	for _, tt := range tests {
		code, ctype, body := get(t, h, tt.target)
		if code != tt.code || ctype != "application/json" {
			t.Errorf("GET %s = %d %s, want %d application/json", tt.target, code, ctype, tt.code)
			continue
		}
		if code != 200 {
			continue
		}
		var st StatusJSON
		if err := json.Unmarshal([]byte(body), &st); err != nil {
			t.Fatalf("GET %s: %v", tt.target, err)
		}
		if len(st.Users) != tt.users || st.Matched != tt.matched || st.PerPage != tt.perPage || st.Summary.Users != 250 {
			t.Errorf("GET %s = %d users, matched %d, per_page %d, summary %+v; want %d, %d, %d", tt.target,
				len(st.Users), st.Matched, st.PerPage, st.Summary, tt.users, tt.matched, tt.perPage)
		}
	}
	_, _, body := get(t, h, "/api/status?q=user00005")
	var raw map[string]any
	json.Unmarshal([]byte(body), &raw)
	u := raw["users"].([]any)[0].(map[string]any)
	p := u["presence"].(map[string]any)
	if p["basic"] != "open" || p["note"] != "" || p["rule"] != "" || p["until"] != "2026-03-02T15:00:00+01:00" ||
		fmt.Sprint(p["activities"]) != "[]" || u["zone"] != "Europe/Berlin" {
		t.Errorf("/api/status user = %v", u)
	}
	c := u["calendars"].([]any)[0].(map[string]any)
	if c["stale"] != true || c["last_error"] != "fetch work: 503 Service Unavailable" || c["last_success"] != "2026-03-02T14:25:00+01:00" {
		t.Errorf("/api/status calendar = %v", c)
	}

	code, _, body := get(t, h, "/api/user/sip:user00000@example.com")
	var uj UserJSON
	if err := json.Unmarshal([]byte(body), &uj); code != 200 || err != nil || len(uj.Segments) != 3 || uj.Segments[1].Note != "In a meeting until 15:00" {
		t.Errorf("GET /api/user/… = %d %v %+v", code, err, uj)
	}
	if code, _, _ := get(t, h, "/api/user/sip:nobody@example.com"); code != 404 {
		t.Errorf("GET /api/user/unknown = %d, want 404", code)
	}
}

// icsSource serves a fixed calendar.
type icsSource struct{ ics string }

func (icsSource) Name() string { return "work" }
func (s icsSource) Fetch(context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	return calendar.ParseICS(strings.NewReader(s.ics), calendar.ParseOptions{Calendar: "work", Zone: berlin})
}

const canary = "CANARY-private-4b2d"

// The pages of a real agent whose user has private and confidential events
// with a canary as summary, location and description show the published
// notes, and the canary nowhere.
func TestNoPrivateText(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2026, 3, 2, 8, 0, 0, 0, berlin)))
		ev := func(uid, start, end, class string, attendees int) string {
			s := "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:" + start +
				"\r\nDTEND;TZID=Europe/Berlin:" + end + "\r\nSUMMARY:" + canary + " summary\r\nLOCATION:" + canary + " room\r\nDESCRIPTION:" + canary + " text\r\nCLASS:" + class + "\r\n"
			for i := range attendees {
				s += fmt.Sprintf("ATTENDEE;CN=%s %d:mailto:p%d@example.com\r\n", canary, i, i)
			}
			return s + "END:VEVENT\r\n"
		}
		ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" +
			ev("p1", "20260302T090000", "20260302T100000", "PRIVATE", 0) +
			ev("p2", "20260302T110000", "20260302T120000", "CONFIDENTIAL", 3) +
			ev("p3", "20260302T130000", "20260302T140000", "PRIVATE", 0) + "END:VCALENDAR\r\n"
		rs, err := rules.Parse("rules.example.toml", calpresence.DefaultRules())
		if err != nil {
			t.Fatal(err)
		}
		a := agent.New(agent.Options{Doer: &publishertest.Doer{}, JumpCheck: time.Hour})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		const aor = "sip:alice@example.com"
		go func() {
			defer close(done)
			a.Run(ctx, []agent.User{{ID: aor, Zone: berlin, Rules: rs,
				Calendars: []agent.Calendar{{Name: "work", Source: icsSource{ics}, Poll: cron.Every(5 * time.Minute), Key: "work"}},
				Publisher: publisher.Options{AOR: aor, Proxy: "sip:127.0.0.1:5060;transport=tcp", ClockCheck: time.Hour}}})
		}()
		defer func() { cancel(); <-done }()
		time.Sleep(time.Until(time.Date(2026, 3, 2, 9, 30, 0, 0, berlin)))
		synctest.Wait()

		h := Handler(a, Options{})
		pages := map[string]string{}
		for _, target := range []string{"/", "/user/" + aor, "/api/status", "/api/user/" + aor, "/?q=" + canary} {
			code, _, body := get(t, h, target)
			if code != 200 {
				t.Fatalf("GET %s = %d", target, code)
			}
			pages[target] = body
			if strings.Contains(body, "CANARY") && !strings.Contains(target, "q=") { // a search echoes its query
				t.Errorf("GET %s shows a private event's text:\n%s", target, body)
			}
		}
		for target, want := range map[string]string{
			"/":                "Busy until 10:00",
			"/user/" + aor:     "Busy until 14:00",         // later today, in the chart and table
			"/api/user/" + aor: "In a meeting until 12:00", // confidential, with attendees
		} {
			if !strings.Contains(pages[target], want) {
				t.Errorf("GET %s lacks the published note %q", target, want)
			}
		}
		if strings.Contains(pages["/?q="+canary], `class="user"`) {
			t.Errorf("searching for a private event's text finds the user")
		}
	})
}

func TestRender500(t *testing.T) {
	rec := httptest.NewRecorder()
	render(rec, "no-such-template", nil)
	if rec.Code != 500 {
		t.Errorf("render(unknown) = %d, want 500", rec.Code)
	}
	io.Discard.Write(nil)
}

// A user's own status (calpresence set) reads as such, not as a rule.
func TestOverrideShown(t *testing.T) {
	f := fakeUsers(2)
	seg := agent.Segment{Start: at(14, 0), End: at(15, 0), Basic: "closed", Activities: "busy", Note: "Do not disturb", Rule: "dnd", Override: true}
	f.st.Users[1].Current = seg
	f.tls[f.st.Users[1].ID].Segments[1] = seg
	h := Handler(f, Options{Now: func() time.Time { return now }})
	for _, target := range []string{"/?q=user00001", "/user/sip:user00001@example.com"} {
		_, _, body := get(t, h, target)
		if got := text(parsePage(t, body)); !strings.Contains(got, "own status (dnd)") || strings.Contains(got, "rule dnd") {
			t.Errorf("GET %s = %q, want the override as \"own status (dnd)\", not as a rule", target, got)
		}
	}
}
