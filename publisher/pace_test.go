package publisher_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/publishertest"
	"github.com/emiago/sipgo/sip"
)

// burstServer is a presence server that takes 20ms per PUBLISH and
// answers every second one 503 with Retry-After: 2; it records how many
// requests were in flight at once.
type burstServer struct {
	requests, unavailable atomic.Int64
	mu                    sync.Mutex
	first503              time.Time
	// Requests in flight at once: all of them before the first 503 was
	// answered, and those that came after it (the tail of the first
	// burst, still being served then, is not the Pacer's doing).
	inflight, inAfter     int64
	peakBefore, peakAfter int64
}

func (s *burstServer) handle(req *sip.Request, n int) (*sip.Response, error) {
	s.requests.Add(1)
	s.mu.Lock()
	s.inflight++
	after := !s.first503.IsZero()
	if after {
		s.inAfter++
		s.peakAfter = max(s.peakAfter, s.inAfter)
	} else {
		s.peakBefore = max(s.peakBefore, s.inflight)
	}
	s.mu.Unlock()
	time.Sleep(20 * time.Millisecond) // the server's work, on the bubble's clock
	s.mu.Lock()
	s.inflight--
	if after {
		s.inAfter--
	}
	s.mu.Unlock()
	if n%2 == 0 {
		s.unavailable.Add(1)
		s.mu.Lock()
		if s.first503.IsZero() {
			s.first503 = time.Now()
		}
		s.mu.Unlock()
		return publishertest.Unavailable(req, 2), nil
	}
	return publishertest.OK(req, "e"+strconv.Itoa(n)), nil
}

// TestPacerUnder503: 1,000 users flip at the same instant against a
// server that answers half of all requests 503 with Retry-After. Each user
// retries after Retry-After, as a Publisher does. Through a Pacer the
// first window goes out at once (the flip is on time), and after the first
// 503 the server sees about half of that window at once; without one,
// every user at once, then the retries as a second burst.
func TestPacerUnder503(t *testing.T) {
	const users, window = 1000, 128
	tests := []struct {
		name      string
		paced     bool
		wantPaced bool
	}{
		{"paced", true, true},
		{"unpaced", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				srv := &burstServer{}
				fake := &publishertest.Doer{Handler: srv.handle}
				var doer publisher.Doer = fake
				var pacer *publisher.Pacer
				if tt.paced {
					pacer = publisher.NewPacer(fake, publisher.PaceOptions{Initial: window, Min: 4})
					doer = pacer
				}
				start := time.Now()
				var wg sync.WaitGroup
				var lastOK atomic.Int64
				for i := range users {
					wg.Go(func() {
						for {
							req := sip.NewRequest(sip.PUBLISH, sip.Uri{User: "u" + strconv.Itoa(i), Host: "example.com"})
							req.SetDestination("127.0.0.1:5060")
							res, err := doer.Do(context.Background(), req)
							if err != nil {
								t.Errorf("user %d: %v", i, err)
								return
							}
							if res.StatusCode == 200 {
								lastOK.Store(int64(time.Since(start)))
								return
							}
							ra, _ := strconv.Atoi(res.GetHeader("Retry-After").Value())
							time.Sleep(time.Duration(ra) * time.Second)
						}
					})
				}
				wg.Wait()
				if got := srv.requests.Load(); got < 2*users-1 {
					t.Errorf("%d requests for %d users at half 503s, want about %d", got, users, 2*users)
				}
				t.Logf("%d requests, %d answered 503; in flight at once: %d before the first 503, %d after; all accepted after %v",
					srv.requests.Load(), srv.unavailable.Load(), srv.peakBefore, srv.peakAfter, time.Duration(lastOK.Load()))
				if !tt.wantPaced {
					if srv.peakAfter <= window {
						t.Fatalf("unpaced: %d in flight after the first 503, want the pile-up this test is to catch (> %d)", srv.peakAfter, window)
					}
					return
				}
				if srv.peakBefore < window {
					t.Errorf("paced: %d in flight before the first 503, want at least the first window %d at once", srv.peakBefore, window)
				}
				if srv.peakAfter > window*3/4 {
					t.Errorf("paced: %d in flight after the first 503, want at most %d (the window halved, then widening by one per round trip)", srv.peakAfter, window*3/4)
				}
				if w, in := pacer.Window("127.0.0.1:5060"); in != 0 || w < 4 {
					t.Errorf("Window() = %d, %d in flight, want >= 4 and none", w, in)
				}
			})
		})
	}
}
