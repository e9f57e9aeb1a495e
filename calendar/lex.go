package calendar

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
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
	xwrSet   bool       // X-WR-TIMEZONE was read, xwrTZ holds it
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
// A large stream is lexed in pieces on GOMAXPROCS workers (see lexPieces);
// the components, their lines and notes are those of one sequential read.
//
// data must not change afterwards: the components' strings are in it.
func lexICS(data []byte, source string) ([]*component, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	// Lines are substrings of data, which ParseICS read for this call
	// alone and nobody changes: no copy.
	text := unsafe.String(unsafe.SliceData(data), len(data))
	if pieces := splitPieces(text, runtime.GOMAXPROCS(0), minPiece); len(pieces) > 1 {
		return lexPieces(pieces, source)
	}
	l := &lexer{source: source}
	if err := l.run(text); err != nil {
		return nil, err
	}
	if err := l.finish(); err != nil {
		return nil, err
	}
	return l.tops, nil
}

// minPiece is the smallest piece of a stream worth a worker of its own:
// below it, starting the workers costs more than they save.
const minPiece = 256 << 10

// splitPieces cuts text into at most n pieces of about size bytes or more,
// each after the first starting at a BEGIN:VEVENT line, where a calendar's
// lexer usually has only its VCALENDAR open.
func splitPieces(text string, n, size int) []string {
	n = min(n, len(text)/max(size, 1))
	if n < 2 {
		return []string{text}
	}
	const mark = "\nBEGIN:VEVENT"
	var pieces []string
	start := 0
	for k := 1; k < n; k++ {
		from := max(start, k*len(text)/n)
		i := strings.Index(text[from:], mark)
		if i < 0 {
			break
		}
		cut := from + i + 1
		if cut == start {
			continue
		}
		pieces = append(pieces, text[start:cut])
		start = cut
	}
	return append(pieces, text[start:])
}

// lexPieces lexes the pieces of a stream in parallel, each after the first
// as if only a VCALENDAR were open where it begins (a placeholder, the
// open VCALENDAR of the piece before once that one is done). Where that
// guess is wrong (a VEVENT left open across the cut), the rest of the
// stream is lexed again, sequentially, from the state the pieces before
// it left: the result is always that of one sequential read.
func lexPieces(pieces []string, source string) ([]*component, error) {
	lexers := make([]*lexer, len(pieces))
	errs := make([]error, len(pieces))
	line := 0
	for k, p := range pieces {
		l := &lexer{source: source, lineNo: line}
		if k > 0 {
			l.seenCal = true
			l.guess = &component{name: "VCALENDAR"}
			l.stack = append(l.stack, l.guess)
		}
		lexers[k] = l
		line += strings.Count(p, "\n")
	}
	var wg sync.WaitGroup
	for k := range pieces {
		wg.Go(func() { errs[k] = lexers[k].run(pieces[k]) })
	}
	wg.Wait()
	cur := lexers[0]
	if errs[0] != nil {
		return nil, errs[0]
	}
	tops := cur.tops
	cur.tops = nil
	for k := 1; k < len(pieces); k++ {
		next := lexers[k]
		if len(cur.stack) != 1 {
			// The guess was wrong: read on from cur's state.
			for _, p := range pieces[k:] {
				if err := cur.run(p); err != nil {
					return nil, err
				}
			}
			break
		}
		if errs[k] != nil {
			return nil, errs[k]
		}
		cal := cur.stack[0]
		for _, c := range next.tops {
			if c.cal == next.guess {
				c.cal = cal
			}
		}
		if next.guess.xwrSet {
			cal.xwrTZ, cal.xwrSet = next.guess.xwrTZ, true
		}
		if len(next.stack) > 0 && next.stack[0] == next.guess {
			next.stack[0] = cal
		}
		tops = append(tops, next.tops...)
		next.tops = nil
		cur = next
	}
	if err := cur.finish(); err != nil {
		return nil, err
	}
	return append(tops, cur.tops...), nil
}

// lexer is the state of a sequential read of a stream: the open
// components, and the logical line being unfolded.
type lexer struct {
	source  string
	tops    []*component
	stack   []*component
	seenCal bool
	guess   *component // the placeholder VCALENDAR a piece starts in, or nil

	arena     paramArena
	propArena propertyArena
	texts     textArena
	props     [maxDepth][]property // of each open component, by depth

	lineNo      int
	logical     string // the current logical line; a substring of text unless folded
	folded      []byte
	isFolded    bool
	logicalLine int
}

// top returns the top-level component being read.
func (l *lexer) top() *component {
	if len(l.stack) >= 2 {
		return l.stack[1]
	}
	return nil
}

func (l *lexer) fail(line int, err error) {
	if t := l.top(); t != nil && t.err == nil {
		t.err = fmt.Errorf("line %d: %w", line, err)
	}
}

// closeInner closes the innermost component, its properties moved from the
// scratch list of its depth to the arena.
func (l *lexer) closeInner() {
	d := len(l.stack) - 1
	l.stack[d].props = l.propArena.take(l.props[d])
	l.props[d] = l.props[d][:0]
	pop(&l.stack, &l.tops)
}

// run reads the lines of text, which ends at a line's end or the stream's.
// The next text given to run must not start with a folded line.
func (l *lexer) run(text string) error {
	for len(text) > 0 {
		var ln string
		if i := strings.IndexByte(text, '\n'); i >= 0 {
			ln, text = text[:i], text[i+1:]
		} else {
			ln, text = text, ""
		}
		ln = strings.TrimSuffix(ln, "\r")
		l.lineNo++
		if len(ln) > 0 && (ln[0] == ' ' || ln[0] == '\t') && l.logicalLine > 0 {
			if !l.isFolded {
				l.folded = append(l.folded[:0], l.logical...)
				l.isFolded = true
			}
			l.folded = append(l.folded, ln[1:]...)
			continue
		}
		if err := l.flush(); err != nil {
			return err
		}
		l.logical, l.isFolded, l.logicalLine = ln, false, l.lineNo
	}
	err := l.flush()
	l.logicalLine = 0
	return err
}

func (l *lexer) flush() error {
	if l.logicalLine == 0 {
		return nil
	}
	if l.isFolded {
		l.logical = l.texts.add(l.folded)
	}
	return l.handle(l.logical, l.logicalLine)
}

// finish ends the stream: a component left open is cut off.
func (l *lexer) finish() error {
	if !l.seenCal {
		return &SyntaxError{File: l.source, Line: l.lineNo + 1, Col: 1, Msg: "no BEGIN:VCALENDAR in input"}
	}
	for len(l.stack) > 1 {
		if t := l.stack[1]; t.err == nil {
			t.err = fmt.Errorf("line %d: BEGIN:%s not closed before end of input", l.stack[len(l.stack)-1].line, l.stack[len(l.stack)-1].name)
		}
		l.closeInner()
	}
	return nil
}

// handle reads one logical line.
func (l *lexer) handle(raw string, line int) error {
	if strings.TrimSpace(raw) == "" {
		return nil
	}
	name, rest := splitName(raw)
	upper := strings.ToUpper(name)
	if upper == "BEGIN" || upper == "END" {
		val := strings.ToUpper(strings.TrimSpace(rest))
		if upper == "BEGIN" {
			return l.begin(raw, val, line)
		}
		l.end(val, line)
		return nil
	}
	if len(l.stack) == 0 {
		if !l.seenCal {
			return &SyntaxError{File: l.source, Line: line, Col: 1, Msg: fmt.Sprintf("expected BEGIN:VCALENDAR, got %q", truncate(raw, 40))}
		}
		return nil
	}
	if len(l.stack) == 1 {
		// Calendar properties: only X-WR-TIMEZONE is needed.
		if n := len("X-WR-TIMEZONE"); len(raw) > n && strings.EqualFold(raw[:n], "X-WR-TIMEZONE") && (raw[n] == ':' || raw[n] == ';') {
			if p, err := parseProperty(raw, line, &l.arena, ""); err == nil {
				l.stack[0].xwrTZ = strings.TrimSpace(unescapeText(p.value))
				l.stack[0].xwrSet = true
			}
		}
		return nil
	}
	if len(name) < len(raw) && !wantedProp(upper) {
		// A content line's name, in upper case already: the builder
		// does not read it.
		return nil
	}
	p, err := parseProperty(raw, line, &l.arena, upper)
	if err != nil {
		l.fail(line, err)
		return nil
	}
	d := len(l.stack) - 1
	l.props[d] = append(l.props[d], p)
	if p.name == "UID" && d == 1 {
		l.stack[d].uid = unescapeText(p.value)
	}
	return nil
}

func (l *lexer) begin(raw, val string, line int) error {
	if len(l.stack) == 0 {
		if val != "VCALENDAR" {
			if !l.seenCal {
				return &SyntaxError{File: l.source, Line: line, Col: 1, Msg: fmt.Sprintf("expected BEGIN:VCALENDAR, got %q", truncate(raw, 40))}
			}
			return nil // junk after the calendar
		}
		l.seenCal = true
	}
	if len(l.stack) >= 2 && topLevel[val] {
		// The open top-level component's END is missing or misspelt.
		t := l.stack[1]
		t.notes = append(t.notes, note{line, fmt.Errorf("BEGIN:%s (line %d) not closed before BEGIN:%s: closed there", t.name, t.line, val)})
		for len(l.stack) > 2 {
			l.closeInner()
		}
		l.closeInner()
	}
	if len(l.stack) >= maxDepth {
		l.fail(line, errors.New("components nested too deeply"))
		return nil
	}
	c := &component{name: val, line: line}
	l.props[len(l.stack)] = l.props[len(l.stack)][:0]
	l.stack = append(l.stack, c)
	return nil
}

func (l *lexer) end(val string, line int) {
	stack := l.stack
	for i := len(stack) - 1; i >= 0; i-- {
		if stack[i].name != val {
			continue
		}
		if i == 0 && len(stack) == 2 {
			// END:VCALENDAR with one top-level component open: its END
			// is missing, its content is complete.
			t := stack[1]
			t.notes = append(t.notes, note{line, fmt.Errorf("BEGIN:%s (line %d) not closed before END:VCALENDAR: closed there", t.name, t.line)})
		} else if i != len(stack)-1 {
			l.fail(line, fmt.Errorf("END:%s closes BEGIN:%s", val, stack[len(stack)-1].name))
		}
		for len(l.stack) > i+1 {
			l.closeInner()
		}
		l.closeInner()
		return
	}
	if len(stack) >= 2 {
		cur := stack[len(stack)-1]
		t := stack[1]
		if misspelt(val, cur.name) {
			t.notes = append(t.notes, note{line, fmt.Errorf("END:%s read as END:%s", truncate(val, 40), cur.name)})
			l.closeInner()
			return
		}
		t.notes = append(t.notes, note{line, fmt.Errorf("END:%s without BEGIN: ignored", truncate(val, 40))})
	}
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

// wantedProp reports the properties the builder reads, by upper-case
// name; the lexer drops the rest (X- properties, ...) unparsed. A switch,
// not a map: hashing every line's name was a thirtieth of a parse+expand.
func wantedProp(name string) bool {
	switch name {
	case "UID", "DTSTART", "DTEND", "DURATION", "RRULE",
		"RDATE", "EXDATE", "RECURRENCE-ID", "SEQUENCE",
		"SUMMARY", "DESCRIPTION", "LOCATION", "STATUS",
		"TRANSP", "CLASS", "CATEGORIES", "ATTENDEE",
		"ORGANIZER", "TZID", "TZOFFSETFROM", "TZOFFSETTO",
		"DTSTAMP", "EXRULE",
		"X-MICROSOFT-CDO-BUSYSTATUS", "X-MICROSOFT-CDO-INTENDEDSTATUS":
		return true
	}
	return false
}

// parseProperty reads one unfolded content line. Lines with parameters go
// through scanParams, or golang-ical's parser for those scanParams leaves
// to it; golang-ical's value is not used, because it unescapes TEXT values
// (so "a\,b" in CATEGORIES could no longer be told from two categories).
// Lines without parameters need no parser.
//
// upper is the line's name in upper case when the caller has it (up to its
// first ':' or ';'), else "": upper-casing every name twice showed in the
// profile.
func parseProperty(raw string, line int, a *paramArena, upper string) (property, error) {
	// upperName is only asked for a valid name: all ASCII, so upper is
	// its upper case when it is as long.
	upperName := func(n string) string {
		if len(upper) == len(n) {
			return upper
		}
		return strings.ToUpper(n)
	}
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
		return property{name: upperName(name), value: raw[colon+1:], line: line}, nil
	}
	if validName(raw[:semi]) {
		if ps, ok := scanParams(a.scratch[:0], raw, semi); ok {
			a.scratch = ps
			return property{name: upperName(raw[:semi]), params: a.take(ps), value: raw[colon+1:], line: line}, nil
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
	return property{name: upperName(raw[:semi]), params: a.take(ps), value: raw[colon+1:], line: line}, nil
}

// valueStart returns the index of the ':' that ends a content line's name
// and parameters: the first one outside a quoted parameter value.
func valueStart(raw string) int {
	if i := strings.IndexByte(raw, ':'); i < 0 || strings.IndexByte(raw[:i], '"') < 0 {
		return i // no quote before the first ':', the common case
	}
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
	i := strings.IndexByte(s, '\\')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		// The text up to the backslash goes in as one piece.
		b.WriteString(s[:i])
		if i+1 == len(s) {
			b.WriteByte('\\') // a lone backslash at the end stays
			return b.String()
		}
		switch c := s[i+1]; c {
		case 'n', 'N':
			b.WriteByte('\n')
		default:
			b.WriteByte(c)
		}
		s = s[i+2:]
		i = strings.IndexByte(s, '\\')
	}
	b.WriteString(s)
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
