package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// The agent keeps each calendar's last good occurrences on disk so that a
// restart during a calendar outage still publishes what the calendar said
// when it was last readable, until the data is older than the staleness
// limit.

// stateVersion is the format of the state files; a file of another version
// is ignored, as if it were missing.
const stateVersion = 1

// DefaultStateDir is $XDG_STATE_HOME/calpresence, else
// ~/.local/state/calpresence (XDG Base Directory Specification).
func DefaultStateDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_STATE_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "calpresence"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("state directory: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "calpresence"), nil
}

// stateStore reads and writes the state files under dir. The zero dir
// disables persistence.
type stateStore struct {
	dir string
}

// savedCalendar is what a state file holds about one calendar of one user.
type savedCalendar struct {
	Version  int    `json:"version"`
	User     string `json:"user"`
	Calendar string `json:"calendar"`
	// Fetched is when the calendar was last read successfully: the age
	// that the staleness limit applies to.
	Fetched time.Time `json:"fetched"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	// Occurrences are in calendar's one JSON form, which reads the
	// files of earlier versions too.
	Occurrences []calendar.OccurrenceJSON `json:"occurrences"`
}

// path is the state file of one user's calendar. Names are escaped so that
// any AOR and calendar name make one file name, readable by a person.
func (st *stateStore) path(user, cal string) string {
	return filepath.Join(st.dir, "calendars", escapeName(user), escapeName(cal)+".json")
}

// escapeName keeps letters, digits and ".-_@+" and writes every other byte
// as %XX, so that distinct names never share a file.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '-', c == '_', c == '@', c == '+':
			b.WriteByte(c)
		case c == '.' && i > 0: // no hidden files, no "." or ".."
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// Save writes the occurrences of one calendar atomically: a reader (or a
// crash) sees the old file or the new one, never half of one.
func (st *stateStore) Save(user, cal string, fetched, from, to time.Time, occs []calendar.Occurrence) error {
	if st.dir == "" {
		return nil
	}
	sc := savedCalendar{
		Version: stateVersion, User: user, Calendar: cal,
		Fetched: fetched.UTC(), From: from.UTC(), To: to.UTC(),
		Occurrences: make([]calendar.OccurrenceJSON, len(occs)),
	}
	for i := range occs {
		sc.Occurrences[i] = occs[i].JSON(nil)
	}
	data, err := json.Marshal(sc)
	if err != nil {
		return fmt.Errorf("save state of calendar %q: %w", cal, err)
	}
	if err := writeAtomic(st.path(user, cal), data); err != nil {
		return fmt.Errorf("save state of calendar %q: %w", cal, err)
	}
	return nil
}

// Load reads the saved occurrences of one calendar. A missing file, or one
// written for another user or calendar or in another format, is ok=false
// without an error: there is simply nothing to fall back on.
func (st *stateStore) Load(user, cal string) (sc savedCalendar, ok bool, err error) {
	if st.dir == "" {
		return sc, false, nil
	}
	data, err := os.ReadFile(st.path(user, cal))
	if errors.Is(err, fs.ErrNotExist) {
		return sc, false, nil
	}
	if err != nil {
		return sc, false, fmt.Errorf("load state of calendar %q: %w", cal, err)
	}
	if err := json.Unmarshal(data, &sc); err != nil {
		return savedCalendar{}, false, fmt.Errorf("load state of calendar %q: %s: %w", cal, st.path(user, cal), err)
	}
	if sc.Version != stateVersion || sc.User != user || sc.Calendar != cal {
		return savedCalendar{}, false, nil
	}
	return sc, true, nil
}

// occurrences returns the saved occurrences as the calendar package's type.
func (sc savedCalendar) occurrences() ([]calendar.Occurrence, error) {
	occs := make([]calendar.Occurrence, len(sc.Occurrences))
	for i := range sc.Occurrences {
		o, err := sc.Occurrences[i].Occurrence()
		if err != nil {
			return nil, fmt.Errorf("state of calendar %q: %w", sc.Calendar, err)
		}
		occs[i] = o
	}
	return occs, nil
}
