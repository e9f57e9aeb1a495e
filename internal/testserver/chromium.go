package testserver

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// Chromium is Debian's headless chromium, run once per page.
type Chromium struct{ bin string }

// FindChromium finds chromium or skips t (fails it under
// CALPRESENCE_INTEGRATION=1).
func FindChromium(t testing.TB) *Chromium {
	t.Helper()
	return &Chromium{bin: LookPath(t, "chromium", "chromium")}
}

// run runs chromium headless on url with extra args, with a fresh profile
// and no network but the page's, and returns its standard output.
func (c *Chromium) run(t testing.TB, url string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-dev-shm-usage", "--user-data-dir=" + filepath.Join(t.TempDir(), "profile")}
	cmd := exec.CommandContext(ctx, c.bin, append(append(base, args...), url)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Chromium's helpers are in its process group: end them all, by the
	// group of the one process started here.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, errb.String())
	}
	return out.Bytes()
}

// DumpDOM loads url and returns the DOM as serialized after loading.
func (c *Chromium) DumpDOM(t testing.TB, url string) string {
	t.Helper()
	return string(c.run(t, url, "--dump-dom"))
}

// Screenshot loads url in a window of w×h pixels and writes a PNG to path.
func (c *Chromium) Screenshot(t testing.TB, url, path string, w, h int) {
	t.Helper()
	c.run(t, url, "--screenshot="+path, "--hide-scrollbars", "--window-size="+strconv.Itoa(w)+","+strconv.Itoa(h))
}
