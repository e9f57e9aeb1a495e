package publisher

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/testserver"
)

// notify is one NOTIFY a dialogWatcher received.
type notify struct {
	at   time.Time
	body string
	doc  *dialoginfo.Document // nil for a NOTIFY without a dialog-info body
}

// dialogWatcher is a BLF key: it SUBSCRIBEs to Event: dialog of a user
// and collects the NOTIFYs.
type dialogWatcher struct {
	mu       sync.Mutex
	notifies []notify
	signal   chan struct{}
}

func newDialogWatcher(t *testing.T, k *testserver.Kamailio, presentity string) *dialogWatcher {
	t.Helper()
	w := &dialogWatcher{signal: make(chan struct{}, 1)}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("blf-watcher"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		n := notify{at: time.Now(), body: string(req.Body())}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		if len(req.Body()) > 0 {
			d, err := dialoginfo.Unmarshal(req.Body())
			if err != nil {
				t.Errorf("NOTIFY body does not decode: %v\n%s", err, req.Body())
			}
			n.doc = d
		}
		w.mu.Lock()
		w.notifies = append(w.notifies, n)
		w.mu.Unlock()
		select {
		case w.signal <- struct{}{}:
		default:
		}
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	go srv.ServeUDP(pc)
	port := pc.LocalAddr().(*net.UDPAddr).Port
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientPort(port))
	if err != nil {
		t.Fatal(err)
	}
	var uri sip.Uri
	if err := sip.ParseUri(presentity, &uri); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.SUBSCRIBE, uri)
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.Event))
	req.AppendHeader(sip.NewHeader("Accept", dialoginfo.ContentType))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf("<sip:blf@127.0.0.1:%d>", port)))
	req.SetDestination(k.Addr)
	req.SetTransport("UDP")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil || res.StatusCode >= 300 {
		t.Fatalf("SUBSCRIBE %s Event: dialog = %v %v, want 2xx", presentity, res, err)
	}
	return w
}

// waitFor returns the first NOTIFY after the first `after` ones whose
// document satisfies ok, and its index; it fails t after timeout.
func (w *dialogWatcher) waitFor(t *testing.T, what string, after int, timeout time.Duration, ok func(d *dialoginfo.Document) bool) (notify, int) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		w.mu.Lock()
		ns := slices.Clone(w.notifies)
		w.mu.Unlock()
		for i := after; i < len(ns); i++ {
			if ns[i].doc != nil && ok(ns[i].doc) {
				return ns[i], i
			}
		}
		select {
		case <-w.signal:
		case <-deadline:
			var b strings.Builder
			for _, n := range ns {
				fmt.Fprintf(&b, "at %s:\n%s\n", n.at.Format("15:04:05.000"), n.body)
			}
			t.Fatalf("no NOTIFY %s within %v; got:\n%s", what, timeout, b.String())
		}
	}
}

// dialogState returns the state of the dialog id in d, "" if d has none.
func dialogState(d *dialoginfo.Document, id string) string {
	for _, dl := range d.Dialogs {
		if dl.ID == id {
			return dl.State
		}
	}
	return ""
}

// phoneDialog is what a desk phone (or pua_dialoginfo for it) publishes
// for a call of its own.
func phoneDialog(t *testing.T, aor, state string) []byte {
	t.Helper()
	d := dialoginfo.Document{Entity: aor, Version: 0, State: dialoginfo.Full, Dialogs: []dialoginfo.Dialog{{
		ID: "a84b4c76e66710", CallID: "a84b4c76e66710@pc33", LocalTag: "1928301774", RemoteTag: "456248",
		Direction: dialoginfo.Initiator, State: state,
		Local:  &dialoginfo.Participant{Identity: aor},
		Remote: &dialoginfo.Participant{Identity: "sip:bob@example.com", Display: "Bob"},
	}}}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestKamailioDialogInfoBLF: a dialog Publisher following a BLF timeline
// makes a watcher's NOTIFY show its dialog confirmed within 100 ms of the
// meeting's start and terminated within 100 ms of its end, beside the
// phone's own call, which the agent's publication never replaces; after
// the linger only the phone's dialog is left.
func TestKamailioDialogInfoBLF(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true})
	const aor = "sip:blf@example.com"
	ours := dialoginfo.IDFor(aor)
	c := newClient(t)
	dialogOpts := func() Options {
		return Options{AOR: aor, Proxy: "sip:" + k.Addr, Event: dialoginfo.Event, ContentType: dialoginfo.ContentType, Logger: testLogger(t)}
	}
	w := newDialogWatcher(t, k, aor)

	phone, _ := runPublisher(t, c, dialogOpts())
	phone.SetTimeline([]Entry{{Start: time.Now(), Body: phoneDialog(t, aor, dialoginfo.Confirmed)}})
	_, i := w.waitFor(t, "with the phone's call", 0, 5*time.Second, func(d *dialoginfo.Document) bool {
		return dialogState(d, "a84b4c76e66710") == dialoginfo.Confirmed
	})

	// A meeting 1.5 s from now, 2 s long, on the real clock.
	start := time.Now().Add(1500 * time.Millisecond)
	end := start.Add(2 * time.Second)
	const linger = time.Second
	var tl []Entry
	for _, e := range dialoginfo.Timeline(aor, []dialoginfo.Span{{Start: start, End: end}}, dialoginfo.TimelineOptions{Linger: linger}) {
		tl = append(tl, Entry(e))
	}
	agent, stopAgent := runPublisher(t, c, dialogOpts())
	agent.SetTimeline(tl)

	n, i := w.waitFor(t, "with the meeting confirmed", i+1, 5*time.Second, func(d *dialoginfo.Document) bool {
		return dialogState(d, ours) == dialoginfo.Confirmed
	})
	lag := n.at.Sub(start)
	t.Logf("confirmed NOTIFY %v after the meeting's start", lag)
	if lag < 0 || lag > 100*time.Millisecond {
		t.Errorf("confirmed NOTIFY arrived %v after the start, want within 100ms", lag)
	}
	if got := dialogState(n.doc, "a84b4c76e66710"); got != dialoginfo.Confirmed {
		t.Errorf("NOTIFY with the meeting: phone's dialog state %q, want confirmed beside ours (aggregated):\n%s", got, n.body)
	}

	n, i = w.waitFor(t, "with the meeting terminated", i+1, 5*time.Second, func(d *dialoginfo.Document) bool {
		return dialogState(d, ours) == dialoginfo.Terminated
	})
	lag = n.at.Sub(end)
	t.Logf("terminated NOTIFY %v after the meeting's end", lag)
	if lag < 0 || lag > 100*time.Millisecond {
		t.Errorf("terminated NOTIFY arrived %v after the end, want within 100ms", lag)
	}
	if got := dialogState(n.doc, "a84b4c76e66710"); got != dialoginfo.Confirmed {
		t.Errorf("NOTIFY with the meeting over: phone's dialog state %q, want confirmed:\n%s", got, n.body)
	}

	// The removal after the linger: Kamailio 5.6 notifies it with the
	// removed publication's last document still in the body, which is why
	// the timeline publishes terminated before it goes — a publication
	// removed while confirmed would leave the lamp red.
	n, _ = w.waitFor(t, "for the removal", i+1, 5*time.Second, func(*dialoginfo.Document) bool { return true })
	t.Logf("NOTIFY for the removal %v after the end (linger %v): agent's dialog %q", n.at.Sub(end), linger, dialogState(n.doc, ours))
	if n.at.Before(end.Add(linger)) || dialogState(n.doc, ours) == dialoginfo.Confirmed {
		t.Errorf("NOTIFY %v after the end, agent's dialog %q; want one after the linger %v, not confirmed:\n%s", n.at.Sub(end), dialogState(n.doc, ours), linger, n.body)
	}
	if got := dialogState(n.doc, "a84b4c76e66710"); got != dialoginfo.Confirmed {
		t.Errorf("NOTIFY after the removal: phone's dialog state %q, want confirmed:\n%s", got, n.body)
	}
	// A BLF key subscribing now sees only the phone's call.
	n, _ = newDialogWatcher(t, k, aor).waitFor(t, "to a new watcher", 0, 5*time.Second, func(*dialoginfo.Document) bool { return true })
	if dialogState(n.doc, ours) != "" || dialogState(n.doc, "a84b4c76e66710") != dialoginfo.Confirmed {
		t.Errorf("NOTIFY to a watcher subscribing after the removal = %s, want the phone's dialog only", n.body)
	}
	if err := stopAgent(); err != nil {
		t.Errorf("agent Run() = %v, want nil", err)
	}

	// Versions the watcher saw increase: Kamailio numbers them per watcher.
	w.mu.Lock()
	defer w.mu.Unlock()
	var last uint64
	for j, n := range w.notifies {
		if n.doc == nil {
			continue
		}
		if j > 0 && n.doc.Version <= last {
			t.Errorf("NOTIFY %d: version %d after %d, want increasing", j, n.doc.Version, last)
		}
		last = n.doc.Version
	}
}

// TestKamailioDialogInfoSingle: with force_single_dialog, a watcher sees
// only the most interesting dialog, and a phone ringing (early) outranks
// the agent's meeting (confirmed): the agent never hides a ringing phone.
func TestKamailioDialogInfoSingle(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true, ForceSingleDialog: true})
	const aor = "sip:single@example.com"
	ours := dialoginfo.IDFor(aor)
	c := newClient(t)
	opts := Options{AOR: aor, Proxy: "sip:" + k.Addr, Event: dialoginfo.Event, ContentType: dialoginfo.ContentType, Logger: testLogger(t)}
	w := newDialogWatcher(t, k, aor)
	var tl []Entry
	for _, e := range dialoginfo.Timeline(aor, []dialoginfo.Span{{Start: time.Now(), End: time.Now().Add(time.Hour)}}, dialoginfo.TimelineOptions{}) {
		tl = append(tl, Entry(e))
	}
	agent, _ := runPublisher(t, c, opts)
	agent.SetTimeline(tl)
	_, i := w.waitFor(t, "with the meeting", 0, 5*time.Second, func(d *dialoginfo.Document) bool {
		return dialogState(d, ours) == dialoginfo.Confirmed
	})
	phone, _ := runPublisher(t, c, opts)
	phone.SetTimeline([]Entry{{Start: time.Now(), Body: phoneDialog(t, aor, dialoginfo.Early)}})
	n, _ := w.waitFor(t, "with the phone ringing", i+1, 5*time.Second, func(d *dialoginfo.Document) bool {
		return dialogState(d, "a84b4c76e66710") == dialoginfo.Early
	})
	if len(n.doc.Dialogs) != 1 {
		t.Errorf("force_single_dialog NOTIFY has %d dialogs, want 1:\n%s", len(n.doc.Dialogs), n.body)
	}
}

// TestKamailioDialogInfoDummy: with force_dummy_dialog (for Bria), a
// watcher of a user without publications gets a document with one
// terminated dialog (a dark lamp) rather than an empty NOTIFY, and it
// decodes.
func TestKamailioDialogInfoDummy(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true, ForceDummyDialog: true})
	n, _ := newDialogWatcher(t, k, "sip:idle@example.com").waitFor(t, "with the dummy dialog", 0, 5*time.Second, func(*dialoginfo.Document) bool { return true })
	t.Logf("dummy NOTIFY body:\n%s", n.body)
	if len(n.doc.Dialogs) != 1 || n.doc.Dialogs[0].State != dialoginfo.Terminated {
		t.Errorf("dummy NOTIFY = %s, want one terminated dialog", n.body)
	}
}
