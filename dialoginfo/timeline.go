package dialoginfo

import (
	"cmp"
	"slices"
	"time"
)

// Span is a stretch of time [Start, End) during which the user's BLF lamp
// shows busy: a segment whose rule says blf = true.
type Span struct {
	Start, End time.Time
}

// Entry is one document of a publication's timeline: Body during [Start,
// End). It has the shape of publisher.Entry, so publisher.Entry(e)
// converts it.
type Entry struct {
	Start, End time.Time
	Body       []byte
}

// DefaultLinger is how long a terminated document stays published after a
// busy span before the publication is removed (TimelineOptions.Linger).
const DefaultLinger = 10 * time.Second

// TimelineOptions configure Timeline. The zero value is the default.
type TimelineOptions struct {
	// Linger is how long the terminated document stays published after a
	// span ends (default DefaultLinger): servers that keep a removed
	// publication's last state, and phones that ignore a NOTIFY without a
	// body, still see the lamp go dark at the span's end.
	Linger time.Duration
}

// Timeline returns the dialog publication of aor for spans: during each
// span a full document with one confirmed dialog, from its end for Linger
// (or until the next span, if sooner) the same dialog terminated, and no
// entry — no publication — otherwise. Overlapping and touching spans are
// merged; empty ones are dropped.
//
// The dialog's id is IDFor(aor), its direction Recipient (the user is
// taken up by something that came to them, not by a call they placed; it
// is never early, which phones show as ringing and offer to pick up).
//
// Versions increase along the timeline (RFC 4235 §4.1): each document's
// version is the Unix time in seconds of its start, or one more than the
// previous document's if that is not greater. So equal spans always give
// equal bytes, whenever the timeline is computed, and versions keep
// increasing across restarts of the agent, although each restart is a new
// publication (RFC 3903). RFC 4235 scopes versions to a subscription and
// leaves them to the notifier, which is the presence server: Kamailio's
// presence_dialoginfo numbers the documents it sends each watcher itself,
// so a version starting again at 0 would be harmless there, but a server
// that passes a single publication through unchanged would hand its
// watchers a lower version, which they must discard.
func Timeline(aor string, spans []Span, o TimelineOptions) []Entry {
	linger := cmp.Or(o.Linger, DefaultLinger)
	merged := mergeSpans(spans)
	id := IDFor(aor)
	var out []Entry
	var version uint64
	next := func(t time.Time) uint64 {
		v := uint64(max(t.Unix(), 0))
		if len(out) > 0 && v <= version {
			v = version + 1
		}
		version = v
		return v
	}
	for i, s := range merged {
		out = append(out, Entry{Start: s.Start, End: s.End, Body: document(aor, id, next(s.Start), Confirmed)})
		end := s.End.Add(linger)
		if i+1 < len(merged) && merged[i+1].Start.Before(end) {
			end = merged[i+1].Start
		}
		if end.After(s.End) {
			out = append(out, Entry{Start: s.End, End: end, Body: document(aor, id, next(s.End), Terminated)})
		}
	}
	return out
}

// mergeSpans returns spans sorted, without empty ones, overlapping and
// touching ones merged.
func mergeSpans(spans []Span) []Span {
	var s []Span
	for _, sp := range spans {
		if sp.End.After(sp.Start) {
			s = append(s, sp)
		}
	}
	slices.SortFunc(s, func(a, b Span) int { return a.Start.Compare(b.Start) })
	var out []Span
	for _, sp := range s {
		if n := len(out); n > 0 && !sp.Start.After(out[n-1].End) {
			if sp.End.After(out[n-1].End) {
				out[n-1].End = sp.End
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// document returns the encoded full document with aor's one dialog in
// state.
func document(aor, id string, version uint64, state string) []byte {
	d := Document{Entity: aor, Version: version, State: Full, Dialogs: []Dialog{{
		ID: id, Direction: Recipient, State: state, Local: &Participant{Identity: aor},
	}}}
	b, err := d.Marshal()
	if err != nil {
		panic("dialoginfo: a document of constant states does not encode: " + err.Error())
	}
	return b
}
