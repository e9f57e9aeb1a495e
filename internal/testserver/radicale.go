package testserver

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// Radicale is a Radicale CalDAV server (Debian package radicale) started by
// StartRadicale.
type Radicale struct {
	URL     string // http://127.0.0.1:PORT/, the server root
	Storage string // its filesystem storage folder
	Process *Process
}

// StartRadicale starts Radicale on a free loopback port with htpasswd
// authentication (plain-text file) for users (name -> password) and storage
// in a temporary folder, and waits until it accepts connections. It skips
// t when Radicale is not installed (fails it under CALPRESENCE_INTEGRATION=1).
func StartRadicale(t testing.TB, users map[string]string) *Radicale {
	t.Helper()
	bin := LookPath(t, "radicale", "radicale")
	dir := t.TempDir()
	names := make([]string, 0, len(users))
	for u := range users {
		names = append(names, u)
	}
	sort.Strings(names)
	var htpasswd strings.Builder
	for _, u := range names {
		fmt.Fprintf(&htpasswd, "%s:%s\n", u, users[u])
	}
	usersFile := filepath.Join(dir, "users")
	if err := os.WriteFile(usersFile, []byte(htpasswd.String()), 0o600); err != nil {
		t.Fatalf("StartRadicale: %v", err)
	}
	storage := filepath.Join(dir, "collections")
	port := FreePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	// delay = 0: Radicale otherwise waits a second before answering a
	// wrong password, which only slows the tests.
	config := fmt.Sprintf(`[server]
hosts = %s
[auth]
type = htpasswd
htpasswd_filename = %s
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = %s
[web]
type = none
[logging]
level = warning
`, addr, usersFile, storage)
	cfg := filepath.Join(dir, "config")
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatalf("StartRadicale: %v", err)
	}
	p := Start(t, dir, nil, bin, "--config", cfg)
	WaitTCP(t, addr, 20*time.Second)
	return &Radicale{URL: "http://" + addr + "/", Storage: storage, Process: p}
}
