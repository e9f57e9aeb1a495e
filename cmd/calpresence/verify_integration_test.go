package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// [sip] verify = true against the real Kamailio: stopped during a meeting
// and restarted on the same port with empty state, the server has the
// meeting again at a watcher within 5 s of answering again (without verify:
// at the next refresh, up to the publication's lifetime), and the repair
// is counted in calpresence_repairs_total.
func TestVerifyEndToEnd(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	const aor = "sip:dave@example.com"
	dir := t.TempDir()
	start := time.Now().Add(2 * time.Second).Truncate(time.Second)
	ics := filepath.Join(dir, "dave.ics")
	if err := os.WriteFile(ics, []byte(meetingICS(start, start.Add(time.Hour))), 0o600); err != nil {
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
`, filepath.Join(dir, "state"), aor, kam.Addr(), ics)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	w := startWatcher(t, kam.Addr(), aor)
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
	w.waitFor(t, "the meeting", start.Add(5*time.Second), inMeeting(aor))
	if !logs.waitFor(time.Now().Add(5*time.Second), func(s string) bool { return strings.Contains(s, `msg="sip subscribe"`) }) {
		t.Fatal("the agent did not subscribe to its presentity")
	}

	kam.Stop()
	time.Sleep(3 * time.Second) // a server that is down for a while
	back := kam.RestartEmpty()
	w2 := startWatcher(t, kam.Addr(), aor) // phones subscribe again too
	at := w2.waitFor(t, "the meeting after the restart", back.Add(10*time.Second), inMeeting(aor))
	t.Logf("server answers again -> meeting at the watcher: %v", at.Sub(back))
	if d := at.Sub(back); d > 5*time.Second {
		t.Errorf("the meeting was back at the watcher %v after the server answered again, want within 5s", d)
	}
	res, err := http.Get("http://" + metrics + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	// One repair after the restart; one more if the meeting's NOTIFY was
	// lost to the stop (the watcher repairs before it notices the server
	// is down). Each is one log line.
	m := regexp.MustCompile(`calpresence_repairs_total\{user="sip:dave@example.com"\} (\d+)`).FindStringSubmatch(string(body))
	repairs := 0
	if m != nil {
		repairs, _ = strconv.Atoi(m[1])
	}
	if repairs == 0 {
		t.Fatalf("GET /metrics after the restart: calpresence_repairs_total for dave = %v, want at least 1:\n%s", m, body)
	}
	if n := strings.Count(logs.String(), "republishing"); n < repairs {
		t.Errorf("the log has %d repair lines, the metrics said %d repairs before", n, repairs)
	}
}
