package verify

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/pidf"
)

// fakeServer is a presence server in-process, for the fault cases: it
// answers SUBSCRIBE as answer says, OPTIONS with 200, and sends NOTIFYs
// when told.
type fakeServer struct {
	addr string
	cli  *sipgo.Client

	mu     sync.Mutex
	subs   []*sip.Request
	answer func(req *sip.Request, n int) (int, int) // status, Expires
	wake   chan struct{}
	// event and ctype are the NOTIFYs' Event and Content-Type.
	event, ctype string
}

func startFake(t *testing.T) *fakeServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeServer{addr: pc.LocalAddr().String(), wake: make(chan struct{}, 1), event: "presence", ctype: "application/pidf+xml",
		answer: func(*sip.Request, int) (int, int) { return 200, 600 }}
	ua, _ := sipgo.NewUA(sipgo.WithUserAgentHostname("127.0.0.1"))
	srv, _ := sipgo.NewServer(ua)
	srv.OnSubscribe(func(req *sip.Request, tx sip.ServerTransaction) {
		f.mu.Lock()
		f.subs = append(f.subs, req.Clone())
		code, exp := f.answer(req, len(f.subs))
		f.mu.Unlock()
		res := sip.NewResponseFromRequest(req, code, "", nil)
		if to := res.To(); to != nil {
			if _, ok := to.Params.Get("tag"); !ok {
				to.Params.Add("tag", "srv")
			}
		}
		res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(exp)))
		tx.Respond(res)
		select {
		case f.wake <- struct{}{}:
		default:
		}
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	go srv.ServeUDP(pc)
	f.cli, _ = sipgo.NewClient(ua, sipgo.WithClientAddr(f.addr))
	t.Cleanup(func() { ua.Close(); pc.Close() })
	return f
}

// waitSubs waits until the server has seen n SUBSCRIBEs and returns them.
func (f *fakeServer) waitSubs(t *testing.T, n int, within time.Duration) []*sip.Request {
	t.Helper()
	deadline := time.After(within)
	for {
		f.mu.Lock()
		subs := append([]*sip.Request(nil), f.subs...)
		f.mu.Unlock()
		if len(subs) >= n {
			return subs
		}
		select {
		case <-f.wake:
		case <-deadline:
			t.Fatalf("%d SUBSCRIBEs within %v, want %d", len(subs), within, n)
		}
	}
}

// notify sends a NOTIFY in the dialog of sub.
func (f *fakeServer) notify(t *testing.T, sub *sip.Request, state string, body []byte) {
	t.Helper()
	var contact sip.Uri
	sip.ParseUri(sub.Contact().Address.String(), &contact)
	req := sip.NewRequest(sip.NOTIFY, contact)
	from, _ := sub.From().Params.Get("tag")
	req.AppendHeader(sip.NewHeader("From", "<"+sub.Recipient.String()+">;tag=srv"))
	req.AppendHeader(sip.NewHeader("To", "<"+sub.Recipient.String()+">;tag="+from))
	req.AppendHeader(sip.NewHeader("Call-ID", sub.CallID().Value()))
	req.AppendHeader(sip.NewHeader("CSeq", "1 NOTIFY"))
	req.AppendHeader(sip.NewHeader("Event", f.event))
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", f.ctype))
		req.SetBody(body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	res, err := f.cli.Do(ctx, req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("NOTIFY = %v, %v; want 200", res, err)
	}
}

func pidfDoc(t *testing.T, basic string) []byte {
	t.Helper()
	base := pidf.IDBase(aor)
	b, err := (&pidf.Document{Entity: aor, Tuples: []pidf.Tuple{{ID: base + "-t", Basic: basic, Contact: aor}},
		Persons: []pidf.Person{{ID: base + "-p"}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The subscription's life against scripted server faults: refreshed in
// its dialog before it expires; a 481 to a refresh, and a NOTIFY that
// terminates it, start a new one; a NOTIFY that differs from the document
// in force beyond the settle time is repaired once, one that matches is
// not; at the end it is ended with Expires: 0.
func TestWatchFaults(t *testing.T) {
	f := startFake(t)
	// Under the lock: the server is serving already, and a request from
	// a client of an earlier test may reach its port.
	f.mu.Lock()
	f.answer = func(req *sip.Request, n int) (int, int) {
		switch {
		case n == 3: // the second refresh
			return 481, 0
		case hdrValue(req, "Expires") == "0":
			return 200, 0
		}
		return 200, 2 // refreshed after 1 s
	}
	f.mu.Unlock()
	c, err := NewClient(ClientOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inForce := pidfDoc(t, "closed")
	var repairs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Watch(ctx, Options{AOR: aor, Destination: f.addr, InForce: func() []byte { return inForce },
			Repair: func() { repairs.Add(1) }, Settle: 200 * time.Millisecond, Probe: 100 * time.Millisecond})
	}()

	subs := f.waitSubs(t, 2, 3*time.Second)
	if subs[1].CallID().Value() != subs[0].CallID().Value() || toTag(subs[1]) == "" {
		t.Errorf("the second SUBSCRIBE is not a refresh in the dialog: Call-ID %s (first %s), To tag %q",
			subs[1].CallID().Value(), subs[0].CallID().Value(), toTag(subs[1]))
	}
	subs = f.waitSubs(t, 4, 3*time.Second) // 481, then a new subscription at once
	if subs[3].CallID().Value() == subs[0].CallID().Value() || toTag(subs[3]) != "" {
		t.Errorf("after a 481 the SUBSCRIBE is not a new dialog: Call-ID %s, To tag %q", subs[3].CallID().Value(), toTag(subs[3]))
	}

	// Matching NOTIFY: no repair; differing: one repair after the settle.
	f.notify(t, subs[3], "active;expires=2", inForce)
	time.Sleep(400 * time.Millisecond)
	if n := repairs.Load(); n != 0 {
		t.Fatalf("after a matching NOTIFY: %d repairs, want 0", n)
	}
	f.notify(t, subs[3], "active;expires=2", pidfDoc(t, "open"))
	time.Sleep(100 * time.Millisecond)
	if n := repairs.Load(); n != 0 {
		t.Fatalf("within the settle time: %d repairs, want 0", n)
	}
	for deadline := time.Now().Add(3 * time.Second); repairs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := repairs.Load(); n != 1 {
		t.Fatalf("after the settle time: %d repairs, want 1", n)
	}
	f.notify(t, subs[3], "active;expires=2", inForce) // repaired

	// Terminated by the server: a new subscription.
	f.mu.Lock()
	before := len(f.subs)
	f.mu.Unlock()
	f.notify(t, f.waitSubs(t, before, time.Second)[before-1], "terminated;reason=deactivated", nil)
	subs = f.waitSubs(t, before+1, 2*time.Second)
	if subs[before].CallID().Value() == subs[before-1].CallID().Value() {
		t.Errorf("after a terminating NOTIFY the SUBSCRIBE is not a new dialog")
	}

	time.Sleep(200 * time.Millisecond) // its answer is in
	cancel()
	<-done
	f.mu.Lock()
	last := f.subs[len(f.subs)-1]
	f.mu.Unlock()
	if hdrValue(last, "Expires") != "0" {
		t.Errorf("at the end the last SUBSCRIBE has Expires %q, want 0", hdrValue(last, "Expires"))
	}
	if n := repairs.Load(); n != 1 {
		t.Errorf("repairs = %d, want 1", n)
	}
}

func hdrValue(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

func toTag(req *sip.Request) string {
	tag, _ := req.To().Params.Get("tag")
	return tag
}
