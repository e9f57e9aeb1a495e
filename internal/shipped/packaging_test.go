package shipped

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// unit is a parsed systemd unit file: section → key → values in order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, text string) unit {
	t.Helper()
	u := unit{}
	section := ""
	for i, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, ";"):
		case strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]"):
			section = l[1 : len(l)-1]
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(l, "=")
			if !ok || section == "" {
				t.Fatalf("line %d: %q is not KEY=VALUE in a section", i+1, l)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return "<unset>"
	}
	return vs[len(vs)-1]
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// checkRunArgs fails t unless args are `calpresence run` with flags that
// `calpresence run -h` lists.
func checkRunArgs(t *testing.T, where string, args []string, runFlags []string) {
	t.Helper()
	if len(args) < 2 || args[1] != "run" {
		t.Errorf("%s: command line %q does not start `calpresence run`", where, args)
		return
	}
	for _, a := range args[2:] {
		if name, ok := strings.CutPrefix(a, "-"); ok {
			name, _, _ = strings.Cut(strings.TrimPrefix(name, "-"), "=")
			if !slices.Contains(runFlags, name) {
				t.Errorf("%s: calpresence run has no flag %s (it has %v)", where, a, runFlags)
			}
		}
	}
}

func TestSystemdUnits(t *testing.T) {
	runFlags := cliUsage(t)["run"]
	tests := []struct {
		file   string
		user   bool   // a user unit (systemctl --user)
		binary string // where ExecStart expects calpresence
		want   map[string]string
	}{
		{"calpresence.service", true, "%h/.local/bin/calpresence", map[string]string{
			"Service.ExecReload": "/bin/kill -HUP $MAINPID",
			"Service.KillSignal": "SIGTERM",
			"Install.WantedBy":   "default.target",
		}},
		{"calpresence-system.service", false, "/usr/local/bin/calpresence", map[string]string{
			"Service.User":                  "calpresence",
			"Service.Group":                 "calpresence",
			"Service.StateDirectory":        "calpresence",
			"Service.Environment":           "XDG_STATE_HOME=%S",
			"Service.ExecReload":            "/bin/kill -HUP $MAINPID",
			"Service.KillSignal":            "SIGTERM",
			"Service.NoNewPrivileges":       "yes",
			"Service.ProtectSystem":         "strict",
			"Service.ProtectHome":           "yes",
			"Service.PrivateTmp":            "yes",
			"Service.PrivateDevices":        "yes",
			"Service.CapabilityBoundingSet": "",
			"Service.SystemCallFilter":      "~@privileged",
			"Service.EnvironmentFile":       "-/etc/calpresence/env",
			"Unit.Wants":                    "network-online.target",
			"Install.WantedBy":              "multi-user.target",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			text := readFile(t, filepath.Join("..", "..", "examples", tt.file))
			u := parseUnit(t, text)
			for sk, want := range tt.want {
				s, k, _ := strings.Cut(sk, ".")
				if got := u.get(s, k); got != want {
					t.Errorf("%s: [%s] %s = %q, want %q", tt.file, s, k, got, want)
				}
			}
			start := strings.Fields(u.get("Service", "ExecStart"))
			if len(start) == 0 || start[0] != tt.binary {
				t.Errorf("%s: ExecStart runs %v, want %s", tt.file, start, tt.binary)
			}
			checkRunArgs(t, tt.file+" ExecStart", start, runFlags)
			if tt.user {
				// The user manager has no network-online.target.
				if strings.Contains(text, "After=network-online.target") || strings.Contains(text, "Wants=network-online.target") {
					t.Errorf("%s: a user unit waits for network-online.target, which only the system manager has", tt.file)
				}
				if !regexp.MustCompile(`(?m)^# For password_env: .*\n(#.*\n)*#EnvironmentFile=-%h/\.config/calpresence/env$`).MatchString(text) {
					t.Errorf("%s: no documented #EnvironmentFile= line for password_env", tt.file)
				}
			}
			verifyUnit(t, tt.file, text, tt.binary, tt.user)
		})
	}
}

var exposure = regexp.MustCompile(`Overall exposure level for \S+: (\d+\.\d+)`)

// verifyUnit runs systemd-analyze verify (and security) on the unit, with
// ExecStart pointing at the binary the tests built: verify wants it to exist.
func verifyUnit(t *testing.T, name, text, binary string, user bool) {
	t.Helper()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Logf("systemd-analyze not installed (Debian package systemd): units only parsed")
		return
	}
	dir := t.TempDir()
	unitPath := filepath.Join(dir, "calpresence.service")
	if err := os.WriteFile(unitPath, []byte(strings.ReplaceAll(text, binary, cliPath)), 0o644); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "runtime")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	analyze := func(args ...string) (string, string, error) {
		if user {
			args = append([]string{"--user"}, args...)
		}
		cmd := exec.Command(sa, args...)
		cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_COLORS=0")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		return stdout.String(), stderr.String(), err
	}
	// --man=no: the man page is in docs/, not installed here.
	if out, errs, err := analyze("verify", "--man=no", unitPath); err != nil || errs != "" || out != "" {
		t.Errorf("systemd-analyze verify %s: %v\n%s%s", name, err, out, errs)
	}
	out, errs, _ := analyze("security", "--offline=yes", unitPath)
	m := exposure.FindStringSubmatch(out + errs)
	if m == nil {
		t.Logf("systemd-analyze security %s: no exposure level in\n%s%s", name, out, errs)
		return
	}
	level, _ := strconv.ParseFloat(m[1], 64)
	t.Logf("systemd-analyze security %s: exposure %.1f", name, level)
	if level > 3 {
		t.Errorf("systemd-analyze security %s: exposure %.1f, want at most 3 (sandboxing lost)", name, level)
	}
}

// The Dockerfile starts `calpresence run` on /config/config.toml, its
// example mounts the config's directory there (not the file: SIGHUP must
// see files that editors replaced), and the config it names works in a
// distroless image: no password_command, every password_env passed in.
func TestDockerfile(t *testing.T) {
	runFlags := cliUsage(t)["run"]
	text := readFile(t, filepath.Join("..", "..", "examples", "Dockerfile"))
	var cmd []string
	var mounts, envs []string
	for _, l := range strings.Split(text, "\n") {
		if rest, ok := strings.CutPrefix(l, "CMD "); ok {
			if err := json.Unmarshal([]byte(rest), &cmd); err != nil {
				t.Fatalf("Dockerfile CMD %s: %v", rest, err)
			}
		}
		if strings.HasPrefix(l, "#") {
			f := strings.Fields(strings.TrimPrefix(l, "#"))
			for i := 0; i+1 < len(f); i++ {
				switch f[i] {
				case "-v":
					mounts = append(mounts, f[i+1])
				case "-e":
					envs = append(envs, f[i+1])
				}
			}
		}
	}
	args := append([]string{"calpresence"}, cmd...)
	checkRunArgs(t, "Dockerfile CMD", args, runFlags)
	if i := slices.Index(args, "-config"); i < 0 || i+1 >= len(args) || args[i+1] != "/config/config.toml" {
		t.Errorf("Dockerfile CMD %q, want -config /config/config.toml", cmd)
	}
	configMounts := 0
	for _, m := range mounts {
		parts := strings.Split(m, ":")
		if len(parts) < 2 || !strings.HasPrefix(parts[1], "/config") {
			continue
		}
		configMounts++
		if parts[1] != "/config" {
			t.Errorf("Dockerfile example mounts %s at %s, want the config's directory at /config", parts[0], parts[1])
		}
	}
	if configMounts != 1 {
		t.Errorf("Dockerfile example has %d mounts under /config (%q), want 1", configMounts, mounts)
	}
	for _, want := range []string{"ENV XDG_STATE_HOME=/state", `VOLUME ["/state"]`, "USER nonroot:nonroot", "FROM gcr.io/distroless/static"} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}

	const config = "../../examples/docker/config.toml"
	if !strings.Contains(text, "examples/docker/config.toml") {
		t.Errorf("Dockerfile does not name its example config examples/docker/config.toml")
	}
	conf := readFile(t, config)
	env := os.Environ()
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+)\s*=\s*(.*)$`).FindAllStringSubmatch(conf, -1) {
		switch m[1] {
		case "password_command":
			t.Errorf("%s: password_command %s cannot run in a distroless image", config, m[2])
		case "password_env":
			name, _ := strconv.Unquote(strings.TrimSpace(m[2]))
			if !slices.Contains(envs, name) {
				t.Errorf("%s: password_env %s is not passed by the Dockerfile's docker run -e (%v)", config, name, envs)
			}
			env = append(env, name+"=x")
		}
	}
	c := exec.Command(cliPath, "check", "-config", config)
	c.Env = env
	out, err := c.CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Errorf("calpresence check -config %s: %v\n%s", config, err, out)
	}
}

// dockerIgnored reports whether the context path p (slash-separated,
// relative to the root) is excluded by one of the .dockerignore patterns,
// as Docker matches them: from the context's root, a pattern that matches a
// directory excludes what is in it, "**" matches any number of directories.
// (Exceptions, "!pattern", are not used by the project and not handled.)
func dockerIgnored(patterns []string, p string) bool {
	for _, pat := range patterns {
		pat = strings.TrimPrefix(path.Clean(pat), "/")
		parts := strings.Split(p, "/")
		for i := 1; i <= len(parts); i++ {
			if globMatch(strings.Split(pat, "/"), parts[:i]) {
				return true
			}
		}
	}
	return false
}

func globMatch(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if globMatch(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && globMatch(pat[1:], parts[1:])
}

func TestDockerIgnoreMatch(t *testing.T) {
	pats := []string{".git", "**/testdata", "**/*_test.go", "/calpresence", "cmd/calpresence/calpresence"}
	tests := []struct {
		path string
		want bool
	}{
		{".git", true},
		{".git/HEAD", true},
		{"publisher/testdata/kamailio.cfg", true},
		{"testdata/x", true},
		{"rules/rules_test.go", true},
		{"rules/rules.go", false},
		{"calpresence", true},
		{"cmd/calpresence", false},
		{"cmd/calpresence/main.go", false},
		{"cmd/calpresence/calpresence", true},
		{"a/.git", false},
	}
	for _, tt := range tests {
		if got := dockerIgnored(pats, tt.path); got != tt.want {
			t.Errorf("dockerIgnored(%q, %q) = %v, want %v", pats, tt.path, got, tt.want)
		}
	}
}

// What .dockerignore leaves of the repository is enough for the
// Dockerfile's build step and holds no Git data, tests or binaries.
func TestDockerContextBuilds(t *testing.T) {
	if cliPath == "" {
		t.Skip("no go command")
	}
	if testing.Short() {
		t.Skip("builds the module from a copy; skipped with -short")
	}
	root := filepath.Join("..", "..")
	var patterns []string
	for _, l := range strings.Split(readFile(t, filepath.Join(root, ".dockerignore")), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	ctx := t.TempDir()
	var kept []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		if dockerIgnored(patterns, rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(ctx, rel), 0o755)
		}
		kept = append(kept, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(ctx, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range kept {
		if strings.HasSuffix(f, "_test.go") || strings.Contains(f, "testdata/") || strings.HasPrefix(f, ".git") ||
			f == "cmd/calpresence/calpresence" || f == "calpresence" {
			t.Errorf("the Docker build context holds %s", f)
		}
	}
	// As in the Dockerfile, but without the network (the module cache has
	// the dependencies) and without its CGO_ENABLED=0 -trimpath, which
	// would rebuild the standard library and every dependency: minutes on
	// a small machine, and not what this test is about.
	build := exec.Command("go", "build", "-o", filepath.Join(t.TempDir(), "calpresence"), "./cmd/calpresence")
	build.Dir = ctx
	build.Env = append(os.Environ(), "GOFLAGS=-mod=readonly", "GOPROXY=off")
	if out, err := build.CombinedOutput(); err != nil {
		t.Errorf("go build ./cmd/calpresence in the Docker build context (%d files): %v\n%s", len(kept), err, out)
	}
}
