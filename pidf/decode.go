package pidf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Unmarshal decodes a PIDF document. Elements are recognized by namespace,
// not prefix, since presence servers re-prefix the documents they merge;
// elements this package does not model are skipped.
func Unmarshal(data []byte) (*Document, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	for {
		tok, err := dec.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil, errors.New("pidf: decode: no <presence> element")
			}
			return nil, fmt.Errorf("pidf: decode: %w", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Space != NSPIDF || se.Name.Local != "presence" {
			return nil, fmt.Errorf("pidf: decode: root element is {%s}%s, want {%s}presence", se.Name.Space, se.Name.Local, NSPIDF)
		}
		d := &Document{Entity: attr(se, "", "entity")}
		if err := decodePresence(dec, d); err != nil {
			return nil, fmt.Errorf("pidf: decode: %w", err)
		}
		// Nothing but whitespace, comments and processing instructions may follow.
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) {
				return d, nil
			}
			if err != nil {
				return nil, fmt.Errorf("pidf: decode: %w", err)
			}
			if _, ok := tok.(xml.StartElement); ok {
				return nil, errors.New("pidf: decode: content after </presence>")
			}
		}
	}
}

func attr(se xml.StartElement, space, local string) string {
	for _, a := range se.Attr {
		if a.Name.Space == space && a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

// children calls f for each child element of the element just started,
// and consumes its end.
func children(dec *xml.Decoder, f func(se xml.StartElement) error) error {
	return childrenText(dec, nil, f)
}

// text returns the character data of the element just started, skipping
// any child elements.
func text(dec *xml.Decoder) (string, error) {
	var b strings.Builder
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if depth == 0 {
				b.Write(t)
			}
		case xml.StartElement:
			depth++
		case xml.EndElement:
			if depth == 0 {
				return b.String(), nil
			}
			depth--
		}
	}
}

func note(dec *xml.Decoder, se xml.StartElement) (Note, error) {
	s, err := text(dec)
	return Note{Lang: attr(se, NSXML, "lang"), Text: s}, err
}

func timestamp(dec *xml.Decoder) (time.Time, error) {
	s, err := text(dec)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, fmt.Errorf("timestamp: %w", err)
	}
	return t, nil
}

func span(se xml.StartElement) (Span, error) {
	var s Span
	for _, a := range se.Attr {
		if a.Name.Space != "" {
			continue
		}
		var dst *time.Time
		switch a.Name.Local {
		case "from":
			dst = &s.From
		case "until":
			dst = &s.Until
		default:
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(a.Value))
		if err != nil {
			return s, fmt.Errorf("%s %s: %w", se.Name.Local, a.Name.Local, err)
		}
		*dst = t
	}
	return s, nil
}

func decodePresence(dec *xml.Decoder, d *Document) error {
	return children(dec, func(se xml.StartElement) error {
		switch se.Name {
		case xml.Name{Space: NSPIDF, Local: "tuple"}:
			t, err := decodeTuple(dec, se)
			d.Tuples = append(d.Tuples, t)
			return err
		case xml.Name{Space: NSPIDF, Local: "note"}:
			n, err := note(dec, se)
			d.Notes = append(d.Notes, n)
			return err
		case xml.Name{Space: NSDataModel, Local: "person"}:
			p, err := decodePerson(dec, se)
			d.Persons = append(d.Persons, p)
			return err
		case xml.Name{Space: NSDataModel, Local: "device"}:
			dv, err := decodeDevice(dec, se)
			d.Devices = append(d.Devices, dv)
			return err
		case xml.Name{Space: NSFarewell, Local: "farewell"}:
			d.Farewell = true
		}
		return dec.Skip()
	})
}

func decodeTuple(dec *xml.Decoder, se xml.StartElement) (Tuple, error) {
	t := Tuple{ID: attr(se, "", "id")}
	err := children(dec, func(se xml.StartElement) error {
		var err error
		switch se.Name {
		case xml.Name{Space: NSPIDF, Local: "status"}:
			return children(dec, func(se xml.StartElement) error {
				if se.Name == (xml.Name{Space: NSPIDF, Local: "basic"}) {
					s, err := text(dec)
					t.Basic = strings.TrimSpace(s)
					return err
				}
				return dec.Skip()
			})
		case xml.Name{Space: NSPIDF, Local: "contact"}:
			t.Priority = attr(se, "", "priority")
			var s string
			s, err = text(dec)
			t.Contact = strings.TrimSpace(s)
		case xml.Name{Space: NSPIDF, Local: "note"}:
			var n Note
			n, err = note(dec, se)
			t.Notes = append(t.Notes, n)
		case xml.Name{Space: NSPIDF, Local: "timestamp"}:
			t.Timestamp, err = timestamp(dec)
		case xml.Name{Space: NSDataModel, Local: "deviceID"}:
			var s string
			s, err = text(dec)
			t.DeviceID = strings.TrimSpace(s)
		default:
			err = dec.Skip()
		}
		return err
	})
	return t, err
}

func decodeDevice(dec *xml.Decoder, se xml.StartElement) (Device, error) {
	d := Device{ID: attr(se, "", "id")}
	err := children(dec, func(se xml.StartElement) error {
		var err error
		switch se.Name {
		case xml.Name{Space: NSDataModel, Local: "deviceID"}:
			var s string
			s, err = text(dec)
			d.DeviceID = strings.TrimSpace(s)
		case xml.Name{Space: NSDataModel, Local: "note"}:
			var n Note
			n, err = note(dec, se)
			d.Notes = append(d.Notes, n)
		case xml.Name{Space: NSDataModel, Local: "timestamp"}:
			d.Timestamp, err = timestamp(dec)
		default:
			err = dec.Skip()
		}
		return err
	})
	return d, err
}

// rpidList decodes an RPID element made of empty value elements, <note>s
// and an optional <other>; values in valueSpace are collected in order.
func rpidList(dec *xml.Decoder, valueSpace string, names []string, values *[]string, other *string, notes *[]Note) error {
	return children(dec, func(se xml.StartElement) error {
		switch {
		case se.Name.Space == NSRPID && se.Name.Local == "note":
			n, err := note(dec, se)
			*notes = append(*notes, n)
			return err
		case se.Name.Space == NSRPID && se.Name.Local == "other":
			s, err := text(dec)
			*other = s
			return err
		case se.Name.Space == valueSpace && known(names, se.Name.Local):
			*values = append(*values, se.Name.Local)
		}
		return dec.Skip()
	})
}

func decodePerson(dec *xml.Decoder, se xml.StartElement) (Person, error) {
	p := Person{ID: attr(se, "", "id")}
	err := children(dec, func(se xml.StartElement) error {
		if se.Name.Space == NSRPID {
			sp, err := span(se)
			if err != nil {
				return err
			}
			switch se.Name.Local {
			case "activities":
				a := &Activities{Span: sp}
				p.Activities = a
				return children(dec, func(se xml.StartElement) error {
					if se.Name.Space != NSRPID {
						return dec.Skip()
					}
					switch {
					case se.Name.Local == "note":
						n, err := note(dec, se)
						a.Notes = append(a.Notes, n)
						return err
					case se.Name.Local == "other":
						s, err := text(dec)
						a.Values = append(a.Values, Activity{Name: "other", Text: s})
						return err
					case IsActivity(se.Name.Local):
						a.Values = append(a.Values, Activity{Name: se.Name.Local})
					}
					return dec.Skip()
				})
			case "mood":
				m := &Mood{Span: sp}
				p.Mood = m
				return rpidList(dec, NSRPID, moodNames, &m.Values, &m.Other, &m.Notes)
			case "place-type":
				pt := &PlaceType{Span: sp}
				p.PlaceType = pt
				return rpidList(dec, NSLocationType, placeTypeNames, &pt.Values, &pt.Other, &pt.Notes)
			case "privacy":
				pr := &Privacy{Span: sp}
				p.Privacy = pr
				var other string
				return rpidList(dec, NSRPID, privacyNames, &pr.Values, &other, &pr.Notes)
			case "sphere":
				s := &Sphere{Span: sp}
				p.Sphere = s
				var b strings.Builder
				err := childrenText(dec, &b, func(se xml.StartElement) error {
					if se.Name.Space == NSRPID && IsSphere(se.Name.Local) {
						s.Value = se.Name.Local
					}
					return dec.Skip()
				})
				if s.Value == "" {
					s.Value = b.String()
				}
				return err
			}
			return dec.Skip()
		}
		var err error
		switch se.Name {
		case xml.Name{Space: NSDataModel, Local: "note"}:
			var n Note
			n, err = note(dec, se)
			p.Notes = append(p.Notes, n)
		case xml.Name{Space: NSDataModel, Local: "timestamp"}:
			p.Timestamp, err = timestamp(dec)
		default:
			err = dec.Skip()
		}
		return err
	})
	return p, err
}

// childrenText is children that also collects the element's own text
// into b, unless b is nil.
func childrenText(dec *xml.Decoder, b *strings.Builder, f func(se xml.StartElement) error) error {
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b != nil {
				b.Write(t)
			}
		case xml.StartElement:
			if err := f(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}
