// Package timechart draws presence timelines as SVG: one row per day, 24
// hours across, each segment coloured by what it tells colleagues (free,
// busy or away, Do Not Disturb) and labelled with its published note. The
// status page's /user/AOR and `preview -svg` draw the same chart.
package timechart

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Span is one segment of a timeline, as it is published.
type Span struct {
	Start, End time.Time
	Basic      string // "open" or "closed"
	Activities string // comma-separated RFC 4480 activities
	Note       string // the published note
	Rule       string // the rule that decided it; "" for the default
	Override   bool   // the user's own status decided it; Rule is the state chosen
}

// Options tune a chart.
type Options struct {
	// Zone is the zone whose days are the rows and whose hours the axis
	// shows; required: a chart never falls back to the machine's zone.
	Zone *time.Location
	// Title is drawn above the chart; "" for none.
	Title string
	// Now, when not zero and inside the chart, is marked with a line.
	Now time.Time
}

// Class names the three ways a segment is drawn.
const (
	ClassAvailable = "available" // open, no activity
	ClassBusy      = "busy"      // open with an activity: reachable but busy or away
	ClassClosed    = "closed"    // closed: Do Not Disturb
)

// ClassOf is how s is drawn.
func ClassOf(s Span) string {
	switch {
	case s.Basic == "closed":
		return ClassClosed
	case s.Activities != "":
		return ClassBusy
	}
	return ClassAvailable
}

// Colours of the classes, also used by the status page's legend.
var Colours = map[string]string{ClassAvailable: "#3c9a5f", ClassBusy: "#e0a030", ClassClosed: "#c8423b"}

const (
	width    = 1000.0
	left     = 120.0 // the day labels
	right    = 30.0
	plotW    = width - left - right
	rowH     = 34.0
	rowGap   = 8.0
	fontSize = 11.0
	charW    = 6.3 // an average glyph of the sans-serif font at fontSize
)

// Days are the midnights of the days that [from, to) touches in loc.
func Days(from, to time.Time, loc *time.Location) []time.Time {
	var days []time.Time
	y, m, d := from.In(loc).Date()
	for i := 0; ; i++ {
		day := time.Date(y, m, d+i, 0, 0, 0, 0, loc)
		if !day.Before(to) {
			break
		}
		days = append(days, day)
	}
	return days
}

// Write draws spans over the days that [from, to) touches in opts.Zone as
// an SVG document (no XML declaration, so that it can be inlined in HTML).
// Time outside [from, to) or not covered by a span stays blank.
func Write(w io.Writer, spans []Span, from, to time.Time, opts Options) error {
	if opts.Zone == nil {
		return fmt.Errorf("timechart: no zone")
	}
	loc := opts.Zone
	days := Days(from, to, loc)
	top := 30.0
	if opts.Title != "" {
		top += 22
	}
	height := top + float64(len(days))*(rowH+rowGap) + 34
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="timechart" width="%g" height="%g" viewBox="0 0 %g %g" font-family="sans-serif" font-size="%g">`+"\n",
		width, height, width, height, fontSize)
	fmt.Fprintf(&b, `<rect width="%g" height="%g" fill="#ffffff"/>`+"\n", width, height)
	if opts.Title != "" {
		fmt.Fprintf(&b, `<text x="%g" y="20" font-size="15" font-weight="bold">%s</text>`+"\n", left, esc(opts.Title))
	}
	// The hour axis, by the clock: a DST day's hours are drawn where its
	// wall clock shows them.
	for h := 0; h <= 24; h += 3 {
		x := left + plotW*float64(h)/24
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" text-anchor="middle" fill="#555">%02d:00</text>`+"\n", x, top-10, h)
	}
	for i, day := range days {
		y := top + float64(i)*(rowH+rowGap)
		next := time.Date(day.Year(), day.Month(), day.Day()+1, 0, 0, 0, 0, loc)
		xOf := func(t time.Time) float64 {
			return left + plotW*float64(t.Sub(day))/float64(next.Sub(day))
		}
		fmt.Fprintf(&b, `<g class="day" data-day="%s">`+"\n", day.Format("2006-01-02"))
		fmt.Fprintf(&b, `<text x="4" y="%.1f" fill="#222">%s</text>`+"\n", y+rowH/2+4, esc(day.Format("Mon 2 Jan")))
		fmt.Fprintf(&b, `<rect x="%g" y="%.1f" width="%g" height="%g" fill="#f2f2f2"/>`+"\n", left, y, plotW, rowH)
		for _, s := range spans {
			start, end := maxTime(s.Start, day, from), minTime(s.End, next, to)
			if !start.Before(end) {
				continue
			}
			x0, x1 := xOf(start), xOf(end)
			class := ClassOf(s)
			title := fmt.Sprintf("%s–%s %s", start.In(loc).Format("15:04"), end.In(loc).Format("15:04"), s.Basic)
			if s.Activities != "" {
				title += " (" + s.Activities + ")"
			}
			if s.Note != "" {
				title += ": " + s.Note
			}
			if s.Override {
				title += " [own status " + s.Rule + "]"
			} else if s.Rule != "" {
				title += " [rule " + s.Rule + "]"
			}
			fmt.Fprintf(&b, `<g class="seg %s" data-basic="%s" data-activities="%s" data-start="%s" data-end="%s"><title>%s</title>`,
				class, esc(s.Basic), esc(s.Activities), start.Format(time.RFC3339), end.Format(time.RFC3339), esc(title))
			fmt.Fprintf(&b, `<rect x="%.2f" y="%.1f" width="%.2f" height="%g" fill="%s" stroke="#ffffff" stroke-width="0.5"/>`,
				x0, y, x1-x0, rowH, Colours[class])
			if label := fit(s.Note, x1-x0-6); label != "" {
				fmt.Fprintf(&b, `<text x="%.2f" y="%.1f" fill="#ffffff">%s</text>`, x0+3, y+rowH/2+4, esc(label))
			}
			b.WriteString("</g>\n")
		}
		for h := 1; h < 24; h++ {
			x := xOf(time.Date(day.Year(), day.Month(), day.Day(), h, 0, 0, 0, loc))
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ffffff" stroke-opacity="0.5"/>`, x, y, x, y+rowH)
		}
		b.WriteString("\n")
		if !opts.Now.IsZero() && !opts.Now.Before(day) && opts.Now.Before(next) {
			x := xOf(opts.Now)
			fmt.Fprintf(&b, `<line class="now" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#000000" stroke-width="2"/>`+"\n", x, y-3, x, y+rowH+3)
		}
		b.WriteString("</g>\n")
	}
	ly := top + float64(len(days))*(rowH+rowGap) + 14
	x := left
	for _, c := range []struct{ class, label string }{
		{ClassAvailable, "available"}, {ClassBusy, "busy or away"}, {ClassClosed, "closed (Do Not Disturb)"},
	} {
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="14" height="14" fill="%s"/><text x="%g" y="%g">%s</text>`+"\n",
			x, ly-11, Colours[c.class], x+18, ly, esc(c.label))
		x += 40 + charW*float64(len(c.label))
	}
	b.WriteString("</svg>\n")
	_, err := w.Write(b.Bytes())
	return err
}

// fit shortens s to what fits in px pixels, with an ellipsis; "" if
// not even a few characters fit.
func fit(s string, px float64) string {
	n := int(px / charW)
	if n < 4 || s == "" {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}

func maxTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.After(m) {
			m = t
		}
	}
	return m
}

func minTime(ts ...time.Time) time.Time {
	m := ts[0]
	for _, t := range ts[1:] {
		if t.Before(m) {
			m = t
		}
	}
	return m
}

// WriteHTML writes a standalone HTML page (no script) with the chart of
// Write and a table of the spans that [from, to) touches.
func WriteHTML(w io.Writer, spans []Span, from, to time.Time, opts Options) error {
	var svg bytes.Buffer
	if err := Write(&svg, spans, from, to, opts); err != nil {
		return err
	}
	type row struct {
		Start, End, Class string
		Span
	}
	var rows []row
	for _, s := range spans {
		if s.End.After(from) && s.Start.Before(to) {
			rows = append(rows, row{Start: maxTime(s.Start, from).In(opts.Zone).Format("Mon 2 Jan 15:04"),
				End: minTime(s.End, to).In(opts.Zone).Format("Mon 2 Jan 15:04"), Class: ClassOf(s), Span: s})
		}
	}
	title := opts.Title
	if title == "" {
		title = "Presence timeline"
	}
	return pageTmpl.Execute(w, map[string]any{
		"Title": title, "Zone": opts.Zone.String(), "Chart": template.HTML(svg.String()), "Rows": rows, "Colours": Colours,
	})
}

// The chart is escaped as it is drawn (esc), so it is inlined as is.
var pageTmpl = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-top:1em}td,th{border-bottom:1px solid #ddd;padding:.25em .6em;text-align:left}
.swatch{display:inline-block;width:.9em;height:.9em;vertical-align:middle}
</style></head>
<body>
<h1>{{.Title}}</h1>
<p>Times in {{.Zone}}.</p>
{{.Chart}}
<table id="segments"><thead><tr><th></th><th>start</th><th>end</th><th>basic</th><th>activities</th><th>note</th><th>rule</th></tr></thead>
<tbody>{{range .Rows}}<tr class="{{.Class}}"><td><span class="swatch" style="background:{{index $.Colours .Class}}"></span></td><td>{{.Start}}</td><td>{{.End}}</td><td>{{.Basic}}</td><td>{{.Activities}}</td><td>{{.Note}}</td><td>{{.Rule}}</td></tr>
{{end}}</tbody></table>
</body></html>
`))
