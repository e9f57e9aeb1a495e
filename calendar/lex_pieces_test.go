package calendar

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// dumpTops writes components with everything the builder reads from them,
// calendars named by their order of appearance, so that two reads can be
// compared as text.
func dumpTops(tops []*component) string {
	var b strings.Builder
	cals := map[*component]int{}
	var dump func(c *component, depth int)
	dump = func(c *component, depth int) {
		ind := strings.Repeat("  ", depth)
		fmt.Fprintf(&b, "%s%s line=%d uid=%q err=%v\n", ind, c.name, c.line, c.uid, c.err)
		if c.cal != nil {
			if _, ok := cals[c.cal]; !ok {
				cals[c.cal] = len(cals)
			}
			fmt.Fprintf(&b, "%s cal=%d xwr=%q/%v\n", ind, cals[c.cal], c.cal.xwrTZ, c.cal.xwrSet)
		}
		for _, n := range c.notes {
			fmt.Fprintf(&b, "%s note %d %v\n", ind, n.line, n.err)
		}
		for _, p := range c.props {
			fmt.Fprintf(&b, "%s %s%v=%q @%d\n", ind, p.name, p.params, p.value, p.line)
		}
		for _, ch := range c.children {
			dump(ch, depth+1)
		}
	}
	for _, c := range tops {
		dump(c, 0)
	}
	return b.String()
}

func lexDump(tops []*component, err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return dumpTops(tops)
}

// TestLexPiecesSequential reads streams in pieces of every size down to one
// VEVENT and compares the components, lines, notes and errors with one
// sequential read: the guess of where a piece starts must never show.
func TestLexPiecesSequential(t *testing.T) {
	ev := func(uid string) string {
		return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART;TZID=Europe/Berlin:20260105T090000\r\n" +
			"SUMMARY:long summary\r\n folded once\r\n\tand twice\r\nEND:VEVENT\r\n"
	}
	cases := map[string]string{
		"plain": "BEGIN:VCALENDAR\r\n" + ev("a") + ev("b") + ev("c") + ev("d") + "END:VCALENDAR\r\n",
		"X-WR-TIMEZONE after the events": "BEGIN:VCALENDAR\r\n" + ev("a") + ev("b") +
			"X-WR-TIMEZONE:Europe/Paris\r\n" + ev("c") + ev("d") + "X-WR-TIMEZONE:America/New_York\r\n" + ev("e") + "END:VCALENDAR\r\n",
		"two calendars": "BEGIN:VCALENDAR\r\nX-WR-TIMEZONE:Europe/Paris\r\n" + ev("a") + ev("b") + "END:VCALENDAR\r\n" +
			"BEGIN:VCALENDAR\r\n" + ev("c") + ev("d") + "END:VCALENDAR\r\njunk\r\n",
		"END missing before BEGIN:VEVENT": "BEGIN:VCALENDAR\r\n" + ev("a") +
			"BEGIN:VEVENT\r\nUID:open\r\nDTSTART:20260105T090000Z\r\nBEGIN:VALARM\r\nTRIGGER:-PT5M\r\n" + ev("b") + ev("c") + "END:VCALENDAR\r\n",
		"misspelt END": "BEGIN:VCALENDAR\r\n" + ev("a") + "BEGIN:VEVENT\r\nUID:x\r\nEND:VEVNT\r\n" + ev("b") +
			"BEGIN:VEVENT\r\nUID:y\r\nEND:VTODO\r\n" + ev("c") + "END:VCALENDAR\r\n",
		"cut off":                       "BEGIN:VCALENDAR\r\n" + ev("a") + ev("b") + "BEGIN:VEVENT\r\nUID:cut\r\nDTSTART:20260105T090000Z\r\n",
		"no END:VCALENDAR, LF only":     strings.ReplaceAll("BEGIN:VCALENDAR\r\n"+ev("a")+ev("b")+ev("c"), "\r\n", "\n"),
		"END:VCALENDAR closes an event": "BEGIN:VCALENDAR\r\n" + ev("a") + "BEGIN:VEVENT\r\nUID:z\r\nEND:VCALENDAR\r\n" + ev("b") + ev("c"),
		"bad line in a later piece":     "BEGIN:VCALENDAR\r\n" + ev("a") + ev("b") + "BEGIN:VEVENT\r\nUID:bad\r\nno colon here\r\nEND:VEVENT\r\n" + ev("c") + "END:VCALENDAR\r\n",
		"not a calendar after junk":     "BEGIN:VCALENDAR\r\n" + ev("a") + "END:VCALENDAR\r\n" + ev("b") + "BEGIN:VCALENDAR\r\n" + ev("c") + "END:VCALENDAR\r\n",
		"nothing":                       "hello\r\n" + ev("a") + ev("b"),
		"generated":                     string(genCalendar(40, 7)),
	}
	files, _ := filepath.Glob("testdata/corpus/*.ics")
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		cases[filepath.Base(f)] = string(data)
	}
	for name, text := range cases {
		t.Run(name, func(t *testing.T) {
			l := &lexer{source: "t.ics"}
			err := l.run(text)
			if err == nil {
				err = l.finish()
			}
			want := lexDump(l.tops, err)
			for n := 2; n <= 64; n *= 2 {
				pieces := splitPieces(text, n, 1)
				if strings.Join(pieces, "") != text {
					t.Fatalf("%d pieces do not make up the text", n)
				}
				got := lexDump(lexPieces(pieces, "t.ics"))
				if got != want {
					t.Fatalf("in %d pieces:\n%s\nsequentially:\n%s", len(pieces), got, want)
				}
			}
		})
	}
}

func TestUnescapeText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{``, ``},
		{`plain`, `plain`},
		{`a\,b\;c`, `a,b;c`},
		{`line\nnext\NN`, "line\nnext\nN"},
		{`back\\slash`, `back\slash`},
		{`\\\\`, `\\`},
		{`\x\:`, `x:`},
		{`lone at the end\`, `lone at the end\`},
		{`\`, `\`},
		{`Grüße\, 世界`, `Grüße, 世界`},
	} {
		if got := unescapeText(tc.in); got != tc.want {
			t.Errorf("unescapeText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzLexPieces compares a read in pieces with a sequential one on
// arbitrary streams.
func FuzzLexPieces(f *testing.F) {
	files, _ := filepath.Glob("testdata/corpus/*.ics")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nBEGIN:VEVENT\nUID:b\nEND:VEVENT\nEND:VCALENDAR\nBEGIN:VEVENT\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text := string(data)
		l := &lexer{source: "f.ics"}
		err := l.run(text)
		if err == nil {
			err = l.finish()
		}
		want := lexDump(l.tops, err)
		for _, n := range []int{2, 5, 64} {
			if got := lexDump(lexPieces(splitPieces(text, n, 1), "f.ics")); got != want {
				t.Fatalf("in up to %d pieces:\n%s\nsequentially:\n%s", n, got, want)
			}
		}
	})
}
