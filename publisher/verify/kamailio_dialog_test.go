package verify_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/verify"
)

// startDialogWatcher is a phone's BLF key: it subscribes to Event: dialog
// of the presentity and keeps the NOTIFY bodies.
func startDialogWatcher(t *testing.T, server string) *watcher {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("blf-key"), sipgo.WithUserAgentHostname("127.0.0.1"))
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
	for _, h := range [][2]string{{"Event", dialoginfo.Event}, {"Accept", dialoginfo.ContentType}, {"Expires", "600"}, {"Contact", "<sip:blf@" + addr + ">"}} {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if res, err := cli.Do(ctx, req); err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("SUBSCRIBE Event: dialog = %v, %v", res, err)
	}
	return w
}

// ourDialog is the state of the agent's dialog in a NOTIFY body, "" for
// none.
func ourDialog(body []byte) string {
	d, err := dialoginfo.Unmarshal(body)
	if err != nil {
		return ""
	}
	for _, dl := range d.Dialogs {
		if dl.ID == dialoginfo.IDFor(aor) {
			return dl.State
		}
	}
	return ""
}

// The BLF lamp's dialog publication repaired against the real Kamailio
// with presence_dialoginfo: removed behind the publisher's back (Expires 0
// with its ETag) during a meeting, the confirmed dialog is back at a BLF
// key within 5 s, not at the next refresh (an hour away), and a key that
// subscribes afterwards sees it; the repair is one, and a dialog watcher
// that sees what was published repairs nothing.
func TestKamailioDialogRepair(t *testing.T) {
	kam := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true})
	pc, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	d := &etagDoer{d: pc}
	pub := publisher.New(d, publisher.Options{AOR: aor, Proxy: "sip:" + kam.Addr + ";transport=tcp", Expires: time.Hour,
		Event: dialoginfo.Event, ContentType: dialoginfo.ContentType})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	wg.Go(func() { pub.Run(ctx) })
	var tl []publisher.Entry
	now := time.Now()
	for _, e := range dialoginfo.Timeline(aor, []dialoginfo.Span{{Start: now.Add(-time.Minute), End: now.Add(time.Hour)}}, dialoginfo.TimelineOptions{}) {
		tl = append(tl, publisher.Entry(e))
	}
	pub.SetTimeline(tl)

	listen, err := verify.LocalAddrFor(kam.Addr)
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
		vc.Watch(ctx, verify.Options{AOR: aor, Destination: kam.Addr, Event: dialoginfo.Event, InForce: pub.InForce, Repair: pub.Repair,
			OnRepair: func() { repairs.Add(1) }, Settle: 500 * time.Millisecond, Probe: time.Second})
	})

	confirmed := func(b []byte) bool { return ourDialog(b) == dialoginfo.Confirmed }
	w := startDialogWatcher(t, kam.Addr)
	w.waitFor(t, "the meeting's confirmed dialog", time.Time{}, time.Now().Add(5*time.Second), confirmed)
	time.Sleep(2 * time.Second) // the agent's watcher is subscribed too
	if n := repairs.Load(); n != 0 {
		t.Fatalf("before any fault: %d repairs, want 0", n)
	}

	etag, _ := d.etag.Load().(string)
	other, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var to sip.Uri
	sip.ParseUri(aor, &to)
	req := sip.NewRequest(sip.PUBLISH, to)
	req.SetDestination(kam.Addr)
	req.SetTransport("TCP")
	for _, h := range [][2]string{{"Event", dialoginfo.Event}, {"Expires", "0"}, {"SIP-If-Match", etag}} {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	rctx, rcancel := context.WithTimeout(ctx, 5*time.Second)
	res, err := other.Do(rctx, req)
	rcancel()
	if err != nil || res.StatusCode/100 != 2 {
		t.Fatalf("the removal behind the publisher's back = %v, %v", res, err)
	}
	dropped := time.Now()
	// Kamailio tells the BLF key of the removal with the removed document,
	// still confirmed; a key subscribing now sees no dialog: the lamp
	// goes dark at the phone's next refresh.
	removal := w.waitFor(t, "the removal", dropped.Add(-time.Second), dropped.Add(3*time.Second), func([]byte) bool { return true })
	fresh := startDialogWatcher(t, kam.Addr)
	fresh.waitFor(t, "no dialog at a key subscribing after the removal", time.Time{}, dropped.Add(3*time.Second), func(b []byte) bool { return ourDialog(b) == "" })
	at := w.waitFor(t, "the repaired confirmed dialog", removal.Add(time.Nanosecond), dropped.Add(5*time.Second), confirmed)
	t.Logf("dropped -> removal NOTIFY at the BLF key: %v; -> repaired dialog confirmed at the key: %v", removal.Sub(dropped), at.Sub(dropped))
	if d := at.Sub(dropped); d > 5*time.Second {
		t.Errorf("the dropped dialog publication was repaired after %v, want within 5s", d)
	}
	after := startDialogWatcher(t, kam.Addr)
	after.waitFor(t, "the dialog confirmed at a key subscribing after the repair", time.Time{}, time.Now().Add(3*time.Second), confirmed)
	time.Sleep(time.Second) // no second repair once it shows
	if n := repairs.Load(); n != 1 {
		t.Errorf("after the drop: %d repairs, want 1", n)
	}
}
