package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/testserver"
)

// [sip] verify = true watches the BLF dialog publication too, against the
// real Kamailio with presence_dialoginfo: the agent subscribes with
// Event: dialog; Kamailio down for 3 s and back with empty state during a meeting has
// the agent's confirmed dialog again at a BLF key within 5 s of answering
// again (without verify: at the next refresh, an hour away), beside the
// phone's call; the end of the meeting, terminated, is no difference; the
// repairs are counted in calpresence_repairs_total, one log line each.
func TestVerifyBLFEndToEnd(t *testing.T) {
	kam := testserver.StartKamailio(t, testserver.KamailioOptions{DialogInfo: true, CleanPeriod: time.Second})
	const aor = "sip:erin@example.com"
	mine := dialoginfo.IDFor(aor)
	startPhone(t, kam.Addr, aor)
	bw := startDialogWatcher(t, kam.Addr, aor)

	dir := t.TempDir()
	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	end := start.Add(12 * time.Second)
	ics := filepath.Join(dir, "erin.ics")
	if err := os.WriteFile(ics, []byte(meetingICS(start, end)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "config.toml")
	cfg := fmt.Sprintf(`timezone = "UTC"
state_dir = %q
[sip]
aor = %q
proxy = "sip:%s;transport=tcp"
verify = true
[[calendar]]
name = "work"
url = %q
poll = "@every 1m"
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
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	}()
	bw.waitForDialog(t, "the meeting confirmed", start.Add(5*time.Second), both(mine, dialoginfo.Confirmed))
	dialogSubscribed := func(s string) bool {
		return regexp.MustCompile(`msg="sip subscribe".*watch=dialog|watch=dialog.*msg="sip subscribe"`).MatchString(s)
	}
	if !logs.waitFor(time.Now().Add(5*time.Second), dialogSubscribed) {
		t.Fatal("the agent did not subscribe to its dialog publication")
	}

	time.Sleep(time.Second) // the agent's watchers have their NOTIFYs of the meeting too
	// The server hangs for a while (SIGSTOP: no answer to the watchers'
	// OPTIONS), then dies and comes back with empty state.
	syscall.Kill(-kam.Proc.Cmd.Process.Pid, syscall.SIGSTOP)
	time.Sleep(3 * time.Second)
	kam.Restart(nil)
	back := time.Now()
	bw = startDialogWatcher(t, kam.Addr, aor) // the phone's BLF key subscribes again too
	at, _ := bw.waitForDialog(t, "the meeting confirmed after the restart", back.Add(10*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == dialoginfo.Confirmed
	})
	t.Logf("server answers again -> the agent's dialog confirmed at the BLF key: %v", at.Sub(back))
	if d := at.Sub(back); d > 5*time.Second {
		t.Errorf("the dialog was back at the BLF key %v after the server answered again, want within 5s", d)
	}
	if !at.Before(end) {
		t.Fatalf("restored only at %v, after the meeting's end %v", at, end)
	}
	bw.waitForDialog(t, "the meeting terminated", end.Add(3*time.Second), func(d *dialoginfo.Document) bool {
		return dialogState(d, mine) == dialoginfo.Terminated
	})
	time.Sleep(3 * time.Second) // the terminated dialog and the linger are no difference

	m := regexp.MustCompile(`calpresence_repairs_total\{user="sip:erin@example.com"\} (\d+)`).FindStringSubmatch(getMetrics(t, metrics))
	repairs := 0
	if m != nil {
		repairs, _ = strconv.Atoi(m[1])
	}
	var dialogLines, lines int
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "republishing") {
			lines++
			if strings.Contains(l, "watch=dialog") {
				dialogLines++
			}
		}
	}
	t.Logf("repairs: %d counted, %d log lines, %d of them of the dialog publication", repairs, lines, dialogLines)
	if dialogLines < 1 {
		t.Errorf("no repair line of the dialog publication (watch=dialog) in the log")
	}
	if repairs != lines {
		t.Errorf("calpresence_repairs_total = %d, the log has %d repair lines", repairs, lines)
	}
	if dialogLines > 1 {
		t.Errorf("%d repairs of the dialog publication, want 1", dialogLines)
	}
}
