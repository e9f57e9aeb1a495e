package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// watcher subscribes to a presentity at a presence server and keeps every
// NOTIFY body it gets, as a phone's BLF key would.
type watcher struct {
	mu     sync.Mutex
	bodies []notify
	seen   int           // NOTIFYs before this one are matched already
	wake   chan struct{} // holds a token after a NOTIFY came
}

type notify struct {
	at   time.Time
	body []byte
}

func startWatcher(t *testing.T, server, presentity string) *watcher {
	t.Helper()
	return subscribe(t, server, presentity, "presence", "application/pidf+xml")
}

// subscribe starts a watcher of presentity's event package.
func subscribe(t *testing.T, server, presentity, event, accept string) *watcher {
	t.Helper()
	port := testserver.FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("watcher"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	w := &watcher{wake: make(chan struct{}, 1)}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		w.mu.Lock()
		w.bodies = append(w.bodies, notify{at: time.Now(), body: bytes.Clone(req.Body())})
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// The socket is bound before the SUBSCRIBE goes out, so Kamailio's
	// first NOTIFY finds it.
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close() })
	cli, err := sipgo.NewClient(ua, sipgo.WithClientAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	var to sip.Uri
	if err := sip.ParseUri(presentity, &to); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.SUBSCRIBE, to)
	req.SetDestination(server)
	req.AppendHeader(sip.NewHeader("Event", event))
	req.AppendHeader(sip.NewHeader("Accept", accept))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.AppendHeader(sip.NewHeader("Contact", "<sip:watcher@"+addr+">"))
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	defer rcancel()
	res, err := cli.Do(rctx, req)
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("SUBSCRIBE %s = %v, %v", presentity, res, err)
	}
	return w
}

// waitFor waits until a NOTIFY that came after the last one waitFor
// matched satisfies ok, and returns when it came.
func (w *watcher) waitFor(t *testing.T, what string, deadline time.Time, ok func(*pidf.Document) bool) time.Time {
	t.Helper()
	for {
		w.mu.Lock()
		ns := slices.Clone(w.bodies[w.seen:])
		w.mu.Unlock()
		for _, n := range ns {
			w.seen++
			doc, err := &pidf.Document{}, error(nil) // an empty body: no publication
			if len(bytes.TrimSpace(n.body)) > 0 {
				doc, err = pidf.Unmarshal(n.body)
			}
			if err == nil && ok(doc) {
				return n.at
			}
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			last := ""
			if len(w.bodies) > 0 {
				last = string(w.bodies[len(w.bodies)-1].body)
			}
			w.mu.Unlock()
			t.Fatalf("no NOTIFY with %s by %v; last NOTIFY body:\n%s", what, deadline.Format("15:04:05.000"), last)
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// ours finds the agent's tuple and person in a merged document.
func ours(doc *pidf.Document, aor string) (*pidf.Tuple, *pidf.Person) {
	base := pidf.IDBase(aor)
	var tu *pidf.Tuple
	var pe *pidf.Person
	for i := range doc.Tuples {
		if doc.Tuples[i].ID == base+"-t" {
			tu = &doc.Tuples[i]
		}
	}
	for i := range doc.Persons {
		if doc.Persons[i].ID == base+"-p" {
			pe = &doc.Persons[i]
		}
	}
	return tu, pe
}

func inMeeting(aor string) func(*pidf.Document) bool {
	return func(doc *pidf.Document) bool {
		tu, pe := ours(doc, aor)
		if tu == nil || pe == nil || tu.Basic != "closed" || pe.Activities == nil {
			return false
		}
		return slices.ContainsFunc(pe.Activities.Values, func(a pidf.Activity) bool { return a.Name == "meeting" })
	}
}

// gone: watchers get nothing from the agent (the default says nothing, so
// the agent removed its publication, after the farewell): no tuple or
// person of its segments, and none of its tuples with a basic.
func gone(aor string) func(*pidf.Document) bool {
	return func(doc *pidf.Document) bool {
		tu, pe := ours(doc, aor)
		return tu == nil && pe == nil && !slices.ContainsFunc(doc.Tuples, func(t pidf.Tuple) bool {
			return strings.HasPrefix(t.ID, pidf.IDBase(aor)) && t.Basic != ""
		})
	}
}

// removed: the server no longer holds the agent's document. Kamailio
// shows a removed publication as its first tuple and status, which after
// the agent's farewell are a tuple of its own saying nothing
// (internal/agent/farewell.go); the farewell's own NOTIFY carries its
// marker.
func removed(aor string) func(*pidf.Document) bool {
	return func(doc *pidf.Document) bool {
		tu, pe := ours(doc, aor)
		return tu == nil && pe == nil && !doc.Farewell
	}
}

// buildBinary builds calpresence for the subprocess tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "calpresence")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// davPut stores one event in Radicale's calendar, creating it if needed.
func davPut(t *testing.T, url, user, pass, ics string) {
	t.Helper()
	do := func(method, u, body, ctype string) int {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		req.SetBasicAuth(user, pass)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, u, err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	cal := url + user + "/work/"
	if code := do("PROPFIND", cal, "", ""); code == 404 {
		if code := do("MKCALENDAR", cal, "", ""); code/100 != 2 {
			t.Fatalf("MKCALENDAR %s = %d", cal, code)
		}
	}
	if code := do("PUT", cal+"m1.ics", ics, "text/calendar; charset=utf-8"); code/100 != 2 {
		t.Fatalf("PUT %s = %d", cal+"m1.ics", code)
	}
}

// The whole product against the real servers: a meeting created in
// Radicale reaches a watcher's NOTIFY (through Kamailio) at its start and
// leaves at its end; an edit in Radicale moves the flip at the next poll;
// SIGHUP with a broken config keeps the running one; SIGTERM removes the
// publication and exits 0 within 5 s.
func TestRunEndToEnd(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	rad := testserver.StartRadicale(t, map[string]string{"alice": "secret-pw"})
	bin := buildBinary(t)
	const aor = "sip:alice@example.com"

	start := time.Now().Add(8 * time.Second).Truncate(time.Second)
	end := start.Add(30 * time.Second)
	davPut(t, rad.URL, "alice", "secret-pw", meetingICS(start, end))

	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`timezone = "UTC"
me = ["mailto:alice@example.com"]
state_dir = %q

[sip]
aor = %q
proxy = "sip:%s;transport=tcp"

[[calendar]]
name = "work"
type = "caldav"
url = %q
username = "alice"
password_env = "CALPRESENCE_TEST_DAV_PASSWORD"
poll = "@every 1s"
`, filepath.Join(dir, "state"), aor, kam.Addr(), rad.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, kam.Addr(), aor)

	metrics := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	agent := startAgent(t, bin, dir, "agent", 0, []string{"-config", cfgPath, "-log-level", "debug", "-metrics-addr", metrics},
		"CALPRESENCE_TEST_DAV_PASSWORD=secret-pw")
	logs := agent.logs

	// Before the meeting the default says nothing: nothing is published.
	at := w.waitFor(t, "the meeting", start.Add(5*time.Second), inMeeting(aor))
	if d := at.Sub(start); d < -50*time.Millisecond || d > time.Second {
		t.Errorf("the meeting reached the watcher %v after its start, want within 1s", d)
	}

	// The metrics say so too.
	res, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`calpresence_presence{user="sip:alice@example.com",basic="closed",activities="busy,meeting"} 1`,
		`calpresence_publish_requests_total{user="sip:alice@example.com",result="2xx"} `,
		`calpresence_calendar_poll_errors_total{user="sip:alice@example.com",calendar="work"} 0`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("GET /metrics during the meeting lacks %q:\n%s", want, body)
		}
	}

	// Edit: the meeting ends early. The next poll (1 s) moves the flip.
	newEnd := time.Now().Add(5 * time.Second).Truncate(time.Second)
	davPut(t, rad.URL, "alice", "secret-pw", meetingICS(start, newEnd))
	// The end is followed by the default, which says nothing: the agent
	// removes the publication at the end, on time, after the farewell.
	at = w.waitFor(t, "the end of the edited meeting", newEnd.Add(8*time.Second), gone(aor))
	if d := at.Sub(newEnd); d < -50*time.Millisecond || d > time.Second {
		t.Errorf("the edited meeting's end reached the watcher %v after it, want within 1s", d)
	}

	// SIGHUP with a broken config: refused, the old one keeps running.
	if err := os.WriteFile(cfgPath, []byte("timezone = \n[sip\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	agent.signal(syscall.SIGHUP)
	if !logs.waitFor(time.Now().Add(5*time.Second), func(s string) bool { return strings.Contains(s, "config reload refused") }) {
		t.Fatalf("SIGHUP with a broken config: no refusal logged")
	}
	if err, exited := agent.wait(0); exited {
		t.Fatalf("the agent exited after SIGHUP with a broken config: %v", err)
	}
	// Still working: a new meeting from the calendar still goes out.
	s2 := time.Now().Add(4 * time.Second).Truncate(time.Second)
	davPut(t, rad.URL, "alice", "secret-pw", meetingICS(s2, s2.Add(time.Hour)))
	w.waitFor(t, "a meeting after the refused reload", s2.Add(3*time.Second), inMeeting(aor))

	// SIGHUP with a valid config and new rules: the running meeting is
	// published the new way at once.
	os.WriteFile(filepath.Join(dir, "relaxed.toml"), []byte(`
[default]
basic = "open"

[[rule]]
name = "all"
[rule.presence]
basic = "open"
activities = ["busy"]
note = "Reloaded"
`), 0o600)
	if err := os.WriteFile(cfgPath, []byte("rules = \"relaxed.toml\"\n"+cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	agent.signal(syscall.SIGHUP)
	w.waitFor(t, "the reloaded rules", time.Now().Add(5*time.Second), func(doc *pidf.Document) bool {
		tu, _ := ours(doc, aor)
		return tu != nil && tu.Basic == "open" && len(tu.Notes) > 0 && tu.Notes[0].Text == "Reloaded"
	})

	// SIGTERM: the publication is removed and the agent exits 0 within 5 s.
	agent.terminate(t)
	w.waitFor(t, "the removal", time.Now().Add(3*time.Second), removed(aor))
	for _, secret := range []string{"secret-pw"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the agent's log shows the password")
		}
	}
}

// Do Not Disturb: with examples/kamailio-dnd.cfg, a call to the user during
// a calendar meeting gets 486 Busy Here and one after it rings and is
// answered.
func TestDNDEndToEnd(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	testserver.LookPath(t, "sipp", "sip-tester")
	scen, _ := filepath.Abs(filepath.Join("testdata", "run"))
	const aor = "sip:bob@example.com"

	// Bob's phone: a SIPp UAS, registered for bob.
	uasPort := testserver.FreePort(t)
	sippBin := testserver.LookPath(t, "sipp", "sip-tester")
	testserver.Start(t, t.TempDir(), nil, sippBin, "-sf", filepath.Join(scen, "dnd_uas.xml"), "-i", "127.0.0.1",
		"-p", fmt.Sprint(uasPort), "-nostdin", "-m", "100")
	register(t, kam.Addr(), "bob", fmt.Sprintf("127.0.0.1:%d", uasPort))

	dir := t.TempDir()
	start := time.Now().Add(5 * time.Second).Truncate(time.Second)
	end := start.Add(6 * time.Second)
	ics := filepath.Join(dir, "bob.ics")
	if err := os.WriteFile(ics, []byte(meetingICS(start, end)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`timezone = "UTC"
state_dir = %q
[sip]
aor = %q
proxy = "sip:%s;transport=tcp"
[[calendar]]
name = "work"
url = %q
poll = "@every 1s"
`, filepath.Join(dir, "state"), aor, kam.Addr(), ics)
	os.WriteFile(cfgPath, []byte(cfg), 0o600)

	ctx, cancel := context.WithCancel(context.Background())
	logs := newSignalBuffer()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "-config", cfgPath, "-log-level", "debug"}, nil, logs, logs)
	}()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	call := func(scenario string) (int, string) {
		cctx, ccancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer ccancel()
		return testserver.SIPp(cctx, t, t.TempDir(), kam.Addr(), "-sf", filepath.Join(scen, scenario), "-i", "127.0.0.1",
			"-p", fmt.Sprint(testserver.FreePort(t)), "-m", "1", "-nostdin", "-timeout", "10s", "-timeout_error")
	}
	w := startWatcher(t, kam.Addr(), aor)
	// Before the meeting the call goes through.
	if code, out := call("dnd_ok.xml"); code != 0 {
		t.Fatalf("call before the meeting: sipp exit %d, want 0 (180/200)\n%s", code, out)
	}
	// published(n) holds once Kamailio took n of the agent's PUBLISH
	// requests.
	published := func(n int) func(string) bool {
		return func(log string) bool {
			ok := 0
			for _, line := range strings.Split(log, "\n") {
				if strings.Contains(line, `msg="sip publish"`) && strings.Contains(line, "result=200") {
					ok++
				}
			}
			return ok >= n
		}
	}
	// During it: 486, once the meeting's document is at Kamailio (the
	// first PUBLISH: before it the default says nothing).
	if !logs.waitFor(start.Add(5*time.Second), published(1)) {
		t.Fatalf("the meeting's PUBLISH did not go out by %v", start.Add(5*time.Second))
	}
	w.waitFor(t, "the meeting", start.Add(5*time.Second), inMeeting(aor))
	if code, out := call("dnd_busy.xml"); code != 0 {
		t.Fatalf("call during the meeting: sipp exit %d, want 0 (486 Busy Here)\n%s", code, out)
	}
	// After it, once the agent removed its publication at the end: rings
	// and is answered again.
	w.waitFor(t, "the meeting's end", end.Add(8*time.Second), gone(aor))
	if code, out := call("dnd_ok.xml"); code != 0 {
		t.Fatalf("call after the meeting: sipp exit %d, want 0 (180/200)\n%s", code, out)
	}
}

// register binds user's AOR at the registrar to contact.
func register(t *testing.T, server, user, contact string) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	cli, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "example.com"})
	req.SetDestination(server)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "example.com"}})
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "example.com"}}
	from.Params.Add("tag", sip.GenerateTagN(8))
	req.AppendHeader(from)
	req.AppendHeader(sip.NewHeader("Contact", "<sip:"+user+"@"+contact+">"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := cli.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("REGISTER %s = %v, %v", user, res, err)
	}
}

// meetingICS is one meeting (three attendees: Do Not Disturb) in [s, e).
func meetingICS(s, e time.Time) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calpresence//test//EN\r\n")
	b.WriteString("BEGIN:VEVENT\r\nUID:m1\r\nDTSTAMP:20000101T000000Z\r\n")
	fmt.Fprintf(&b, "DTSTART:%s\r\nDTEND:%s\r\n", s.UTC().Format("20060102T150405Z"), e.UTC().Format("20060102T150405Z"))
	b.WriteString("SUMMARY:Review\r\n")
	for i := range 3 {
		fmt.Fprintf(&b, "ATTENDEE;PARTSTAT=ACCEPTED:mailto:p%d@example.com\r\n", i)
	}
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return b.String()
}

// signalBuffer keeps what is written to it and tells waiters at once.
type signalBuffer struct {
	testserver.SafeBuffer
	wake chan struct{} // holds a token after a write
}

func newSignalBuffer() *signalBuffer { return &signalBuffer{wake: make(chan struct{}, 1)} }

func (b *signalBuffer) Write(p []byte) (int, error) {
	n, err := b.SafeBuffer.Write(p)
	select {
	case b.wake <- struct{}{}:
	default:
	}
	return n, err
}

// waitFor reports whether what was written satisfies ok by deadline.
func (b *signalBuffer) waitFor(deadline time.Time, ok func(string) bool) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for !ok(b.String()) {
		select {
		case <-b.wake:
		case <-timer.C:
			return ok(b.String())
		}
	}
	return true
}
