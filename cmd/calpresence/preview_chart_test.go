package main

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// privateICS has a meeting, lunch and a private appointment whose summary
// is a canary: no chart may show it.
const privateCanary = "CANARY-private-9c1e"

const privateICS = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:m1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260302T090000Z\r\nDTEND:20260302T100000Z\r\nSUMMARY:Review\r\n" +
	"ATTENDEE:mailto:a@example.com\r\nATTENDEE:mailto:b@example.com\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:l1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260303T110000Z\r\nDTEND:20260303T120000Z\r\nSUMMARY:Lunch\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:p1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260304T130000Z\r\nDTEND:20260304T140000Z\r\nSUMMARY:" + privateCanary + "\r\n" +
	"LOCATION:" + privateCanary + "\r\nCLASS:PRIVATE\r\nEND:VEVENT\r\n" +
	"END:VCALENDAR\r\n"

// chartSegs reads the segments of a chart: class and title of each.
func chartSegs(t *testing.T, svg []byte) (segs [][2]string, days []string) {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	inTitle := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return segs, days
		}
		if err != nil {
			t.Fatalf("the SVG is not well-formed: %v", err)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			for _, a := range e.Attr {
				switch {
				case a.Name.Local == "class" && strings.HasPrefix(a.Value, "seg "):
					segs = append(segs, [2]string{strings.TrimPrefix(a.Value, "seg "), ""})
				case a.Name.Local == "data-day":
					days = append(days, a.Value)
				}
			}
			inTitle = e.Name.Local == "title"
		case xml.CharData:
			if inTitle && len(segs) > 0 {
				segs[len(segs)-1][1] += string(e)
			}
		case xml.EndElement:
			inTitle = false
		}
	}
}

func TestPreviewCharts(t *testing.T) {
	dir := t.TempDir()
	ics := filepath.Join(dir, "cal.ics")
	if err := os.WriteFile(ics, []byte(privateICS), 0o644); err != nil {
		t.Fatal(err)
	}
	svgPath, htmlPath := filepath.Join(dir, "week.svg"), filepath.Join(dir, "week.html")
	out, errs, code := runMain(t, "preview", "-ics", ics, "-tz", "Europe/Berlin", "-from", "2026-03-02", "-svg", svgPath, "-html", htmlPath)
	if code != 0 || out != "" {
		t.Fatalf("preview -svg -html = %d, stdout %q, stderr %q; want 0 and nothing printed", code, out, errs)
	}
	svg, err := os.ReadFile(svgPath)
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"svg": svg, "html": page} {
		if bytes.Contains(b, []byte(privateCanary)) {
			t.Errorf("preview -%s shows a private event's text", name)
		}
	}
	segs, days := chartSegs(t, svg)
	if want := []string{"2026-03-02", "2026-03-03", "2026-03-04", "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08"}; strings.Join(days, " ") != strings.Join(want, " ") {
		t.Errorf("preview -svg rows = %v, want a week %v", days, want)
	}
	for _, want := range [][2]string{
		{"closed", "10:00–11:00 closed (busy,meeting): In a meeting until 11:00 [rule meeting]"},
		{"busy", "12:00–13:00 open (away,meal): Out for lunch until 13:00 [rule lunch]"},
		{"busy", "14:00–15:00 open (busy): Busy until 15:00 [rule private]"},
		{"available", "00:00–10:00 open"},
	} {
		found := false
		for _, s := range segs {
			found = found || s == want
		}
		if !found {
			t.Errorf("preview -svg has no segment %q; has %q", want, segs)
		}
	}

	// The HTML page holds the same chart, inline, and the table.
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var svgs, rows int
	var notes []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		switch n.Data {
		case "svg":
			svgs++
		case "tr":
			if n.Parent.Data == "tbody" {
				rows++
				var cells []string
				for c := range n.ChildNodes() {
					if c.Type == html.ElementNode && c.Data == "td" && c.FirstChild != nil && c.FirstChild.Type == html.TextNode {
						cells = append(cells, c.FirstChild.Data)
					}
				}
				notes = append(notes, strings.Join(cells, "|"))
			}
		}
	}
	if svgs != 1 || rows != 7 {
		t.Errorf("preview -html: %d svg, %d table rows, want 1 and 7 (%q)", svgs, rows, notes)
	}
	if want := "Mon 2 Mar 10:00|Mon 2 Mar 11:00|closed|busy,meeting|In a meeting until 11:00|meeting"; !strings.Contains(strings.Join(notes, "\n"), want) {
		t.Errorf("preview -html table lacks %q:\n%s", want, strings.Join(notes, "\n"))
	}

	// - is stdout.
	out, _, code = runMain(t, "preview", "-ics", ics, "-tz", "UTC", "-from", "2026-03-02", "-to", "2026-03-03", "-svg", "-")
	if code != 0 || !strings.HasPrefix(out, "<?xml") || !strings.Contains(out, `data-day="2026-03-02"`) || strings.Contains(out, `data-day="2026-03-03"`) {
		t.Errorf("preview -svg - = %d, %.200q; want the one day's SVG on stdout", code, out)
	}
}
