package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/verify"
)

const aor = "sip:alice@example.com"

// meeting is the document the agent publishes during a meeting.
func meeting(t *testing.T) []byte {
	t.Helper()
	base := pidf.IDBase(aor)
	d := &pidf.Document{Entity: aor,
		Tuples:  []pidf.Tuple{{ID: base + "-t", Basic: "closed", Contact: aor, Notes: []pidf.Note{{Text: "In a meeting until 15:00"}}}},
		Persons: []pidf.Person{{ID: base + "-p", Activities: &pidf.Activities{Values: []pidf.Activity{{Name: "busy"}, {Name: "meeting"}}}}}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func inMeeting(body []byte) bool {
	doc, err := pidf.Unmarshal(body)
	if err != nil {
		return false
	}
	base := pidf.IDBase(aor)
	for _, p := range doc.Persons {
		if p.ID == base+"-p" && p.Activities != nil &&
			slices.ContainsFunc(p.Activities.Values, func(a pidf.Activity) bool { return a.Name == "meeting" }) {
			return true
		}
	}
	return false
}

// etagDoer records the SIP-ETag of the publisher's last 2xx.
type etagDoer struct {
	d    publisher.Doer
	etag atomic.Value
}

func (e *etagDoer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	res, err := e.d.Do(ctx, req)
	if err == nil && res.StatusCode/100 == 2 {
		if h := res.GetHeader("SIP-ETag"); h != nil {
			e.etag.Store(h.Value())
		}
	}
	return res, err
}

// watcher is a phone's BLF key: it subscribes to the presentity and keeps
// the NOTIFY bodies.
type watcher struct {
	mu     sync.Mutex
	bodies []stamped
	wake   chan struct{}
}

type stamped struct {
	at   time.Time
	body []byte
}

func startWatcher(t *testing.T, server string) *watcher {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("watcher"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	w := &watcher{wake: make(chan struct{}, 1)}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		w.mu.Lock()
		w.bodies = append(w.bodies, stamped{time.Now(), bytes.Clone(req.Body())})
		w.mu.Unlock()
		select {
		case w.wake <- struct{}{}:
		default:
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	conn, err := net.ListenPacket("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close() })
	cli, _ := sipgo.NewClient(ua, sipgo.WithClientAddr(addr))
	var to sip.Uri
	sip.ParseUri(aor, &to)
	req := sip.NewRequest(sip.SUBSCRIBE, to)
	req.SetDestination(server)
	for _, h := range [][2]string{{"Event", "presence"}, {"Accept", "application/pidf+xml"}, {"Expires", "600"}, {"Contact", "<sip:watcher@" + addr + ">"}} {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res, err := cli.Do(ctx, req); err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("SUBSCRIBE = %v, %v", res, err)
	}
	return w
}

// waitFor returns when the first NOTIFY at or after from satisfying ok came.
func (w *watcher) waitFor(t *testing.T, what string, from, deadline time.Time, ok func([]byte) bool) time.Time {
	t.Helper()
	for {
		w.mu.Lock()
		for _, b := range w.bodies {
			if !b.at.Before(from) && ok(b.body) {
				w.mu.Unlock()
				return b.at
			}
		}
		last := ""
		if len(w.bodies) > 0 {
			last = string(w.bodies[len(w.bodies)-1].body)
		}
		w.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no NOTIFY with %s by %v; last:\n%s", what, deadline.Format("15:04:05.000"), last)
		}
		select {
		case <-w.wake:
		case <-time.After(time.Until(deadline)):
		}
	}
}

// The publication repaired against the real Kamailio: removed behind the
// publisher's back, and lost in a restart of the server with empty state,
// it is back at a watcher within the settle time, not at the next refresh
// (an hour away).
func TestKamailioRepair(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	pc, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := &etagDoer{d: pc}
	pub := publisher.New(d, publisher.Options{AOR: aor, Proxy: "sip:" + kam.Addr() + ";transport=tcp", Expires: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { pub.Run(ctx) })
	pub.SetTimeline([]publisher.Entry{{Start: time.Now().Add(-time.Minute), Body: meeting(t)}})

	listen, err := verify.LocalAddrFor(kam.Addr())
	if err != nil {
		t.Fatal(err)
	}
	vc, err := verify.NewClient(verify.ClientOptions{Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	var repairs atomic.Int64
	wg.Go(func() {
		vc.Watch(ctx, verify.Options{AOR: aor, Destination: kam.Addr(), InForce: pub.InForce, Repair: pub.Repair,
			OnRepair: func() { repairs.Add(1) }, Settle: 500 * time.Millisecond, Probe: time.Second})
	})

	w := startWatcher(t, kam.Addr())
	w.waitFor(t, "the meeting", time.Time{}, time.Now().Add(5*time.Second), inMeeting)
	time.Sleep(2 * time.Second) // the agent's watcher is subscribed too
	if n := repairs.Load(); n != 0 {
		t.Fatalf("before any fault: %d repairs, want 0", n)
	}

	// Removed behind the publisher's back: a PUBLISH with its ETag and
	// Expires 0 from elsewhere.
	etag, _ := d.etag.Load().(string)
	other, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var to sip.Uri
	sip.ParseUri(aor, &to)
	req := sip.NewRequest(sip.PUBLISH, to)
	req.SetDestination(kam.Addr())
	req.SetTransport("TCP")
	for _, h := range [][2]string{{"Event", "presence"}, {"Expires", "0"}, {"SIP-If-Match", etag}} {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	res, err := other.Do(rctx, req)
	rcancel()
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("the removal behind the publisher's back = %v, %v", res, err)
	}
	dropped := time.Now()
	w.waitFor(t, "the removal", dropped.Add(-time.Second), dropped.Add(3*time.Second), func(b []byte) bool { return !inMeeting(b) })
	at := w.waitFor(t, "the repaired meeting", dropped, dropped.Add(5*time.Second), inMeeting)
	t.Logf("dropped -> repaired at the watcher: %v", at.Sub(dropped))
	if d := at.Sub(dropped); d > 3*time.Second {
		t.Errorf("the dropped publication was repaired after %v, want within 3s", d)
	}
	if n := repairs.Load(); n != 1 {
		t.Errorf("after the drop: %d repairs, want 1", n)
	}

	// Kamailio stops during the meeting and comes back with empty state.
	kam.Stop()
	time.Sleep(3 * time.Second)
	back := kam.RestartEmpty()
	w2 := startWatcher(t, kam.Addr()) // the phone subscribes again too
	at = w2.waitFor(t, "the meeting after the restart", back, back.Add(10*time.Second), inMeeting)
	t.Logf("server answers again -> meeting at the watcher: %v", at.Sub(back))
	if d := at.Sub(back); d > 5*time.Second {
		t.Errorf("after the restart the meeting was back at the watcher %v after the server answered, want within 5s", d)
	}
	if n := repairs.Load(); n != 2 {
		t.Errorf("after the restart: %d repairs, want 2", n)
	}
}
