package testserver

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"testing"
	"time"
)

// RunSIPp runs sipp (Debian package sip-tester) with the scenario file to
// completion against target ("host:port") from 127.0.0.1, with extra args
// (e.g. "-m", "1000", "-r", "500", "-t", "t1"), and returns how long it ran
// and its output. It skips t when sipp is missing (fails under
// CALPRESENCE_INTEGRATION=1) and fails t when sipp reports failed calls.
func RunSIPp(t testing.TB, scenario, target string, args ...string) (time.Duration, string) {
	t.Helper()
	LookPath(t, "sipp", "sip-tester") // before FreePort and TempDir: skip early
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	all := append([]string{"-sf", scenario, "-i", "127.0.0.1", "-p", fmt.Sprint(FreePort(t)),
		"-nostdin", "-trace_err", "-error_file", t.TempDir() + "/sipp-errors.log"}, args...)
	all = append(all, target)
	start := time.Now()
	code, out := SIPp(ctx, t, "", all...)
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("sipp %v: exit status %d\n%s", all, code, lastBytes(out, 4000))
	}
	return took, out
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// SIPp runs sipp with args until it exits or ctx ends, and returns its exit
// code (0: every call went as the scenario says) and output.
func SIPp(ctx context.Context, t testing.TB, dir string, args ...string) (int, string) {
	t.Helper()
	bin := LookPath(t, "sipp", "sip-tester")
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &ee):
		return ee.ExitCode(), string(out)
	default:
		t.Fatalf("sipp: %v", err)
		return -1, ""
	}
}
