package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// runPreview prints the presence timeline over [from, to).
func runPreview(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "preview",
		"usage: calpresence preview [-config FILE | -ics PATH_OR_URL ...] [-rules FILE] [-from T] [-to T] [-tz ZONE] [-me ADDR] [-user AOR] [-json] [-svg FILE] [-html FILE]",
		"Prints the presence timeline over [from, to): a table and a bar per day, or JSON; -svg and -html write it as a chart.")
	in := addInputFlags(fs)
	rulesPath := fs.String("rules", "", "rules `FILE` (default: the config's, else the built-in rules.example.toml)")
	win := addWindowFlags(fs)
	asJSON := fs.Bool("json", false, "print a JSON array (see docs/reference.md) instead of a table")
	svgPath := fs.String("svg", "", "write the timeline as an SVG chart, a row per day, to `FILE` (- for stdout) instead of printing a table")
	htmlPath := fs.String("html", "", "write the chart and a table as an HTML page to `FILE` (- for stdout) instead of printing a table")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	r, inputs, err := loadRulesAndInputs(e, in, *rulesPath)
	if err != nil {
		return fail(e, err)
	}
	from, to, err := win.window(time.Now(), inputs.zone)
	if err != nil {
		return fail(e, err)
	}
	evFrom, evTo := r.Window(from, to)
	occs, err := inputs.occurrences(ctx, evFrom, evTo, e.stderr)
	if err != nil {
		return fail(e, err)
	}
	segs := r.Timeline(occs, from, to, inputs.zone)
	switch {
	case *svgPath != "" || *htmlPath != "":
		err = writePreviewCharts(e, *svgPath, *htmlPath, segs, from, to, inputs.zone)
	case *asJSON:
		err = writePreviewJSON(e.stdout, segs, inputs.zone)
	default:
		err = writePreviewText(e.stdout, segs, from, to, inputs.zone, isTerminal(e.stdout) && e.getenv("NO_COLOR") == "")
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence preview: %v\n", err)
		return 1
	}
	return 0
}

// previewSegment is one element of preview -json (CONTRACT.md).
type previewSegment struct {
	Start      string   `json:"start"`
	End        string   `json:"end"`
	Basic      string   `json:"basic"`
	Activities []string `json:"activities"`
	Note       string   `json:"note"`
	Rule       string   `json:"rule"`
	UID        string   `json:"uid"`
	BLF        bool     `json:"blf"` // the rule lights BLF lamps (docs/blf.md)
}

func writePreviewJSON(w io.Writer, segs []rules.Segment, loc *time.Location) error {
	out := make([]previewSegment, len(segs))
	for i, s := range segs {
		acts := s.State.Activities
		if acts == nil {
			acts = []string{}
		}
		out[i] = previewSegment{
			Start: s.Start.In(loc).Format(time.RFC3339), End: s.End.In(loc).Format(time.RFC3339),
			Basic: s.State.Basic, Activities: acts, Note: s.State.Note, Rule: s.Rule, UID: s.UID,
			BLF: s.State.BLF,
		}
	}
	return writeJSON(w, out)
}

// isTerminal reports whether w is a terminal, where colour helps.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

const (
	ansiReset  = "\x1b[0m"
	ansiGreen  = "\x1b[32m"
	ansiYellow = "\x1b[33m"
	ansiRed    = "\x1b[31m"
)

// weight orders states for the day chart: closed over busy or away over
// available.
func weight(s rules.State) int {
	switch {
	case s.Basic == "closed":
		return 2
	case len(s.Activities) > 0:
		return 1
	}
	return 0
}

// cell is how the day chart draws a state: free, busy but reachable, or
// closed (Do Not Disturb).
func cell(s rules.State, color bool) string {
	ch, c := "·", ansiGreen
	switch weight(s) {
	case 2:
		ch, c = "█", ansiRed
	case 1:
		ch, c = "▒", ansiYellow
	}
	if color {
		return c + ch + ansiReset
	}
	return ch
}

func writePreviewText(w io.Writer, segs []rules.Segment, from, to time.Time, loc *time.Location, color bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tEND\tBASIC\tACTIVITIES\tNOTE\tRULE")
	for _, s := range segs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", s.Start.In(loc).Format("Mon 2 Jan 15:04"), s.End.In(loc).Format("Mon 2 Jan 15:04"),
			s.State.Basic, strings.Join(s.State.Activities, ","), s.State.Note, s.Rule)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	// A bar per day: 48 half hours, each drawn as the weightiest state in
	// it, so that a 15-minute meeting is not lost between two samples.
	var b strings.Builder
	hours := "           "
	for h := 0; h < 24; h += 3 {
		hours += fmt.Sprintf("%-6s", fmt.Sprintf("%02d", h))
	}
	b.WriteString("\n" + strings.TrimRight(hours, " ") + "\n")
	y, m, d := from.In(loc).Date()
	k := 0
	for i := 0; ; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !day.Before(to) {
			break
		}
		fmt.Fprintf(&b, "%-10s ", day.Format("Mon 2 Jan"))
		for c := range 48 {
			start := time.Date(y, m, d+i, c/2, 30*(c%2), 0, 0, loc)
			end := start.Add(30 * time.Minute)
			if !end.After(from) || !start.Before(to) {
				b.WriteString(" ")
				continue
			}
			for k < len(segs) && !segs[k].End.After(start) {
				k++
			}
			best := -1
			var st rules.State
			for j := k; j < len(segs) && segs[j].Start.Before(end); j++ {
				if r := weight(segs[j].State); r > best {
					best, st = r, segs[j].State
				}
			}
			if best < 0 {
				b.WriteString(" ")
				continue
			}
			b.WriteString(cell(st, color))
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n%s available  %s busy or away  %s closed (Do Not Disturb)\n",
		cell(rules.State{Basic: "open"}, color), cell(rules.State{Basic: "open", Activities: []string{"busy"}}, color), cell(rules.State{Basic: "closed"}, color))
	_, err := io.WriteString(w, b.String())
	return err
}

// loadRulesAndInputs loads what preview and explain read: the rules
// (-rules, else the config's, else the built-in ones) and the inputs. A
// broken -rules file is reported before any calendar is touched.
func loadRulesAndInputs(e *env, in *inputFlags, rulesPath string) (*rules.Rules, *inputs, error) {
	var r *rules.Rules
	if rulesPath != "" {
		var err error
		if r, err = rules.Load(rulesPath); err != nil {
			return nil, nil, &inputError{err}
		}
	}
	inputs, err := in.load(e)
	if err != nil {
		return nil, nil, err
	}
	if r == nil {
		if r, err = loadRules(inputs.user.RulesPath); err != nil {
			return nil, nil, &inputError{err}
		}
	}
	return r, inputs, nil
}

// explainSpan is how far around its instant rules.Explain follows the
// timeline to find the bounds of the segment in force.
const explainSpan = 62 * 24 * time.Hour
