package caldav_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

const benchEvents = 2000

// BenchmarkCalDAVRadicale measures a 2,000-event calendar on a real
// Radicale: the first full sync of a new source, and a poll of the
// unchanged calendar once nothing has changed for two seconds (target: one
// request, under 10 ms on loopback).
func BenchmarkCalDAVRadicale(b *testing.B) {
	r := testserver.StartRadicale(b, map[string]string{"alice": "radicale-pw"})
	srv := &davServer{name: "radicale", root: r.URL, home: "/alice/", user: "alice", password: "radicale-pw", process: r.Process}
	srv.mkcalendar(b, "bench", "Bench", "VEVENT")
	// Radicale reads its filesystem storage on every request, so writing
	// the objects there seeds 2,000 events in well under a second, where
	// 2,000 PUTs would take a minute.
	dir := filepath.Join(r.Storage, "collection-root", "alice", "bench")
	if _, err := os.Stat(dir); err != nil {
		b.Fatalf("Radicale storage layout changed: %v", err)
	}
	start := time.Date(2026, 1, 5, 8, 0, 0, 0, time.UTC)
	for i := range benchEvents {
		t0 := start.Add(time.Duration(i) * 3 * time.Hour)
		ics := strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calpresence//bench//EN
BEGIN:VEVENT
UID:bench-%04d@example.com
DTSTAMP:20260101T000000Z
DTSTART:%s
DTEND:%s
SUMMARY:Benchmark event %d
LOCATION:Room %d
ATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:mailto:alice@example.com
ATTENDEE;CN=Bob;PARTSTAT=NEEDS-ACTION:mailto:bob@example.com
END:VEVENT
END:VCALENDAR
`, i, t0.Format("20060102T150405Z"), t0.Add(time.Hour).Format("20060102T150405Z"), i, i%20), "\n", "\r\n")
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("bench-%04d.ics", i)), []byte(ics), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	path := srv.home + "bench/"

	b.Run("first-sync", func(b *testing.B) {
		ct := &countingTransport{base: http.DefaultTransport}
		var reqs, bytes int
		var wait time.Duration
		for b.Loop() {
			src := srv.source(b, path, ct, nil)
			events, _, err := src.Fetch(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if len(events) != benchEvents {
				b.Fatalf("first Fetch() = %d events, want %d", len(events), benchEvents)
			}
			wait += ct.waited()
			r, n := ct.take()
			reqs += len(r)
			bytes += int(n)
		}
		report(b, reqs, bytes, wait)
	})

	b.Run("unchanged-poll", func(b *testing.B) {
		ct := &countingTransport{base: http.DefaultTransport}
		src := srv.source(b, path, ct, nil)
		if _, _, err := src.Fetch(b.Context()); err != nil {
			b.Fatal(err)
		}
		// The steady state: two seconds after the last change, Radicale's
		// getlastmodified is trusted and a poll reads only it.
		pollUnchanged(b, srv, src, ct)
		ct.take()
		var reqs, bytes int
		var wait time.Duration
		for b.Loop() {
			events, _, err := src.Fetch(b.Context())
			if err != nil {
				b.Fatal(err)
			}
			if len(events) != benchEvents {
				b.Fatalf("Fetch() = %d events, want %d", len(events), benchEvents)
			}
			wait += ct.waited()
			r, n := ct.take()
			reqs += len(r)
			bytes += int(n)
		}
		report(b, reqs, bytes, wait)
	})
}

// report gives requests, bytes received, wall milliseconds and the
// milliseconds spent waiting for the server per Fetch.
func report(b *testing.B, reqs, bytes int, wait time.Duration) {
	b.ReportMetric(float64(reqs)/float64(b.N), "requests/op")
	b.ReportMetric(float64(bytes)/float64(b.N), "recv-bytes/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(wait.Microseconds())/1000/float64(b.N), "server-ms/op")
}
