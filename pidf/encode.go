package pidf

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/calpresence/calpresence/internal/xmltext"
)

// Marshal encodes d as well-formed UTF-8 XML. Text is escaped, invalid
// UTF-8 is replaced and characters XML 1.0 forbids are dropped, so any
// calendar text is safe. Equal documents give identical bytes.
func (d *Document) Marshal() ([]byte, error) {
	var w writer
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<presence xmlns="` + NSPIDF + `" xmlns:dm="` + NSDataModel + `" xmlns:rpid="` + NSRPID + `"`)
	if d.needsLT() {
		w.WriteString(` xmlns:lt="` + NSLocationType + `"`)
	}
	w.Attr("entity", d.Entity)
	w.WriteString(">\n")
	// RFC 3863 §4.1: tuples, then notes, then extensions (RFC 4479 persons and devices).
	for _, t := range d.Tuples {
		w.tuple(&t)
	}
	for _, n := range d.Notes {
		w.note("  ", "note", n)
	}
	for _, p := range d.Persons {
		w.person(&p)
	}
	for _, dv := range d.Devices {
		w.WriteString(`  <dm:device`)
		w.Attr("id", dv.ID)
		w.WriteString(">\n")
		if dv.DeviceID != "" {
			w.elem("    ", "dm:deviceID", dv.DeviceID)
		}
		for _, n := range dv.Notes {
			w.note("    ", "dm:note", n)
		}
		w.timestamp("    ", "dm:timestamp", dv.Timestamp)
		w.WriteString("  </dm:device>\n")
	}
	if d.Farewell {
		// Declared on the element itself, so that it stays whole when a
		// server copies it into a merged document.
		w.WriteString(`  <cp:farewell xmlns:cp="` + NSFarewell + `"><cp:basic/></cp:farewell>` + "\n")
	}
	w.WriteString("</presence>\n")
	return w.Bytes(), nil
}

func (d *Document) needsLT() bool {
	for _, p := range d.Persons {
		if p.PlaceType != nil && (len(p.PlaceType.Values) > 0 || p.PlaceType.Other != "") {
			return true
		}
	}
	return false
}

type writer struct{ xmltext.Buffer }

func (w *writer) tuple(t *Tuple) {
	w.WriteString("  <tuple")
	w.Attr("id", t.ID)
	w.WriteString(">\n")
	// RFC 3863 §4.1.2: status, extensions, contact, note*, timestamp.
	w.WriteString("    <status>")
	if t.Basic != "" {
		w.WriteString("<basic>")
		w.Text(t.Basic)
		w.WriteString("</basic>")
	}
	w.WriteString("</status>\n")
	if t.DeviceID != "" {
		w.elem("    ", "dm:deviceID", t.DeviceID)
	}
	if t.Contact != "" {
		w.WriteString("    <contact")
		if t.Priority != "" {
			w.Attr("priority", t.Priority)
		}
		w.WriteString(">")
		w.Text(t.Contact)
		w.WriteString("</contact>\n")
	}
	for _, n := range t.Notes {
		w.note("    ", "note", n)
	}
	w.timestamp("    ", "timestamp", t.Timestamp)
	w.WriteString("  </tuple>\n")
}

func (w *writer) person(p *Person) {
	w.WriteString("  <dm:person")
	w.Attr("id", p.ID)
	w.WriteString(">\n")
	// RFC 4479 §4.1: extensions (RPID), note*, timestamp.
	if a := p.Activities; a != nil {
		w.open("rpid:activities", a.Span)
		for _, n := range a.Notes {
			w.note("      ", "rpid:note", n)
		}
		for _, v := range a.Values {
			if v.Name == "other" {
				w.elem("      ", "rpid:other", v.Text)
				continue
			}
			w.empty("      ", "rpid:"+v.Name)
		}
		w.WriteString("    </rpid:activities>\n")
	}
	if m := p.Mood; m != nil {
		w.enumerated("rpid:mood", m.Span, m.Notes, "rpid:", m.Values, m.Other)
	}
	if pt := p.PlaceType; pt != nil {
		w.enumerated("rpid:place-type", pt.Span, pt.Notes, "lt:", pt.Values, pt.Other)
	}
	if pr := p.Privacy; pr != nil {
		w.enumerated("rpid:privacy", pr.Span, pr.Notes, "rpid:", pr.Values, "")
	}
	if s := p.Sphere; s != nil {
		w.WriteString("    <rpid:sphere")
		w.span(s.Span)
		w.WriteString(">")
		if IsSphere(s.Value) {
			w.WriteString("<rpid:" + s.Value + "/>")
		} else {
			w.Text(s.Value)
		}
		w.WriteString("</rpid:sphere>\n")
	}
	for _, n := range p.Notes {
		w.note("    ", "dm:note", n)
	}
	w.timestamp("    ", "dm:timestamp", p.Timestamp)
	w.WriteString("  </dm:person>\n")
}

// enumerated writes an RPID element whose content is notes, then empty
// elements named by values (with prefix), then an optional <rpid:other>:
// mood, place-type and privacy (RFC 4480 §3.6–3.8).
func (w *writer) enumerated(name string, s Span, notes []Note, prefix string, values []string, other string) {
	w.open(name, s)
	for _, n := range notes {
		w.note("      ", "rpid:note", n)
	}
	for _, v := range values {
		w.empty("      ", prefix+v)
	}
	if other != "" {
		w.elem("      ", "rpid:other", other)
	}
	w.WriteString("    </" + name + ">\n")
}

func (w *writer) open(name string, s Span) {
	w.WriteString("    <" + name)
	w.span(s)
	w.WriteString(">\n")
}

func (w *writer) span(s Span) {
	if !s.From.IsZero() {
		w.Attr("from", formatTime(s.From))
	}
	if !s.Until.IsZero() {
		w.Attr("until", formatTime(s.Until))
	}
}

func (w *writer) empty(indent, name string) {
	w.WriteString(indent + "<" + name + "/>\n")
}

func (w *writer) elem(indent, name, text string) {
	w.WriteString(indent + "<" + name + ">")
	w.Text(text)
	w.WriteString("</" + name + ">\n")
}

func (w *writer) note(indent, name string, n Note) {
	w.WriteString(indent + "<" + name)
	if n.Lang != "" {
		w.Attr("xml:lang", n.Lang)
	}
	w.WriteString(">")
	w.Text(n.Text)
	w.WriteString("</" + name + ">\n")
}

func (w *writer) timestamp(indent, name string, t time.Time) {
	if !t.IsZero() {
		w.elem(indent, name, formatTime(t))
	}
}

func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

// Shorten returns s cut to at most limit characters (runes) for displays
// such as desk phones that show only so much (Grandstream: 64): on a word
// boundary where there is one, with an ellipsis. limit <= 0 means no
// limit. Whitespace runs are collapsed first.
func Shorten(s string, limit int) string {
	if !collapsed(s) { // the rules engine calls this for every segment: most notes need no copy
		s = strings.Join(strings.Fields(s), " ")
	}
	if limit <= 0 || utf8.RuneCountInString(s) <= limit {
		return s
	}
	if limit == 1 {
		return "…"
	}
	runes := []rune(s)
	cut := runes[:limit-1] // room for the ellipsis
	// Back up to the last space, unless the cut already falls between
	// words or that would lose more than half the text.
	for i := len(cut) - 1; runes[len(cut)] != ' ' && i >= len(cut)/2; i-- {
		if cut[i] == ' ' {
			cut = cut[:i]
			break
		}
	}
	return strings.TrimRight(string(cut), " ,;:.-") + "…"
}

// collapsed reports whether s is already as strings.Fields and a join with
// single spaces would leave it.
func collapsed(s string) bool {
	space := true // at the start, a space would be leading
	for _, r := range s {
		switch {
		case r == ' ':
			if space {
				return false
			}
			space = true
		case unicode.IsSpace(r):
			return false
		default:
			space = false
		}
	}
	return !space || s == ""
}
