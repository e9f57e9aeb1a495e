package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The demo at 5,000x speed over a simulated working day: the day's
// timeline first, then each PUBLISH at its boundary, and the BLF lamp's
// removal at the end. (At 10,000x a timer a few ms late on a loaded
// machine turned a modification into a fresh publish.)
func TestDemo(t *testing.T) {
	var out, errb bytes.Buffer
	code := Main(context.Background(), []string{"demo", "-speed", "5000", "-tz", "Europe/Berlin",
		"-start", "2026-03-02T08:50:00+01:00", "-duration", "8h"}, nil, &out, &errb)
	if code != 0 {
		t.Fatalf("calpresence demo = exit %d, stderr:\n%s", code, errb.String())
	}
	got := out.String()

	// The timeline and the sequence of requests are fixed; the requests'
	// random parts (Call-ID, tags, branch) are not compared. The BLF lamp's
	// dialog requests are summed up apart: at a boundary they go out beside
	// the presence ones, in either order.
	var summary, dialogs strings.Builder
	head := regexp.MustCompile(`^=== \d\d:\d\d:\d\d \(simulated\): PUBLISH \w+(, Event: dialog)? ===$`)
	activity := regexp.MustCompile(`^\s*<rpid:[\w-]+/>$`)
	inTimeline := false
	cur := &summary
	for _, line := range strings.Split(got, "\n") {
		switch {
		case strings.HasPrefix(line, "Timeline of "):
			inTimeline = true
			summary.WriteString(line + "\n")
		case inTimeline && strings.HasPrefix(line, "  "):
			summary.WriteString(line + "\n")
		case head.MatchString(line) && strings.HasSuffix(line, ", Event: dialog ==="):
			inTimeline = false
			cur = &dialogs
			switch {
			case strings.Contains(line, "PUBLISH remove"):
				// After the linger, when the timer fires at this speed.
				dialogs.WriteString("=== (after the linger) PUBLISH remove ===\n")
			case strings.Contains(line, "PUBLISH refresh"):
			default:
				dialogs.WriteString(line[:len("=== 15:04:05 (simulated)")] + ": PUBLISH ===\n")
			}
		case head.MatchString(line):
			inTimeline = false
			cur = &summary
			// Whether a change goes out as a modification or afresh, and
			// when refreshes fall, depends on how late timers fire at this
			// speed; what goes out at each boundary does not.
			// The farewell and the removal at the end of a segment go out
			// a few simulated seconds after its boundary at this speed.
			switch {
			case strings.HasSuffix(line, "PUBLISH farewell ==="):
				summary.WriteString("=== (end) PUBLISH farewell ===\n")
			case strings.HasSuffix(line, "PUBLISH remove ==="):
				summary.WriteString("=== (end) PUBLISH remove ===\n")
			case strings.HasSuffix(line, "PUBLISH refresh ==="):
			default:
				summary.WriteString(line[:len("=== 15:04:05 (simulated)")] + ": PUBLISH ===\n")
			}
		case strings.Contains(line, "<basic>"), strings.Contains(line, "<note"), activity.MatchString(line),
			strings.Contains(line, "<state>"), strings.Contains(line, "<dialog "):
			cur.WriteString("  " + strings.TrimSpace(line) + "\n")
		default:
			inTimeline = inTimeline && line != ""
		}
	}
	summary.WriteString("\nBLF lamp (Event: dialog):\n" + dialogs.String())
	golden := filepath.Join("testdata", "demo", "day.golden")
	if *update {
		os.MkdirAll(filepath.Dir(golden), 0o755)
		if err := os.WriteFile(golden, []byte(summary.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDemo -update to create it)", err)
	}
	if summary.String() != string(want) {
		t.Errorf("demo output summary =\n%s\nwant\n%s\nfull output:\n%s", summary.String(), want, got)
	}
	// Every request is printed in full: start line, headers, body.
	for _, s := range []string{"PUBLISH sip:alice@example.com SIP/2.0", "Event: presence", "Content-Type: application/pidf+xml",
		"Via: SIP/2.0/", "CSeq: ", "Call-ID: ", "<presence", "SIP-If-Match: ", "Expires: 0", "<<< SIP/2.0 200 OK",
		"Event: dialog", "Content-Type: application/dialog-info+xml", "<dialog-info"} {
		if !strings.Contains(got, s) {
			t.Errorf("demo output lacks %q", s)
		}
	}
	// Private event details never show.
	for _, s := range []string{"Dentist", "Molar"} {
		if strings.Contains(got, s) {
			t.Errorf("demo output shows the private %q", s)
		}
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "-speed", "0"},
		{"demo", "-speed", "-3"},
		{"demo", "-tz", "Mars/Olympus"},
		{"demo", "-start", "yesterday"},
		{"demo", "extra"},
	} {
		var out, errb bytes.Buffer
		if code := Main(context.Background(), args, nil, &out, &errb); code != 2 {
			t.Errorf("calpresence %v = exit %d, want 2 (stderr %q)", args, code, errb.String())
		}
	}
}
