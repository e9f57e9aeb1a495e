package main

import (
	"bytes"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
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
	a := newAgent(slog.New(slog.DiscardHandler), nil, &stateStore{}, agentOptions{})
	now := time.Now()
	p := &pipeline{a: a, id: "sip:alice@example.com"}
	p.segs = []segInfo{
		{start: now.Add(-time.Hour), end: now.Add(time.Hour), basic: "closed", activities: "busy,meeting"},
		{start: now.Add(time.Hour), end: now.Add(2 * time.Hour), basic: "open"},
	}
	c := &calState{spec: calendarSpec{Name: "work"}}
	c.polls.Add(5)
	c.errs.Add(2)
	c.lastGood.Store(time.Unix(1700000000, 0).UnixNano())
	p.cals = []*calState{c}
	p.doer = &countingDoer{}
	p.doer.results[2].Add(7)
	p.doer.results[0].Add(1)
	a.users[p.id] = p
	a.order = []string{p.id}

	srv := httptest.NewServer(metricsHandler(a))
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
