package testserver

import (
	"context"
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
	bin := LookPath(t, "sipp", "sip-tester")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	all := append([]string{"-sf", scenario, "-i", "127.0.0.1", "-p", fmt.Sprint(FreePort(t)),
		"-nostdin", "-trace_err", "-error_file", t.TempDir() + "/sipp-errors.log"}, args...)
	all = append(all, target)
	cmd := exec.CommandContext(ctx, bin, all...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	took := time.Since(start)
	if err != nil {
		t.Fatalf("sipp %v: %v\n%s", all, err, lastBytes(out, 4000))
	}
	return took, string(out)
}

func lastBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}
