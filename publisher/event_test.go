package publisher

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/dialoginfo"
)

// headerDoer answers 200 with an ETag and records every request's
// headers that say which event package it is for.
type headerDoer struct {
	mu   sync.Mutex
	reqs []eventReq
}

type eventReq struct {
	at                          time.Time
	event, contentType, expires string
	ifMatch, body               string
}

func (d *headerDoer) Do(_ context.Context, req *sip.Request) (*sip.Response, error) {
	d.mu.Lock()
	d.reqs = append(d.reqs, eventReq{at: time.Now(), event: hdr(req, "Event"), contentType: hdr(req, "Content-Type"),
		expires: hdr(req, "Expires"), ifMatch: hdr(req, "SIP-If-Match"), body: string(req.Body())})
	d.mu.Unlock()
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	res.AppendHeader(sip.NewHeader("SIP-ETag", "e"))
	res.AppendHeader(sip.NewHeader("Expires", hdr(req, "Expires")))
	return res, nil
}

// TestEventPackage: Options.Event and ContentType set the headers of
// every request of the lifecycle (publish, refresh, modify, removal),
// and a dialog publisher follows a dialoginfo timeline: confirmed at the
// span's start, terminated at its end, removed after the linger.
func TestEventPackage(t *testing.T) {
	const aor = "sip:alice@example.com"
	start, end := t0.Add(time.Minute), t0.Add(31*time.Minute)
	var tl []Entry
	for _, e := range dialoginfo.Timeline(aor, []dialoginfo.Span{{Start: start, End: end}}, dialoginfo.TimelineOptions{}) {
		tl = append(tl, Entry(e))
	}
	tests := []struct {
		name                   string
		event, contentType     string
		wantEvent, wantContent string
	}{
		{"default", "", "", "presence", "application/pidf+xml"},
		{"dialog", dialoginfo.Event, dialoginfo.ContentType, "dialog", "application/dialog-info+xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				d := &headerDoer{}
				p := New(d, Options{AOR: aor, Proxy: "sip:127.0.0.1:5060", Resolver: staticResolver{},
					Expires: 10 * time.Minute, Event: tt.event, ContentType: tt.contentType})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx) }()
				p.SetTimeline(tl)
				time.Sleep(time.Until(end.Add(time.Minute)))
				synctest.Wait()
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run() = %v, want nil", err)
				}
				d.mu.Lock()
				reqs := d.reqs
				d.mu.Unlock()
				var kinds []string
				for _, r := range reqs {
					if r.event != tt.wantEvent {
						t.Errorf("request at %v: Event %q, want %q", r.at.Sub(t0), r.event, tt.wantEvent)
					}
					wantCT := tt.wantContent
					if r.body == "" {
						wantCT = ""
					}
					if r.contentType != wantCT {
						t.Errorf("request at %v: Content-Type %q, want %q", r.at.Sub(t0), r.contentType, wantCT)
					}
					kind := "refresh"
					switch {
					case r.expires == "0":
						kind = "remove"
					case strings.Contains(r.body, ">confirmed<"):
						kind = "confirmed"
					case strings.Contains(r.body, ">terminated<"):
						kind = "terminated"
					}
					kinds = append(kinds, kind+"@"+r.at.Sub(t0).String())
				}
				want := []string{"confirmed@1m0s", "refresh@8m30s", "refresh@16m0s", "refresh@23m30s",
					"terminated@31m0s", "remove@31m10s"}
				if strings.Join(kinds, " ") != strings.Join(want, " ") {
					t.Errorf("requests = %v, want %v", kinds, want)
				}
			})
		})
	}
}
