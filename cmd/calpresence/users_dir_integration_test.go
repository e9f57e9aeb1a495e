package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/status"
	"github.com/calpresence/calpresence/internal/testserver"
)

// users_dir against the real Kamailio: SIGHUP adds, changes and removes
// users as their files come, change and go; a broken file is logged as
// FILE:LINE:COL and its users keep their previous version; `check`
// finds the broken file.
func TestUsersDirReloadEndToEnd(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	bin := buildBinary(t)
	dir := t.TempDir()
	usersDir := filepath.Join(dir, "users.d")
	if err := os.MkdirAll(usersDir, 0o755); err != nil {
		t.Fatal(err)
	}
	meeting := filepath.Join(dir, "meeting.ics")
	free := filepath.Join(dir, "free.ics")
	now := time.Now()
	os.WriteFile(meeting, []byte(meetingICS(now.Add(-time.Hour), now.Add(2*time.Hour))), 0o644)
	os.WriteFile(free, []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nEND:VCALENDAR\r\n"), 0o644)
	user := func(name, ics string, extra string) string {
		return fmt.Sprintf("[[user]]\naor = \"sip:%s@example.com\"\n%s  [[user.calendar]]\n  name = \"work\"\n  url = %q\n", name, extra, ics)
	}
	write := func(name, data string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(usersDir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("alice.toml", user("alice", meeting, ""))
	write("bob.toml", user("bob", free, ""))
	cfgPath := filepath.Join(dir, "config.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("timezone = \"UTC\"\nstate_dir = %q\nusers_dir = \"users.d\"\n[sip]\nproxy = \"sip:%s;transport=tcp\"\n",
		filepath.Join(dir, "state"), kam.Addr())), 0o600)

	wAlice := startWatcher(t, kam.Addr(), "sip:alice@example.com")
	wCarol := startWatcher(t, kam.Addr(), "sip:carol@example.com")
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	agent := startAgent(t, bin, dir, "agent", 0, []string{"-config", cfgPath, "-metrics-addr", addr})
	defer func() { // removing its publications, as the end of every run
		agent.signal(syscall.SIGTERM)
		agent.wait(6 * time.Second)
	}()
	wAlice.waitFor(t, "alice's meeting", time.Now().Add(15*time.Second), inMeeting("sip:alice@example.com"))

	users := func() map[string]string {
		var st status.StatusJSON
		res, err := http.Get("http://" + addr + "/api/status")
		if err != nil {
			t.Fatalf("GET /api/status: %v", err)
		}
		json.NewDecoder(res.Body).Decode(&st)
		res.Body.Close()
		out := map[string]string{}
		for _, u := range st.Users {
			out[u.AOR] = u.Zone
		}
		return out
	}
	if got := users(); len(got) != 2 {
		t.Fatalf("users before the reload = %v, want alice and bob", got)
	}

	// Alice's file goes, carol's comes, bob's breaks (his zone would change).
	os.Remove(filepath.Join(usersDir, "alice.toml"))
	write("carol.toml", user("carol", meeting, ""))
	write("bob.toml", user("bob", free, "timezone = \"Asia/Tokyo\"\nfavourite_colour = \"red\"\n"))
	agent.signal(syscall.SIGHUP)
	if !agent.logs.waitFor(time.Now().Add(10*time.Second), func(s string) bool { return strings.Contains(s, "config reloaded") }) {
		t.Fatalf("no reload logged")
	}
	wantErr := filepath.Join(usersDir, "bob.toml") + `:4:1: unknown key \"user.favourite_colour\"`
	if !strings.Contains(agent.logs.String(), wantErr) || !strings.Contains(agent.logs.String(), "users file refused") {
		t.Errorf("the log lacks the broken file's error %s", wantErr)
	}
	wCarol.waitFor(t, "carol's meeting after the reload", time.Now().Add(10*time.Second), inMeeting("sip:carol@example.com"))
	wAlice.waitFor(t, "alice's publication removed", time.Now().Add(10*time.Second), removed("sip:alice@example.com"))
	got := users()
	if want := map[string]string{"sip:bob@example.com": "UTC", "sip:carol@example.com": "UTC"}; !mapsEqual(got, want) {
		t.Errorf("users after the reload = %v, want %v (bob's previous version)", got, want)
	}

	// Fixed: bob's change applies.
	write("bob.toml", user("bob", free, "timezone = \"Asia/Tokyo\"\n"))
	agent.signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for users()["sip:bob@example.com"] != "Asia/Tokyo" {
		if time.Now().After(deadline) {
			t.Fatalf("bob's fixed file not applied: %v", users())
		}
		time.Sleep(100 * time.Millisecond) // polling a subprocess, not timing
	}

	// check validates the directory.
	write("dave.toml", "[[user]]\naor = \"sip:dave@example.com\"\ntimezone = \"Mars/Base\"\n")
	out, err := exec.Command(bin, "check", "-config", cfgPath).CombinedOutput()
	if code := procExit(err); code != 2 || !strings.Contains(string(out), filepath.Join(usersDir, "dave.toml")+`:3:1: unknown timezone "Mars/Base"`) {
		t.Errorf("check with a broken users file = %d\n%s", code, out)
	}
}

func mapsEqual(a, b map[string]string) bool {
	ka, kb := make([]string, 0, len(a)), make([]string, 0, len(b))
	for k, v := range a {
		ka = append(ka, k+"="+v)
	}
	for k, v := range b {
		kb = append(kb, k+"="+v)
	}
	slices.Sort(ka)
	slices.Sort(kb)
	return slices.Equal(ka, kb)
}

func procExit(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
