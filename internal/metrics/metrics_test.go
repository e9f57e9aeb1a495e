package metrics

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/agent"
)

func TestPromWriter(t *testing.T) {
	var buf bytes.Buffer
	pw := newPromWriter(&buf)
	pw.family("x_total", "counter", "Things\\done\nsecond line.")
	pw.sample("x_total", 3, "user", `sip:a"b\c`+"\n", "calendar", "work")
	pw.sample("x_total", 1.5)
	pw.sample("x_total", math.Inf(1))
	pw.sample("x_total", math.NaN())
	if err := pw.Flush(); err != nil {
		t.Fatalf("Flush() = %v", err)
	}
	want := `# HELP x_total Things\\done\nsecond line.
# TYPE x_total counter
x_total{user="sip:a\"b\\c\n",calendar="work"} 3
x_total 1.5
x_total +Inf
x_total NaN
`
	if got := buf.String(); got != want {
		t.Errorf("exposition =\n%s\nwant\n%s", got, want)
	}
}

func TestMetricsHandler(t *testing.T) {
	now := time.Now()
	u := agent.UserStats{
		ID:          "sip:alice@example.com",
		Current:     agent.Segment{Start: now.Add(-time.Hour), End: now.Add(time.Hour), Basic: "closed", Activities: "busy,meeting"},
		HasPresence: true,
		Calendars: []agent.CalendarStats{{Name: "work", LastGood: time.Unix(1700000000, 0),
			Poll: poll.Status{Polls: 5, Errors: 2}}},
	}
	u.Requests[2], u.Requests[0] = 7, 1
	u.Repairs = 3
	a := fixedStats{Users: []agent.UserStats{u}}

	srv := httptest.NewServer(Handler(a, &Reloads{}))
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Errorf("GET /metrics Content-Type = %q, want text/plain; version=0.0.4", ct)
	}
	for _, want := range []string{
		"calpresence_users 1\n",
		`calpresence_calendar_polls_total{user="sip:alice@example.com",calendar="work"} 5` + "\n",
		`calpresence_calendar_poll_errors_total{user="sip:alice@example.com",calendar="work"} 2` + "\n",
		`calpresence_calendar_last_success_timestamp_seconds{user="sip:alice@example.com",calendar="work"} 1.7e+09` + "\n",
		`calpresence_publish_requests_total{user="sip:alice@example.com",result="2xx"} 7` + "\n",
		`calpresence_publish_requests_total{user="sip:alice@example.com",result="error"} 1` + "\n",
		`calpresence_presence{user="sip:alice@example.com",basic="closed",activities="busy,meeting"} 1` + "\n",
		`calpresence_next_boundary_timestamp_seconds{user="sip:alice@example.com"} `,
		"# TYPE calpresence_calendar_polls_total counter\n",
		`calpresence_repairs_total{user="sip:alice@example.com"} 3` + "\n",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics lacks %q; got\n%s", want, body)
		}
	}

	res, err = http.Get(srv.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok\n" {
		t.Errorf("GET /healthz = %d %q, want 200 ok", res.StatusCode, body)
	}
}

type fixedStats agent.Stats

func (s fixedStats) Stats() agent.Stats { return agent.Stats(s) }
