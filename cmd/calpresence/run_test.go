package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("timezone = \"Mars/Olympus\"\n[sip]\naor = \"sip:alice@example.com\"\n"), 0o600)
	// check refuses an unset password_env; so does run, at its position.
	unset := filepath.Join(dir, "unset.toml")
	os.WriteFile(unset, []byte("timezone = \"UTC\"\n[sip]\naor = \"sip:alice@example.com\"\nusername = \"alice\"\npassword_env = \"CALPRESENCE_TEST_SURELY_UNSET\"\n[[calendar]]\nname = \"work\"\nurl = \"/tmp/none.ics\"\n"), 0o600)
	tests := []struct {
		args []string
		want string // in stderr
	}{
		{[]string{"run", "-nope"}, "flag provided but not defined"},
		{[]string{"run", "extra"}, "unexpected argument"},
		{[]string{"run", "-log-format", "xml", "-config", bad}, "-log-format"},
		{[]string{"run", "-log-level", "loud", "-config", bad}, "-log-level"},
		{[]string{"run", "-stale-after", "0s", "-config", bad}, "-stale-after"},
		{[]string{"run", "-config", filepath.Join(dir, "missing.toml")}, "missing.toml"},
		{[]string{"run", "-config", bad}, bad + ":1:"},
		{[]string{"run", "-config", dir}, "is a directory"},
		{[]string{"run", "-config", unset}, unset + ":5:"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := Main(context.Background(), tt.args, nil, &out, &errb)
		if code != 2 {
			t.Errorf("calpresence %v = exit %d, want 2 (stderr %q)", tt.args, code, errb.String())
		}
		if !strings.Contains(errb.String(), tt.want) {
			t.Errorf("calpresence %v: stderr %q lacks %q", tt.args, errb.String(), tt.want)
		}
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(&buf, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "user", "sip:alice@example.com")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) || !strings.Contains(got, `"user":"sip:alice@example.com"`) {
		t.Errorf("newLogger(json, warn) wrote %q", got)
	}
}
