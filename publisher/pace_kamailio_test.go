package publisher

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/emiago/sipgo/sip"
)

// peakDoer counts the requests in flight through it.
type peakDoer struct {
	next           Doer
	inflight, peak atomic.Int64
}

func (d *peakDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	n := d.inflight.Add(1)
	for p := d.peak.Load(); n > p && !d.peak.CompareAndSwap(p, n); p = d.peak.Load() {
	}
	defer d.inflight.Add(-1)
	return d.next.Do(ctx, req)
}

// TestPacerKamailio: 400 users publish at the same instant through one
// Client and a Pacer with a window of 16 to a real Kamailio: every
// publication is accepted, requests went out in parallel, and never more
// than the window at once.
func TestPacerKamailio(t *testing.T) {
	const users, window = 400, 16
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			k := testserver.StartKamailio(t, testserver.KamailioOptions{})
			counted := &peakDoer{next: newClient(t)}
			pacer := NewPacer(counted, PaceOptions{Initial: window, Max: window})
			ctx := context.Background()
			var wg sync.WaitGroup
			var failed atomic.Int64
			for i := range users {
				wg.Go(func() {
					aor := fmt.Sprintf("sip:pace-%s-%d@example.com", transport, i)
					p := New(pacer, Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=" + transport})
					p.step(ctx, opPublish, state{body: pidfDoc(aor, "calpresence-1", "closed", "In a meeting")})
					if err := p.LastError(); err != nil || p.etag == "" {
						failed.Add(1)
						t.Errorf("%s: %v", aor, err)
						return
					}
					p.step(ctx, opRemove, state{})
				})
			}
			wg.Wait()
			if peak := counted.peak.Load(); peak > window || peak < 2 {
				t.Errorf("%d requests in flight at once through a Pacer of window %d, want 2 to %d", peak, window, window)
			}
		})
	}
}
