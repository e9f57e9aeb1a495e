package dialoginfo

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Wire structs of RFC 4235 §4.1. Elements are matched by namespace, not
// prefix, since presence servers re-prefix the documents they aggregate;
// elements and attributes this package does not model are skipped.
type (
	xmlDocument struct {
		XMLName xml.Name    `xml:"urn:ietf:params:xml:ns:dialog-info dialog-info"`
		Version string      `xml:"version,attr"`
		State   string      `xml:"state,attr"`
		Entity  string      `xml:"entity,attr"`
		Dialogs []xmlDialog `xml:"urn:ietf:params:xml:ns:dialog-info dialog"`
	}
	// xmlDialog is <dialog>.
	xmlDialog struct {
		ID        string          `xml:"id,attr"`
		CallID    string          `xml:"call-id,attr"`
		LocalTag  string          `xml:"local-tag,attr"`
		RemoteTag string          `xml:"remote-tag,attr"`
		Direction string          `xml:"direction,attr"`
		State     *xmlState       `xml:"urn:ietf:params:xml:ns:dialog-info state"`
		Duration  *string         `xml:"urn:ietf:params:xml:ns:dialog-info duration"`
		Local     *xmlParticipant `xml:"urn:ietf:params:xml:ns:dialog-info local"`
		Remote    *xmlParticipant `xml:"urn:ietf:params:xml:ns:dialog-info remote"`
	}
	// xmlState is <state>.
	xmlState struct {
		Event string `xml:"event,attr"`
		Code  string `xml:"code,attr"`
		Value string `xml:",chardata"`
	}
	// xmlParticipant is <local> or <remote>.
	xmlParticipant struct {
		Identity *struct {
			Display string `xml:"display,attr"`
			URI     string `xml:",chardata"`
		} `xml:"urn:ietf:params:xml:ns:dialog-info identity"`
		Target *struct {
			URI string `xml:"uri,attr"`
		} `xml:"urn:ietf:params:xml:ns:dialog-info target"`
	}
)

// Unmarshal decodes a dialog-info document: its root must be <dialog-info>
// in the namespace NS with a version and a state, and every dialog needs an
// id and a state. Values the schema does not allow are errors (see
// Validate), so whatever decodes can be encoded again.
func Unmarshal(data []byte) (*Document, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var x xmlDocument
	if err := dec.Decode(&x); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("dialoginfo: decode: no <dialog-info> element")
		}
		return nil, fmt.Errorf("dialoginfo: decode: %w", err)
	}
	// Nothing but whitespace, comments and processing instructions may follow.
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("dialoginfo: decode: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return nil, errors.New("dialoginfo: decode: content after </dialog-info>")
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, errors.New("dialoginfo: decode: text after </dialog-info>")
			}
		}
	}
	v, err := strconv.ParseUint(strings.TrimSpace(x.Version), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("dialoginfo: decode: version %q is not a non-negative integer", x.Version)
	}
	d := &Document{Entity: x.Entity, Version: v, State: x.State}
	for _, xd := range x.Dialogs {
		dl := Dialog{ID: xd.ID, CallID: xd.CallID, LocalTag: xd.LocalTag, RemoteTag: xd.RemoteTag, Direction: xd.Direction}
		if xd.State == nil {
			return nil, fmt.Errorf("dialoginfo: decode: dialog %q has no <state>", xd.ID)
		}
		dl.State, dl.Event = strings.TrimSpace(xd.State.Value), xd.State.Event
		if c := strings.TrimSpace(xd.State.Code); c != "" {
			if dl.Code, err = strconv.Atoi(c); err != nil || dl.Code == 0 {
				return nil, fmt.Errorf("dialoginfo: decode: dialog %q: code %q is not a SIP status code", xd.ID, c)
			}
		}
		if xd.Duration != nil {
			n, err := strconv.ParseUint(strings.TrimSpace(*xd.Duration), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("dialoginfo: decode: dialog %q: duration %q is not a non-negative integer", xd.ID, *xd.Duration)
			}
			dl.Duration = &n
		}
		dl.Local, dl.Remote = participant(xd.Local), participant(xd.Remote)
		d.Dialogs = append(d.Dialogs, dl)
	}
	if err := d.validate(); err != nil {
		return nil, fmt.Errorf("dialoginfo: decode: %w", err)
	}
	return d, nil
}

func participant(x *xmlParticipant) *Participant {
	if x == nil {
		return nil
	}
	p := &Participant{}
	if x.Identity != nil {
		p.Identity, p.Display = strings.TrimSpace(x.Identity.URI), x.Identity.Display
	}
	if x.Target != nil {
		p.Target = x.Target.URI
	}
	return p
}
