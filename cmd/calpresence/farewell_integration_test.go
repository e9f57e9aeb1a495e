package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/shard"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
	"github.com/calpresence/calpresence/publisher"
)

const (
	phoneTuple = "desk-phone-0001"
	phoneNote  = "On the desk phone"
)

// startPresencePhone publishes, as the user's desk phone would, a
// presence of its own for aor: one tuple, basic open or closed (DND on the
// phone), beside the agent's publication.
func startPresencePhone(t *testing.T, server, aor, basic string) {
	t.Helper()
	doc := pidf.Document{Entity: aor, Tuples: []pidf.Tuple{{ID: phoneTuple, Basic: basic, Contact: aor, Notes: []pidf.Note{{Text: phoneNote}}}}}
	body, err := doc.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	startTestPublisher(t, publisher.Options{AOR: aor, Proxy: "sip:" + server + ";transport=tcp"}, body)
}

// phoneSays holds for a document with the phone's tuple, with basic.
func phoneSays(basic string) func(doc *pidf.Document) bool {
	return func(doc *pidf.Document) bool {
		return slices.ContainsFunc(doc.Tuples, func(tu pidf.Tuple) bool { return tu.ID == phoneTuple && tu.Basic == basic })
	}
}

// lunchICS is a lunch in [s, e): the shipped rules make it open, away and
// meal, with a note.
func lunchICS(s, e time.Time) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//calpresence//test//EN\r\n" +
		"BEGIN:VEVENT\r\nUID:l1\r\nDTSTAMP:20000101T000000Z\r\n" +
		"DTSTART:" + s.UTC().Format("20060102T150405Z") + "\r\nDTEND:" + e.UTC().Format("20060102T150405Z") + "\r\n" +
		"SUMMARY:Lunch\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// since returns the NOTIFYs that came from t0 on, once they satisfy ok;
// it fails t if they do not by deadline.
func (w *watcher) since(t *testing.T, t0, deadline time.Time, ok func([]notify) bool) []notify {
	t.Helper()
	for {
		w.mu.Lock()
		var ns []notify
		for _, n := range w.bodies {
			if !n.at.Before(t0) {
				ns = append(ns, n)
			}
		}
		w.mu.Unlock()
		if ok(ns) {
			return ns
		}
		if !time.Now().Before(deadline) {
			var b strings.Builder
			for _, n := range ns {
				fmt.Fprintf(&b, "%s\n", n.body)
			}
			t.Fatalf("by %s the NOTIFYs since %s are not all there; got %d:\n%s", deadline.Format("15:04:05.000"), t0.Format("15:04:05.000"), len(ns), b.String())
		}
		timer := time.NewTimer(time.Until(deadline))
		select {
		case <-w.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// farewellTuple finds the agent's farewell tuple in a merged document.
func farewellTuple(doc *pidf.Document, aor string) *pidf.Tuple {
	for i := range doc.Tuples {
		if doc.Tuples[i].ID == pidf.IDBase(aor)+"-farewell" {
			return &doc.Tuples[i]
		}
	}
	return nil
}

// publishLines are the agent's log lines of its presence PUBLISH requests
// for aor.
func publishLines(log, aor string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, `msg="sip publish"`) && strings.Contains(l, "aor="+aor) && strings.Contains(l, "event=presence") {
			out = append(out, l)
		}
	}
	return out
}

// A stopped agent leaves the user neither busy nor offline (issue 15):
// `calpresence run` publishes a meeting or a lunch beside the phone's own
// presence through real Kamailio, which NOTIFYs a watcher; on SIGTERM the
// agent publishes its farewell, removes the publication (2xx) and exits 0
// within 5 s, and every NOTIFY from then on, the last included, shows the
// phone's tuple as the phone has it (open, or closed for its own DND) and
// the agent's tuple saying nothing: no basic, no person, activity or
// note. Kamailio turns a removed document's first basic into "closed" for
// the removal's NOTIFY, which used to show the user closed.
// Without a phone the last NOTIFY is the agent's tuple alone, saying
// nothing; stopped between events the agent sends nothing at all.
func TestRunFarewell(t *testing.T) {
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	bin := buildBinary(t)
	now := time.Now().Truncate(time.Second)
	for i, tc := range []struct {
		name   string
		phone  string // the phone's basic; "": no phone
		ics    string
		during func(doc *pidf.Document, aor string) bool // what the watcher sees before the stop; nil: nothing of the agent's
		// successor: a second agent for the same user publishes the
		// meeting too before the first stops, as a shard that takes a
		// user over or a new process started before the old one stops.
		successor bool
	}{
		{"meeting beside the phone", pidf.Open, meetingICS(now.Add(-time.Minute), now.Add(time.Hour)),
			func(doc *pidf.Document, aor string) bool { return inMeeting(aor)(doc) && phoneSays(pidf.Open)(doc) }, false},
		{"meeting beside the phone's DND", pidf.Closed, meetingICS(now.Add(-time.Minute), now.Add(time.Hour)),
			func(doc *pidf.Document, aor string) bool { return inMeeting(aor)(doc) && phoneSays(pidf.Closed)(doc) }, false},
		{"lunch beside the phone", pidf.Open, lunchICS(now.Add(-time.Minute), now.Add(time.Hour)),
			func(doc *pidf.Document, aor string) bool {
				tu, pe := ours(doc, aor)
				return tu != nil && tu.Basic == pidf.Open && len(tu.Notes) == 1 && strings.HasPrefix(tu.Notes[0].Text, "Out for lunch") &&
					pe != nil && pe.Activities != nil && phoneSays(pidf.Open)(doc)
			}, false},
		{"meeting without a phone", "", meetingICS(now.Add(-time.Minute), now.Add(time.Hour)),
			func(doc *pidf.Document, aor string) bool { return inMeeting(aor)(doc) }, false},
		{"meeting, another agent took over", pidf.Open, meetingICS(now.Add(-time.Minute), now.Add(time.Hour)),
			func(doc *pidf.Document, aor string) bool { return inMeeting(aor)(doc) && phoneSays(pidf.Open)(doc) }, true},
		{"between events", pidf.Open, meetingICS(now.Add(time.Hour), now.Add(2*time.Hour)), nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aor := fmt.Sprintf("sip:farewell%d@example.com", i)
			if tc.phone != "" {
				startPresencePhone(t, kam.Addr(), aor, tc.phone)
			}
			w := startWatcher(t, kam.Addr(), aor)
			if tc.phone != "" {
				w.waitFor(t, "the phone's presence", time.Now().Add(5*time.Second), phoneSays(tc.phone))
			}

			dir := t.TempDir()
			ics := filepath.Join(dir, "cal.ics")
			if err := os.WriteFile(ics, []byte(tc.ics), 0o600); err != nil {
				t.Fatal(err)
			}
			cfgPath := filepath.Join(dir, "config.toml")
			cfg := fmt.Sprintf("timezone = \"UTC\"\nstate_dir = %q\n[sip]\naor = %q\nproxy = \"sip:%s;transport=tcp\"\n"+
				"[[calendar]]\nname = \"work\"\nurl = %q\n", filepath.Join(dir, "state"), aor, kam.Addr(), ics)
			if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			agent := startAgent(t, bin, dir, "agent", 0, []string{"-config", cfgPath, "-log-level", "debug"})
			logs := agent.logs

			if tc.during != nil {
				w.waitFor(t, "the agent's segment", time.Now().Add(10*time.Second), func(doc *pidf.Document) bool { return tc.during(doc, aor) })
				if tc.successor {
					dir2 := t.TempDir()
					cfg2 := filepath.Join(dir2, "config.toml")
					if err := os.WriteFile(cfg2, []byte(strings.Replace(cfg, filepath.Join(dir, "state"), filepath.Join(dir2, "state"), 1)), 0o600); err != nil {
						t.Fatal(err)
					}
					next := startShard(t, bin, cfg2, dir2, shard.Spec{K: 0, N: 1})
					next.published(t, 1, time.Now().Add(10*time.Second))
					defer next.stop(t)
					time.Sleep(300 * time.Millisecond) // its NOTIFY
				}
			} else if !logs.waitFor(time.Now().Add(10*time.Second), func(s string) bool {
				return strings.Contains(s, `msg="timeline rebuilt" user=`+aor) && strings.Contains(s, "occurrences=1")
			}) {
				t.Fatalf("the agent did not build its timeline within 10 s")
			}

			sent := time.Now()
			t.Logf("SIGTERM to exit: %v", agent.terminate(t).Round(time.Millisecond))
			lines := publishLines(logs.String(), aor)

			if tc.during == nil {
				// Nothing was published, so there is nothing to remove.
				if len(lines) != 0 {
					t.Errorf("stopped between events, the agent sent:\n%s\nwant no PUBLISH", strings.Join(lines, "\n"))
				}
				time.Sleep(time.Second) // room for a NOTIFY that must not come
				w.mu.Lock()
				defer w.mu.Unlock()
				for _, n := range w.bodies {
					if bytes.Contains(n.body, []byte(pidf.IDBase(aor))) {
						t.Errorf("a NOTIFY shows the agent's publication:\n%s", n.body)
					}
				}
				return
			}

			// The agent's last requests: the farewell (a modification
			// under its ETag) and the removal, both answered 2xx.
			n := len(lines)
			if n < 3 || !strings.Contains(lines[n-2], "what=farewell result=200") || !strings.Contains(lines[n-1], "what=remove result=200") {
				t.Errorf("the agent's presence PUBLISH requests:\n%s\nwant them to end with the farewell (200) and the removal (remove, 200)",
					strings.Join(lines, "\n"))
			}

			// The farewell's NOTIFY carries its marker, the removal's does
			// not; they may reach the watcher in either order (UDP).
			w.since(t, sent, time.Now().Add(3*time.Second), func(ns []notify) bool {
				var farewell, removal bool
				for _, n := range ns {
					if doc, err := pidf.Unmarshal(n.body); err == nil {
						farewell = farewell || doc.Farewell
						removal = removal || !doc.Farewell
					}
				}
				return farewell && removal
			})
			time.Sleep(300 * time.Millisecond) // room for a NOTIFY that must not come
			after := w.since(t, sent, time.Now(), func([]notify) bool { return true })
			for i, n := range after {
				doc, err := pidf.Unmarshal(n.body)
				if err != nil {
					t.Fatalf("NOTIFY %d after SIGTERM: %v\n%s", i+1, err, n.body)
				}
				// The agent's farewell tuple, saying nothing, beside the
				// phone's tuple as the phone has it, and the successor's
				// meeting if there is one; closed only where the phone or
				// the successor says so.
				ft := farewellTuple(doc, aor)
				tu, pe := ours(doc, aor)
				closed, wantClosed := bytes.Count(n.body, []byte("<basic>closed</basic>")), 0
				tuples := 1
				if tc.phone != "" {
					tuples++
				}
				if tc.phone == pidf.Closed {
					wantClosed++
				}
				ok := ft != nil && ft.Basic == "" && len(ft.Notes) == 0 && (tc.phone == "" || phoneSays(tc.phone)(doc))
				if tc.successor {
					ok = ok && inMeeting(aor)(doc) && len(doc.Tuples) == tuples+1 && len(doc.Persons) == 1 && closed == wantClosed+1
				} else {
					ok = ok && tu == nil && pe == nil && len(doc.Persons) == 0 && len(doc.Tuples) == tuples && closed == wantClosed
				}
				if !ok {
					t.Errorf("NOTIFY %d of %d after SIGTERM is not the phone's presence (and the successor's meeting) beside the agent's farewell tuple saying nothing:\n%s",
						i+1, len(after), n.body)
				}
			}
			if len(after) > 0 {
				t.Logf("the last of %d NOTIFYs after SIGTERM:\n%s", len(after), after[len(after)-1].body)
			}
			if len(after) != 2 {
				t.Errorf("%d NOTIFYs after SIGTERM, want 2 (the farewell's and the removal's)", len(after))
			}

			// A watcher that subscribes now sees the phone alone (and the
			// successor's meeting), or nothing: Kamailio holds no
			// publication of the stopped agent's.
			fresh := startWatcher(t, kam.Addr(), aor)
			fresh.waitFor(t, "a fresh watcher's NOTIFY", time.Now().Add(3*time.Second), func(doc *pidf.Document) bool {
				tu, pe := ours(doc, aor)
				if farewellTuple(doc, aor) != nil {
					return false
				}
				if tc.successor {
					return inMeeting(aor)(doc) && phoneSays(tc.phone)(doc) && len(doc.Tuples) == 2
				}
				if tc.phone != "" {
					return tu == nil && pe == nil && phoneSays(tc.phone)(doc) && len(doc.Tuples) == 1
				}
				return len(doc.Tuples) == 0 && len(doc.Persons) == 0
			})
		})
	}
}
