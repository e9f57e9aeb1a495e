package main

import (
	"bytes"
	"fmt"
	"os"
	"time"

	"github.com/calpresence/calpresence/internal/timechart"
	"github.com/calpresence/calpresence/rules"
)

// chartSpans is a preview timeline as the chart draws it.
func chartSpans(segs []rules.Segment) []timechart.Span {
	spans := make([]timechart.Span, len(segs))
	for i, s := range segs {
		spans[i] = timechart.Span{Start: s.Start, End: s.End, Basic: s.State.Basic,
			Activities: joinActivities(s.State.Activities), Note: s.State.Note, Rule: s.Rule}
	}
	return spans
}

func joinActivities(as []string) string {
	var b bytes.Buffer
	for i, a := range as {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a)
	}
	return b.String()
}

// writePreviewCharts writes preview's -svg and -html files ("" skips one,
// "-" is stdout).
func writePreviewCharts(e *env, svgPath, htmlPath string, segs []rules.Segment, from, to time.Time, loc *time.Location) error {
	spans := chartSpans(segs)
	opts := timechart.Options{Zone: loc, Title: fmt.Sprintf("Presence %s – %s (%s)",
		from.In(loc).Format("Mon 2 Jan 15:04"), to.In(loc).Format("Mon 2 Jan 15:04"), loc)}
	for _, out := range []struct {
		path  string
		write func(*bytes.Buffer) error
	}{
		{svgPath, func(b *bytes.Buffer) error {
			b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
			return timechart.Write(b, spans, from, to, opts)
		}},
		{htmlPath, func(b *bytes.Buffer) error { return timechart.WriteHTML(b, spans, from, to, opts) }},
	} {
		if out.path == "" {
			continue
		}
		var b bytes.Buffer
		if err := out.write(&b); err != nil {
			return err
		}
		if out.path == "-" {
			if _, err := e.stdout.Write(b.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := os.WriteFile(out.path, b.Bytes(), 0o644); err != nil {
			return err
		}
	}
	return nil
}
