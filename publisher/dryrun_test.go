package publisher

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type syncBuilder struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuilder) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuilder) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDryRunAtSpeed runs a Publisher as `calpresence demo -speed 60` does:
// an hour of timeline passes in a minute, every request printed in full.
func TestDryRunAtSpeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		var out syncBuilder
		d := NewDryRun(&out)
		start := time.Now()
		now := func() time.Time { return t0.Add(60 * time.Since(start)) }
		p := New(d, Options{AOR: "sip:alice@example.com", Resolver: d, Now: now, Speed: 60})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(time.Hour), Body: []byte("<presence>first</presence>")},
			{Start: t0.Add(time.Hour), End: t0.Add(2 * time.Hour), Body: []byte("<presence>second</presence>")},
		})
		synctest.Wait()
		if got := out.String(); !strings.Contains(got, "PUBLISH sip:alice@example.com SIP/2.0") || !strings.Contains(got, "first") {
			t.Fatalf("dry run output = %q, want the first PUBLISH in full", got)
		}
		time.Sleep(time.Minute) // an hour at speed 60
		synctest.Wait()
		if got := out.String(); !strings.Contains(got, "second") || !strings.Contains(got, "SIP-If-Match: dry-run.1") {
			t.Errorf("after a minute at speed 60: %q, want the modification to the second document", got)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		if got := out.String(); !strings.Contains(got, "Expires: 0") {
			t.Errorf("after shutdown: no removal in %q", got)
		}
	})
}
