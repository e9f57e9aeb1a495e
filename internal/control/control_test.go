package control

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func echo(_ context.Context, req Request) Response {
	if req.User == "sip:nobody@example.com" {
		return Response{Error: "unknown user " + req.User, Input: true}
	}
	return Response{User: req.User + "/" + req.Op + "/" + req.State + "/" + req.For.String()}
}

func start(t *testing.T, dir string) (*Server, func()) {
	t.Helper()
	s, err := Listen(dir, echo, nil)
	if err != nil {
		t.Fatalf("Listen(%s) = %v", dir, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Serve(ctx) }()
	return s, func() { cancel(); <-done }
}

func TestControl(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	s, stop := start(t, dir)
	defer stop()
	fi, err := os.Stat(s.Path())
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
		t.Errorf("socket %s: mode %v, %v, want a socket of mode 0600", s.Path(), fi.Mode(), err)
	}
	if di, _ := os.Stat(dir); di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	for _, tc := range []struct {
		req       Request
		user, err string
		input     bool
	}{
		{Request{Op: OpSet, User: "sip:a@example.com", State: "busy", For: 30 * time.Minute}, "sip:a@example.com/set/busy/30m0s", "", false},
		{Request{Op: OpStatus}, "/status//0s", "", false},
		{Request{Op: OpClear, User: "sip:nobody@example.com"}, "", "unknown user sip:nobody@example.com", true},
	} {
		res, err := Call(context.Background(), SocketPath(dir), tc.req)
		if err != nil || res.User != tc.user || res.Error != tc.err || res.Input != tc.input {
			t.Errorf("Call(%+v) = %+v, %v, want user %q, error %q, input %v", tc.req, res, err, tc.user, tc.err, tc.input)
		}
	}

	// Not JSON: an input error.
	c, err := net.Dial("unix", s.Path())
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("hello\n"))
	buf := make([]byte, 512)
	n, _ := c.Read(buf)
	c.Close()
	if !strings.Contains(string(buf[:n]), `"input":true`) {
		t.Errorf("a request that is not JSON got %s, want an input error", buf[:n])
	}

	// A second agent on the same state dir is refused.
	if _, err := Listen(dir, echo, nil); err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Errorf("Listen on a live socket = %v, want 'another agent is running'", err)
	}
}

func TestControlNotRunning(t *testing.T) {
	dir := t.TempDir()
	if _, err := Call(context.Background(), SocketPath(dir), Request{Op: OpStatus}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call without an agent = %v, want ErrNotRunning", err)
	}
	// A socket file left by an agent that died: Call says not running,
	// and the next agent takes the path over.
	ln, err := net.Listen("unix", SocketPath(dir))
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	if _, err := Call(context.Background(), SocketPath(dir), Request{Op: OpStatus}); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Call on a dead socket = %v, want ErrNotRunning", err)
	}
	_, stop := start(t, dir)
	res, err := Call(context.Background(), SocketPath(dir), Request{Op: OpStatus})
	if err != nil || res.Error != "" {
		t.Errorf("Call after replacing a dead socket = %+v, %v", res, err)
	}
	stop()
	if _, err := os.Lstat(SocketPath(dir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Serve returned the socket file is still there (%v)", err)
	}
}
