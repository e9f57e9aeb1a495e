package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/publisher"
)

// startDialogWatcher is a phone's BLF key: it subscribes to presentity's
// dialog event package (RFC 4235).
func startDialogWatcher(t *testing.T, server, presentity string) *watcher {
	t.Helper()
	return subscribe(t, server, presentity, dialoginfo.Event, dialoginfo.ContentType)
}

// waitForDialog waits until a NOTIFY that came after the last one matched
// carries a dialog-info document that satisfies ok, and returns it and
// when it came.
func (w *watcher) waitForDialog(t *testing.T, what string, deadline time.Time, ok func(*dialoginfo.Document) bool) (time.Time, *dialoginfo.Document) {
	t.Helper()
	for {
		w.mu.Lock()
		ns := slices.Clone(w.bodies[w.seen:])
		w.mu.Unlock()
		for _, n := range ns {
			w.seen++
			if doc, err := dialoginfo.Unmarshal(n.body); err == nil && ok(doc) {
				return n.at, doc
			}
		}
		if time.Now().After(deadline) {
			w.mu.Lock()
			var b strings.Builder
			for _, n := range w.bodies {
				fmt.Fprintf(&b, "at %s:\n%s\n", n.at.Format("15:04:05.000"), n.body)
			}
			w.mu.Unlock()
			t.Fatalf("no NOTIFY with %s by %v; got:\n%s", what, deadline.Format("15:04:05.000"), b.String())
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// dialogState is the state of the dialog id in d, "" if d has none.
func dialogState(d *dialoginfo.Document, id string) string {
	for _, dl := range d.Dialogs {
		if dl.ID == id {
			return dl.State
		}
	}
	return ""
}

// phoneCallID is the id of the phone's own call's dialog.
const phoneCallID = "a84b4c76e66710"

// both holds when d shows the agent's dialog in state and the phone's call
// confirmed beside it.
func both(mine, state string) func(*dialoginfo.Document) bool {
	return func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == state && dialogState(d, phoneCallID) == dialoginfo.Confirmed
	}
}

// startPhone publishes, as the desk phone of aor (or pua_dialoginfo for
// it) would, a call of its own in progress: a second dialog publication
// of the same user, beside the agent's.
func startPhone(t *testing.T, server, aor string) {
	t.Helper()
	doc := dialoginfo.Document{Entity: aor, State: dialoginfo.Full, Dialogs: []dialoginfo.Dialog{{
		ID: phoneCallID, CallID: phoneCallID + "@pc33", LocalTag: "1928301774", RemoteTag: "456248",
		Direction: dialoginfo.Initiator, State: dialoginfo.Confirmed,
		Local:  &dialoginfo.Participant{Identity: aor},
		Remote: &dialoginfo.Participant{Identity: "sip:bob@example.com", Display: "Bob"},
	}}}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	// A short lifetime, so that the phone's refresh restores its call soon
	// after a restart of the server, as the agent's does.
	startTestPublisher(t, publisher.Options{AOR: aor, Proxy: "sip:" + server + ";transport=tcp",
		Event: dialoginfo.Event, ContentType: dialoginfo.ContentType, Expires: 6 * time.Second}, body)
}

// getMetrics returns the agent's /metrics page.
func getMetrics(t *testing.T, addr string) string {
	t.Helper()
	res, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatalf("GET /metrics: %v", err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// BLF lamps end to end (issue 10), with the real Kamailio and its
// presence_dialoginfo: `calpresence run` on an ICS calendar with a lunch
// and then a meeting; a BLF key subscribed to Event: dialog sees the
// agent's dialog confirmed within 100 ms of the meeting's start and
// terminated within 100 ms of its end, beside the phone's own call, which
// is never replaced; the lunch publishes no dialog; a restart of Kamailio
// (state lost) is restored by the agent's refresh; stopping the agent
// (SIGTERM) removes the dialog publication as well as the presence one.
func TestRunBLFEndToEnd(t *testing.T) {
	kam := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true, CleanPeriod: time.Second})
	const aor = "sip:alice@example.com"
	mine := dialoginfo.IDFor(aor)

	bw := startDialogWatcher(t, kam.Addr, aor)
	startPhone(t, kam.Addr, aor)
	bw.waitForDialog(t, "the phone's call", time.Now().Add(5*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, phoneCallID) == dialoginfo.Confirmed
	})
	pw := startWatcher(t, kam.Addr, aor)

	base := time.Now().Truncate(time.Second).Add(2 * time.Second)
	lunchStart, lunchEnd := base, base.Add(2*time.Second)
	start, end := base.Add(3*time.Second), base.Add(15*time.Second)
	// A second meeting, during which the agent is stopped.
	start2 := end.Add(2 * time.Second)
	dir := t.TempDir()
	ics := filepath.Join(dir, "work.ics")
	vevent := func(uid, summary string, s, e time.Time, attendees int) string {
		v := fmt.Sprintf("BEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20000101T000000Z\r\nDTSTART:%s\r\nDTEND:%s\r\nSUMMARY:%s\r\n",
			uid, s.UTC().Format("20060102T150405Z"), e.UTC().Format("20060102T150405Z"), summary)
		for i := range attendees {
			v += fmt.Sprintf("ATTENDEE;PARTSTAT=ACCEPTED:mailto:p%d@example.com\r\n", i)
		}
		return v + "END:VEVENT\r\n"
	}
	cal := strings.Replace(meetingICS(start, end), "END:VCALENDAR\r\n",
		vevent("l1", "Lunch", lunchStart, lunchEnd, 0)+vevent("m2", "Planning", start2, start2.Add(time.Hour), 3)+"END:VCALENDAR\r\n", 1)
	if err := os.WriteFile(ics, []byte(cal), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	// expires = 6: the refresh that finds the restarted server without
	// the publication (412) comes within 5 s.
	cfg := fmt.Sprintf(`timezone = "UTC"
state_dir = %q
[sip]
aor = %q
proxy = "sip:%s;transport=tcp"
expires = 6
[[calendar]]
name = "work"
url = %q
poll = "@every 1s"
`, filepath.Join(dir, "state"), aor, kam.Addr, ics)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	metrics := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	logs := newSignalBuffer()
	done := make(chan int, 1)
	go func() {
		done <- Main(ctx, []string{"run", "-config", cfgPath, "-log-level", "debug", "-metrics-addr", metrics}, nil, logs, logs)
	}()
	stopped := false
	defer func() {
		if !stopped {
			cancel()
			<-done
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()

	// The lunch: presence says so, and no dialog goes out.
	pw.waitFor(t, "the lunch", lunchEnd, func(doc *pidf.Document) bool {
		_, pe := ours(doc, aor)
		return pe != nil && pe.Activities != nil && slices.ContainsFunc(pe.Activities.Values, func(a pidf.Activity) bool { return a.Name == "meal" })
	})
	m := getMetrics(t, metrics)
	if !strings.Contains(m, `calpresence_blf{user="sip:alice@example.com"} 0`) || strings.Contains(m, `calpresence_dialog_publish_requests_total{user=`) {
		t.Errorf("GET /metrics during the lunch: want calpresence_blf 0 and no dialog requests:\n%s", m)
	}

	// The meeting: confirmed within 100 ms of its start, beside the call.
	at, doc := bw.waitForDialog(t, "the meeting confirmed", start.Add(3*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == dialoginfo.Confirmed
	})
	t.Logf("confirmed NOTIFY %v after the meeting's start", at.Sub(start))
	if d := at.Sub(start); d < 0 || d > 100*time.Millisecond {
		t.Errorf("the meeting's confirmed dialog reached the BLF key %v after its start, want within 100ms", d)
	}
	if got := dialogState(doc, phoneCallID); got != dialoginfo.Confirmed {
		t.Errorf("NOTIFY with the meeting: the phone's call is %q, want confirmed beside the agent's dialog", got)
	}
	bw.mu.Lock()
	for _, n := range bw.bodies {
		if d, err := dialoginfo.Unmarshal(n.body); err == nil && n.at.Before(start) && dialogState(d, mine) != "" {
			t.Errorf("NOTIFY at %s, before the meeting (the lunch), shows the agent's dialog:\n%s", n.at.Format("15:04:05.000"), n.body)
		}
	}
	bw.mu.Unlock()
	// The NOTIFY may come before the agent has the 200: the requests are
	// counted in the metrics after the restart, below.
	if m = getMetrics(t, metrics); !strings.Contains(m, `calpresence_blf{user="sip:alice@example.com"} 1`) {
		t.Errorf("GET /metrics during the meeting: want calpresence_blf 1:\n%s", m)
	}

	// Kamailio dies and comes back without its state: the agent's refresh
	// (412) publishes the dialog afresh, and the phone's does its call.
	kam.Restart(nil)
	restarted := time.Now()
	bw = startDialogWatcher(t, kam.Addr, aor)
	pw = startWatcher(t, kam.Addr, aor)
	at, _ = bw.waitForDialog(t, "both dialogs after the restart", time.Now().Add(8*time.Second), both(mine, dialoginfo.Confirmed))
	t.Logf("both dialogs restored %v after the restart", at.Sub(restarted))
	if m = getMetrics(t, metrics); !strings.Contains(m, `calpresence_dialog_publish_requests_total{user="sip:alice@example.com",result="2xx"} `) ||
		!strings.Contains(m, `calpresence_dialog_publish_requests_total{user="sip:alice@example.com",result="4xx"} 1`) {
		t.Errorf("GET /metrics after the restart: want the dialog publication's 2xx and its one 412 counted:\n%s", m)
	}
	if !at.Before(end) {
		t.Fatalf("restored only at %v, after the meeting's end %v", at, end)
	}

	// The end: terminated within 100 ms, the call still there.
	at, doc = bw.waitForDialog(t, "the meeting terminated", end.Add(3*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == dialoginfo.Terminated
	})
	t.Logf("terminated NOTIFY %v after the meeting's end", at.Sub(end))
	if d := at.Sub(end); d < 0 || d > 100*time.Millisecond {
		t.Errorf("the meeting's terminated dialog reached the BLF key %v after its end, want within 100ms", d)
	}
	if got := dialogState(doc, phoneCallID); got != dialoginfo.Confirmed {
		t.Errorf("NOTIFY with the meeting over: the phone's call is %q, want confirmed", got)
	}

	// The second meeting starts during the first one's linger.
	at, _ = bw.waitForDialog(t, "the second meeting confirmed", start2.Add(3*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == dialoginfo.Confirmed
	})
	if d := at.Sub(start2); d < 0 || d > 100*time.Millisecond {
		t.Errorf("the second meeting's confirmed dialog reached the BLF key %v after its start, want within 100ms", d)
	}

	// SIGTERM during the meeting: the lamp goes dark (the dialog is
	// published terminated, then removed), both publications go, the
	// agent exits 0 within 5 s.
	sent := time.Now()
	cancel()
	select {
	case code := <-done:
		stopped = true
		if code != 0 {
			t.Errorf("run after SIGTERM = exit %d, want 0", code)
		}
		if d := time.Since(sent); d > 5*time.Second {
			t.Errorf("run took %v to stop, want under 5s", d)
		}
	case <-time.After(6 * time.Second):
		t.Fatal("run did not stop within 6 s")
	}
	if !strings.Contains(logs.String(), `event=dialog`) {
		t.Errorf("the log shows no request of the dialog publication")
	}
	bw.waitForDialog(t, "the agent's dialog terminated after SIGTERM", time.Now().Add(3*time.Second), both(mine, dialoginfo.Terminated))
	// A BLF key subscribing now sees the phone's call only, once Kamailio
	// has dropped the removed publication (it may take a moment after the
	// 200: a key subscribing at once can still get it, terminated).
	for attempt, deadline := 1, time.Now().Add(3*time.Second); ; attempt++ {
		_, doc = startDialogWatcher(t, kam.Addr, aor).waitForDialog(t, "a new BLF key's first NOTIFY", time.Now().Add(5*time.Second),
			func(*dialoginfo.Document) bool { return true })
		if dialogState(doc, mine) == "" && dialogState(doc, phoneCallID) == dialoginfo.Confirmed {
			t.Logf("a BLF key subscribing %v after SIGTERM (attempt %d) sees the phone's call only", time.Since(sent), attempt)
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("3 s after SIGTERM a new BLF key sees %+v, want the phone's call only", doc.Dialogs)
			break
		}
		<-time.After(200 * time.Millisecond) // the next subscription
	}
	pw.waitFor(t, "the presence removal", time.Now().Add(5*time.Second), removed(aor))
}
