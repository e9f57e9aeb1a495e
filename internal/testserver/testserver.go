// Package testserver starts the real third-party servers that calpresence's
// integration tests run against (Kamailio, Radicale, Xandikos, SIPp), on
// loopback, each stopped by PID when its test ends.
//
// It is test support, not a step of the flow. A test that needs a server
// that is not installed is skipped with a clear message, unless
// CALPRESENCE_INTEGRATION=1 is set, in which case it fails.
package testserver

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Integration reports whether CALPRESENCE_INTEGRATION=1 is set: missing
// servers are then failures, not skips.
func Integration() bool { return os.Getenv("CALPRESENCE_INTEGRATION") == "1" }

// LookPath finds the program name (also in /usr/sbin and /sbin, where
// Debian puts daemons) or skips t, naming the Debian package pkg that
// provides it; under CALPRESENCE_INTEGRATION=1 it fails t instead.
func LookPath(t testing.TB, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	missing(t, fmt.Sprintf("%s not installed (Debian package %s; `make test` installs it)", name, pkg))
	return ""
}

// missing skips t for a missing server, or fails it under
// CALPRESENCE_INTEGRATION=1.
func missing(t testing.TB, msg string) {
	t.Helper()
	if Integration() {
		t.Fatalf("%s, and CALPRESENCE_INTEGRATION=1 requires it", msg)
	}
	t.Skip(msg)
}

var portMu sync.Mutex

// FreePort returns a port on 127.0.0.1 that is free for both TCP and UDP at
// the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	portMu.Lock()
	defer portMu.Unlock()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("FreePort: %v", err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err != nil {
			continue
		}
		u.Close()
		return port
	}
	t.Fatalf("FreePort: no port free for both TCP and UDP")
	return 0
}

// Process is a server started by Start.
type Process struct {
	Cmd    *exec.Cmd
	Output *SafeBuffer   // combined stdout and stderr
	done   chan struct{} // closed when it exited
}

// Start runs name with args in its own process group and stops it by PID
// (SIGTERM, then SIGKILL) when t ends. Its output is kept and logged if the
// test fails.
func Start(t testing.TB, dir string, env []string, name string, args ...string) *Process {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out := &SafeBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &Process{Cmd: cmd, Output: out}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	p.done = done
	t.Cleanup(func() {
		p.stop(done)
		if t.Failed() {
			t.Logf("%s output:\n%s", filepath.Base(name), out.String())
		}
	})
	return p
}

func (p *Process) stop(done chan struct{}) {
	pid := p.Cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		syscall.Kill(-pid, syscall.SIGKILL)
		<-done
	}
}

// WaitTCP waits until addr accepts TCP connections or fails t after timeout.
func WaitTCP(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server at %s did not come up within %v: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitUDPBound waits until a server has bound UDP addr ("ip:port"): until
// binding it fails. It sends nothing, so it works for any protocol.
func WaitUDPBound(t testing.TB, addr string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return // in use: the server has it
		}
		pc.Close()
		if time.Now().After(deadline) {
			t.Fatalf("server at udp %s did not come up within %v", addr, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// SafeBuffer is a bytes.Buffer safe for concurrent use.
type SafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
