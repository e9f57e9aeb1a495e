package publisher_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/publishertest"
	"github.com/emiago/sipgo/sip"
)

// Through DoTimeout a request's timeout counts from when the Pacer sends
// it: at a flip of many users the last ones wait in the queue far longer
// than a request may take, and must not fail for it (before, they timed
// out unsent, backed off, and the flip took twice what the server needs).
// The wait in the queue has its own bound, QueueTimeout.
func TestPacerTimeoutFromSending(t *testing.T) {
	for _, tc := range []struct {
		name         string
		queueTimeout time.Duration
		wantOK       int
		wantSent     int
	}{
		// One at a time, 3s each: the fourth waits 9s, longer than its
		// 5s timeout, and is answered at 12s.
		{"all answered", time.Minute, 4, 4},
		// The fourth would wait 9s for its turn.
		{"queue bound", 8 * time.Second, 3, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				server := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
					time.Sleep(3 * time.Second)
					return publishertest.OK(req, "e"+strconv.Itoa(n)), nil
				}}
				p := publisher.NewPacer(server, publisher.PaceOptions{Initial: 1, Max: 1, Min: 1, QueueTimeout: tc.queueTimeout})
				var wg sync.WaitGroup
				var mu sync.Mutex
				var okN int
				var errs []string
				for i := range 4 {
					wg.Go(func() {
						time.Sleep(time.Duration(i) * time.Millisecond) // in this order
						req := sip.NewRequest(sip.PUBLISH, sip.Uri{User: "u" + strconv.Itoa(i), Host: "example.com"})
						req.SetDestination("127.0.0.1:5060")
						res, err := p.DoTimeout(context.Background(), req, 5*time.Second)
						mu.Lock()
						defer mu.Unlock()
						if err == nil && res.StatusCode == 200 {
							okN++
						} else if err != nil {
							errs = append(errs, err.Error())
						}
					})
				}
				wg.Wait()
				if okN != tc.wantOK {
					t.Errorf("%d answered 200, want %d; errors: %v", okN, tc.wantOK, errs)
				}
				if n := len(server.Requests()); n != tc.wantSent {
					t.Errorf("the server got %d requests, want %d", n, tc.wantSent)
				}
				for _, e := range errs {
					if !strings.Contains(e, "not sent") {
						t.Errorf("error %q does not say the request was not sent", e)
					}
				}
			})
		})
	}
}

// Waiting requests get their turn in order of arrival, one per free slot;
// one whose context ends while it waits leaves the queue without being
// sent, and one granted a slot just as its context ends passes it on.
func TestPacerTurnsInOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var order []string
		server := &publishertest.Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
			mu.Lock()
			order = append(order, req.Recipient.User)
			mu.Unlock()
			time.Sleep(time.Second)
			return publishertest.OK(req, "e"+strconv.Itoa(n)), nil
		}}
		p := publisher.NewPacer(server, publisher.PaceOptions{Initial: 1, Max: 1, Min: 1})
		var wg sync.WaitGroup
		for i := range 6 {
			wg.Go(func() {
				time.Sleep(time.Duration(i) * time.Millisecond) // arrive in this order
				ctx := context.Background()
				if i == 2 { // gives up after 1.5s, while the second is being served
					c, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
					defer cancel()
					ctx = c
				}
				req := sip.NewRequest(sip.PUBLISH, sip.Uri{User: "u" + strconv.Itoa(i), Host: "example.com"})
				req.SetDestination("127.0.0.1:5060")
				p.Do(ctx, req)
			})
		}
		wg.Wait()
		if got, want := strings.Join(order, " "), "u0 u1 u3 u4 u5"; got != want {
			t.Errorf("served %s, want %s", got, want)
		}
		if _, in := p.Window("127.0.0.1:5060"); in != 0 {
			t.Errorf("%d in flight after every request returned", in)
		}
	})
}
