package publisher

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
)

// TestKamailioBaresipWatcher is TestKamailioPhoneStands with a real
// softphone as the watcher, which is what a colleague sees: with DND set on
// the user's phone and no event, baresip shows the phone's "Offline"
// (closed); a meeting shows "Busy"; once the meeting ends into nothing to
// say, "Offline" again, never "Online". With the phone available the end
// of the meeting shows "Online", the phone's. The meeting's end is told
// either as the agent tells it, on time (the farewell, then the removal),
// or by letting the publication lapse (ExpireIntoGaps), which watchers
// learn at Kamailio's next clean period.
func TestKamailioBaresipWatcher(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	c := newClient(t)
	// As internal/agent's: a tuple with a status that says nothing, and
	// the marker that takes Kamailio's "closed".
	farewell := func(aor string) func([]byte) []byte {
		return func([]byte) []byte {
			d := pidf.Document{Entity: aor, Tuples: []pidf.Tuple{{ID: "calpresence-farewell"}}, Farewell: true}
			b, err := d.Marshal()
			if err != nil {
				t.Error(err)
			}
			return b
		}
	}
	i := 0
	for _, tc := range []struct {
		phone, before, during, after string
	}{
		{phone: "closed", before: "Offline", during: "Busy", after: "Offline"},
		{phone: "open", before: "Online", during: "Busy", after: "Online"},
	} {
		for _, lapse := range []bool{false, true} {
			i++
			how := "farewell"
			if lapse {
				how = "lapse"
			}
			t.Run("phone "+tc.phone+", "+how, func(t *testing.T) {
				aor := fmt.Sprintf("sip:bphone%d@example.com", i)
				phone, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr})
				phone.SetTimeline([]Entry{{Start: time.Now(), Body: pidfDoc(aor, "phone-tuple-0001", tc.phone, "phone")}})
				b := testserver.StartBaresip(t, k.Addr, aor)
				// shows polls what baresip shows until it is want or the
				// deadline passes, and returns everything it showed.
				shows := func(want string, deadline time.Time) []string {
					t.Helper()
					var seen []string
					for {
						s, err := b.Status()
						if err != nil {
							t.Fatal(err)
						}
						if len(seen) == 0 || seen[len(seen)-1] != s {
							seen = append(seen, s)
						}
						if s == want {
							return seen
						}
						if time.Now().After(deadline) {
							t.Fatalf("baresip shows %v, want %s by %v", seen, want, deadline.Format("15:04:05.000"))
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
				opts := Options{AOR: aor, Proxy: "sip:" + k.Addr, ExpireIntoGaps: lapse}
				if !lapse {
					opts.Farewell = farewell(aor)
				}
				ours, _ := runPublisher(t, c, opts)
				now := time.Now()
				start, end := now.Add(4*time.Second), now.Add(7*time.Second)
				ours.SetTimeline([]Entry{
					{Start: now.Add(-time.Hour), End: start},
					{Start: start, End: end, Body: meetingDoc(aor)},
					{Start: end, End: now.Add(time.Hour)},
				})
				shows(tc.before, start)
				if seen := shows(tc.during, start.Add(2*time.Second)); slices.Contains(seen, "Online") && tc.phone == "closed" {
					t.Errorf("before the meeting baresip showed %v: calpresence overruled the phone's DND", seen)
				}
				// The end, Kamailio's clean period (1s) when it lapses, and room
				// for baresip's display.
				by := end.Add(time.Second)
				if lapse {
					by = end.Add(3 * time.Second)
				}
				seen := shows(tc.after, by)
				if tc.phone == "closed" && slices.Contains(seen, "Online") {
					t.Errorf("after the meeting baresip showed %v: calpresence overruled the phone's DND", seen)
				}
			})
		}
	}
}
