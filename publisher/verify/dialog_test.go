package verify

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
)

// dialogDoc is a dialog-info document with the given dialogs, id -> state.
func dialogDoc(t *testing.T, version uint64, dialogs ...[2]string) []byte {
	t.Helper()
	d := &dialoginfo.Document{Entity: aor, Version: version, State: dialoginfo.Full}
	for _, dl := range dialogs {
		d.Dialogs = append(d.Dialogs, dialoginfo.Dialog{ID: dl[0], State: dl[1]})
	}
	b, err := d.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHoldsDialog(t *testing.T) {
	ours := dialoginfo.IDFor(aor)
	confirmed := dialogDoc(t, 1, [2]string{ours, dialoginfo.Confirmed})
	terminated := dialogDoc(t, 2, [2]string{ours, dialoginfo.Terminated})
	phone := [2]string{"a84b4c76e66710", dialoginfo.Confirmed}
	for _, tc := range []struct {
		name         string
		notify, want []byte
		holds        bool
	}{
		{"confirmed as published", confirmed, confirmed, true},
		{"beside a phone's call, other version", dialogDoc(t, 7, phone, [2]string{ours, dialoginfo.Confirmed}), confirmed, true},
		{"re-prefixed", []byte(`<d:dialog-info xmlns:d="urn:ietf:params:xml:ns:dialog-info" version="3" state="full" entity="` + aor + `"><d:dialog id="` + ours + `"><d:state>confirmed</d:state></d:dialog></d:dialog-info>`), confirmed, true},
		{"missing", dialogDoc(t, 1, phone), confirmed, false},
		{"empty body, confirmed published", nil, confirmed, false},
		{"terminated, confirmed published", terminated, confirmed, false},
		{"other namespace", []byte(`<dialog-info xmlns="urn:example" version="1" state="full" entity="` + aor + `"><dialog id="` + ours + `"><state>confirmed</state></dialog></dialog-info>`), confirmed, false},
		{"not xml", []byte("garbage"), nil, false},
		{"nothing published, empty body", nil, nil, true},
		{"nothing published, no dialogs", dialogDoc(t, 1), nil, true},
		{"nothing published, phone only", dialogDoc(t, 1, phone), nil, true},
		{"nothing published, ours terminated", terminated, nil, true},
		{"nothing published, ours confirmed", confirmed, nil, false},
		{"terminated published, gone", dialogDoc(t, 1), terminated, true},
		{"terminated published, terminated", terminated, terminated, true},
		{"terminated published, still confirmed", confirmed, terminated, false},
	} {
		if got := HoldsDialog(tc.notify, tc.want, ours); got != tc.holds {
			t.Errorf("%s: HoldsDialog(%s, %s) = %v, want %v", tc.name, tc.notify, tc.want, got, tc.holds)
		}
	}
}

// A dialog watcher subscribes with Event: dialog and Accept
// application/dialog-info+xml; a NOTIFY showing our dialog as published
// is not repaired, one without it (the publication lost) is, once, after
// the settle time.
func TestWatchDialog(t *testing.T) {
	f := startFake(t)
	f.event, f.ctype = dialoginfo.Event, dialoginfo.ContentType
	c, err := NewClient(ClientOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ours := dialoginfo.IDFor(aor)
	inForce := dialogDoc(t, 1, [2]string{ours, dialoginfo.Confirmed})
	var repairs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Watch(ctx, Options{AOR: aor, Destination: f.addr, Event: dialoginfo.Event, InForce: func() []byte { return inForce },
		Repair: func() { repairs.Add(1) }, Settle: 200 * time.Millisecond, Probe: 100 * time.Millisecond})

	sub := f.waitSubs(t, 1, 3*time.Second)[0]
	if ev, acc := hdrValue(sub, "Event"), hdrValue(sub, "Accept"); ev != "dialog" || acc != dialoginfo.ContentType {
		t.Errorf("SUBSCRIBE Event %q, Accept %q; want dialog, %s", ev, acc, dialoginfo.ContentType)
	}
	f.notify(t, sub, "active;expires=600", dialogDoc(t, 5, [2]string{"a84b4c76e66710", dialoginfo.Confirmed}, [2]string{ours, dialoginfo.Confirmed}))
	time.Sleep(400 * time.Millisecond)
	if n := repairs.Load(); n != 0 {
		t.Fatalf("after a matching NOTIFY: %d repairs, want 0", n)
	}
	lost := time.Now()
	f.notify(t, sub, "active;expires=600", dialogDoc(t, 6, [2]string{"a84b4c76e66710", dialoginfo.Confirmed}))
	for deadline := time.Now().Add(3 * time.Second); repairs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := repairs.Load(); n != 1 {
		t.Fatalf("after the dialog went missing: %d repairs, want 1", n)
	}
	t.Logf("missing -> repair: %v", time.Since(lost))
	f.notify(t, sub, "active;expires=600", inForce) // repaired
	time.Sleep(400 * time.Millisecond)
	if n := repairs.Load(); n != 1 {
		t.Errorf("after the repair showed: %d repairs, want 1", n)
	}

	if err := c.Watch(ctx, Options{AOR: aor, Destination: f.addr, Event: "message-summary"}); err == nil {
		t.Error("Watch(Event: message-summary) = nil, want an error")
	}
}

// Kamailio's way with a removed dialog publication: the NOTIFY that tells
// of it still shows the dialog. A dialog NOTIFY that answers no SUBSCRIBE
// is confirmed by a refresh in the dialog a settle time later; when the
// refresh's NOTIFY shows the dialog gone, it is repaired.
func TestWatchDialogConfirms(t *testing.T) {
	f := startFake(t)
	f.event, f.ctype = dialoginfo.Event, dialoginfo.ContentType
	c, err := NewClient(ClientOptions{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ours := dialoginfo.IDFor(aor)
	inForce := dialogDoc(t, 1, [2]string{ours, dialoginfo.Confirmed})
	var repairs atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Watch(ctx, Options{AOR: aor, Destination: f.addr, Event: dialoginfo.Event, InForce: func() []byte { return inForce },
		Repair: func() { repairs.Add(1) }, Settle: 200 * time.Millisecond, Probe: 100 * time.Millisecond})
	sub := f.waitSubs(t, 1, 3*time.Second)[0]
	f.notify(t, sub, "active;expires=600", inForce) // the answer to the SUBSCRIBE
	time.Sleep(2500 * time.Millisecond)
	f.mu.Lock()
	n := len(f.subs)
	f.mu.Unlock()
	if n != 1 {
		t.Fatalf("after the NOTIFY answering the SUBSCRIBE: %d SUBSCRIBEs, want 1 (no confirmation)", n)
	}
	removal := time.Now()
	f.notify(t, sub, "active;expires=600", dialogDoc(t, 2, [2]string{ours, dialoginfo.Confirmed})) // the removal, as Kamailio tells it
	refresh := f.waitSubs(t, 2, 2*time.Second)[1]
	t.Logf("unsolicited NOTIFY -> confirming refresh: %v", time.Since(removal))
	if refresh.CallID().Value() != sub.CallID().Value() || toTag(refresh) == "" {
		t.Errorf("the confirmation is not a refresh in the dialog: Call-ID %s (first %s), To tag %q", refresh.CallID().Value(), sub.CallID().Value(), toTag(refresh))
	}
	if n := repairs.Load(); n != 0 {
		t.Fatalf("before the refresh's NOTIFY: %d repairs, want 0", n)
	}
	f.notify(t, sub, "active;expires=600", dialogDoc(t, 3)) // what the server holds: nothing
	for deadline := time.Now().Add(3 * time.Second); repairs.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
	}
	if n := repairs.Load(); n != 1 {
		t.Fatalf("after the refresh's NOTIFY without the dialog: %d repairs, want 1", n)
	}
	t.Logf("removal NOTIFY -> repair: %v", time.Since(removal))
}
