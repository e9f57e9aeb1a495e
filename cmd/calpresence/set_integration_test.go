package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/control"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
)

// A person's own status against the real Kamailio: during a meeting,
// `calpresence set available -for 4s` reaches a watcher within 100 ms and
// `status` names it as the source; at its end the meeting is back at the
// watcher; `set busy` survives a restart of the agent and `set -clear`
// brings the meeting back at once; bad
// input is refused with exit 2 and, once the agent is gone, `set` exits 1.
func TestSetEndToEnd(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	const aor = "sip:carol@example.com"
	dir := t.TempDir()
	start := time.Now().Add(3 * time.Second).Truncate(time.Second)
	ics := filepath.Join(dir, "carol.ics")
	if err := os.WriteFile(ics, []byte(meetingICS(start, start.Add(time.Hour))), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`timezone = "Europe/Berlin"
state_dir = %q
[sip]
aor = %q
proxy = "sip:%s;transport=tcp"
[[calendar]]
name = "work"
url = %q
poll = "@every 1m"
`, filepath.Join(dir, "state"), aor, kam.Addr(), ics)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, kam.Addr(), aor)

	logs := newSignalBuffer()
	var cancel context.CancelFunc
	var done chan int
	run := func() {
		var ctx context.Context
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan int, 1)
		go func() {
			done <- Main(ctx, []string{"run", "-config", cfgPath, "-log-level", "debug"}, nil, logs, logs)
		}()
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			cancel()
			<-done
		}
	}
	run()
	defer func() {
		stop()
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	cli := func(args ...string) (string, string, int) {
		var out, errb bytes.Buffer
		code := Main(context.Background(), args, nil, &out, &errb)
		return out.String(), errb.String(), code
	}

	w.waitFor(t, "the meeting", start.Add(5*time.Second), inMeeting(aor))

	sent := time.Now()
	if out, errs, code := cli("set", "-config", cfgPath, "available", "-for", "4s", "-note", "Ask me"); code != 0 {
		t.Fatalf("set available -for 4s = exit %d, %s%s", code, out, errs)
	}
	at := w.waitFor(t, "the override", sent.Add(5*time.Second), func(doc *pidf.Document) bool {
		tu, _ := ours(doc, aor)
		return available(aor)(doc) && len(tu.Notes) > 0 && tu.Notes[0].Text == "Ask me"
	})
	if d := at.Sub(sent); d > 100*time.Millisecond {
		t.Errorf("the override reached the watcher %v after set was run, want within 100ms", d)
	}
	t.Logf("set -> watcher: %v", at.Sub(sent))
	out, errs, code := cli("status", "-config", cfgPath, "-json")
	var us []control.UserStatus
	if code != 0 || json.Unmarshal([]byte(out), &us) != nil || len(us) != 1 || us[0].Source != "override" ||
		us[0].Override == nil || us[0].Override.State != "available" || us[0].Basic != "open" {
		t.Errorf("status -json during the override = exit %d, %s%s; want carol's own status available", code, out, errs)
	}
	if out, _, _ := cli("status", "-config", cfgPath); !strings.Contains(out, "own status available") || !strings.Contains(out, `open "Ask me"`) {
		t.Errorf("status during the override:\n%s\nwant open \"Ask me\" from 'own status available'", out)
	}
	end := us[0].Override.Until
	at = w.waitFor(t, "the meeting after the override", end.Add(3*time.Second), inMeeting(aor))
	if d := at.Sub(end); d < -50*time.Millisecond || d > time.Second {
		t.Errorf("the meeting came back %v after the override's end, want within 1s", d)
	}
	if out, _, _ := cli("status", "-config", cfgPath); !strings.Contains(out, "calendar (rule meeting)") {
		t.Errorf("status after the override:\n%s\nwant the source 'calendar (rule meeting)'", out)
	}

	// Open-ended, then cleared.
	if _, errs, code := cli("set", "-config", cfgPath, "-note", "Heads down", "busy"); code != 0 {
		t.Fatalf("set busy = exit %d, %s", code, errs)
	}
	busy := func(doc *pidf.Document) bool {
		tu, pe := ours(doc, aor)
		return tu != nil && tu.Basic == "open" && pe != nil && pe.Activities != nil &&
			len(pe.Activities.Values) == 1 && pe.Activities.Values[0].Name == "busy"
	}
	w.waitFor(t, "busy", time.Now().Add(3*time.Second), busy)
	// It survives a restart of the agent: removed at the stop, busy again
	// after the start, during the meeting.
	stop()
	w.waitFor(t, "the removal at the stop", time.Now().Add(3*time.Second), removed(aor))
	stopped = false
	run()
	w.waitFor(t, "busy after the restart", time.Now().Add(5*time.Second), busy)
	sent = time.Now()
	if _, errs, code := cli("set", "-config", cfgPath, "-clear"); code != 0 {
		t.Fatalf("set -clear = exit %d, %s", code, errs)
	}
	at = w.waitFor(t, "the meeting after -clear", sent.Add(3*time.Second), inMeeting(aor))
	if d := at.Sub(sent); d > 100*time.Millisecond {
		t.Errorf("after set -clear the meeting reached the watcher after %v, want within 100ms", d)
	}

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"set", "-config", cfgPath, "-user", "sip:nobody@example.com", "busy"}, 2, "unknown user sip:nobody@example.com"},
		{[]string{"set", "-config", cfgPath, "sleeping"}, 2, `unknown state "sleeping"`},
		{[]string{"set", "-config", cfgPath, "busy", "-until", time.Now().Add(-time.Hour).Format(time.RFC3339)}, 2, "in the past"},
		{[]string{"status", "-config", cfgPath, "-user", "sip:nobody@example.com"}, 2, "unknown user"},
	} {
		_, errs, code := cli(tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v = exit %d, stderr %q; want exit %d and one line with %q", tc.args, code, errs, tc.code, tc.want)
		}
	}

	stop()
	_, errs, code = cli("set", "-config", cfgPath, "busy")
	if code != 1 || !strings.Contains(errs, "the agent is not running") {
		t.Errorf("set without a running agent = exit %d, stderr %q; want exit 1, 'the agent is not running'", code, errs)
	}
}

// available: the server holds the agent's tuple open and no activity.
func available(aor string) func(*pidf.Document) bool {
	return func(doc *pidf.Document) bool {
		tu, pe := ours(doc, aor)
		return tu != nil && tu.Basic == "open" && (pe == nil || pe.Activities == nil || len(pe.Activities.Values) == 0)
	}
}
