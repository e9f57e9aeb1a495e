package publisher

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// pidfDoc is a hand-written PIDF document with one tuple.
func pidfDoc(aor, tupleID, basic, note string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" entity="%s">
  <tuple id="%s"><status><basic>%s</basic></status><contact>%s</contact><note>%s</note></tuple>
</presence>
`, aor, tupleID, basic, aor, note)
}

// watcher SUBSCRIBEs to a presentity and collects the NOTIFY bodies.
type watcher struct {
	mu     sync.Mutex
	bodies []string
	signal chan struct{}
}

func newWatcher(t *testing.T, k *testserver.Kamailio, presentity string) *watcher {
	t.Helper()
	w := &watcher{signal: make(chan struct{}, 1)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("watcher"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		w.mu.Lock()
		w.bodies = append(w.bodies, string(req.Body()))
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
	})
	_, portStr, _ := net.SplitHostPort(serve(t, srv, "udp"))
	port, _ := strconv.Atoi(portStr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		t.Fatal(err)
	}
	var uri sip.Uri
	sip.ParseUri(presentity, &uri)
	req := sip.NewRequest(sip.SUBSCRIBE, uri)
	req.AppendHeader(sip.NewHeader("Event", "presence"))
	req.AppendHeader(sip.NewHeader("Accept", "application/pidf+xml"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:watcher@127.0.0.1:%d>", port)))
	req.SetDestination(k.Addr)
	req.SetTransport("UDP")
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	res, err := c.Do(rctx, req)
	if err != nil || res.StatusCode >= 300 {
		t.Fatalf("SUBSCRIBE %s = %v %v, want 2xx", presentity, res, err)
	}
	return w
}

// waitFor waits until a NOTIFY arrives whose body satisfies ok and
// returns it; it fails t after timeout.
func (w *watcher) waitFor(t *testing.T, what string, timeout time.Duration, ok func(body string) bool) string {
	t.Helper()
	deadline := time.After(timeout)
	seen := 0
	for {
		w.mu.Lock()
		bodies := w.bodies[seen:]
		seen = len(w.bodies)
		all := strings.Join(w.bodies, "\n----\n")
		w.mu.Unlock()
		for _, b := range bodies {
			if ok(b) {
				return b
			}
		}
		select {
		case <-w.signal:
		case <-deadline:
			t.Fatalf("no NOTIFY %s within %v; got:\n%s", what, timeout, all)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func contains(subs ...string) func(string) bool {
	return func(b string) bool {
		for _, s := range subs {
			if !strings.Contains(b, s) {
				return false
			}
		}
		return true
	}
}

// countingDoer counts requests, so that tests can prove one round trip
// per PUBLISH.
type countingDoer struct {
	d    Doer
	n    atomic.Int64
	auth atomic.Value // the last credentials sent
}

func (c *countingDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	c.n.Add(1)
	if h := req.GetHeader("Proxy-Authorization"); h != nil {
		c.auth.Store(h.Value())
	}
	return c.d.Do(ctx, req)
}

func newClient(t testing.TB) *Client {
	t.Helper()
	c, err := NewClient(ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func runPublisher(t *testing.T, d Doer, opts Options) (*Publisher, func() error) {
	t.Helper()
	opts.Logger = cmpLogger(opts.Logger, t)
	p := New(d, opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	var once sync.Once
	var err error
	stop := func() error {
		once.Do(func() { cancel(); err = <-done })
		return err
	}
	t.Cleanup(func() { stop() })
	return p, stop
}

func cmpLogger(l *slog.Logger, t testing.TB) *slog.Logger {
	if l != nil {
		return l
	}
	return testLogger(t)
}

func TestKamailioLifecycle(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	for _, transport := range []string{"udp", "tcp"} {
		t.Run(transport, func(t *testing.T) {
			aor := "sip:lc-" + transport + "@example.com"
			w := newWatcher(t, k, aor)
			now := time.Now()
			docA := pidfDoc(aor, "calpresence-1", "closed", "In a meeting until 15:00")
			docB := pidfDoc(aor, "calpresence-1", "open", "Busy until 16:00")
			d := &resultDoer{d: newClient(t)}
			p, stop := runPublisher(t, d, Options{
				AOR: aor, Proxy: fmt.Sprintf("sip:%s;transport=%s", k.Addr, transport),
				Expires: 3 * time.Second, Grace: time.Second,
			})
			p.SetTimeline([]Entry{
				{Start: now.Add(-time.Minute), End: now.Add(1500 * time.Millisecond), Body: docA},
				{Start: now.Add(1500 * time.Millisecond), End: now.Add(time.Hour), Body: docB},
			})
			w.waitFor(t, "with the published document", 5*time.Second, contains("In a meeting until 15:00", "calpresence-1"))
			w.waitFor(t, "with the modified document", 5*time.Second, contains("Busy until 16:00"))
			// Expires is 3s and Kamailio drops expired publications every
			// second: only refreshes keep it there after 3 refreshes (a
			// refresh goes out 1s before expiry, so that is over 6s).
			mod := d.waitFor(t, "the modification answered 2xx", 5*time.Second, 0, func(r result) bool { return r.modify() && r.ok() })
			d.waitFor(t, "3 refreshes answered 2xx", 15*time.Second, mod+1, func(r result) bool { return r.refresh() && r.ok() }, 3)
			w2 := newWatcher(t, k, aor)
			w2.waitFor(t, "to a new watcher after 3 refreshes", 5*time.Second, contains("Busy until 16:00"))
			if err := p.LastError(); err != nil {
				t.Errorf("LastError() = %v, want nil", err)
			}
			if err := stop(); err != nil {
				t.Fatalf("Run() = %v, want nil", err)
			}
			w.waitFor(t, "showing the removal", 5*time.Second, func(b string) bool {
				return !strings.Contains(b, "Busy until 16:00") || strings.Contains(b, "<basic>closed</basic>")
			})
		})
	}
}

// result is a request and its answer, as a resultDoer saw them.
type result struct {
	at               time.Time // when the request went out
	ifMatch, expires string
	body             bool
	code             int // 0: an error
}

func (r result) ok() bool      { return r.code >= 200 && r.code < 300 }
func (r result) modify() bool  { return r.ifMatch != "" && r.body }
func (r result) refresh() bool { return r.ifMatch != "" && !r.body && r.expires != "0" }

// resultDoer records every request with its answer and lets a test wait
// for them.
type resultDoer struct {
	d       Doer
	mu      sync.Mutex
	results []result
	changed chan struct{} // closed and replaced on every answer
}

func (r *resultDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	at := time.Now()
	res, err := r.d.Do(ctx, req)
	x := result{at: at, ifMatch: hdr(req, "SIP-If-Match"), expires: hdr(req, "Expires"), body: len(req.Body()) > 0}
	if err == nil {
		x.code = res.StatusCode
	}
	r.mu.Lock()
	r.results = append(r.results, x)
	if r.changed != nil {
		close(r.changed)
		r.changed = nil
	}
	r.mu.Unlock()
	return res, err
}

func (r *resultDoer) got() []result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]result(nil), r.results...)
}

// waitFor waits until count (default 1) results from index from on
// satisfy match and returns the index of the last of them; it fails t
// after timeout.
func (r *resultDoer) waitFor(t *testing.T, what string, timeout time.Duration, from int, match func(result) bool, count ...int) int {
	t.Helper()
	want := 1
	if len(count) > 0 {
		want = count[0]
	}
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		if r.changed == nil {
			r.changed = make(chan struct{})
		}
		ch := r.changed
		n := 0
		for i := from; i < len(r.results); i++ {
			if match(r.results[i]) {
				if n++; n == want {
					r.mu.Unlock()
					return i
				}
			}
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("not %s within %v: %+v", what, timeout, r.got())
		}
	}
}

// recordingDoer notes, for each PUBLISH, whether it was conditional and
// what the server answered.
type recordingDoer struct {
	d     Doer
	mu    sync.Mutex
	fresh int   // requests without SIP-If-Match
	codes []int // final responses; 0: an error
}

func (r *recordingDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := r.d.Do(ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	if req.GetHeader("SIP-If-Match") == nil {
		r.fresh++
	}
	code := 0
	if err == nil {
		code = res.StatusCode
	}
	r.codes = append(r.codes, code)
	return res, err
}

// TestKamailioSegmentsAsLongAsExpires is the agent author's report against
// the real server: segments exactly as long as Expires, where the grace is
// capped away, must keep one publication (one ETag) from start to end:
// no 412, no fresh PUBLISH.
func TestKamailioSegmentsAsLongAsExpires(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	aor := "sip:long@example.com"
	d := &recordingDoer{d: newClient(t)}
	p, stop := runPublisher(t, d, Options{AOR: aor, Proxy: "sip:" + k.Addr, Expires: 4 * time.Second, Grace: 2 * time.Second})
	now := time.Now()
	var tl []Entry
	for i := range 3 {
		s := now.Add(time.Duration(i) * 4 * time.Second)
		tl = append(tl, Entry{Start: s, End: s.Add(4 * time.Second), Body: pidfDoc(aor, "calpresence-1", "open", fmt.Sprintf("segment %d", i))})
	}
	tl = append(tl, Entry{Start: now.Add(12 * time.Second), Body: pidfDoc(aor, "calpresence-1", "open", "open-ended")})
	p.SetTimeline(tl)
	newWatcher(t, k, aor).waitFor(t, "with the last document", 20*time.Second, contains("open-ended"))
	if err := stop(); err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, c := range d.codes {
		if c < 200 || c >= 300 {
			t.Errorf("request %d answered %d, want 2xx (answers %v)", i, c, d.codes)
		}
	}
	if d.fresh != 1 {
		t.Errorf("%d PUBLISH requests without SIP-If-Match, want 1 (the publication lapsed)", d.fresh)
	}
}

func TestKamailioDigest(t *testing.T) {
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			k := testserver.StartKamailio(t, testserver.KamailioOptions{Users: map[string]string{"alice": "s3cret"}, Algorithm: alg})
			aor := "sip:alice@example.com"
			w := newWatcher(t, k, aor)
			d := &countingDoer{d: newClient(t)}
			p, stop := runPublisher(t, d, Options{
				AOR: aor, Proxy: "sip:" + k.Addr, Username: "alice",
				Password: func(context.Context) (string, error) { return "s3cret", nil },
			})
			now := time.Now()
			var tl []Entry
			for i := range 5 {
				s := now.Add(time.Duration(i*300) * time.Millisecond)
				tl = append(tl, Entry{Start: s, End: s.Add(300 * time.Millisecond), Body: pidfDoc(aor, "calpresence-1", "open", fmt.Sprintf("doc %d", i))})
			}
			tl[4].End = now.Add(time.Hour)
			p.SetTimeline(tl)
			w.waitFor(t, "with the last document", 10*time.Second, contains("doc 4"))
			if err := p.LastError(); err != nil {
				t.Errorf("LastError() = %v, want nil", err)
			}
			if a, _ := d.auth.Load().(string); !strings.Contains(a, "algorithm="+alg) || !strings.Contains(a, "nc=00000005") {
				t.Errorf("last credentials %q, want algorithm=%s and nc=00000005", a, alg)
			}
			// One challenge, then one request per PUBLISH: 5 + 1.
			if n := d.n.Load(); n != 6 {
				t.Errorf("5 publications with digest auth took %d requests, want 6 (nonce reused)", n)
			}
			if err := stop(); err != nil {
				t.Errorf("Run() = %v, want nil", err)
			}
		})
	}
}

func TestKamailioWrongPassword(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{Users: map[string]string{"alice": "s3cret"}})
	d := &resultDoer{d: newClient(t)}
	aor := "sip:alice@example.com"
	p, _ := runPublisher(t, d, Options{
		AOR: aor, Proxy: "sip:" + k.Addr, Username: "alice",
		Password:   func(context.Context) (string, error) { return "guess", nil },
		MinBackoff: time.Second,
	})
	p.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "calpresence-1", "open", "x")}})
	waitResult(t, p, 5*time.Second, func() bool { return p.LastError() != nil })
	err := p.LastError()
	if !errors.Is(err, ErrWrongCredentials) || err.Error() != "sip digest auth for sip:alice@example.com rejected: wrong credentials" {
		t.Fatalf("LastError() = %v, want the wrong-credentials error", err)
	}
	// Each attempt is 2 requests (challenge, refused credentials). Backoff
	// after the k-th failure is MinBackoff·2^(k-1), jittered to at least
	// half: attempt k+1 starts at least 0.5s, then 1s after attempt k.
	every := func(result) bool { return true }
	d.waitFor(t, "3 attempts", 10*time.Second, 0, every, 6)
	rs := d.got()
	for k, least := range []time.Duration{500 * time.Millisecond, time.Second} {
		if gap := rs[2*(k+1)].at.Sub(rs[2*k+1].at); gap < least {
			t.Errorf("wrong password: attempt %d started %v after attempt %d failed, want at least %v (backoff)", k+2, gap, k+1, least)
		}
	}
}

// waitResult waits until cond holds, checking it again whenever a
// request's result is recorded; it returns cond's last value after timeout.
func waitResult(t *testing.T, p *Publisher, timeout time.Duration, cond func() bool) bool {
	t.Helper()
	deadline := time.After(timeout)
	for {
		next := p.nextResult()
		if cond() {
			return true
		}
		select {
		case <-next:
		case <-deadline:
			return cond()
		}
	}
}

func TestKamailioRestartRestoresPublication(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	aor := "sip:restart@example.com"
	p, _ := runPublisher(t, newClient(t), Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=tcp", Expires: 4 * time.Second})
	p.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "calpresence-1", "closed", "Restored")}})
	newWatcher(t, k, aor).waitFor(t, "before the restart", 5*time.Second, contains("Restored"))
	k.Restart(nil)
	// The next refresh (within 3s) gets 412 and publishes afresh.
	w := newWatcher(t, k, aor)
	w.waitFor(t, "after the restart", 8*time.Second, contains("Restored"))
}

func TestKamailioCoexistsWithPhone(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{})
	aor := "sip:both@example.com"
	c := newClient(t)
	phone, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr})
	phone.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "phone-tuple-0001", "open", "On the phone")}})
	agent, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr})
	agent.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "calpresence-1", "closed", "In a meeting")}})
	w := newWatcher(t, k, aor)
	w.waitFor(t, "with both tuples", 5*time.Second, contains(`"phone-tuple-0001"`, `"calpresence-1"`, "On the phone", "In a meeting"))
}

func TestKamailioMinExpires(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{MinExpiresPublish: 60})
	aor := "sip:brief@example.com"
	d := &countingDoer{d: newClient(t)}
	p, _ := runPublisher(t, d, Options{AOR: aor, Proxy: "sip:" + k.Addr, Expires: 10 * time.Second})
	p.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "calpresence-1", "open", "Brief")}})
	newWatcher(t, k, aor).waitFor(t, "after 423", 5*time.Second, contains("Brief"))
	if n := d.n.Load(); n != 2 {
		t.Errorf("publish after 423 took %d requests, want 2", n)
	}
	if p.minExpires != 60 {
		t.Errorf("minExpires = %d, want 60 from Min-Expires", p.minExpires)
	}
}

// TestExampleKamailioConfig keeps the admins' example in step with the
// configuration the tests prove, and checks that Kamailio accepts it in
// every mode.
func TestExampleKamailioConfig(t *testing.T) {
	example, err := os.ReadFile("../examples/kamailio-presence.cfg")
	if err != nil {
		t.Fatal(err)
	}
	tested, err := os.ReadFile(testserver.KamailioConfig())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(example, tested) {
		t.Errorf("examples/kamailio-presence.cfg differs from publisher/testdata/kamailio.cfg; copy the tested one over")
	}
	bin := testserver.LookPath(t, "kamailio", "kamailio")
	mods, _ := filepath.Glob("/usr/lib/*/kamailio/modules")
	for _, defines := range [][]string{nil, {"-A", "WITH_AUTH"}, {"-A", "WITH_AUTH", "-A", `AUTH_ALGORITHM="SHA-256"`, "-A", "MIN_EXPIRES_PUBLISH=60", "-A", "CLEAN_PERIOD=1"},
		{"-A", "WITH_DIALOGINFO", "-A", "DIALOGINFO_SINGLE", "-A", "DIALOGINFO_DUMMY"}} {
		args := append([]string{"-c", "-f", "../examples/kamailio-presence.cfg"}, defines...)
		if len(mods) > 0 {
			args = append(args, "-L", mods[0])
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Errorf("kamailio %v: %v\n%s", args, err, out)
		}
	}
}

func TestKamailioStaleNonce(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{Users: map[string]string{"alice": "s3cret"}, NonceExpire: 2 * time.Second})
	aor := "sip:alice@example.com"
	w := newWatcher(t, k, aor)
	d := &countingDoer{d: newClient(t)}
	p, _ := runPublisher(t, d, Options{
		AOR: aor, Proxy: "sip:" + k.Addr, Username: "alice",
		Password: func(context.Context) (string, error) { return "s3cret", nil },
	})
	now := time.Now()
	p.SetTimeline([]Entry{
		{Start: now, End: now.Add(3 * time.Second), Body: pidfDoc(aor, "calpresence-1", "open", "before")},
		{Start: now.Add(3 * time.Second), End: now.Add(time.Hour), Body: pidfDoc(aor, "calpresence-1", "open", "after")},
	})
	w.waitFor(t, "with the second document", 10*time.Second, contains("after"))
	if err := p.LastError(); err != nil {
		t.Errorf("LastError() = %v, want nil (a stale nonce is no failure)", err)
	}
	// challenge + PUBLISH, then the modify on the expired nonce is
	// challenged again and sent again: 4. Kamailio 5.6 leaves stale=true
	// out of that challenge, so the publisher must retry pre-emptive
	// credentials once whatever the challenge says.
	if n := d.n.Load(); n != 4 {
		t.Errorf("publish, wait past nonce expiry, modify: %d requests, want 4", n)
	}
}

func TestKamailioLargeBodyGoesTCP(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{})
	aor := "sip:large@example.com"
	w := newWatcher(t, k, aor)
	note := strings.Repeat("Quarterly planning with the whole department. ", 40) // ~1.9 kB
	p, _ := runPublisher(t, newClient(t), Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=udp"})
	p.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "calpresence-1", "closed", note)}})
	w.waitFor(t, "with the large document", 5*time.Second, contains("Quarterly planning"))
	if err := p.LastError(); err != nil {
		t.Errorf("LastError() = %v, want nil", err)
	}
}

// TestKamailioAcceptsPIDFGoldens publishes the documents the pidf and rules
// packages' golden files hold, as the agent will send them, and checks that
// Kamailio's presence_xml accepts them (no 415) and passes them on.
func TestKamailioAcceptsPIDFGoldens(t *testing.T) {
	files, _ := filepath.Glob("../pidf/testdata/*.xml")
	more, _ := filepath.Glob("../rules/testdata/pidf/*.xml")
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no PIDF golden files")
	}
	k := testserver.StartKamailio(t, testserver.KamailioOptions{})
	c := newClient(t)
	tupleID := regexp.MustCompile(`<tuple id="([^"]+)"`)
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m := tupleID.FindSubmatch(body)
		if m == nil {
			continue
		}
		t.Run(filepath.Base(filepath.Dir(filepath.Dir(f)))+"/"+filepath.Base(f), func(t *testing.T) {
			aor := fmt.Sprintf("sip:golden%d@example.com", i)
			w := newWatcher(t, k, aor)
			p, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=tcp"})
			p.SetTimeline([]Entry{{Start: time.Now(), Body: body}})
			w.waitFor(t, "with tuple "+string(m[1]), 5*time.Second, contains(`"`+string(m[1])+`"`))
			if err := p.LastError(); err != nil {
				t.Errorf("publishing %s: %v", f, err)
			}
		})
	}
}
