package calendar

import (
	"slices"
	"strings"
	"unsafe"

	ics "github.com/arran4/golang-ical"
)

// param is one parameter value of a content line: its name in upper case
// and one of its values, unescaped as golang-ical unescapes it. A
// parameter with several values (MEMBER="a","b") is several params, in
// the line's order.
type param struct {
	name, value string
}

// paramArena hands out parameter slices from shared chunks, so that the
// lexer allocates one chunk per few thousand parameters rather than a map
// per property.
type paramArena struct{ buf, scratch []param }

// take returns a slice of ps with its own capacity (appends to it never
// reach another property's parameters).
func (a *paramArena) take(ps []param) []param {
	if len(ps) == 0 {
		return nil
	}
	if cap(a.buf)-len(a.buf) < len(ps) {
		a.buf = make([]param, 0, max(1024, len(ps)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, ps...)
	return a.buf[n : n+len(ps) : n+len(ps)]
}

// scanParams reads the parameters of the content line s whose name ends at
// semi (s[semi] == ';') as golang-ical's ParseProperty does, appending them
// to dst. It only accepts the lines it reads exactly as golang-ical does
// and that need no unescaping: it returns ok false for a line with a
// backslash in a parameter value, a parameter name that does not start
// right after the ';', or any line golang-ical rejects, and the caller
// then asks golang-ical (for its result and its error message).
//
// golang-ical (v0.3.6) finds a parameter's name with an unanchored regular
// expression and copies every value into a new byte slice: the profile of
// BenchmarkParseExpand5k showed its parser as a fifth of all bytes
// allocated. FuzzScanParams holds this reader to it.
func scanParams(dst []param, s string, semi int) (_ []param, ok bool) {
	p := semi
	for {
		if p >= len(s) {
			return dst, false
		}
		switch s[p] {
		case ':':
			return dst, true
		case ';':
		default:
			return dst, false
		}
		p++
		k := p
		for p < len(s) && isTokenChar(s[p]) {
			p++
		}
		if p == k || p >= len(s) || s[p] != '=' {
			return dst, false
		}
		name := strings.ToUpper(s[k:p])
		p++
		for {
			if p >= len(s) {
				return dst, false
			}
			var v string
			if v, p, ok = scanParamValue(s, p); !ok {
				return dst, false
			}
			dst = append(dst, param{name: name, value: v})
			if p >= len(s) {
				return dst, false
			}
			if s[p] != ',' {
				break
			}
			p++
		}
	}
}

// scanParamValue reads one parameter value starting at s[ip]: a quoted
// string, ending after its closing quote, or a bare value, ending at the
// next ';', ':' or ','.
func scanParamValue(s string, ip int) (v string, p int, ok bool) {
	quoted := false
	for p = ip; p < len(s); p++ {
		switch c := s[p]; {
		case c <= 0x08 || c >= 0x0a && c <= 0x1f, c == '\\':
			return "", 0, false
		case c == ';' || c == ':' || c == ',':
			if !quoted {
				return s[ip:p], p, true
			}
		case c == '"':
			switch {
			case p == ip:
				quoted = true
			case quoted:
				return s[ip+1 : p], p + 1, true
			default:
				return "", 0, false
			}
		}
	}
	// Unterminated: golang-ical reports the end of the line.
	return "", p, false
}

func isTokenChar(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-'
}

// libraryParams is golang-ical's parameter map as a list: names in upper
// case (RFC 5545 §3.2: they are case-insensitive), names spelt alike
// merged, in the order of their spellings.
func libraryParams(dst []param, m map[string][]string) []param {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		for _, v := range m[k] {
			dst = append(dst, param{name: strings.ToUpper(k), value: v})
		}
	}
	slices.SortStableFunc(dst, func(a, b param) int { return strings.Compare(a.name, b.name) })
	return dst
}

// parseLibraryParams runs golang-ical's parser on a line scanParams did
// not take; ok is false when it returned no property and no error.
func parseLibraryParams(dst []param, raw string) (_ []param, ok bool, err error) {
	bp, err := ics.ParseProperty(ics.ContentLine(raw))
	if err != nil || bp == nil {
		return dst, false, err
	}
	return libraryParams(dst, bp.ICalParameters), true, nil
}

// propertyArena is paramArena for the properties of components.
type propertyArena struct{ buf []property }

func (a *propertyArena) take(ps []property) []property {
	if len(ps) == 0 {
		return nil
	}
	if cap(a.buf)-len(a.buf) < len(ps) {
		a.buf = make([]property, 0, max(512, len(ps)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, ps...)
	return a.buf[n : n+len(ps) : n+len(ps)]
}

// textArena keeps unfolded lines in shared chunks that are only ever
// appended to, so the strings it hands out never change.
type textArena struct{ buf []byte }

func (a *textArena) add(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, max(64<<10, len(b)))
	}
	n := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[n], len(b))
}
