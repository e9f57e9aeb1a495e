package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/calpresence/calpresence/rules"
)

// A user's own status (calpresence set) beats the calendar until it ends,
// as Teams, 3CX and Sametime do it: the override replaces the user's
// timeline from when it was set to its end, and the calendar's presence is
// published again from then on. It is kept in the state directory, so that
// it survives a restart, and it ends on the agent's clock.

// Override is a presence a user chose, in force from Since until Until.
type Override struct {
	// State is available, busy, dnd, away (rules.BuiltinStates) or the
	// name of one of the user's rules.
	State string `json:"state"`
	// Note replaces the state's note; "" keeps it.
	Note  string    `json:"note,omitempty"`
	Since time.Time `json:"since"`
	// Until is when the calendar takes over again; zero: when cleared.
	Until time.Time `json:"until,omitzero"`
}

// InputError is a request the agent refuses as it stands: an unknown
// user, an unknown state, an end in the past. Its message is one sentence.
type InputError struct{ msg string }

func (e *InputError) Error() string { return e.msg }

func inputErrorf(format string, args ...any) error {
	return &InputError{fmt.Sprintf(format, args...)}
}

// lookup finds the user id names; "" is the one user of a single-user
// agent.
func (a *Agent) lookup(id string) (*pipeline, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if id == "" {
		if len(a.order) != 1 {
			return nil, inputErrorf("the agent has %d users: say which with -user AOR", len(a.order))
		}
		id = a.order[0]
	}
	p := a.users[id]
	if p == nil {
		return nil, inputErrorf("unknown user %s", id)
	}
	return p, nil
}

// SetOverride makes o the user's presence from now (o.Since is set to the
// agent's clock) until o.Until, or for d if d > 0, and publishes it at once.
// It returns the user's id.
func (a *Agent) SetOverride(user string, o Override, d time.Duration) (string, error) {
	<-a.started
	p, err := a.lookup(user)
	if err != nil {
		return "", err
	}
	now := a.now()
	o.Since = now
	if d > 0 {
		o.Until = now.Add(d)
	}
	if !o.Until.IsZero() && !o.Until.After(now) {
		return "", inputErrorf("the end %s is not in the future", o.Until.Format(time.RFC3339))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return "", inputErrorf("unknown user %s", p.id)
	}
	if _, ok := p.spec.Rules.Chosen(o.State, o.Since, o.Until, o.Note, p.spec.Zone); !ok {
		return "", inputErrorf("unknown state %q: want %s or one of the user's rules (%s)", o.State,
			strings.Join(rules.BuiltinStates, ", "), strings.Join(p.spec.Rules.Names(), ", "))
	}
	if err := a.saveOverride(p.id, &o); err != nil {
		// It holds until the agent stops; say that it would not survive one.
		p.log.Warn("saving the override failed; it ends with the agent", "err", err)
	}
	p.override = &o
	p.log.Info("override set", "state", o.State, "until", o.Until)
	p.rebuildLocked()
	return p.id, nil
}

// ClearOverride ends the user's override now: the calendar's presence is
// published at once. It returns the user's id; clearing no override is
// not an error.
func (a *Agent) ClearOverride(user string) (string, error) {
	<-a.started
	p, err := a.lookup(user)
	if err != nil {
		return "", err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.override != nil {
		p.log.Info("override cleared", "state", p.override.State)
	}
	p.endOverride()
	p.rebuildLocked()
	return p.id, nil
}

// endOverride drops the override; p.mu is held.
func (p *pipeline) endOverride() {
	p.override = nil
	if err := p.a.removeOverride(p.id); err != nil {
		p.log.Warn("removing the saved override failed", "err", err)
	}
}

// withOverride lays the user's override over the calendar's segments of
// [from, to), ending it when it is over, and brings next forward to its
// end; p.mu is held.
func (p *pipeline) withOverride(segs []rules.Segment, now, from, to, next time.Time) ([]rules.Segment, time.Time) {
	o := p.override
	if o == nil {
		return segs, next
	}
	if !o.Until.IsZero() && !now.Before(o.Until) {
		p.log.Info("override ended; the calendar's presence is back", "state", o.State)
		p.endOverride()
		return segs, next
	}
	st, ok := p.spec.Rules.Chosen(o.State, o.Since, o.Until, o.Note, p.spec.Zone)
	if !ok { // the rule is gone from the reloaded rules
		p.log.Warn("override dropped: its state is no longer a rule", "state", o.State)
		p.endOverride()
		return segs, next
	}
	start, end := later(o.Since, from), to
	if !o.Until.IsZero() {
		end = earlier(o.Until, to)
		if o.Until.Before(next) {
			next = o.Until
		}
	}
	if !start.Before(end) {
		return segs, next
	}
	return splice(segs, rules.Segment{Start: start, End: end, State: st, Rule: o.State}), next
}

// later and earlier of two instants.
func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// splice puts s over the contiguous, sorted segments segs: those it covers
// go, those it overlaps are cut at its edges.
func splice(segs []rules.Segment, s rules.Segment) []rules.Segment {
	out := make([]rules.Segment, 0, len(segs)+2)
	placed := false
	for _, g := range segs {
		if !g.End.After(s.Start) || !g.Start.Before(s.End) { // apart from s
			if !placed && !g.Start.Before(s.End) {
				out = append(out, s)
				placed = true
			}
			out = append(out, g)
			continue
		}
		if g.Start.Before(s.Start) { // its head, before s
			h := g
			h.End = s.Start
			out = append(out, h)
		}
		if !placed {
			out = append(out, s)
			placed = true
		}
		if g.End.After(s.End) { // its tail, after s
			t := g
			t.Start = s.End
			out = append(out, t)
		}
	}
	if !placed {
		out = append(out, s)
	}
	return out
}

// overridePath is the file that keeps a user's override.
func (a *Agent) overridePath(user string) string {
	return filepath.Join(a.store.dir, "overrides", escapeName(user)+".json")
}

// savedOverride is the file format of an override.
type savedOverride struct {
	Version int    `json:"version"`
	User    string `json:"user"`
	Override
}

func (a *Agent) saveOverride(user string, o *Override) error {
	if a.store.dir == "" {
		return nil
	}
	data, err := json.Marshal(savedOverride{Version: stateVersion, User: user, Override: *o})
	if err != nil {
		return fmt.Errorf("save override: %w", err)
	}
	if err := writeAtomic(a.overridePath(user), data); err != nil {
		return fmt.Errorf("save override: %w", err)
	}
	return nil
}

func (a *Agent) removeOverride(user string) error {
	if a.store.dir == "" {
		return nil
	}
	if err := os.Remove(a.overridePath(user)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove override: %w", err)
	}
	return nil
}

// loadOverride reads the user's saved override: nil if there is none or
// it is unreadable (logged).
func (a *Agent) loadOverride(user string) *Override {
	if a.store.dir == "" {
		return nil
	}
	data, err := os.ReadFile(a.overridePath(user))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	var so savedOverride
	if err == nil {
		err = json.Unmarshal(data, &so)
	}
	if err != nil {
		a.log.Warn("saved override unreadable; ignored", "user", user, "err", err)
		return nil
	}
	if so.Version != stateVersion || so.User != user {
		return nil
	}
	return &so.Override
}

// writeAtomic writes data to path through a temporary file and a rename,
// so that a reader (or a crash) sees the old file or the new one.
func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Presence is what a user publishes now and why, for calpresence status.
type Presence struct {
	User string
	Zone *time.Location
	// Current is the segment in force, HasPresence false before the first
	// timeline; Current.End is when the presence changes next, as far as
	// the timeline reaches.
	Current     Segment
	HasPresence bool
	// Source is "override" while the user's own status is in force, else
	// "calendar" (Current.Rule is the rule, "" the default presence).
	Source string
	// Override is the user's override, nil if none.
	Override *Override
}

// Presences returns every user's presence, sorted by user.
func (a *Agent) Presences() []Presence {
	a.mu.Lock()
	ps := make([]*pipeline, 0, len(a.order))
	for _, id := range a.order {
		ps = append(ps, a.users[id])
	}
	a.mu.Unlock()
	now := a.now()
	out := make([]Presence, 0, len(ps))
	for _, p := range ps {
		p.mu.Lock()
		u := Presence{User: p.id, Zone: p.spec.Zone, Source: "calendar"}
		for _, s := range p.segs {
			if !now.Before(s.Start) && now.Before(s.End) {
				u.Current, u.HasPresence = s, true
				break
			}
		}
		if o := p.override; o != nil {
			oc := *o
			u.Override = &oc
			if !now.Before(o.Since) && (o.Until.IsZero() || now.Before(o.Until)) {
				u.Source = "override"
			}
		}
		p.mu.Unlock()
		out = append(out, u)
	}
	slices.SortFunc(out, func(x, y Presence) int { return strings.Compare(x.User, y.User) })
	return out
}
