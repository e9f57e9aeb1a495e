package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// init writes a commented config that check accepts as written, with the
// user's AOR, zone and calendar; it never overwrites one without -force,
// and refuses what check would refuse.
func TestInit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config.toml")
	out, errs, code := runMain(t, "init", "-config", path, "-aor", "sip:bob@example.org", "-tz", "Europe/Berlin", "-ics", "/tmp/bob.ics")
	if code != 0 || !strings.Contains(out, "wrote "+path) {
		t.Fatalf("init = exit %d, stdout %q, stderr %q; want 0 and the path", code, out, errs)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("config mode %v, want 0600", fi.Mode().Perm())
	}
	for _, want := range []string{`aor = "sip:bob@example.org"`, `timezone = "Europe/Berlin"`, `url = "/tmp/bob.ics"`,
		`me = ["mailto:bob@example.org"]`, "#proxy = ", "#password_env = ", "#[[calendar]]", "# The presentity"} {
		if !strings.Contains(string(data), want) {
			t.Errorf("the starter config lacks %q:\n%s", want, data)
		}
	}
	if out, errs, code := runMain(t, "check", "-config", path); code != 0 || out != "ok\n" {
		t.Errorf("check on the starter config = exit %d, stdout %q, stderr %q; want ok", code, out, errs)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"init", "-config", path}, 2, "exists; -force overwrites it"},
		{[]string{"init", "-config", filepath.Join(dir, "x.toml"), "-aor", "alice"}, 2, "-aor alice"},
		{[]string{"init", "-config", filepath.Join(dir, "y.toml"), "-tz", "Local"}, 2, "not an IANA zone"},
		{[]string{"init", "-config", path, "-force", "-aor", "sip:carol@example.org"}, 0, ""},
	} {
		_, errs, code := runMain(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("calpresence %v = exit %d, stderr %q; want %d with %q", tc.args, code, errs, tc.code, tc.msg)
		}
	}
	if data, _ := os.ReadFile(path); !strings.Contains(string(data), "sip:carol@example.org") {
		t.Errorf("init -force did not overwrite the config")
	}
}

// -version and --version are the version command.
func TestVersionFlags(t *testing.T) {
	for _, arg := range []string{"version", "-version", "--version"} {
		var out, errb strings.Builder
		if code := Main(t.Context(), []string{arg}, nil, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "calpresence ") {
			t.Errorf("calpresence %s = exit %d, stdout %q, stderr %q; want 0 and the version", arg, code, out.String(), errb.String())
		}
	}
}
