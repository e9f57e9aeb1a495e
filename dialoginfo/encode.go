package dialoginfo

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/calpresence/calpresence/internal/xmltext"
)

// Marshal encodes d as well-formed UTF-8 XML that is valid against the
// schema of RFC 4235. Text is escaped, invalid UTF-8 is replaced and
// characters XML 1.0 forbids are dropped, so any calendar text is safe.
// Equal documents give identical bytes. It fails only for values the
// schema does not allow (see Validate).
func (d *Document) Marshal() ([]byte, error) {
	if err := d.Validate(); err != nil {
		return nil, err
	}
	var w writer
	w.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	w.WriteString(`<dialog-info xmlns="` + NS + `"`)
	w.Attr("version", strconv.FormatUint(d.Version, 10))
	w.Attr("state", d.State)
	w.Attr("entity", d.Entity)
	if len(d.Dialogs) == 0 {
		w.WriteString("/>\n")
		return w.Bytes(), nil
	}
	w.WriteString(">\n")
	for _, dl := range d.Dialogs {
		w.dialog(&dl)
	}
	w.WriteString("</dialog-info>\n")
	return w.Bytes(), nil
}

// Validate reports the first value of d that the RFC 4235 schema does not
// allow: a State other than Full or Partial, a dialog without an id, a
// dialog state, direction or event outside States, Directions and Events,
// or a code outside 100..699.
func (d *Document) Validate() error {
	if err := d.validate(); err != nil {
		return fmt.Errorf("dialoginfo: %w", err)
	}
	return nil
}

func (d *Document) validate() error {
	if d.State != Full && d.State != Partial {
		return fmt.Errorf("state %q is not %q or %q", d.State, Full, Partial)
	}
	for i, dl := range d.Dialogs {
		switch {
		case dl.ID == "":
			return fmt.Errorf("dialog %d has no id", i)
		case !slices.Contains(States, dl.State):
			return fmt.Errorf("dialog %q: state %q is not one of %v", dl.ID, dl.State, States)
		case dl.Direction != "" && !slices.Contains(Directions, dl.Direction):
			return fmt.Errorf("dialog %q: direction %q is not one of %v", dl.ID, dl.Direction, Directions)
		case dl.Event != "" && !slices.Contains(Events, dl.Event):
			return fmt.Errorf("dialog %q: event %q is not one of %v", dl.ID, dl.Event, Events)
		case dl.Code != 0 && (dl.Code < 100 || dl.Code > 699):
			return fmt.Errorf("dialog %q: code %d is not a SIP status code (100..699)", dl.ID, dl.Code)
		}
	}
	return nil
}

type writer struct{ xmltext.Buffer }

// dialog writes a <dialog> in the schema's order: state, duration, local,
// remote.
func (w *writer) dialog(dl *Dialog) {
	w.WriteString("  <dialog")
	w.Attr("id", dl.ID)
	if dl.CallID != "" {
		w.Attr("call-id", dl.CallID)
	}
	if dl.LocalTag != "" {
		w.Attr("local-tag", dl.LocalTag)
	}
	if dl.RemoteTag != "" {
		w.Attr("remote-tag", dl.RemoteTag)
	}
	if dl.Direction != "" {
		w.Attr("direction", dl.Direction)
	}
	w.WriteString(">\n    <state")
	if dl.Event != "" {
		w.Attr("event", dl.Event)
	}
	if dl.Code != 0 {
		w.Attr("code", strconv.Itoa(dl.Code))
	}
	w.WriteString(">" + dl.State + "</state>\n")
	if dl.Duration != nil {
		w.WriteString("    <duration>" + strconv.FormatUint(*dl.Duration, 10) + "</duration>\n")
	}
	w.participant("local", dl.Local)
	w.participant("remote", dl.Remote)
	w.WriteString("  </dialog>\n")
}

func (w *writer) participant(name string, p *Participant) {
	if p == nil {
		return
	}
	w.WriteString("    <" + name + ">\n")
	if p.Identity != "" || p.Display != "" {
		w.WriteString("      <identity")
		if p.Display != "" {
			w.Attr("display", p.Display)
		}
		w.WriteString(">")
		w.Text(p.Identity)
		w.WriteString("</identity>\n")
	}
	if p.Target != "" {
		w.WriteString("      <target")
		w.Attr("uri", p.Target)
		w.WriteString("/>\n")
	}
	w.WriteString("    </" + name + ">\n")
}
