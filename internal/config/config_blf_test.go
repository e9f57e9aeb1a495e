package config

import "testing"

// [sip] blf: on unless a [sip] table says false; a user's own [user.sip]
// overrides the top level's.
func TestConfigBLF(t *testing.T) {
	for _, tc := range []struct {
		name, toml string
		want       []bool
	}{
		{"default", "[sip]\naor = \"sip:a@example.com\"\n", []bool{true}},
		{"off", "[sip]\naor = \"sip:a@example.com\"\nblf = false\n", []bool{false}},
		{"on", "[sip]\naor = \"sip:a@example.com\"\nblf = true\n", []bool{true}},
		{"users", "[[calendar]]\nname = \"c\"\nurl = \"https://example.com/c.ics\"\n[sip]\nblf = false\n[[user]]\naor = \"sip:a@example.com\"\n[[user]]\naor = \"sip:b@example.com\"\n[user.sip]\nblf = true\n",
			[]bool{false, true}},
		{"user off", "[[calendar]]\nname = \"c\"\nurl = \"https://example.com/c.ics\"\n[[user]]\naor = \"sip:a@example.com\"\n[user.sip]\nblf = false\n[[user]]\naor = \"sip:b@example.com\"\n",
			[]bool{false, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse("config.toml", []byte(tc.toml), noEnv)
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.toml, err)
			}
			var got []bool
			for _, u := range cfg.Users {
				got = append(got, u.SIP.BLF)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("Parse(%q): BLF of users = %v, want %v", tc.toml, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("Parse(%q): BLF of users = %v, want %v", tc.toml, got, tc.want)
					break
				}
			}
		})
	}
}
