package timechart

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
)

// seg is what a test reads back of a drawn segment.
type seg struct {
	day, class, title, label string
	x, w                     float64
}

// parse reads the chart as XML and returns its segments.
func parse(t *testing.T, svg []byte) []seg {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(svg))
	var out []seg
	var day string
	var cur *seg
	var in string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("the chart is not well-formed XML: %v\n%s", err, svg)
		}
		switch e := tok.(type) {
		case xml.StartElement:
			attr := func(n string) string {
				for _, a := range e.Attr {
					if a.Name.Local == n {
						return a.Value
					}
				}
				return ""
			}
			switch {
			case e.Name.Local == "g" && attr("class") == "day":
				day = attr("data-day")
			case e.Name.Local == "g" && strings.HasPrefix(attr("class"), "seg "):
				out = append(out, seg{day: day, class: strings.TrimPrefix(attr("class"), "seg ")})
				cur = &out[len(out)-1]
			case e.Name.Local == "rect" && cur != nil:
				cur.x, _ = strconv.ParseFloat(attr("x"), 64)
				cur.w, _ = strconv.ParseFloat(attr("width"), 64)
			}
			in = e.Name.Local
		case xml.CharData:
			if cur != nil && in == "title" {
				cur.title += string(e)
			}
			if cur != nil && in == "text" {
				cur.label += string(e)
			}
		case xml.EndElement:
			if e.Name.Local == "g" {
				cur = nil
			}
			in = ""
		}
	}
	return out
}

func TestWrite(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, berlin) }
	tests := []struct {
		name     string
		spans    []Span
		from, to time.Time
		want     []seg // day, class, title prefix, label; x and w when not 0
	}{
		{
			name: "a day", from: at(2, 0, 0), to: at(3, 0, 0),
			spans: []Span{
				{Start: at(1, 18, 0), End: at(2, 9, 0), Basic: "open"},
				{Start: at(2, 9, 0), End: at(2, 15, 0), Basic: "closed", Activities: "busy,meeting", Note: "In a meeting until 15:00", Rule: "meeting"},
				{Start: at(2, 15, 0), End: at(3, 9, 0), Basic: "open", Activities: "away", Note: `Out <&> "x"`},
			},
			want: []seg{
				{day: "2026-03-02", class: ClassAvailable, title: "00:00–09:00 open", x: left, w: plotW * 9 / 24},
				{day: "2026-03-02", class: ClassClosed, title: "09:00–15:00 closed (busy,meeting): In a meeting until 15:00 [rule meeting]",
					label: "In a meeting until 15:00", x: left + plotW*9/24, w: plotW * 6 / 24},
				{day: "2026-03-02", class: ClassBusy, title: `15:00–00:00 open (away): Out <&> "x"`, label: `Out <&> "x"`},
			},
		},
		{
			name: "a span over midnight is cut per day", from: at(2, 12, 0), to: at(3, 12, 0),
			spans: []Span{{Start: at(2, 20, 0), End: at(3, 8, 0), Basic: "closed", Note: "On vacation until Tue 3 Mar"}},
			want: []seg{
				{day: "2026-03-02", class: ClassClosed, title: "20:00–00:00 closed", label: "On vacation until Tu…", x: left + plotW*20/24},
				{day: "2026-03-03", class: ClassClosed, title: "00:00–08:00 closed", label: "On vacation until Tue 3 Mar", x: left},
			},
		},
		{
			// 29 Mar 2026 has 23 hours in Berlin: 12:00 is 11/23 of the day.
			name: "a DST day", from: at(29, 0, 0), to: at(30, 0, 0),
			spans: []Span{{Start: at(29, 12, 0), End: at(29, 13, 0), Basic: "closed", Note: "x"}},
			want:  []seg{{day: "2026-03-29", class: ClassClosed, title: "12:00–13:00", label: "x", x: left + plotW*11/23, w: plotW / 23}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Write(&b, tt.spans, tt.from, tt.to, Options{Zone: berlin, Title: "Alice & Bob", Now: at(2, 10, 0)}); err != nil {
				t.Fatalf("Write() = %v", err)
			}
			got := parse(t, b.Bytes())
			if len(got) != len(tt.want) {
				t.Fatalf("Write() drew %d segments %+v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				if g.day != w.day || g.class != w.class || !strings.HasPrefix(g.title, w.title) || g.label != w.label {
					t.Errorf("segment %d = %+v, want %+v", i, g, w)
				}
				if w.x != 0 && abs(g.x-w.x) > 0.01 {
					t.Errorf("segment %d x = %g, want %g", i, g.x, w.x)
				}
				if w.w != 0 && abs(g.w-w.w) > 0.01 {
					t.Errorf("segment %d width = %g, want %g", i, g.w, w.w)
				}
			}
		})
	}
	if err := Write(io.Discard, nil, time.Time{}, time.Time{}, Options{}); err == nil {
		t.Errorf("Write() without a zone = nil, want an error")
	}
}

func TestFit(t *testing.T) {
	tests := []struct {
		s    string
		px   float64
		want string
	}{
		{"Out for lunch", 200, "Out for lunch"},
		{"Out for lunch", 10 * charW, "Out for l…"}, {"Out for lunch", 9 * charW, "Out for…"},
		{"Out for lunch", 3 * charW, ""},
		{"", 200, ""},
		{"Müßiggang über Mittag", 8 * charW, "Müßigga…"},
	}
	for _, tt := range tests {
		if got := fit(tt.s, tt.px); got != tt.want {
			t.Errorf("fit(%q, %g) = %q, want %q", tt.s, tt.px, got, tt.want)
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
