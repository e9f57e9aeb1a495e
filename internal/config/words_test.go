package config

import (
	"testing"
	"time"
)

// expires and grace take seconds (as before) or duration strings, at the
// top level and per user.
func TestConfigDurations(t *testing.T) {
	for _, tc := range []struct {
		name           string
		sip, user      string
		expires, grace time.Duration
	}{
		{"defaults", "", "", time.Hour, 2 * time.Minute},
		{"seconds", "expires = 600\ngrace = 30", "", 10 * time.Minute, 30 * time.Second},
		{"strings", `expires = "5m"` + "\n" + `grace = "1m30s"`, "", 5 * time.Minute, 90 * time.Second},
		{"user's own", `expires = "5m"`, `expires = "2h"`, 2 * time.Hour, 2 * time.Minute},
		{"user inherits", `grace = "10s"`, `username = "bob"`, time.Hour, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := "[sip]\nproxy = \"sip:pbx.example.com\"\n" + tc.sip + "\n[[user]]\naor = \"sip:bob@example.com\"\n  [user.sip]\n  proxy = \"sip:pbx.example.com\"\n  " +
				tc.user + "\n  [[user.calendar]]\n  name = \"work\"\n  url = \"/tmp/work.ics\"\n"
			cfg, err := Parse("c.toml", []byte(data), noEnv)
			if err != nil {
				t.Fatalf("Parse:\n%s\n= %v", data, err)
			}
			if s := cfg.Users[0].SIP; s.Expires != tc.expires || s.Grace != tc.grace {
				t.Errorf("expires %v grace %v, want %v and %v", s.Expires, s.Grace, tc.expires, tc.grace)
			}
		})
	}
}
