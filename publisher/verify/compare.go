package verify

import (
	"bytes"
	"slices"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/pidf"
)

// Holds reports whether the document a presence server sent watchers
// (notify, a NOTIFY body, possibly merging other publications) shows want,
// the document the agent has in force for the presentity, whose tuple and
// person ids start with idBase (pidf.IDBase). It compares decoded
// documents, by element and namespace, not bytes: servers rewrite prefixes
// and order when they aggregate (Kamailio does). Of the agent's tuples it
// compares basic and notes, of its persons the activities and notes;
// timestamps are the server's to change. A nil want holds when the agent's
// person is gone and its tuple gone or closed (Kamailio's view of a removed
// publication). A notify body that is not PIDF holds nothing but a nil want
// when it is empty.
func Holds(notify, want []byte, idBase string) bool {
	var got *pidf.Document
	if len(bytes.TrimSpace(notify)) == 0 {
		got = &pidf.Document{}
	} else {
		d, err := pidf.Unmarshal(notify)
		if err != nil {
			return false
		}
		got = d
	}
	if want == nil {
		for _, p := range got.Persons {
			if p.ID == idBase+"-p" {
				return false
			}
		}
		for _, t := range got.Tuples {
			if t.ID == idBase+"-t" && t.Basic != "closed" {
				return false
			}
		}
		return true
	}
	w, err := pidf.Unmarshal(want)
	if err != nil {
		return false // cannot happen for the agent's documents
	}
	for _, wt := range w.Tuples {
		i := slices.IndexFunc(got.Tuples, func(t pidf.Tuple) bool { return t.ID == wt.ID })
		if i < 0 || got.Tuples[i].Basic != wt.Basic || !sameNotes(got.Tuples[i].Notes, wt.Notes) {
			return false
		}
	}
	for _, wp := range w.Persons {
		i := slices.IndexFunc(got.Persons, func(p pidf.Person) bool { return p.ID == wp.ID })
		if i < 0 || !sameActivities(got.Persons[i].Activities, wp.Activities) || !sameNotes(got.Persons[i].Notes, wp.Notes) {
			return false
		}
	}
	return true
}

func sameNotes(a, b []pidf.Note) bool {
	return slices.EqualFunc(a, b, func(x, y pidf.Note) bool { return x.Text == y.Text })
}

func sameActivities(a, b *pidf.Activities) bool {
	var av, bv []pidf.Activity
	if a != nil {
		av = a.Values
	}
	if b != nil {
		bv = b.Values
	}
	return slices.EqualFunc(av, bv, func(x, y pidf.Activity) bool { return x.Name == y.Name && x.Text == y.Text })
}

// HoldsDialog reports whether the dialog-info document (RFC 4235) a
// presence server sent watchers (notify, a NOTIFY body, possibly
// aggregating a phone's own dialogs) shows want, the document the agent's
// dialog publisher has in force, whose dialog has the id id
// (dialoginfo.IDFor). It compares decoded documents, by namespace: the
// dialog id must be there with the state published. When the agent
// publishes nothing (want nil) or its dialog only terminated, the dialog
// may be absent or terminated (Kamailio drops a removed publication's
// dialogs, and may notify a terminated one during its linger). An empty
// notify body has no dialogs; one that does not decode holds nothing.
func HoldsDialog(notify, want []byte, id string) bool {
	got := ""
	if len(bytes.TrimSpace(notify)) > 0 {
		d, err := dialoginfo.Unmarshal(notify)
		if err != nil {
			return false
		}
		got = dialogState(d, id)
	}
	wanted := ""
	if want != nil {
		d, err := dialoginfo.Unmarshal(want)
		if err != nil {
			return false // cannot happen for the agent's documents
		}
		wanted = dialogState(d, id)
	}
	if wanted == "" || wanted == dialoginfo.Terminated {
		return got == "" || got == dialoginfo.Terminated
	}
	return got == wanted
}

// dialogState is the state of the dialog id in d, "" if d has none.
func dialogState(d *dialoginfo.Document, id string) string {
	for _, dl := range d.Dialogs {
		if dl.ID == id {
			return dl.State
		}
	}
	return ""
}
