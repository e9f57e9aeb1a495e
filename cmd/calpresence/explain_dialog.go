package main

import (
	"fmt"
	"io"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/rules"
)

// dialogAt returns the dialog-info document (RFC 4235) that run publishes
// for aor's BLF lamp at the instant at, as the agent builds it from the
// timeline's blf segments (docs/blf.md), or nil when none is published
// then. occs are the events of the rules' window around explainSpan.
func dialogAt(r *rules.Rules, occs []calendar.Occurrence, at time.Time, zone *time.Location, aor string) []byte {
	segs := r.Timeline(occs, at.Add(-explainSpan), at.Add(explainSpan), zone)
	var spans []dialoginfo.Span
	for _, s := range segs {
		if s.State.BLF {
			spans = append(spans, dialoginfo.Span{Start: s.Start, End: s.End})
		}
	}
	for _, e := range dialoginfo.Timeline(aor, spans, dialoginfo.TimelineOptions{}) {
		if !at.Before(e.Start) && at.Before(e.End) {
			return e.Body
		}
	}
	return nil
}

// writeDialog prints explain -dialog's answer: the document, or a line
// saying that none is published at.
func writeDialog(w io.Writer, doc []byte, at time.Time, zone *time.Location) error {
	if doc == nil {
		_, err := fmt.Fprintf(w, "No dialog-info document at %s: no segment with blf = true, so nothing is published with Event: dialog and BLF lamps stay dark.\n",
			at.In(zone).Format(time.RFC3339))
		return err
	}
	_, err := w.Write(doc)
	return err
}
