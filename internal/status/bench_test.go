package status

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/calpresence/calpresence"
	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/publishertest"
	"github.com/calpresence/calpresence/rules"
	"github.com/robfig/cron/v3"
)

// BenchmarkPages10000 serves the pages of a real agent with 10,000 users
// (a day of meetings each, publishing to an in-memory server). The target
// is under 200 ms per page; it reports ms/op.
func BenchmarkPages10000(b *testing.B) {
	const n = 10000
	rs, err := rules.Parse("rules.example.toml", calpresence.DefaultRules())
	if err != nil {
		b.Fatal(err)
	}
	day := time.Now().In(berlin)
	ics := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n"
	for h := 8; h < 18; h += 2 {
		s := time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, berlin)
		ics += fmt.Sprintf("BEGIN:VEVENT\r\nUID:e%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\nSUMMARY:Sync %d\r\n"+
			"ATTENDEE:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\nEND:VEVENT\r\n",
			h, s.UTC().Format("20060102T150405Z"), s.Add(time.Hour).UTC().Format("20060102T150405Z"), h)
	}
	ics += "END:VCALENDAR\r\n"
	src := icsSource{ics}
	users := make([]agent.User, n)
	for i := range users {
		aor := fmt.Sprintf("sip:user%05d@example.com", i)
		users[i] = agent.User{ID: aor, Zone: berlin, Rules: rs,
			Calendars: []agent.Calendar{{Name: "work", Source: src, Poll: cron.Every(time.Hour), Key: "work"}},
			Publisher: publisher.Options{AOR: aor, Proxy: "sip:127.0.0.1:5060;transport=tcp", ClockCheck: time.Hour}}
	}
	a := agent.New(agent.Options{Doer: &publishertest.Doer{}, JumpCheck: time.Hour, Splay: -1})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx, users) }()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(2 * time.Minute); ; {
		st := a.Stats()
		ready := 0
		for _, u := range st.Users {
			if u.HasPresence {
				ready++
			}
		}
		if ready == n {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d users have presence after 2 minutes", ready, n)
		}
		time.Sleep(100 * time.Millisecond) // waiting for real polls, not timing
	}
	h := Handler(a, Options{})
	for _, target := range []string{"/", "/?page=50", "/?q=user0999", "/?q=closed&per_page=1000", "/user/sip:user04321@example.com", "/api/status?per_page=100"} {
		b.Run(target, func(b *testing.B) {
			for b.Loop() {
				if code, _, _ := get(b, h, target); code != http.StatusOK {
					b.Fatalf("GET %s = %d", target, code)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}
