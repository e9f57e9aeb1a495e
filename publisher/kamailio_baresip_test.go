package publisher

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/testserver"
)

// TestKamailioBaresipWatcher is TestKamailioPhoneStands with a real
// softphone as the watcher, which is what a colleague sees: with DND set on
// the user's phone and no event, baresip shows the phone's "Offline"
// (closed); a meeting shows "Busy"; once the meeting ends into nothing to
// say, "Offline" again, never "Online". With the phone available the end
// of the meeting shows "Online", the phone's.
func TestKamailioBaresipWatcher(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{CleanPeriod: time.Second})
	c := newClient(t)
	for i, tc := range []struct {
		phone, before, during, after string
	}{
		{phone: "closed", before: "Offline", during: "Busy", after: "Offline"},
		{phone: "open", before: "Online", during: "Busy", after: "Online"},
	} {
		t.Run("phone "+tc.phone, func(t *testing.T) {
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
			ours, _ := runPublisher(t, c, Options{AOR: aor, Proxy: "sip:" + k.Addr, ExpireIntoGaps: true})
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
			// The end, Kamailio's clean period (1s) and room.
			seen := shows(tc.after, end.Add(3*time.Second))
			if tc.phone == "closed" && slices.Contains(seen, "Online") {
				t.Errorf("after the meeting baresip showed %v: calpresence overruled the phone's DND", seen)
			}
		})
	}
}
