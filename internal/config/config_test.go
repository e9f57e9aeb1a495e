package config

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

// TestConfigInvalid loads every testdata/invalid/*.toml and compares
// the errors with the .err file beside it, exactly.
func TestConfigInvalid(t *testing.T) {
	files, _ := filepath.Glob("testdata/invalid/*.toml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	t.Chdir("testdata")
	for _, f := range files {
		rel := strings.TrimPrefix(f, "testdata/")
		t.Run(rel, func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(rel, ".toml") + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(rel, noEnv)
			if err == nil {
				t.Fatalf("Load(%s) = nil error, want\n%s", rel, want)
			}
			if got := err.Error(); got != strings.TrimSpace(string(want)) {
				t.Errorf("Load(%s) error =\n%s\nwant\n%s", rel, got, want)
			}
		})
	}
}

func TestConfigSingle(t *testing.T) {
	cfg, err := Load("testdata/valid/single.toml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 1 {
		t.Fatalf("users = %d, want 1", len(cfg.Users))
	}
	u := cfg.Users[0]
	if u.AOR != "sip:alice@example.com" || u.Zone.String() != "Europe/Berlin" || u.SIP.Expires != time.Hour || u.SIP.Grace != 2*time.Minute {
		t.Errorf("user = %+v", u)
	}
	if len(u.Calendars) != 2 || u.Calendars[0].Type != "caldav" || u.Calendars[1].Type != "ics" || u.Calendars[1].Poll != "@every 5m" {
		t.Errorf("calendars = %+v", u.Calendars)
	}
	if u.SIP.Password == nil || u.SIP.Password.String() != "password_env CALPRESENCE_SIP_PASSWORD" {
		t.Errorf("sip password = %v", u.SIP.Password)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings = %v, want none", cfg.Warnings)
	}
}

func TestConfigMulti(t *testing.T) {
	cfg, err := Load("testdata/valid/multi.toml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Users) != 2 {
		t.Fatalf("users = %d, want 2", len(cfg.Users))
	}
	a, b := cfg.Users[0], cfg.Users[1]
	if a.Zone.String() != "Europe/Berlin" || b.Zone.String() != "America/New_York" {
		t.Errorf("zones = %v, %v", a.Zone, b.Zone)
	}
	if a.SIP.Proxy != "sip:127.0.0.1:5060;transport=udp" || b.SIP.Proxy != "sip:127.0.0.2:5060" {
		t.Errorf("proxies = %q, %q", a.SIP.Proxy, b.SIP.Proxy)
	}
	if a.SIP.Expires != 600*time.Second || b.SIP.Expires != 600*time.Second {
		t.Errorf("expires = %v, %v; want the top-level default 600s", a.SIP.Expires, b.SIP.Expires)
	}
	if len(a.Calendars) != 1 || a.Calendars[0].Name != "company" || len(b.Calendars) != 1 || b.Calendars[0].Name != "bob" {
		t.Errorf("calendars = %+v / %+v", a.Calendars, b.Calendars)
	}
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].Error(), "multi.toml:23:1: a plain password") {
		t.Errorf("warnings = %v, want the plain password one", cfg.Warnings)
	}
}

func TestSecret(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret\nignored\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(k string) string {
		if k == "PW" {
			return "from-env"
		}
		return ""
	}
	tests := []struct {
		name    string
		s       *Secret
		want    string
		wantErr string
	}{
		{"plain", &Secret{kind: secretPlain, value: "hunter2"}, "hunter2", ""},
		{"env", &Secret{kind: secretEnv, value: "PW", getenv: env}, "from-env", ""},
		{"env unset", &Secret{kind: secretEnv, value: "NOPE", getenv: env}, "", "environment variable NOPE is not set"},
		{"file", &Secret{kind: secretFile, value: pwFile}, "s3cret", ""},
		{"command", &Secret{kind: secretCommand, command: []string{"echo", "from-cmd"}}, "from-cmd", ""},
		{"command fails, stdout not shown", &Secret{kind: secretCommand, command: []string{"sh", "-c", "echo leaked; echo locked >&2; exit 3"}}, "", "password_command sh: exit status 3: locked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Get(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "leaked") {
					t.Fatalf("Get() error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Get() = %q, %v, want %q", got, err, tt.want)
			}
			if strings.Contains(tt.s.String(), tt.want) && tt.s.kind != secretEnv {
				t.Errorf("String() = %q shows the password", tt.s.String())
			}
		})
	}
}

// The ICS locations the config takes are those the source takes (webcals
// included), plus the config's own rule that passwords stay out of URLs.
func TestConfigICSURLs(t *testing.T) {
	for _, tc := range []struct{ url, wantErr string }{
		{"https://cal.example.com/a.ics", ""},
		{"webcal://cal.example.com/a.ics", ""},
		{"webcals://cal.example.com/a.ics", ""},
		{"file:///var/cal/a.ics", ""},
		{"cal/a.ics", ""},
		{"gopher://cal.example.com/a.ics", `unsupported scheme "gopher"`},
		{"https:///a.ics", "URL without a host"},
		{"https://bob:secret@cal.example.com/a.ics", "url carries credentials"},
	} {
		src := "timezone = \"UTC\"\n[sip]\naor = \"sip:alice@example.com\"\n[[calendar]]\nurl = \"" + tc.url + "\"\n"
		_, err := Parse("t.toml", []byte(src), noEnv)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("Parse(url = %q) = %v, want no error", tc.url, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("Parse(url = %q) = %v, want an error with %q", tc.url, err, tc.wantErr)
		case err != nil && strings.Contains(err.Error(), "secret"):
			t.Errorf("Parse(url = %q) error %q shows the password", tc.url, err)
		}
	}
}
