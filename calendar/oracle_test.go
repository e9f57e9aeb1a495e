package calendar

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// oracleWindow is the window every corpus file is expanded over: it holds
// the 2026 DST changes of Europe and North America.
var oracleWindow = [2]time.Time{
	time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC),
	time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC),
}

// oraclePython returns a python3 that can import recurring_ical_events,
// or skips (fails under CALPRESENCE_INTEGRATION=1).
func oraclePython(t *testing.T) string {
	t.Helper()
	const pkg = "python3-recurring-ical-events"
	candidates := []string{testserver.LookPath(t, "python3", pkg), "/usr/bin/python3"}
	for _, py := range candidates {
		if err := exec.Command(py, "-c", "import recurring_ical_events, icalendar, pytz").Run(); err == nil {
			return py
		}
	}
	msg := fmt.Sprintf("python3 module recurring_ical_events not installed (Debian package %s)", pkg)
	if testserver.Integration() {
		t.Fatalf("%s, and CALPRESENCE_INTEGRATION=1 requires it", msg)
	}
	t.Skip(msg)
	return ""
}

type oracleOcc struct {
	UID    string `json:"uid"`
	Start  string `json:"start"`
	End    string `json:"end"`
	Status string `json:"status"`
}

type oracleResult struct {
	File        string      `json:"file"`
	Occurrences []oracleOcc `json:"occurrences"`
	Error       string      `json:"error"`
}

// exclusion is a comparison the oracle gets wrong per RFC 5545; see
// testdata/corpus/oracle-exclusions.txt for each one's reason.
type exclusion struct{ file, uid, what string }

func loadExclusions(t *testing.T) map[exclusion]bool {
	t.Helper()
	data, err := os.ReadFile("testdata/corpus/oracle-exclusions.txt")
	if err != nil {
		t.Fatal(err)
	}
	ex := map[exclusion]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 {
			t.Fatalf("oracle-exclusions.txt: %q: want FILE UID WHAT REASON", line)
		}
		ex[exclusion{f[0], f[1], f[2]}] = true
	}
	return ex
}

func TestOracle(t *testing.T) {
	py := oraclePython(t)
	files, err := filepath.Glob("testdata/corpus/*.ics")
	if err != nil || len(files) == 0 {
		t.Fatalf("no corpus: %v", err)
	}
	excluded := loadExclusions(t)
	for _, zoneName := range []string{"Europe/Berlin", "America/New_York"} {
		t.Run(strings.ReplaceAll(zoneName, "/", "_"), func(t *testing.T) {
			zone, err := time.LoadLocation(zoneName)
			if err != nil {
				t.Fatal(err)
			}
			args := append([]string{"testdata/oracle/oracle.py", zoneName,
				oracleWindow[0].Format(time.RFC3339), oracleWindow[1].Format(time.RFC3339)}, files...)
			out, err := exec.Command(py, args...).Output()
			if err != nil {
				t.Fatalf("oracle.py: %v", err)
			}
			results := map[string]oracleResult{}
			for _, line := range bytes.Split(bytes.TrimSpace(out), []byte("\n")) {
				var r oracleResult
				if err := json.Unmarshal(line, &r); err != nil {
					t.Fatalf("oracle output %q: %v", line, err)
				}
				results[r.File] = r
			}
			for _, file := range files {
				base := filepath.Base(file)
				t.Run(base, func(t *testing.T) {
					if excluded[exclusion{base, "*", "file"}] {
						t.Skipf("oracle cannot check %s (see oracle-exclusions.txt)", base)
					}
					r, ok := results[file]
					if !ok || r.Error != "" {
						t.Fatalf("oracle failed on %s: %s", base, r.Error)
					}
					compareOracle(t, base, file, zone, r.Occurrences, excluded)
				})
			}
		})
	}
}

func compareOracle(t *testing.T, base, file string, zone *time.Location, want []oracleOcc, excluded map[exclusion]bool) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	events, _, err := ParseICS(f, ParseOptions{Source: file, Zone: zone})
	if err != nil {
		t.Fatalf("ParseICS(%s) error: %v", base, err)
	}
	occ, _ := Expand(events, oracleWindow[0], oracleWindow[1], ExpandOptions{Zone: zone})
	norm := func(o oracleOcc) string {
		if excluded[exclusion{base, o.UID, "occurrences"}] {
			return ""
		}
		if excluded[exclusion{base, o.UID, "instance=" + o.Start}] {
			return ""
		}
		if excluded[exclusion{base, o.UID, "end"}] {
			o.End = "-"
		}
		for ex := range excluded {
			// "WRONG=RIGHT": the oracle's start WRONG is RFC-right at RIGHT.
			wrong, right, ok := strings.Cut(ex.what, "=")
			if ok && ex.file == base && ex.uid == o.UID && o.Start == wrong {
				ws, _ := time.Parse(time.RFC3339, wrong)
				rs, _ := time.Parse(time.RFC3339, right)
				if e, err := time.Parse(time.RFC3339, o.End); err == nil {
					o.End = e.Add(rs.Sub(ws)).Format(time.RFC3339)
				}
				o.Start = right
			}
		}
		return fmt.Sprintf("%s %s %s %s", o.UID, o.Start, o.End, o.Status)
	}
	var got, exp []string
	for _, o := range occ {
		if s := norm(oracleOcc{UID: o.UID, Start: o.Start.UTC().Format(time.RFC3339), End: o.End.UTC().Format(time.RFC3339), Status: string(o.Status)}); s != "" {
			got = append(got, s)
		}
	}
	for _, o := range want {
		if s := norm(o); s != "" {
			exp = append(exp, s)
		}
	}
	sort.Strings(got)
	sort.Strings(exp)
	if strings.Join(got, "\n") != strings.Join(exp, "\n") {
		t.Errorf("Expand(%s) differs from recurring-ical-events:\n%s\ngot:\n%s\nwant:\n%s", base, diffLines(got, exp), strings.Join(got, "\n"), strings.Join(exp, "\n"))
	}
}

// diffLines lists the lines only in got (+) and only in want (-).
func diffLines(got, want []string) string {
	var b strings.Builder
	in := func(s string, l []string) bool {
		i := sort.SearchStrings(l, s)
		return i < len(l) && l[i] == s
	}
	for _, g := range got {
		if !in(g, want) {
			fmt.Fprintf(&b, "  + %s (ours only)\n", g)
		}
	}
	for _, w := range want {
		if !in(w, got) {
			fmt.Fprintf(&b, "  - %s (oracle only)\n", w)
		}
	}
	return b.String()
}

// TestOracleGenerated compares a generated calendar of realistic volume
// (the benchmarks' generator: ten years, recurring series with EXDATEs,
// moved and cancelled instances, several zones incl. a Windows name)
// with the oracle over one year of Berlin days.
func TestOracleGenerated(t *testing.T) {
	py := oraclePython(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "generated.ics")
	data := genCalendar(400, 7)
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	zone := mustZone(t, "Europe/Berlin")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, zone)
	to := time.Date(2027, 1, 1, 0, 0, 0, 0, zone)
	out, err := exec.Command(py, "testdata/oracle/oracle.py", "Europe/Berlin", from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339), file).Output()
	if err != nil {
		t.Fatalf("oracle.py: %v", err)
	}
	var r oracleResult
	if err := json.Unmarshal(bytes.TrimSpace(out), &r); err != nil || r.Error != "" {
		t.Fatalf("oracle: %v %s", err, r.Error)
	}
	events, _, err := ParseICS(bytes.NewReader(data), ParseOptions{Source: file, Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	// Series whose DTSTART is off their COUNT rule: RFC 5545 counts
	// DTSTART as the first instance, the oracle adds it on top (see
	// oracle-exclusions.txt, unsynchronized.ics).
	skip := map[string]bool{}
	for _, e := range events {
		for _, rl := range e.rules {
			o := rl.opt
			o.Dtstart = e.Start.Wall
			if o.Count > 0 && !startsOnRule(o) {
				skip[e.UID] = true
			}
		}
	}
	occ, _ := Expand(events, from, to, ExpandOptions{Zone: zone})
	var got, want []string
	for _, o := range occ {
		if !skip[o.UID] {
			got = append(got, fmt.Sprintf("%s %s %s %s", o.UID, o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339), o.Status))
		}
	}
	for _, o := range r.Occurrences {
		s, _ := time.Parse(time.RFC3339, o.Start)
		e, _ := time.Parse(time.RFC3339, o.End)
		if s.Before(from) && !e.After(from) {
			// The oracle compares all-day events by date and lists one
			// that ends as the window starts; it does not overlap
			// [from, to).
			continue
		}
		if !skip[o.UID] {
			want = append(want, fmt.Sprintf("%s %s %s %s", o.UID, o.Start, o.End, o.Status))
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if len(got) < 1000 {
		t.Fatalf("only %d occurrences: the generated calendar is too thin to compare", len(got))
	}
	if d := diffLines(got, want); d != "" {
		t.Errorf("Expand(generated) differs from recurring-ical-events (%d vs %d occurrences):\n%s", len(got), len(want), d)
	}
}
