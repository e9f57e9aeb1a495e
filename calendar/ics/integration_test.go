package ics

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// TestSourceRadicale reads a calendar as an ICS feed from a real
// Radicale (a collection's GET is its whole calendar), with basic auth.
// Radicale sends an ETag but ignores If-None-Match on collections, so an
// unchanged feed must be caught by the body's digest.
func TestSourceRadicale(t *testing.T) {
	radicale := testserver.LookPath(t, "radicale", "radicale")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	users := write("users", "alice:s3cret-pw\n")
	config := write("config", fmt.Sprintf(`[server]
hosts = %s
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
[storage]
filesystem_folder = %s
[rights]
type = owner_only
`, addr, users, filepath.Join(dir, "collections")))
	testserver.Start(t, dir, nil, radicale, "--config", config)
	testserver.WaitTCP(t, addr, 20*time.Second)

	url := "http://" + addr + "/alice/team/"
	put := func(body []byte) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, url, bytes.NewReader(body))
		req.SetBasicAuth("alice", "s3cret-pw")
		req.Header.Set("Content-Type", "text/calendar")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("PUT %s = %s", url, resp.Status)
		}
	}
	put(readFeedFile(t, "two.ics"))

	secret := func(pw string) func(context.Context) (string, error) {
		return func(context.Context) (string, error) { return pw, nil }
	}
	s, parses := newFeedSource(t, Options{Name: "team", URL: url, Username: "alice", Password: secret("s3cret-pw")})
	for range 2 {
		events, _, err := s.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch(%s) = %v", url, err)
		}
		if got := strings.Join(feedUIDs(events), " "); !strings.Contains(got, "standup@example.com") || !strings.Contains(got, "review@example.com") {
			t.Fatalf("Fetch(%s) UIDs = %q, want the two events put", url, got)
		}
	}
	if parses.Load() != 1 {
		t.Errorf("parses of an unchanged Radicale feed = %d, want 1", parses.Load())
	}

	put(readFeedFile(t, "one.ics"))
	events, _, err := s.Fetch(t.Context())
	if err != nil || len(events) != 1 || events[0].UID != "lunch@example.com" {
		t.Errorf("Fetch() after a change = %v, %v; want lunch@example.com", feedUIDs(events), err)
	}

	bad, _ := newFeedSource(t, Options{URL: url, Username: "alice", Password: secret("wrong-pw")})
	_, _, err = bad.Fetch(t.Context())
	if want := "ics: wrong credentials for " + url + ": HTTP 401 Unauthorized"; err == nil || err.Error() != want {
		t.Errorf("Fetch() with a wrong password = %v, want %q", err, want)
	}
}
