package config

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

const dirMain = `timezone = "Europe/Berlin"
users_dir = "users.d"
[sip]
proxy = "sip:127.0.0.1:5060;transport=tcp"
[[calendar]]
name = "work"
url = "/srv/cal/default.ics"
`

// writeTree writes files (relative path -> content) under a new directory.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for rel, data := range files {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if data == "" {
			os.Remove(p)
			continue
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func aors(cfg *Config) []string {
	var out []string
	for _, u := range cfg.Users {
		out = append(out, u.AOR)
	}
	return out
}

func TestUsersDir(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		aors  []string
		err   string // every error, with FILE (relative to the tree):LINE:COL
	}{
		{
			name: "one file per user, and one with two",
			files: map[string]string{
				"config.toml":         dirMain + "[[user]]\naor = \"sip:boss@example.com\"\n",
				"users.d/alice.toml":  "[[user]]\naor = \"sip:alice@example.com\"\ntimezone = \"UTC\"\n",
				"users.d/team.toml":   "[[user]]\naor = \"sip:bob@example.com\"\n[[user]]\naor = \"sip:carol@example.com\"\n  [[user.calendar]]\n  name = \"own\"\n  url = \"carol.ics\"\n",
				"users.d/README":      "not toml, not read",
				"users.d/empty.toml":  "# nobody yet\n",
				"users.d/sub/x.toml":  "[[user]]\naor = \"sip:nested@example.com\"\n",
				"users.d/skip.toml.a": "garbage",
			},
			aors: []string{"sip:boss@example.com", "sip:alice@example.com", "sip:bob@example.com", "sip:carol@example.com"},
		},
		{
			name:  "no [[user]] in the config: the directory alone",
			files: map[string]string{"config.toml": dirMain, "users.d/a.toml": "[[user]]\naor = \"sip:a@example.com\"\n"},
			aors:  []string{"sip:a@example.com"},
		},
		{
			name: "broken files are reported with their positions",
			files: map[string]string{
				"config.toml":       dirMain,
				"users.d/a.toml":    "[[user]]\naor = \"sip:a@example.com\"\nfavourite = 1\n",
				"users.d/b.toml":    "[[user]]\naor = \"sip:b@example.com\"\ntimezone = \"Mars/Olympus\"\n",
				"users.d/c.toml":    "[[user\n",
				"users.d/ok.toml":   "[[user]]\naor = \"sip:ok@example.com\"\n",
				"users.d/dup.toml":  "[[user]]\naor = \"sip:ok@example.com\"\n",
				"users.d/main.toml": "timezone = \"UTC\"\n",
			},
			err: "users.d/a.toml:3:1: unknown key \"user.favourite\"\n" +
				"users.d/b.toml:3:1: unknown timezone \"Mars/Olympus\" (want an IANA name such as \"Europe/Berlin\")\n" +
				"users.d/c.toml:1:7: expected ']]' to close array table name\n" +
				"users.d/main.toml:1:1: unknown key \"timezone\"\n" +
				"users.d/ok.toml:2:1: aor \"sip:ok@example.com\" is already the presentity of dup.toml user.0",
		},
		{
			name:  "a missing directory",
			files: map[string]string{"config.toml": dirMain},
			err:   "config.toml:2:1: users_dir users.d: not a readable directory",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeTree(t, dir, tt.files)
			t.Chdir(dir)
			cfg, err := Load("config.toml", noEnv)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Load() error =\n%v\nwant\n%s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Load() = %v", err)
			}
			if got := aors(cfg); !slices.Equal(got, tt.aors) {
				t.Errorf("Load() users = %v, want %v", got, tt.aors)
			}
		})
	}
}

// The errors of a broken file, exactly, and which users it keeps.
func TestUsersDirErrorsExact(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"config.toml":      dirMain + "[[user]]\naor = \"sip:ok@example.com\"\n",
		"users.d/dup.toml": "[[user]]\naor = \"sip:ok@example.com\"\n[[user]]\naor = \"sip:x@example.com\"\nfoo = 1\n",
		"users.d/no.toml":  "[[user]]\nme = [\"mailto:a@example.com\"]\n",
	})
	t.Chdir(dir)
	_, err := Load("config.toml", noEnv)
	want := "users.d/dup.toml:2:1: aor \"sip:ok@example.com\" is already the presentity of user.0\n" +
		"users.d/dup.toml:5:1: unknown key \"user.foo\"\n" +
		"users.d/no.toml:1:3: missing aor, the user's SIP address (e.g. \"sip:alice@example.com\")"
	if err == nil || err.Error() != want {
		t.Errorf("Load() error =\n%v\nwant\n%s", err, want)
	}
}

// A reload keeps a broken file's previous users and applies every other
// change: additions, changes, removals.
func TestUsersDirReload(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	writeTree(t, dir, map[string]string{
		"config.toml":    dirMain,
		"users.d/a.toml": "[[user]]\naor = \"sip:a@example.com\"\n",
		"users.d/b.toml": "[[user]]\naor = \"sip:b@example.com\"\ntimezone = \"UTC\"\n",
		"users.d/c.toml": "[[user]]\naor = \"sip:c@example.com\"\n",
	})
	cfg, err := Load("config.toml", noEnv)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name   string
		files  map[string]string
		aors   []string
		zoneB  string
		errs   string
		kept   []string // files whose previous version is kept
		refuse bool     // the reload as a whole fails
	}{
		{
			name:  "b breaks, c changes, d is added",
			files: map[string]string{"users.d/b.toml": "[[user]]\naor = \"sip:b@example.com\"\ntimezone = \"Nowhere\"\n", "users.d/c.toml": "[[user]]\naor = \"sip:c2@example.com\"\n", "users.d/d.toml": "[[user]]\naor = \"sip:d@example.com\"\n"},
			aors:  []string{"sip:a@example.com", "sip:b@example.com", "sip:c2@example.com", "sip:d@example.com"},
			zoneB: "UTC", kept: []string{"users.d/b.toml"},
			errs: "users.d/b.toml:3:1: unknown timezone \"Nowhere\" (want an IANA name such as \"Europe/Berlin\")",
		},
		{
			name:  "still broken: still kept; a is removed; a new broken file adds nobody",
			files: map[string]string{"users.d/a.toml": "", "users.d/e.toml": "[[user]]\naor = 5\n"},
			aors:  []string{"sip:b@example.com", "sip:c2@example.com", "sip:d@example.com"},
			zoneB: "UTC", kept: []string{"users.d/b.toml"},
			errs: "users.d/b.toml:3:1: unknown timezone \"Nowhere\" (want an IANA name such as \"Europe/Berlin\")\nusers.d/e.toml:2:7: user.aor: cannot decode TOML integer into struct field config.userConfig.AOR of type string",
		},
		{
			name:  "b fixed and changed",
			files: map[string]string{"users.d/b.toml": "[[user]]\naor = \"sip:b@example.com\"\ntimezone = \"Asia/Tokyo\"\n", "users.d/e.toml": ""},
			aors:  []string{"sip:b@example.com", "sip:c2@example.com", "sip:d@example.com"},
			zoneB: "Asia/Tokyo",
		},
		{
			name:   "a broken main config refuses the reload",
			files:  map[string]string{"config.toml": dirMain + "bogus = 1\n"},
			refuse: true,
		},
	}
	for _, st := range steps {
		writeTree(t, dir, st.files)
		next, err := Reload("config.toml", noEnv, cfg)
		if st.refuse {
			if err == nil {
				t.Errorf("%s: Reload() = nil error, want the reload refused", st.name)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Reload() = %v", st.name, err)
		}
		if got := aors(next); !slices.Equal(got, st.aors) {
			t.Errorf("%s: users = %v, want %v", st.name, got, st.aors)
		}
		for _, u := range next.Users {
			if u.AOR == "sip:b@example.com" && u.Zone.String() != st.zoneB {
				t.Errorf("%s: b's zone = %v, want %s", st.name, u.Zone, st.zoneB)
			}
		}
		var kept []string
		for _, f := range next.Files {
			if f.Kept {
				kept = append(kept, f.Path)
			}
		}
		if !slices.Equal(kept, st.kept) {
			t.Errorf("%s: kept files = %v, want %v", st.name, kept, st.kept)
		}
		got := ""
		if err := next.FileErrors(); err != nil {
			got = err.Error()
		}
		if got != st.errs {
			t.Errorf("%s: FileErrors() =\n%s\nwant\n%s", st.name, got, st.errs)
		}
		cfg = next
	}
}
