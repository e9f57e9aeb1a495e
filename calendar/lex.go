package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unsafe"
)

// property is one content line (RFC 5545 §3.1) as both iCalendar libraries
// hand it over: name and parameter names in upper case, the value still
// escaped as written.
type property struct {
	name   string
	params []param // in the line's order
	value  string
	line   int
}

// param returns the first value of the parameter name (upper case).
func (p *property) param(name string) string {
	for i := range p.params {
		if p.params[i].name == name {
			return p.params[i].value
		}
	}
	return ""
}

// component is a BEGIN/END block with its properties and sub-components.
type component struct {
	name     string
	props    []property
	children []*component
	line     int   // of its BEGIN line, 0 when unknown
	err      error // first problem inside it: the component is skipped
	uid      string
	notes    []note     // problems the lexer recovered from: warnings, the component is kept
	cal      *component // the VCALENDAR it came in, for a top-level component
	xwrTZ    string     // a VCALENDAR's X-WR-TIMEZONE
}

// note is a problem the lexer read past, reported as a Warning.
type note struct {
	line int
	err  error
}

// topLevel are the components that only VCALENDAR contains (RFC 5545 §3.6,
// RFC 7953): a BEGIN of one inside another means the other's END is
// missing or misspelt.
var topLevel = map[string]bool{
	"VEVENT": true, "VTODO": true, "VJOURNAL": true, "VFREEBUSY": true,
	"VTIMEZONE": true, "VAVAILABILITY": true,
}

func (c *component) prop(name string) *property {
	for i := range c.props {
		if c.props[i].name == name {
			return &c.props[i]
		}
	}
	return nil
}

// SyntaxError is a stream that could not be read as iCalendar at all.
type SyntaxError struct {
	File      string
	Line, Col int
	Msg       string
}

// Error formats the error as FILE:LINE:COL: message, the form editors jump to.
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

const maxDepth = 8

// lexICS splits an iCalendar stream into its top-level components (the
// children of every VCALENDAR in it). It unfolds lines itself, so that it
// knows every component's physical line, and hands each content line to
// golang-ical's property parser. A bad line spoils only the top-level
// component it is in. Several VCALENDAR objects in one stream (concatenated
// feeds) all count.
//
// A misspelt END (END:VTOOD, END:VEVENTX) must not swallow the rest of the
// stream: an END that names no open component but is close to the
// innermost one's name closes that one, any other is ignored, and a BEGIN
// of a top-level component inside another closes the open ones; each with
// a note (a Warning at its line), the component read up to there kept.
//
// data must not change afterwards: the components' strings are in it.
func lexICS(data []byte, source string) ([]*component, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var (
		tops    []*component
		stack   []*component
		seenCal bool
	)
	top := func() *component { // the top-level component being read
		if len(stack) >= 2 {
			return stack[1]
		}
		return nil
	}
	fail := func(line int, err error) {
		if t := top(); t != nil && t.err == nil {
			t.err = fmt.Errorf("line %d: %w", line, err)
		}
	}
	var (
		arena     paramArena
		propArena propertyArena
		texts     textArena
		props     [maxDepth][]property // of each open component, by depth
	)
	// closeInner closes the innermost component, its properties moved
	// from the scratch list of its depth to the arena.
	closeInner := func() {
		d := len(stack) - 1
		stack[d].props = propArena.take(props[d])
		props[d] = props[d][:0]
		pop(&stack, &tops)
	}
	lineNo := 0
	var (
		logical     string // the current logical line; a substring of text unless folded
		folded      []byte
		isFolded    bool
		logicalLine int
	)
	handle := func(raw string, line int) error {
		if strings.TrimSpace(raw) == "" {
			return nil
		}
		name, rest := splitName(raw)
		upper := strings.ToUpper(name)
		if upper == "BEGIN" || upper == "END" {
			val := strings.ToUpper(strings.TrimSpace(rest))
			if upper == "BEGIN" {
				if len(stack) == 0 {
					if val != "VCALENDAR" {
						if !seenCal {
							return &SyntaxError{File: source, Line: line, Col: 1, Msg: fmt.Sprintf("expected BEGIN:VCALENDAR, got %q", truncate(raw, 40))}
						}
						return nil // junk after the calendar
					}
					seenCal = true
				}
				if len(stack) >= 2 && topLevel[val] {
					// The open top-level component's END is missing or misspelt.
					t := stack[1]
					t.notes = append(t.notes, note{line, fmt.Errorf("BEGIN:%s (line %d) not closed before BEGIN:%s: closed there", t.name, t.line, val)})
					for len(stack) > 2 {
						closeInner()
					}
					closeInner()
				}
				if len(stack) >= maxDepth {
					fail(line, errors.New("components nested too deeply"))
					return nil
				}
				c := &component{name: val, line: line}
				props[len(stack)] = props[len(stack)][:0]
				stack = append(stack, c)
				return nil
			}
			// END
			for i := len(stack) - 1; i >= 0; i-- {
				if stack[i].name != val {
					continue
				}
				if i == 0 && len(stack) == 2 {
					// END:VCALENDAR with one top-level component open: its
					// END is missing, its content is complete.
					t := stack[1]
					t.notes = append(t.notes, note{line, fmt.Errorf("BEGIN:%s (line %d) not closed before END:VCALENDAR: closed there", t.name, t.line)})
				} else if i != len(stack)-1 {
					fail(line, fmt.Errorf("END:%s closes BEGIN:%s", val, stack[len(stack)-1].name))
				}
				for len(stack) > i+1 {
					closeInner()
				}
				closeInner()
				return nil
			}
			if len(stack) >= 2 {
				cur := stack[len(stack)-1]
				t := stack[1]
				if misspelt(val, cur.name) {
					t.notes = append(t.notes, note{line, fmt.Errorf("END:%s read as END:%s", truncate(val, 40), cur.name)})
					closeInner()
					return nil
				}
				t.notes = append(t.notes, note{line, fmt.Errorf("END:%s without BEGIN: ignored", truncate(val, 40))})
			}
			return nil
		}
		if len(stack) == 0 {
			if !seenCal {
				return &SyntaxError{File: source, Line: line, Col: 1, Msg: fmt.Sprintf("expected BEGIN:VCALENDAR, got %q", truncate(raw, 40))}
			}
			return nil
		}
		if len(stack) == 1 {
			// Calendar properties: only X-WR-TIMEZONE is needed.
			if n := len("X-WR-TIMEZONE"); len(raw) > n && strings.EqualFold(raw[:n], "X-WR-TIMEZONE") && (raw[n] == ':' || raw[n] == ';') {
				if p, err := parseProperty(raw, line, &arena); err == nil {
					stack[0].xwrTZ = strings.TrimSpace(unescapeText(p.value))
				}
			}
			return nil
		}
		if !wanted(raw) {
			return nil
		}
		p, err := parseProperty(raw, line, &arena)
		if err != nil {
			fail(line, err)
			return nil
		}
		cur := stack[len(stack)-1]
		props[len(stack)-1] = append(props[len(stack)-1], p)
		if p.name == "UID" && len(stack) == 2 {
			cur.uid = unescapeText(p.value)
		}
		return nil
	}
	// Lines are substrings of data, which ParseICS read for this call
	// alone and nobody changes: no copy.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	flush := func() error {
		if logicalLine == 0 {
			return nil
		}
		if isFolded {
			logical = texts.add(folded)
		}
		return handle(logical, logicalLine)
	}
	for len(text) > 0 {
		var ln string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i], text[i+1:]
		} else {
			ln, text = text, ""
		}
		ln = strings.TrimSuffix(ln, "\r")
		lineNo++
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') && logicalLine > 0 {
			if !isFolded {
				folded = append(folded[:0], logical...)
				isFolded = true
			}
			folded = append(folded, ln[1:]...)
			continue
		}
		if err := flush(); err != nil {
			return nil, err
		}
		logical, isFolded, logicalLine = ln, false, lineNo
	}
	if err := flush(); err != nil {
		return nil, err
	}
	if !seenCal {
		return nil, &SyntaxError{File: source, Line: lineNo + 1, Col: 1, Msg: "no BEGIN:VCALENDAR in input"}
	}
	// A component left open at the end of the stream is cut off.
	for len(stack) > 1 {
		if t := stack[1]; t.err == nil {
			t.err = fmt.Errorf("line %d: BEGIN:%s not closed before end of input", stack[len(stack)-1].line, stack[len(stack)-1].name)
		}
		closeInner()
	}
	return tops, nil
}

// pop closes the innermost component: a child of VCALENDAR becomes a
// top-level component, a deeper one a child of its parent.
func pop(stack *[]*component, tops *[]*component) {
	s := *stack
	c := s[len(s)-1]
	*stack = s[:len(s)-1]
	switch len(s) {
	case 1: // VCALENDAR itself
	case 2:
		c.cal = s[0]
		*tops = append(*tops, c)
	default:
		parent := s[len(s)-2]
		parent.children = append(parent.children, c)
		if c.err != nil && parent.err == nil {
			parent.err = c.err
		}
	}
}

// misspelt reports whether an END's name is close enough to an open
// component's name to be a typo of it: one is a prefix of the other
// (VEVENTX, VEVEN), or they differ in at most two letters (VTOOD).
func misspelt(got, open string) bool {
	if got == "" {
		return false
	}
	if strings.HasPrefix(got, open) || strings.HasPrefix(open, got) && len(got) >= 3 {
		return true
	}
	return editDistance(got, open) <= 2
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// splitName returns a content line's name and what follows the ':' for
// lines without parameters, which is all BEGIN/END needs.
func splitName(raw string) (string, string) {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case ':':
			return raw[:i], raw[i+1:]
		case ';':
			return raw[:i], ""
		}
	}
	return raw, ""
}

// wantedProps are the properties the builder reads; the lexer drops the
// rest (DTSTAMP, X- properties, ...) unparsed.
var wantedProps = map[string]bool{
	"UID": true, "DTSTART": true, "DTEND": true, "DURATION": true, "RRULE": true,
	"RDATE": true, "EXDATE": true, "RECURRENCE-ID": true, "SEQUENCE": true,
	"SUMMARY": true, "DESCRIPTION": true, "LOCATION": true, "STATUS": true,
	"TRANSP": true, "CLASS": true, "CATEGORIES": true, "ATTENDEE": true,
	"ORGANIZER": true, "TZID": true, "TZOFFSETFROM": true, "TZOFFSETTO": true,
	"DTSTAMP": true, "EXRULE": true,
	"X-MICROSOFT-CDO-BUSYSTATUS": true, "X-MICROSOFT-CDO-INTENDEDSTATUS": true,
}

func wanted(raw string) bool {
	for i := 0; i < len(raw); i++ {
		if raw[i] == ':' || raw[i] == ';' {
			return wantedProps[strings.ToUpper(raw[:i])]
		}
	}
	return true // not a content line: let the parser say so
}

// parseProperty reads one unfolded content line. Lines with parameters go
// through scanParams, or golang-ical's parser for those scanParams leaves
// to it; golang-ical's value is not used, because it unescapes TEXT values
// (so "a\,b" in CATEGORIES could no longer be told from two categories).
// Lines without parameters need no parser.
func parseProperty(raw string, line int, a *paramArena) (property, error) {
	colon := valueStart(raw)
	if colon < 0 {
		return property{}, errors.New("content line without ':'")
	}
	semi := strings.IndexByte(raw[:colon], ';')
	if semi < 0 {
		name := raw[:colon]
		if !validName(name) {
			return property{}, fmt.Errorf("invalid property name %q", truncate(name, 40))
		}
		return property{name: strings.ToUpper(name), value: raw[colon+1:], line: line}, nil
	}
	if validName(raw[:semi]) {
		if ps, ok := scanParams(a.scratch[:0], raw, semi); ok {
			a.scratch = ps
			return property{name: strings.ToUpper(raw[:semi]), params: a.take(ps), value: raw[colon+1:], line: line}, nil
		}
	}
	ps, ok, err := parseLibraryParams(a.scratch[:0], raw)
	if err != nil {
		return property{}, fmt.Errorf("parse property: %w", err)
	}
	if !ok || !validName(raw[:semi]) {
		return property{}, fmt.Errorf("invalid property %q", truncate(raw, 40))
	}
	a.scratch = ps
	return property{name: strings.ToUpper(raw[:semi]), params: a.take(ps), value: raw[colon+1:], line: line}, nil
}

// valueStart returns the index of the ':' that ends a content line's name
// and parameters: the first one outside a quoted parameter value.
func valueStart(raw string) int {
	quoted := false
	for i := 0; i < len(raw); i++ {
		b := raw[i]
		switch {
		case b == '"':
			quoted = !quoted
		case b == ':' && !quoted:
			return i
		}
	}
	return -1
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// unescapeText undoes RFC 5545 §3.3.11 TEXT escaping.
func unescapeText(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' && i+1 < len(s) {
			i++
			switch s[i] {
			case 'n', 'N':
				b.WriteByte('\n')
			default:
				b.WriteByte(s[i])
			}
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// splitText splits a TEXT list at unescaped commas and unescapes each item.
func splitText(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case ',':
			out = append(out, unescapeText(s[start:i]))
			start = i + 1
		}
	}
	return append(out, unescapeText(s[start:]))
}
