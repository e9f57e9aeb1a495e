package main

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/config"
)

// The example configs must stay valid: they are what users copy.
func TestExampleConfigs(t *testing.T) {
	env := map[string]string{"HOME": "/home/alice", "CALPRESENCE_DAV_PASSWORD": "x", "BOB_FEED_TOKEN": "y"}
	for _, name := range []string{"config.toml", "config-multi.toml"} {
		path := filepath.Join("..", "..", "examples", "config", name)
		cfg, err := config.Load(path, func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("config.Load(%s) = %v", path, err)
			continue
		}
		if len(cfg.Users) == 0 {
			t.Errorf("config.Load(%s) has no users", path)
		}
		for _, u := range cfg.Users {
			for _, c := range u.Calendars {
				if _, err := poll.ParseSchedule(c.Poll); err != nil {
					t.Errorf("%s: user %s calendar %s: ParseSchedule(%q) = %v", name, u.AOR, c.Name, c.Poll, err)
				}
			}
		}
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "config", "config-multi.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "[[user]]") {
		t.Errorf("config-multi.toml has no [[user]] table")
	}
}

// The service files start `calpresence run` with flags that exist.
func TestExampleServiceFiles(t *testing.T) {
	dir := filepath.Join("..", "..", "examples")
	read := func(name string) string {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	var cmdlines [][]string
	for _, line := range strings.Split(read("calpresence.service"), "\n") {
		if rest, ok := strings.CutPrefix(line, "ExecStart="); ok {
			cmdlines = append(cmdlines, strings.Fields(rest))
		}
	}
	plist := read("com.calpresence.agent.plist")
	if err := xml.Unmarshal([]byte(plist), new(struct{})); err != nil {
		t.Errorf("com.calpresence.agent.plist is not well-formed XML: %v", err)
	}
	var args []string
	for _, m := range regexp.MustCompile(`<string>([^<]*)</string>`).FindAllStringSubmatch(plist[strings.Index(plist, "ProgramArguments"):strings.Index(plist, "EnvironmentVariables")], -1) {
		args = append(args, m[1])
	}
	cmdlines = append(cmdlines, args)
	for _, line := range strings.Split(read("Dockerfile"), "\n") {
		if rest, ok := strings.CutPrefix(line, "CMD "); ok {
			var a []string
			if err := json.Unmarshal([]byte(rest), &a); err != nil {
				t.Fatalf("Dockerfile CMD %s: %v", rest, err)
			}
			cmdlines = append(cmdlines, append([]string{"calpresence"}, a...))
		}
	}
	if len(cmdlines) != 3 {
		t.Fatalf("found %d command lines in the service files, want 3", len(cmdlines))
	}
	for _, cl := range cmdlines {
		if len(cl) < 2 || cl[1] != "run" {
			t.Errorf("command line %q does not run `calpresence run`", cl)
			continue
		}
		var out strings.Builder
		if _, err := parseRunFlags(&out, cl[2:]); err != nil {
			t.Errorf("parseRunFlags(%q) = %v\n%s", cl[2:], err, out.String())
		}
	}
}
