package shipped

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cliPath is the calpresence binary TestMain builds from ../../cmd/calpresence;
// "" when there is no go command to build it with.
var cliPath string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "calpresence-shipped-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if gobin, err := exec.LookPath("go"); err == nil {
		out := filepath.Join(dir, "calpresence")
		if b, err := exec.Command(gobin, "build", "-o", out, "../../cmd/calpresence").CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "go build ./cmd/calpresence: %v\n%s", err, b)
			os.RemoveAll(dir)
			os.Exit(1)
		}
		cliPath = out
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	usageCommand = regexp.MustCompile(`^  ([a-z]+)\b`)
	usageFlag    = regexp.MustCompile(`^  -([a-z][a-z-]*)\b`)
)

// cliUsage returns every command of `calpresence -h` and, for each, the flags
// (without the dash) of `calpresence COMMAND -h`.
func cliUsage(t *testing.T) map[string][]string {
	t.Helper()
	if cliPath == "" {
		t.Skip("no go command to build calpresence with")
	}
	cmds := map[string][]string{}
	for _, l := range strings.Split(helpText(t), "\n") {
		if m := usageCommand.FindStringSubmatch(l); m != nil {
			cmds[m[1]] = nil
		}
	}
	for cmd := range cmds {
		flags := []string{}
		for _, l := range strings.Split(helpText(t, cmd), "\n") {
			if m := usageFlag.FindStringSubmatch(l); m != nil {
				flags = append(flags, m[1])
			}
		}
		cmds[cmd] = flags
	}
	return cmds
}

// helpText is what `calpresence ARGS... -h` prints (on stderr, exit 0).
func helpText(t *testing.T, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(cliPath, append(args, "-h")...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("calpresence %s -h: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stderr.String()
}

// The usage parser finds what is known to be there, so that the tests
// built on it cannot pass by finding nothing.
func TestCLIUsageParses(t *testing.T) {
	u := cliUsage(t)
	for cmd, flag := range map[string]string{"run": "metrics-addr", "demo": "speed", "check": "rules",
		"events": "ics", "preview": "json", "explain": "pidf", "version": ""} {
		flags, ok := u[cmd]
		if !ok {
			t.Errorf("commands of calpresence -h = %v, want %s among them", mapKeys(u), cmd)
			continue
		}
		if flag != "" && !slices.Contains(flags, flag) {
			t.Errorf("flags of calpresence %s -h = %v, want -%s among them", cmd, flags, flag)
		}
	}
}

func mapKeys(m map[string][]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// sameSet reports, as one message, what want has that got lacks and what
// got has that want lacks; "" when they hold the same words.
func sameSet(got, want []string) string {
	var missing, extra []string
	for _, w := range want {
		if !slices.Contains(got, w) {
			missing = append(missing, w)
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			extra = append(extra, g)
		}
	}
	if missing == nil && extra == nil {
		return ""
	}
	return fmt.Sprintf("missing %v, unknown %v", missing, extra)
}

// wantCommands are what a completion offers after "calpresence ": every
// command and help.
func wantCommands(u map[string][]string) []string {
	return append(mapKeys(u), "help")
}

func dashed(flags []string) []string {
	out := make([]string, len(flags))
	for i, f := range flags {
		out[i] = "-" + f
	}
	return out
}

func shell(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("%s %q: %v\n%s", filepath.Base(name), args, err, stderr.String())
	}
	return string(out)
}

// Bash: the completion function, run as bash runs it, offers every command
// after "calpresence " and every flag of a command after "calpresence CMD -".
func TestBashCompletion(t *testing.T) {
	bash := shell(t, "bash", "bash")
	u := cliUsage(t)
	const src = "../../completions/calpresence.bash"
	complete := func(words ...string) []string {
		script := fmt.Sprintf(`source %s; COMP_WORDS=(%s); COMP_CWORD=%d; _calpresence; printf '%%s\n' "${COMPREPLY[@]}"`,
			src, quoteWords(words), len(words)-1)
		out := strings.Fields(run(t, bash, "--norc", "-c", script))
		return slices.DeleteFunc(out, func(w string) bool { return w == "-h" })
	}
	if msg := sameSet(complete("calpresence", ""), wantCommands(u)); msg != "" {
		t.Errorf("bash: completions of %q: %s", "calpresence ", msg)
	}
	for cmd, flags := range u {
		if msg := sameSet(complete("calpresence", cmd, "-"), dashed(flags)); msg != "" {
			t.Errorf("bash: completions of %q: %s", "calpresence "+cmd+" -", msg)
		}
	}
}

func quoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + w + "'"
	}
	return strings.Join(q, " ")
}

// Fish: `complete -C` asks fish itself what it would offer.
func TestFishCompletion(t *testing.T) {
	fish := shell(t, "fish", "fish")
	u := cliUsage(t)
	complete := func(line string) []string {
		out := run(t, fish, "--no-config", "-c", fmt.Sprintf("source ../../completions/calpresence.fish; complete -C %q", line))
		var words []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if w, _, _ := strings.Cut(l, "\t"); w != "" {
				words = append(words, w)
			}
		}
		return words
	}
	if msg := sameSet(complete("calpresence "), wantCommands(u)); msg != "" {
		t.Errorf("fish: completions of %q: %s", "calpresence ", msg)
	}
	for cmd, flags := range u {
		if msg := sameSet(complete("calpresence "+cmd+" -"), dashed(flags)); msg != "" {
			t.Errorf("fish: completions of %q: %s", "calpresence "+cmd+" -", msg)
		}
	}
}

var zshSpec = regexp.MustCompile(`^\*?(-[a-z][a-z-]*)\[`)

// Zsh: the completion function is autoloaded as compinit would and run with
// _arguments and _describe replaced by functions that print what they were
// given: the option specs for a command, the command list at the start.
func TestZshCompletion(t *testing.T) {
	zsh := shell(t, "zsh", "zsh")
	u := cliUsage(t)
	complete := func(words ...string) []string {
		script := fmt.Sprintf(`fpath=(../../completions $fpath); autoload -Uz _calpresence
_arguments() { print -rl -- "$@" }
_describe() { print -rl -- ${(P)${@[-1]}} }
words=(%s); CURRENT=%d; _calpresence`, quoteWords(words), len(words))
		var got []string
		for _, l := range strings.Split(run(t, zsh, "-f", "-c", script), "\n") {
			if m := zshSpec.FindStringSubmatch(l); m != nil {
				got = append(got, m[1])
			} else if name, _, ok := strings.Cut(l, ":"); ok && len(words) == 2 {
				got = append(got, name)
			}
		}
		return got
	}
	if msg := sameSet(complete("calpresence", ""), wantCommands(u)); msg != "" {
		t.Errorf("zsh: completions of %q: %s", "calpresence ", msg)
	}
	for cmd, flags := range u {
		if msg := sameSet(complete("calpresence", cmd, ""), dashed(flags)); msg != "" {
			t.Errorf("zsh: completions of %q: %s", "calpresence "+cmd+" ", msg)
		}
	}
}

// docs/reference.md documents every command and every flag: a command in
// its own ### section, its flags there or, for commands that say they take
// the Inputs flags, in ## Inputs.
func TestReferenceCoversUsage(t *testing.T) {
	u := cliUsage(t)
	b, err := os.ReadFile("../../docs/reference.md")
	if err != nil {
		t.Fatal(err)
	}
	ref := string(b)
	inputs := section(ref, "## Inputs")
	for cmd, flags := range u {
		text := section(ref, "### "+cmd)
		if text == "" {
			t.Errorf("docs/reference.md has no section ### %s", cmd)
			continue
		}
		if strings.Contains(strings.Join(strings.Fields(text), " "), "Inputs flags") {
			text += inputs
		}
		for _, f := range flags {
			if !regexp.MustCompile("`-" + regexp.QuoteMeta(f) + "[` ]").MatchString(text) {
				t.Errorf("docs/reference.md, ### %s: flag -%s is not documented", cmd, f)
			}
		}
	}
}

// section returns the text under heading (a whole line) up to the next
// heading of its level or above, or "".
func section(doc, heading string) string {
	level := strings.Index(heading, " ")
	lines := strings.Split(doc, "\n")
	for i, l := range lines {
		if l != heading {
			continue
		}
		var b strings.Builder
		for _, l := range lines[i+1:] {
			if n := strings.Index(l, "# "); strings.HasPrefix(l, "#") && n >= 0 && n+1 <= level {
				break
			}
			b.WriteString(l + "\n")
		}
		return b.String()
	}
	return ""
}
