package main

import (
	"context"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/publisher"
)

// agentProc is one `calpresence run` process of a test, its output kept.
type agentProc struct {
	cmd    *exec.Cmd
	logs   *signalBuffer
	exited chan error // Wait's result, sent once
	gone   bool       // exited has been received
}

// startAgent starts `bin run args...` with its state under dir and env
// added, and stops it (SIGKILL) at the end of the test unless it has
// exited; on failure the test log gets its output (the last tail bytes,
// 0 for all) under label.
func startAgent(t *testing.T, bin, dir, label string, tail int, args []string, env ...string) *agentProc {
	t.Helper()
	p := &agentProc{logs: newSignalBuffer(), exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"run"}, args...)...)
	p.cmd.Env = append(append(os.Environ(), "XDG_STATE_HOME="+dir), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if !p.gone {
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			out := p.logs.String()
			if tail > 0 && len(out) > tail {
				out = out[len(out)-tail:]
			}
			t.Logf("%s log:\n%s", label, out)
		}
	})
	return p
}

// signal sends sig to the process.
func (p *agentProc) signal(sig syscall.Signal) { p.cmd.Process.Signal(sig) }

// wait waits up to d for the process to exit and returns Wait's error;
// ok is false if it had not exited by then.
func (p *agentProc) wait(d time.Duration) (err error, ok bool) {
	select {
	case err := <-p.exited:
		p.gone = true
		return err, true
	case <-time.After(d):
		return nil, false
	}
}

// terminate sends SIGTERM and wants the process to exit 0 within 5 s, as
// the contract says; it returns how long it took.
func (p *agentProc) terminate(t *testing.T) time.Duration {
	t.Helper()
	sent := time.Now()
	p.signal(syscall.SIGTERM)
	err, ok := p.wait(6 * time.Second)
	if !ok {
		t.Fatalf("the agent did not exit within 6 s of SIGTERM")
	}
	d := time.Since(sent)
	if err != nil {
		t.Errorf("after SIGTERM the agent exited with %v, want 0", err)
	}
	if d > 5*time.Second {
		t.Errorf("after SIGTERM the agent took %v to exit, want under 5s", d)
	}
	return d
}

// startTestPublisher publishes body for opts.AOR through its own client
// until the end of the test, as a second publisher of the user (the
// phone) does.
func startTestPublisher(t *testing.T, opts publisher.Options, body []byte) {
	t.Helper()
	c, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := publisher.New(c, opts)
	p.SetTimeline([]publisher.Entry{{Start: time.Now(), Body: body}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		c.Close()
	})
}
