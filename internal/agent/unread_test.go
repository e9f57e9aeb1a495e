package agent

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A calendar whose polls fail from the start is logged as never read, once,
// never as keeping last good events; with saved data from an earlier run,
// as going by that data.
func TestUnreadCalendarLogged(t *testing.T) {
	for _, tc := range []struct {
		name  string
		saved bool
		want  string
	}{
		{"nothing saved", false, `msg="calendar never read: presence goes without its events until a poll succeeds" user=sip:alice@example.com calendar=work`},
		{"saved data", true, `msg="calendar not read since the start: presence goes by its saved data until a poll succeeds" user=sip:alice@example.com calendar=work saved_fetched=`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				zone := zoneBerlin(t)
				rs := builtin(t)
				start := time.Now()
				const aor = "sip:alice@example.com"
				store := &stateStore{dir: t.TempDir()}
				src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(2*time.Hour))}
				if tc.saved {
					h := startAgent(t, newRecDoer(), store, Options{}, userFor(aor, zone, rs, src))
					time.Sleep(time.Second)
					synctest.Wait()
					h.stop()
				}
				src.set("", errors.New("fetch work: 404 Not Found"))
				var logs syncBuffer
				log := slog.New(slog.NewTextHandler(&logs, nil))
				h := startAgent(t, newRecDoer(), store, Options{Logger: log, MinRetry: time.Second, MaxRetry: time.Second}, userFor(aor, zone, rs, src))
				time.Sleep(10 * time.Second) // several failed polls
				synctest.Wait()
				h.stop()
				got := logs.String()
				if n := strings.Count(got, tc.want); n != 1 {
					t.Errorf("the log has %q %d times, want once:\n%s", tc.want, n, got)
				}
				if strings.Contains(got, "last good") && !tc.saved {
					t.Errorf("the log speaks of last good events of a calendar never read:\n%s", got)
				}
				if !strings.Contains(got, "calendar poll failed; it has not been read yet") {
					t.Errorf("the scheduler's failure does not say the calendar has not been read:\n%s", got)
				}
			})
		})
	}
}

// Each presence change is logged once with what was published and the
// rule, each attribute once.
func TestPresenceChangeLogged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		zone := zoneBerlin(t)
		rs := builtin(t)
		start := time.Now()
		const aor = "sip:alice@example.com"
		src := &fakeSource{name: "work", zone: zone, ics: meetingICS(start.Add(time.Hour), start.Add(2*time.Hour))}
		var logs syncBuffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		h := startAgent(t, newRecDoer(), &stateStore{}, Options{Logger: log}, userFor(aor, zone, rs, src))
		time.Sleep(3 * time.Hour)
		synctest.Wait()
		h.stop()
		var changes []string
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, `msg="presence changed"`) {
				changes = append(changes, line[strings.Index(line, "msg="):])
			}
			for _, attr := range []string{"user=", "calendar=", "rule="} {
				if strings.Count(line, " "+attr) > 1 {
					t.Errorf("attribute %s twice in %s", attr, line)
				}
			}
		}
		want := []string{
			`msg="presence changed" user=sip:alice@example.com publication=published basic=closed activities=busy,meeting note="In a meeting until 03:00" rule=meeting until=2000-01-01T03:00:00+01:00`,
			`msg="presence changed" user=sip:alice@example.com publication=withdrawn basic=open activities="" note="" rule="" until=2000-01-04T00:00:00+01:00`,
		}
		if !slices.Equal(changes, want) {
			t.Errorf("presence changes logged:\n%s\nwant\n%s", strings.Join(changes, "\n"), strings.Join(want, "\n"))
		}
	})
}
