package dialoginfo

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

// step is an entry as the tests read it.
type step struct {
	start, end int // minutes after t0
	state      string
}

func TestTimeline(t *testing.T) {
	const aor = "sip:alice@example.com"
	tests := []struct {
		name   string
		spans  []Span
		linger time.Duration
		want   []step
	}{
		{"none", nil, 0, nil},
		{"empty span", []Span{{at(10), at(10)}}, 0, nil},
		{"one", []Span{{at(0), at(30)}}, time.Minute, []step{{0, 30, Confirmed}, {30, 31, Terminated}}},
		{"default linger", []Span{{at(0), at(30)}}, 0, []step{{0, 30, Confirmed}, {30, -1, Terminated}}},
		{"overlapping merged", []Span{{at(0), at(30)}, {at(20), at(60)}}, time.Minute, []step{{0, 60, Confirmed}, {60, 61, Terminated}}},
		{"touching merged", []Span{{at(30), at(60)}, {at(0), at(30)}}, time.Minute, []step{{0, 60, Confirmed}, {60, 61, Terminated}}},
		{"contained", []Span{{at(0), at(60)}, {at(10), at(20)}}, time.Minute, []step{{0, 60, Confirmed}, {60, 61, Terminated}}},
		{"gap shorter than linger", []Span{{at(0), at(30)}, {at(32), at(40)}}, 5 * time.Minute,
			[]step{{0, 30, Confirmed}, {30, 32, Terminated}, {32, 40, Confirmed}, {40, 45, Terminated}}},
		{"apart", []Span{{at(0), at(30)}, {at(60), at(90)}}, time.Minute,
			[]step{{0, 30, Confirmed}, {30, 31, Terminated}, {60, 90, Confirmed}, {90, 91, Terminated}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Timeline(aor, tt.spans, TimelineOptions{Linger: tt.linger})
			if len(got) != len(tt.want) {
				t.Fatalf("Timeline() = %d entries %s, want %d", len(got), describe(got), len(tt.want))
			}
			var last uint64
			for i, e := range got {
				w := tt.want[i]
				wantEnd := at(w.end)
				if w.end < 0 {
					wantEnd = at(w.start).Add(DefaultLinger)
				}
				d, err := Unmarshal(e.Body)
				if err != nil {
					t.Fatalf("entry %d: Unmarshal() error = %v", i, err)
				}
				if !e.Start.Equal(at(w.start)) || !e.End.Equal(wantEnd) || len(d.Dialogs) != 1 || d.Dialogs[0].State != w.state {
					t.Errorf("Timeline() = %s, want entry %d = %+v", describe(got), i, w)
				}
				dl := d.Dialogs[0]
				if d.Entity != aor || d.State != Full || dl.ID != IDFor(aor) || dl.Direction != Recipient || dl.Local.Identity != aor {
					t.Errorf("entry %d = %+v, want a full document of %s's dialog %s, direction recipient", i, d, aor, IDFor(aor))
				}
				if i > 0 && d.Version <= last {
					t.Errorf("entry %d: version %d after %d, want increasing versions", i, d.Version, last)
				}
				last = d.Version
			}
		})
	}
}

// TestTimelineStable: the same span gives the same bytes whenever the
// timeline is computed (else every recomputation would be a modification
// PUBLISH), and a later span's versions exceed an earlier one's even when
// computed alone, as after a restart of the agent.
func TestTimelineStable(t *testing.T) {
	a := Timeline("sip:a@b", []Span{{at(0), at(30)}, {at(60), at(90)}}, TimelineOptions{})
	b := Timeline("sip:a@b", []Span{{at(60), at(90)}}, TimelineOptions{})
	if string(a[2].Body) != string(b[0].Body) || string(a[3].Body) != string(b[1].Body) {
		t.Errorf("Timeline() bodies of the same span differ:\n%s\nvs\n%s", a[2].Body, b[0].Body)
	}
	first, _ := Unmarshal(a[1].Body)
	later, _ := Unmarshal(b[0].Body)
	if later.Version <= first.Version {
		t.Errorf("version of a later span computed alone = %d, want more than %d", later.Version, first.Version)
	}
	if later.Version != uint64(at(60).Unix()) {
		t.Errorf("version = %d, want the start's Unix time %d", later.Version, at(60).Unix())
	}
}

// TestTimelineSameSecond: documents starting within one second still get
// increasing versions.
func TestTimelineSameSecond(t *testing.T) {
	s := t0.Add(100 * time.Millisecond)
	got := Timeline("sip:a@b", []Span{{s, s.Add(300 * time.Millisecond)}, {s.Add(600 * time.Millisecond), s.Add(800 * time.Millisecond)}}, TimelineOptions{})
	var last uint64
	for i, e := range got {
		d, err := Unmarshal(e.Body)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && d.Version <= last {
			t.Errorf("Timeline() versions %s, want increasing", describe(got))
		}
		last = d.Version
	}
}

func describe(es []Entry) string {
	var b strings.Builder
	for _, e := range es {
		d, err := Unmarshal(e.Body)
		state := fmt.Sprint(err)
		var v uint64
		if err == nil {
			state, v = d.Dialogs[0].State, d.Version
		}
		fmt.Fprintf(&b, "[%s–%s %s v%d] ", e.Start.Format("15:04:05.000"), e.End.Format("15:04:05.000"), state, v)
	}
	return b.String()
}
