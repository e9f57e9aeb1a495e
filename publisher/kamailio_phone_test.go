package publisher

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// meetingDoc is a document as the agent publishes one during a meeting:
// one tuple (closed, with the note) and one person (busy, meeting).
func meetingDoc(aor string) []byte {
	return fmt.Appendf(nil, `<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="%s">
  <tuple id="calpresence-t1"><status><basic>closed</basic></status><contact>%s</contact><note>In a meeting</note></tuple>
  <dm:person id="calpresence-p1"><rpid:activities><rpid:busy/><rpid:meeting/></rpid:activities><dm:note>In a meeting</dm:note></dm:person>
</presence>
`, aor, aor)
}

// phoneOnly holds for a NOTIFY that carries the phone's DND publication and
// nothing of calpresence's.
func phoneOnly(b string) bool {
	return strings.Contains(b, "phone-tuple-0001") && strings.Contains(b, "DND on phone") && !strings.Contains(b, "calpresence-")
}

// The user's phone publishes DND (closed) for itself; calpresence publishes
// beside it through real Kamailio. Where the calendar has nothing to say
// (the agent's timeline holds no document, publisher.Entry.Body nil) and
// after a meeting that ends into such a span, a watcher holds the phone's
// state alone: the meeting's publication lapses at its end (ExpireIntoGaps)
// instead of being removed, which Kamailio would announce as calpresence's
// tuple turned closed. On shutdown the contract's removal (Expires: 0)
// stands; what Kamailio makes of it is pinned here: one NOTIFY with the
// phone's tuple and calpresence's tuple rewritten to closed, without
// calpresence's person (no busy or meeting activity), and a fresh watcher
// sees the phone alone.
func TestKamailioPhoneStands(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	c := newClient(t)
	for i, tc := range []struct {
		name string
		// tl is calpresence's timeline from now; stopAfter, if set, is
		// when calpresence is stopped (SIGTERM).
		tl        func(aor string, now time.Time) []Entry
		stopAfter time.Duration
		// last checks the last NOTIFY the first watcher holds.
		last func(b string) bool
	}{
		{
			name: "no event: nothing published",
			tl: func(aor string, now time.Time) []Entry {
				return []Entry{{Start: now.Add(-time.Hour), End: now.Add(time.Hour)}}
			},
			last: phoneOnly,
		},
		{
			name: "a meeting ends into nothing to say",
			tl: func(aor string, now time.Time) []Entry {
				return []Entry{
					{Start: now, End: now.Add(3 * time.Second), Body: meetingDoc(aor)},
					{Start: now.Add(3 * time.Second), End: now.Add(time.Hour)},
				}
			},
			last: phoneOnly,
		},
		{
			name: "SIGTERM during a meeting",
			tl: func(aor string, now time.Time) []Entry {
				return []Entry{
					{Start: now, End: now.Add(time.Hour), Body: meetingDoc(aor)},
					{Start: now.Add(time.Hour), End: now.Add(2 * time.Hour)},
				}
			},
			stopAfter: 2 * time.Second,
			last: func(b string) bool {
				return strings.Contains(b, "phone-tuple-0001") && strings.Contains(b, `id="calpresence-t1"`) &&
					strings.Count(b, "<basic>closed</basic>") == 2 && !strings.Contains(b, "open") &&
					!strings.Contains(b, "calpresence-p1") && !strings.Contains(b, "meeting/>") && !strings.Contains(b, "busy/>")
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			aor := fmt.Sprintf("sip:phone%d@example.com", i)
			phone, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr})
			phone.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "phone-tuple-0001", "closed", "DND on phone")}})
			// A first watcher tells when the phone's publication is at
			// Kamailio, so that the watcher under test starts with it.
			newWatcher(t, k, aor).waitFor(t, "with the phone's DND", 5*time.Second, contains("DND on phone"))
			w := newWatcher(t, k, aor)
			w.waitFor(t, "with the phone's DND", 5*time.Second, contains("DND on phone"))

			ours, stop := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr, ExpireIntoGaps: true, RemoveTimeout: 2 * time.Second})
			now := time.Now()
			tl := tc.tl(aor, now)
			ours.SetTimeline(tl)
			if tl[0].Body != nil {
				w.waitFor(t, "with the meeting beside the phone", 3*time.Second, contains("In a meeting", "DND on phone"))
			}
			if tc.stopAfter > 0 {
				time.Sleep(time.Until(now.Add(tc.stopAfter)))
				if err := stop(); err != nil {
					t.Fatalf("shutdown: %v", err)
				}
			}
			// The boundary at 3s, Kamailio's clean period of 1s, and room.
			time.Sleep(time.Until(now.Add(6 * time.Second)))
			w.mu.Lock()
			bodies := append([]string(nil), w.bodies...)
			w.mu.Unlock()
			last := bodies[len(bodies)-1]
			if !tc.last(last) {
				t.Errorf("the last of %d NOTIFYs the watcher holds:\n%s", len(bodies), last)
			}
			for _, b := range bodies {
				if strings.Contains(b, "calpresence-") && strings.Contains(b, "<basic>open</basic>") {
					t.Errorf("a NOTIFY shows calpresence's tuple open, overruling the phone:\n%s", b)
				}
			}
			// A watcher that subscribes now sees the phone alone.
			w2 := newWatcher(t, k, aor)
			w2.waitFor(t, "to a fresh watcher: the phone alone", 3*time.Second, phoneOnly)
		})
	}
}
