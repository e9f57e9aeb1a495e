package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// check -online against the real servers: Kamailio answers OPTIONS,
// Radicale takes the login and lists the calendars (the one read marked),
// an ICS file is read; a wrong password, a named calendar that does not
// exist and a presence server that does not answer each fail with exit 1
// and say which.
func TestCheckOnline(t *testing.T) {
	kam := testserver.StartKamailio(t, testserver.KamailioOptions{})
	rad := testserver.StartRadicale(t, map[string]string{"alice": "secret-pw"})
	now := time.Now()
	davPut(t, rad.URL, "alice", "secret-pw", meetingICS(now, now.Add(time.Hour)))
	dir := t.TempDir()
	icsPath := filepath.Join(dir, "personal.ics")
	if err := os.WriteFile(icsPath, []byte(meetingICS(now, now.Add(time.Hour))), 0o600); err != nil {
		t.Fatal(err)
	}
	closed := testserver.FreePort(t) // nothing listens there
	for _, tc := range []struct {
		name     string
		proxy    string
		password string
		cals     string
		code     int
		want     []string
	}{
		{"all good", "sip:" + kam.Addr + ";transport=tcp", "secret-pw", `["work"]`, 0, []string{
			"user sip:alice@example.com: presence server " + kam.Addr + " (TCP",
			"answers OPTIONS 200",
			`calendar dav: * "alice/work" http://` + strings.TrimPrefix(rad.URL, "http://") + "alice/work/",
			"calendar dav: logged in; 1 calendars, * = read",
			"calendar personal: read, 1 events",
			"\nok\n",
		}},
		{"wrong password", "sip:" + kam.Addr + ";transport=tcp", "wrong", `["work"]`, 1, []string{
			"answers OPTIONS 200", "calendar dav", "401",
		}},
		{"no such calendar", "sip:" + kam.Addr + ";transport=tcp", "secret-pw", `["Team"]`, 1, []string{
			`calendar dav:   "alice/work"`, `no calendar named "Team"`,
		}},
		{"presence server down", fmt.Sprintf("sip:127.0.0.1:%d;transport=tcp", closed), "secret-pw", `["work"]`, 1, []string{
			"user sip:alice@example.com: presence server not reached: sip options to 127.0.0.1:",
			"/tcp: connection refused (is the presence server running, and listening there?)", "calendar dav: logged in",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "config.toml")
			os.WriteFile(cfg, fmt.Appendf(nil, `timezone = "UTC"
[sip]
aor = "sip:alice@example.com"
proxy = %q
[[calendar]]
name = "dav"
type = "caldav"
url = %q
username = "alice"
password_env = "DAV_PW"
calendars = %s
[[calendar]]
name = "personal"
url = %q
`, tc.proxy, rad.URL, tc.cals, icsPath), 0o600)
			var out, errb bytes.Buffer
			e := &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errb, getenv: func(k string) string {
				if k == "DAV_PW" {
					return tc.password
				}
				return ""
			}}
			code := runCheck(context.Background(), e, []string{"-config", cfg, "-online"})
			got := out.String() + errb.String()
			if code != tc.code {
				t.Errorf("check -online = exit %d, want %d:\n%s", code, tc.code, got)
			}
			for _, w := range tc.want {
				if !strings.Contains("\n"+got, w) {
					t.Errorf("check -online output lacks %q:\n%s", w, got)
				}
			}
			if strings.Contains(got, "secret-pw") {
				t.Errorf("check -online shows the password:\n%s", got)
			}
		})
	}
}
