package publisher

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// uas is an in-process SIP server on 127.0.0.1 that answers PUBLISH from a
// script; a nil response is silence.
type uas struct {
	addr    string
	mu      sync.Mutex
	reqs    []sent
	changed chan struct{} // closed and replaced on every request
	script  func(req *sip.Request, n int) *sip.Response
}

func startUAS(t *testing.T, network string, script func(req *sip.Request, n int) *sip.Response) *uas {
	t.Helper()
	u := &uas{script: script, changed: make(chan struct{})}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("uas"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRequest(sip.PUBLISH, func(req *sip.Request, tx sip.ServerTransaction) {
		u.mu.Lock()
		u.reqs = append(u.reqs, sent{at: time.Now(), expires: hdr(req, "Expires"), ifMatch: hdr(req, "SIP-If-Match"),
			body: string(req.Body()), auth: hdr(req, "Authorization"), tp: req.Transport()})
		n := len(u.reqs)
		close(u.changed)
		u.changed = make(chan struct{})
		u.mu.Unlock()
		if res := u.script(req, n); res != nil {
			tx.Respond(res)
		}
	})
	u.addr = serve(t, srv, network)
	return u
}

// serve runs srv on a new 127.0.0.1 socket and returns its address.
func serve(t *testing.T, srv *sipgo.Server, network string) string {
	t.Helper()
	if network == "udp" {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		go srv.ServeUDP(pc)
		return pc.LocalAddr().String()
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go srv.ServeTCP(l)
	return l.Addr().String()
}

// next returns a channel closed when the next request arrives.
func (u *uas) next() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.changed
}

func (u *uas) got() []sent {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]sent(nil), u.reqs...)
}

// TestFaultsOverNetwork runs the publisher with sipgo's client against an
// in-process sipgo server over UDP and TCP, for what real servers rarely
// do.
func TestFaultsOverNetwork(t *testing.T) {
	digestSrv := func() func(*sip.Request, int) *sip.Response {
		d := &digestServer{alg: "MD5", password: "pw", staleAfter: 1}
		var mu sync.Mutex
		return func(req *sip.Request, n int) *sip.Response {
			mu.Lock()
			defer mu.Unlock()
			res, _ := d.handle(req, n)
			return res
		}
	}
	for _, tc := range []struct {
		name   string
		script func() func(*sip.Request, int) *sip.Response
		// after the first publication is up, change the document once
		modify bool
		want   int                // requests until the last document is up
		check  func([]sent) error // on the requests
	}{
		{
			name:   "412 on modify → publish afresh",
			modify: true,
			script: func() func(*sip.Request, int) *sip.Response {
				return func(req *sip.Request, n int) *sip.Response {
					if n == 2 {
						return status(req, 412, "Conditional Request Failed")
					}
					return ok(req, n)
				}
			},
			want: 3,
			check: func(rs []sent) error {
				if rs[1].ifMatch != "etag1" || rs[2].ifMatch != "" || rs[2].body != "B" {
					return fmt.Errorf("after 412: If-Match %q body %q, want a fresh PUBLISH of B", rs[2].ifMatch, rs[2].body)
				}
				return nil
			},
		},
		{
			name: "423 → Min-Expires",
			script: func() func(*sip.Request, int) *sip.Response {
				return func(req *sip.Request, n int) *sip.Response {
					if e, _ := strconv.Atoi(hdr(req, "Expires")); e > 0 && e < 7200 {
						return status(req, 423, "Interval Too Brief", "Min-Expires", "7200")
					}
					return ok(req, n)
				}
			},
			want: 2,
			check: func(rs []sent) error {
				if rs[1].expires != "7200" {
					return fmt.Errorf("after 423: Expires %s, want 7200", rs[1].expires)
				}
				return nil
			},
		},
		{
			name:   "401 with stale nonce",
			modify: true,
			script: digestSrv,
			// challenge, PUBLISH, modify → stale, modify on the new nonce
			want: 4,
			check: func(rs []sent) error {
				if !strings.Contains(rs[3].auth, "nc=00000001") || !strings.Contains(rs[3].auth, `nonce="nonce2"`) {
					return fmt.Errorf("after stale=true: %q, want nonce2 nc=00000001", rs[3].auth)
				}
				return nil
			},
		},
		{
			name: "500 → backoff and retry",
			script: func() func(*sip.Request, int) *sip.Response {
				return func(req *sip.Request, n int) *sip.Response {
					if n == 1 {
						return status(req, 500, "Server Internal Error")
					}
					return ok(req, n)
				}
			},
			want: 2,
		},
		{
			name: "503 with Retry-After",
			script: func() func(*sip.Request, int) *sip.Response {
				return func(req *sip.Request, n int) *sip.Response {
					if n == 1 {
						return status(req, 503, "Service Unavailable", "Retry-After", "1")
					}
					return ok(req, n)
				}
			},
			want: 2,
			check: func(rs []sent) error {
				if gap := rs[1].at.Sub(rs[0].at); gap < time.Second {
					return fmt.Errorf("retried %v after 503 Retry-After: 1, want at least 1s", gap)
				}
				return nil
			},
		},
		{
			name: "silence → timeout and retry",
			script: func() func(*sip.Request, int) *sip.Response {
				return func(req *sip.Request, n int) *sip.Response {
					if n == 1 {
						return nil
					}
					return ok(req, n)
				}
			},
			want: 2,
		},
	} {
		for _, network := range []string{"udp", "tcp"} {
			t.Run(tc.name+"/"+network, func(t *testing.T) {
				t.Parallel()
				u := startUAS(t, network, tc.script())
				p, stop := runPublisher(t, newClient(t), Options{
					AOR: "sip:alice@example.com", Proxy: "sip:" + u.addr + ";transport=" + network,
					Username: "alice", Password: func(context.Context) (string, error) { return "pw", nil },
					Timeout: 300 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
				})
				p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("A")}})
				deadline := time.After(5 * time.Second)
				// wait waits for n requests and, with ok, the last answered
				// with success.
				wait := func(n int, ok bool) {
					for {
						arrived, settled := u.next(), p.nextResult()
						if len(u.got()) >= n && (!ok || p.LastError() == nil) {
							return
						}
						select {
						case <-arrived:
						case <-settled:
						case <-deadline:
							t.Fatalf("after 5s: %d requests, LastError %v; want %d requests and no error:\n%s", len(u.got()), p.LastError(), n, dump(u.got()))
						}
					}
				}
				if tc.modify {
					// Changed while the first PUBLISH is in flight or after:
					// either way B goes out after A as a modification.
					wait(1, false)
					p.SetTimeline([]Entry{{Start: time.Now().Add(-time.Minute), Body: []byte("B")}})
				}
				wait(tc.want, true)
				if err := stop(); err != nil {
					t.Errorf("Run() = %v, want nil (removed)", err)
				}
				// Nothing more went out before the removal on shutdown.
				all := u.got()
				if last := all[len(all)-1]; last.expires != "0" {
					t.Errorf("last request Expires %s, want 0 (removal on shutdown)", last.expires)
				}
				got := all[:len(all)-1]
				for i, r := range all {
					if r.expires == "0" { // the removal, perhaps after a challenge
						got = all[:i]
						break
					}
				}
				if len(got) != tc.want {
					t.Errorf("sent %d requests, want %d:\n%s", len(got), tc.want, dump(got))
				}
				for _, r := range all {
					if r.tp != strings.ToUpper(network) {
						t.Errorf("request over %s, want %s", r.tp, strings.ToUpper(network))
					}
				}
				if tc.check != nil {
					if err := tc.check(got); err != nil {
						t.Error(err)
					}
				}
			})
		}
	}
}
