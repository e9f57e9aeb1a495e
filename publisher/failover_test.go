package publisher

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/locate"
	"github.com/calpresence/calpresence/publisher/publishertest"
)

// srvResolver offers two UDP targets of equal priority order.
type srvResolver struct{}

func (srvResolver) LookupNAPTR(context.Context, string) ([]locate.NAPTR, error) { return nil, nil }
func (srvResolver) LookupSRV(_ context.Context, name string) ([]locate.SRV, error) {
	if name == "_sip._udp.example.com" {
		return []locate.SRV{{Priority: 1, Port: 5060, Target: "a.example.com"}, {Priority: 2, Port: 5060, Target: "b.example.com"}}, nil
	}
	return nil, nil
}
func (srvResolver) LookupIP(_ context.Context, host string) ([]netip.Addr, error) {
	return []netip.Addr{map[string]netip.Addr{"a.example.com": netip.MustParseAddr("192.0.2.1"), "b.example.com": netip.MustParseAddr("192.0.2.2")}[host]}, nil
}

func TestFailover(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail func(req *sip.Request) (*sip.Response, error)
	}{
		{"503", func(req *sip.Request) (*sip.Response, error) { return publishertest.Unavailable(req, 0), nil }},
		{"timeout", func(req *sip.Request) (*sip.Response, error) { return nil, sip.ErrTransactionTimeout }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{}
				s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
					if req.Destination() == "192.0.2.1:5060" {
						return tc.fail(req)
					}
					return ok(req, n), nil
				}
				p := New(s, Options{AOR: "sip:alice@example.com", Resolver: srvResolver{}})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan error, 1)
				go func() { done <- p.Run(ctx) }()
				p.SetTimeline([]Entry{
					{Start: t0, End: t0.Add(time.Minute), Body: []byte("A")},
					{Start: t0.Add(time.Minute), End: t0.Add(time.Hour), Body: []byte("B")},
				})
				time.Sleep(time.Minute)
				synctest.Wait()
				cancel()
				<-done
				var dests []string
				for _, r := range sents(s) {
					dests = append(dests, r.dest)
				}
				// The first target fails, the second answers and is kept.
				want := []string{"192.0.2.1:5060", "192.0.2.2:5060", "192.0.2.2:5060", "192.0.2.2:5060"}
				if !slices.Equal(dests, want) {
					t.Errorf("destinations = %q, want %q", dests, want)
				}
				if err := p.LastError(); err != nil {
					t.Errorf("LastError() = %v, want nil", err)
				}
			})
		})
	}
}
