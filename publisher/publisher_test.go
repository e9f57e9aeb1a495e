package publisher

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/icholy/digest"

	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/publisher/locate"
	"github.com/calpresence/calpresence/publisher/publishertest"
)

// staticResolver answers every address lookup with 127.0.0.1.
type staticResolver struct{}

func (staticResolver) LookupNAPTR(context.Context, string) ([]locate.NAPTR, error) { return nil, nil }
func (staticResolver) LookupSRV(context.Context, string) ([]locate.SRV, error)     { return nil, nil }
func (staticResolver) LookupIP(context.Context, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// sent is one request the scripted server saw.
type sent struct {
	at      time.Time
	method  string
	expires string
	ifMatch string
	body    string
	auth    string
	dest    string
	tp      string
}

func hdr(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// sents returns the requests d saw in the shape the tests compare.
func sents(d *publishertest.Doer) []sent {
	var out []sent
	for _, r := range d.Requests() {
		out = append(out, sent{at: r.At, method: r.Method, expires: r.Expires, ifMatch: r.IfMatch,
			body: r.Body, auth: r.Auth, dest: r.Destination, tp: r.Transport})
	}
	return out
}

// ok answers 200 with the ETag "etag<n>" and the requested Expires.
func ok(req *sip.Request, n int) *sip.Response {
	return publishertest.OK(req, "etag"+strconv.Itoa(n))
}

func status(req *sip.Request, code int, reason string, headers ...string) *sip.Response {
	return publishertest.Status(req, code, reason, headers...)
}

var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// start runs a Publisher in a synctest bubble whose clock starts at t0.
func start(t *testing.T, d Doer, opts Options) (*Publisher, context.CancelFunc, chan error) {
	t.Helper()
	if opts.AOR == "" {
		opts.AOR = "sip:alice@example.com"
	}
	if opts.Proxy == "" {
		opts.Proxy = "sip:127.0.0.1:5060"
	}
	opts.Resolver = staticResolver{}
	p := New(d, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	return p, cancel, done
}

// atT0 moves the bubble's clock to t0.
func atT0() { time.Sleep(time.Until(t0)) }

func TestLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{
			{Start: t0.Add(time.Minute), End: t0.Add(10 * time.Minute), Body: []byte("A")},
			{Start: t0.Add(10 * time.Minute), End: t0.Add(20 * time.Minute), Body: []byte("B")},
			{Start: t0.Add(20 * time.Minute), End: t0.Add(30 * time.Minute), Body: nil},
			{Start: t0.Add(30 * time.Minute), Body: []byte("C")},
		})
		time.Sleep(31 * time.Minute)
		synctest.Wait()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("Run() = %v, want nil", err)
		}
		want := []sent{
			{at: t0.Add(time.Minute), expires: "660", body: "A"},                        // publish: 9m + 2m grace
			{at: t0.Add(10 * time.Minute), expires: "720", ifMatch: "etag1", body: "B"}, // modify
			{at: t0.Add(20 * time.Minute), expires: "0", ifMatch: "etag2"},              // remove in the gap
			{at: t0.Add(30 * time.Minute), expires: "3600", body: "C"},                  // open-ended: capped
			{at: t0.Add(31 * time.Minute), expires: "0", ifMatch: "etag4"},              // shutdown
		}
		checkSent(t, sents(s), want)
	})
}

func checkSent(t *testing.T, got, want []sent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("sent %d requests, want %d:\n%s", len(got), len(want), dump(got))
	}
	for i, w := range want {
		g := got[i]
		if !g.at.Equal(w.at) || g.expires != w.expires || g.ifMatch != w.ifMatch || g.body != w.body {
			t.Errorf("request %d = at %v Expires %s If-Match %q body %q, want at %v Expires %s If-Match %q body %q",
				i, g.at.Sub(t0), g.expires, g.ifMatch, g.body, w.at.Sub(t0), w.expires, w.ifMatch, w.body)
		}
	}
}

func dump(rs []sent) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  at %v Expires %s If-Match %q body %q auth %q\n", r.at.Sub(t0), r.expires, r.ifMatch, r.body, r.auth)
	}
	return b.String()
}

func TestRefreshBeforeExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{Expires: 600 * time.Second})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(3 * time.Hour), Body: []byte("A")}})
		time.Sleep(20 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		want := []sent{
			{at: t0, expires: "600", body: "A"},
			{at: t0.Add(450 * time.Second), expires: "600", ifMatch: "etag1"}, // 600 - 600/4
			{at: t0.Add(900 * time.Second), expires: "600", ifMatch: "etag2"},
			{at: t0.Add(20 * time.Minute), expires: "0", ifMatch: "etag3"},
		}
		checkSent(t, sents(s), want)
	})
}

func TestIdenticalNotResent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{})
		tl := []Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}}
		p.SetTimeline(tl)
		synctest.Wait()
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
		synctest.Wait()
		if n := len(sents(s)); n != 1 {
			t.Errorf("after the same timeline twice: %d requests, want 1:\n%s", n, dump(sents(s)))
		}
		cancel()
		<-done
	})
}

func TestInFlightSendsOnlyLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		release := make(chan struct{})
		s := &publishertest.Doer{}
		s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
			if n == 1 {
				<-release
			}
			return ok(req, n), nil
		}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
		synctest.Wait() // the first PUBLISH is in flight
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("B")}})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("C")}})
		synctest.Wait()
		if n := len(sents(s)); n != 1 {
			t.Fatalf("while one PUBLISH is in flight: %d requests, want 1", n)
		}
		close(release)
		synctest.Wait()
		cancel()
		<-done
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0, expires: "3600", ifMatch: "etag1", body: "C"},
			{at: t0, expires: "0", ifMatch: "etag2"},
		})
	})
}

func TestConditionalRequestFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
			if n == 2 {
				return publishertest.PreconditionFailed(req), nil
			}
			return ok(req, n), nil
		}
		p, cancel, done := start(t, s, Options{Expires: 100 * time.Second})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
		time.Sleep(80 * time.Second)
		synctest.Wait()
		cancel()
		<-done
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "100", body: "A"},
			{at: t0.Add(75 * time.Second), expires: "100", ifMatch: "etag1"}, // refresh → 412
			{at: t0.Add(75 * time.Second), expires: "100", body: "A"},        // publish afresh
			{at: t0.Add(80 * time.Second), expires: "0", ifMatch: "etag3"},
		})
	})
}

func TestIntervalTooBrief(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
			if e, _ := strconv.Atoi(hdr(req, "Expires")); e > 0 && e < 900 {
				return publishertest.IntervalTooBrief(req, 900), nil
			}
			return ok(req, n), nil
		}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(5 * time.Minute), Body: []byte("A")}})
		synctest.Wait()
		cancel()
		<-done
		checkSent(t, sents(s), []sent{
			{at: t0, expires: "420", body: "A"},
			{at: t0, expires: "900", body: "A"},
			{at: t0, expires: "0", ifMatch: "etag2"},
		})
	})
}

// digestServer answers like a registrar with qop=auth: it challenges
// requests without valid credentials and declares a nonce stale after
// staleAfter uses.
type digestServer struct {
	alg, password, nonce string
	proxy                bool
	staleAfter, uses     int
	nonces               int
}

func (d *digestServer) handle(req *sip.Request, n int) (*sip.Response, error) {
	code, in, out := 401, "Authorization", "WWW-Authenticate"
	if d.proxy {
		code, in, out = 407, "Proxy-Authorization", "Proxy-Authenticate"
	}
	challenge := func(stale bool) *sip.Response {
		d.nonces++
		d.nonce, d.uses = fmt.Sprintf("nonce%d", d.nonces), 0
		v := fmt.Sprintf(`Digest realm="example.com", nonce="%s", qop="auth", algorithm=%s`, d.nonce, d.alg)
		if stale {
			v += ", stale=true"
		}
		// Offer MD5 too, as servers do for old clients: SHA-256 must win.
		res := status(req, code, "Unauthorized")
		if d.alg != "MD5" {
			res.AppendHeader(sip.NewHeader(out, strings.Replace(v, "algorithm="+d.alg, "algorithm=MD5", 1)))
		}
		res.AppendHeader(sip.NewHeader(out, v))
		return res
	}
	h := req.GetHeader(in)
	if h == nil {
		return challenge(false), nil
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return nil, err
	}
	if cred.Nonce != d.nonce {
		return challenge(true), nil
	}
	d.uses++
	if d.uses > d.staleAfter {
		return challenge(true), nil
	}
	want, _ := digest.Digest(&digest.Challenge{Realm: "example.com", Nonce: d.nonce, QOP: []string{"auth"}, Algorithm: d.alg},
		digest.Options{Method: "PUBLISH", URI: req.Recipient.String(), Username: "alice", Password: d.password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if cred.Response != want.Response || cred.Algorithm != d.alg {
		return challenge(false), nil
	}
	return ok(req, n), nil
}

func TestDigest(t *testing.T) {
	for _, tc := range []struct {
		alg   string
		proxy bool
	}{{"MD5", false}, {"SHA-256", false}, {"MD5", true}, {"SHA-256", true}} {
		t.Run(fmt.Sprintf("%s/proxy=%v", tc.alg, tc.proxy), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				srv := &digestServer{alg: tc.alg, password: "secret", proxy: tc.proxy, staleAfter: 3}
				s := &publishertest.Doer{Handler: srv.handle}
				asked := 0
				var logs strings.Builder
				var logMu sync.Mutex
				logger := slog.New(slog.NewTextHandler(lockedWriter{&logMu, &logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
				p, cancel, done := start(t, s, Options{Logger: logger, Username: "alice", Password: func(context.Context) (string, error) {
					asked++
					return "secret", nil
				}})
				var tl []Entry
				for i := range 6 {
					tl = append(tl, Entry{Start: t0.Add(time.Duration(i) * time.Minute), End: t0.Add(time.Duration(i+1) * time.Minute), Body: []byte{'A' + byte(i)}})
				}
				p.SetTimeline(tl)
				time.Sleep(5*time.Minute + time.Second)
				synctest.Wait()
				if err := p.LastError(); err != nil {
					t.Errorf("LastError() = %v, want nil", err)
				}
				cancel()
				<-done
				got := sents(s)
				// 1 challenge, then 3 PUBLISHes on nonce1 (nc 1..3), the 4th gets
				// stale=true and is retried on nonce2, which serves 3 more
				// before the removal gets stale=true and is retried on nonce3:
				// 6 PUBLISHes + 1 removal + 3 challenged = 10.
				if len(got) != 10 {
					t.Fatalf("sent %d requests, want 10:\n%s", len(got), dump(got))
				}
				wantNC := []string{"", "00000001", "00000002", "00000003", "00000004", "00000001", "00000002", "00000003", "00000004", "00000001"}
				for i, r := range got {
					if (wantNC[i] == "") != (r.auth == "") || (wantNC[i] != "" && !strings.Contains(r.auth, "nc="+wantNC[i])) {
						t.Errorf("request %d auth %q, want nc=%s", i, r.auth, wantNC[i])
					}
					if wantNC[i] != "" && !strings.Contains(r.auth, "algorithm="+tc.alg) {
						t.Errorf("request %d auth %q, want algorithm=%s", i, r.auth, tc.alg)
					}
				}
				if asked != 1 {
					t.Errorf("password asked %d times, want 1", asked)
				}
				logMu.Lock()
				defer logMu.Unlock()
				if l := logs.String(); strings.Contains(l, "secret") || strings.Contains(l, "Authorization") || strings.Contains(l, "response=") || !strings.Contains(l, "what=modify") {
					t.Errorf("logs carry a secret or miss the transitions:\n%s", l)
				}
			})
		})
	}
}

func TestWrongPassword(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		srv := &digestServer{alg: "MD5", password: "right", staleAfter: 100}
		s := &publishertest.Doer{Handler: srv.handle}
		var asked atomic.Int32
		p, cancel, done := start(t, s, Options{Username: "alice", Password: func(context.Context) (string, error) {
			asked.Add(1)
			return "wrong", nil
		}})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
		synctest.Wait()
		err := p.LastError()
		const want = "sip digest auth for sip:alice@example.com rejected: wrong credentials"
		if err == nil || err.Error() != want || !errors.Is(err, ErrWrongCredentials) {
			t.Fatalf("LastError() = %v, want %q wrapping ErrWrongCredentials", err, want)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.Code != 401 {
			t.Errorf("LastError() = %v, want a *StatusError with Code 401", err)
		}
		time.Sleep(10 * time.Minute)
		synctest.Wait()
		// Backoff: 1s, 2s, 4s, ... capped at 5m, halved by jitter at worst:
		// a handful of attempts in 10 minutes, each two requests.
		if n := len(sents(s)); n < 6 || n > 30 {
			t.Errorf("wrong password for 10 minutes: %d requests, want 6..30 (backoff)", n)
		}
		// Each attempt asks again: the password may have been fixed.
		if n := int(asked.Load()); n != len(sents(s))/2 {
			t.Errorf("password asked %d times in %d attempts, want once per attempt", n, len(sents(s))/2)
		}
		cancel()
		<-done
		for _, r := range sents(s) {
			if strings.Contains(r.auth, "wrong") {
				t.Errorf("request carries the password: %q", r.auth)
			}
		}
	})
}

func TestFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		respond   func(req *sip.Request) (*sip.Response, error)
		code      int
		minGap    time.Duration // between the first two attempts
		maxGap    time.Duration
		maxIn10m  int
		checkType bool
	}{
		{"500", func(r *sip.Request) (*sip.Response, error) { return status(r, 500, "Server Error"), nil }, 500, 500 * time.Millisecond, time.Second, 20, true},
		{"503 Retry-After", func(r *sip.Request) (*sip.Response, error) {
			return publishertest.Unavailable(r, 30), nil
		}, 503, 30 * time.Second, 30 * time.Second, 20, true},
		{"403", func(r *sip.Request) (*sip.Response, error) { return status(r, 403, "Forbidden"), nil }, 403, 500 * time.Millisecond, time.Second, 20, true},
		{"404", func(r *sip.Request) (*sip.Response, error) { return status(r, 404, "Not Found"), nil }, 404, 500 * time.Millisecond, time.Second, 20, true},
		{"200 without SIP-ETag", func(r *sip.Request) (*sip.Response, error) { return status(r, 200, "OK"), nil }, 200, 500 * time.Millisecond, time.Second, 20, true},
		{"silence", func(r *sip.Request) (*sip.Response, error) { select {} }, 0, 5*time.Second + 500*time.Millisecond, 6 * time.Second, 20, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				stop := make(chan struct{})
				s := &publishertest.Doer{}
				s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
					if tc.code == 0 {
						select {
						case <-stop:
						case <-time.After(time.Hour):
						}
						return nil, sip.ErrTransactionTimeout
					}
					return tc.respond(req)
				}
				p, cancel, done := start(t, s, Options{})
				p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")}})
				time.Sleep(10 * time.Minute)
				synctest.Wait()
				got := sents(s)
				if len(got) < 2 {
					t.Fatalf("sent %d requests in 10 minutes, want retries", len(got))
				}
				if gap := got[1].at.Sub(got[0].at); gap < tc.minGap || gap > tc.maxGap {
					t.Errorf("first retry after %v, want %v..%v", gap, tc.minGap, tc.maxGap)
				}
				if len(got) > tc.maxIn10m {
					t.Errorf("sent %d requests in 10 minutes, want at most %d (backoff)", len(got), tc.maxIn10m)
				}
				var se *StatusError
				if err := p.LastError(); tc.checkType && (!errors.As(err, &se) || se.Code != tc.code) {
					t.Errorf("LastError() = %v, want *StatusError %d", err, tc.code)
				}
				cancel()
				close(stop)
				<-done
			})
		})
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

func TestBackoffResetsOnSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
			if n <= 6 {
				return status(req, 500, "Server Error"), nil
			}
			return ok(req, n), nil
		}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Minute), Body: []byte("A")}})
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		if p.failures != 0 || p.LastError() != nil {
			t.Errorf("after a success: failures %d, LastError %v, want 0, nil", p.failures, p.LastError())
		}
		cancel()
		<-done
	})
}

func TestShutdownWithinBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		stop := make(chan struct{})
		s := &publishertest.Doer{}
		s.Handler = func(req *sip.Request, n int) (*sip.Response, error) {
			if n == 1 {
				return ok(req, n), nil
			}
			<-stop // the server goes silent
			return nil, errors.New("closed")
		}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{{Start: t0, Body: []byte("A")}})
		synctest.Wait()
		begin := time.Now()
		cancel()
		err := <-done
		if took := time.Since(begin); took > 3*time.Second {
			t.Errorf("Run returned %v after cancel, want at most 3s", took)
		}
		if err == nil {
			t.Errorf("Run() = nil after a removal that got no answer, want an error")
		}
		close(stop)
	})
}

// offsetClock is the real clock with its wall time moved by offset(), as
// after a suspend or a step of NTP; its timers run as the real ones.
type offsetClock struct{ offset func() time.Duration }

func (c offsetClock) Now() time.Time { return time.Now().Add(c.offset()) }
func (offsetClock) AfterFunc(d time.Duration, f func()) clock.Timer {
	return clock.Real.AfterFunc(d, f)
}
func (offsetClock) NewTimer(d time.Duration) clock.Timer { return clock.Real.NewTimer(d) }

func TestClockJump(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		var mu sync.Mutex
		var offset time.Duration
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{Clock: offsetClock{func() time.Duration {
			mu.Lock()
			defer mu.Unlock()
			return offset
		}}})
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(time.Hour), Body: []byte("A")},
			{Start: t0.Add(time.Hour), End: t0.Add(3 * time.Hour), Body: []byte("B")},
		})
		synctest.Wait()
		mu.Lock()
		offset = 90 * time.Minute // resumed from suspend / NTP stepped
		mu.Unlock()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		got := sents(s)
		if len(got) != 2 || got[1].body != "B" {
			t.Fatalf("after the wall clock jumped into B: %s, want a modify to B", dump(got))
		}
		if took := got[1].at.Sub(t0); took > 2*time.Second {
			t.Errorf("modify went out %v after the jump, want within 2s", took)
		}
		cancel()
		<-done
	})
}

func TestUDPTooLargeGoesTCP(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{}
		p, cancel, done := start(t, s, Options{})
		big := strings.Repeat("x", 1200)
		p.SetTimeline([]Entry{
			{Start: t0, End: t0.Add(time.Minute), Body: []byte("small")},
			{Start: t0.Add(time.Minute), End: t0.Add(2 * time.Minute), Body: []byte(big)},
		})
		time.Sleep(time.Minute)
		synctest.Wait()
		cancel()
		<-done
		got := sents(s)
		if got[0].tp != "UDP" || got[1].tp != "TCP" || got[2].tp != "UDP" {
			t.Errorf("transports = %s, %s, %s, want UDP, TCP (1200-byte body), UDP", got[0].tp, got[1].tp, got[2].tp)
		}
	})
}

func TestStateAt(t *testing.T) {
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tl := sortedTimeline([]Entry{
		{Start: at(10), End: at(20), Body: []byte("A")},
		{Start: at(0), End: at(10), Body: []byte("A")},
		{Start: at(20), End: at(30), Body: []byte("B")},
		{Start: at(40), Body: []byte("C")},
	})
	for _, tc := range []struct {
		now       int
		body      string
		end, next int // -1: zero
	}{
		{-5, "", -1, 0},
		{0, "A", 20, 10},
		{15, "A", 20, 20},
		{25, "B", 30, 30},
		{35, "", -1, 40},
		{45, "C", -1, -1},
	} {
		st := stateAt(tl, at(tc.now))
		tm := func(m int) time.Time {
			if m < 0 {
				return time.Time{}
			}
			return at(m)
		}
		if string(st.body) != tc.body || !st.end.Equal(tm(tc.end)) || !st.next.Equal(tm(tc.next)) {
			t.Errorf("stateAt(+%dm) = %q end %v next %v, want %q end %v next %v", tc.now, st.body, st.end, st.next, tc.body, tm(tc.end), tm(tc.next))
		}
	}
}
