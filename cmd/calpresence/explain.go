package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/rules"
)

// fallbackAOR is the presentity of explain's PIDF when neither -aor nor a
// config names one.
const fallbackAOR = "sip:user@example.invalid"

// runExplain tells why the presence at one instant is what it is.
func runExplain(ctx context.Context, e *env, args []string) int {
	fs := newFlagSet(e.stderr, "explain",
		"usage: calpresence explain [-config FILE | -ics PATH_OR_URL ...] [-rules FILE] -at T [-tz ZONE] [-me ADDR] [-user AOR] [-aor URI] [-pidf | -dialog]",
		"Tells which events are on at T, the rule each matched (or why none did), the winner and the PIDF document.")
	in := addInputFlags(fs)
	rulesPath := fs.String("rules", "", "rules `FILE` (default: the config's, else the built-in rules.example.toml)")
	atFlag := fs.String("at", "", "the instant `T` to explain: RFC 3339 or a date (required)")
	onlyPIDF := fs.Bool("pidf", false, "print only the PIDF document")
	onlyDialog := fs.Bool("dialog", false, "print only the dialog-info document for BLF lamps (Event: dialog), or say that none is published")
	aorFlag := fs.String("aor", "", "the presentity `URI` when no config gives one")
	if err := parseFlags(fs, args); err != nil {
		return flagsExit(err)
	}
	if *atFlag == "" {
		fmt.Fprintln(e.stderr, "calpresence explain: -at T is required.")
		return 2
	}
	if *onlyPIDF && *onlyDialog {
		fmt.Fprintln(e.stderr, "calpresence explain: -pidf and -dialog exclude each other.")
		return 2
	}
	r, inputs, err := loadRulesAndInputs(e, in, *rulesPath)
	if err != nil {
		return fail(e, err)
	}
	at, err := parseTime("at", *atFlag, inputs.zone)
	if err != nil {
		return fail(e, err)
	}
	aor := *aorFlag
	if aor == "" && inputs.user != nil {
		aor = inputs.user.AOR
	}
	if aor == "" {
		aor = fallbackAOR
	}
	// The events of the rules' window around the span in which Explain
	// looks for the segment's bounds, as run and preview read them.
	evFrom, evTo := r.Window(at.Add(-explainSpan), at.Add(explainSpan))
	occs, err := inputs.occurrences(ctx, evFrom, evTo, e.stderr)
	if err != nil {
		return fail(e, err)
	}
	ex := r.Explain(occs, at, inputs.zone)
	doc, err := ex.Segment.Document(aor, pidf.IDBase(aor)).Marshal()
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence explain: %v\n", err)
		return 1
	}
	switch {
	case *onlyDialog:
		err = writeDialog(e.stdout, dialogAt(r, occs, at, inputs.zone, aor), at, inputs.zone)
	case *onlyPIDF:
		_, err = e.stdout.Write(doc)
	default:
		err = writeExplain(e.stdout, ex, r.Names(), doc, inputs.zone)
	}
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence explain: %v\n", err)
		return 1
	}
	return 0
}

func writeExplain(w io.Writer, ex rules.Explanation, ruleNames []string, doc []byte, loc *time.Location) error {
	var b strings.Builder
	when := func(t time.Time) string { return t.In(loc).Format("Mon 2 Jan 2006 15:04") }
	fmt.Fprintf(&b, "At %s (%s), rules in order: %s\n\n", when(ex.At), ex.At.In(loc).Format(time.RFC3339), strings.Join(ruleNames, ", "))
	if len(ex.Events) == 0 {
		b.WriteString("No event is on.\n")
	}
	for i, ev := range ex.Events {
		o := ev.Occurrence
		mark := ""
		if i == ex.Winner {
			mark = "  <- wins"
		}
		fmt.Fprintf(&b, "%d. %q, %s to %s%s\n", i+1, o.Summary, when(o.Start), when(o.End), mark)
		fmt.Fprintf(&b, "   uid %s, calendar %s, status %s, class %s, response %s, %d attendees, all-day %t, free %t\n",
			o.UID, o.Calendar, orDash(string(o.Status)), orDash(string(o.Class)), orDash(o.Response), o.Attendees, o.AllDay, o.Transparent)
		for _, m := range ev.Misses {
			fmt.Fprintf(&b, "   not rule %q: %s\n", m.Rule, m.Reason)
		}
		switch {
		case ev.Rule == "":
			b.WriteString("   fits no rule: changes nothing\n")
		case ev.Ignored:
			fmt.Fprintf(&b, "   rule %q: ignore, changes nothing\n", ev.Rule)
		case !ev.Counts:
			fmt.Fprintf(&b, "   rule %q, but it counts only %s to %s\n", ev.Rule, when(ev.Start), when(ev.End))
		case i != ex.Winner:
			fmt.Fprintf(&b, "   rule %q, outranked by event %d\n", ev.Rule, ex.Winner+1)
		default:
			fmt.Fprintf(&b, "   rule %q\n", ev.Rule)
		}
	}
	s := ex.Segment
	b.WriteString("\n")
	switch {
	case ex.Winner >= 0:
		fmt.Fprintf(&b, "Winner: event %d, rule %q.\n", ex.Winner+1, ex.Events[ex.Winner].Rule)
	case ex.OutsideWorkingHours:
		b.WriteString("No event applies; outside working hours.\n")
	default:
		b.WriteString("No event applies: the default presence.\n")
	}
	fmt.Fprintf(&b, "Presence from %s to %s: %s\n", when(s.Start), when(s.End), s.State)
	b.WriteString("\nPIDF:\n")
	b.Write(doc)
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
