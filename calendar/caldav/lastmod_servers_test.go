package caldav_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
)

// TestCalDAVRadicaleLastModified runs the getlastmodified fast path against
// a real Radicale: after two quiet seconds an unchanged poll is one
// request, and each kind of change is seen by the next poll, also a change
// within the second of the getlastmodified the source holds.
func TestCalDAVRadicaleLastModified(t *testing.T) {
	srv := startRadicale(t)
	srv.mkcalendar(t, "fast", "Fast", "VEVENT")
	dir := filepath.Join(srv.storage, "collection-root", strings.Trim(srv.home, "/"), "fast")
	held := map[string]string{} // file -> SUMMARY, what the server holds
	put := func(file, summary string) {
		srv.put(t, "fast", file, eventICS(strings.TrimSuffix(file, ".ics")+"@example.com", summary))
		held[file] = summary
	}
	del := func(file string) {
		srv.do(t, http.MethodDelete, srv.home+"fast/"+file, "", nil)
		delete(held, file)
	}
	want := func() []string {
		var l []string
		for file, summary := range held {
			l = append(l, strings.TrimSuffix(file, ".ics")+"@example.com "+summary)
		}
		sort.Strings(l)
		return l
	}
	put("lunch.ics", "Lunch")
	put("review.ics", "Review")

	ct := &countingTransport{base: http.DefaultTransport}
	src := srv.source(t, srv.home+"fast/", ct, func(o *caldav.Options) { o.Logger = testLogger(t) })
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatalf("first Fetch() error = %v", err)
	}

	steps := []struct {
		name string
		// change makes the first change; again a second one of the same
		// kind, within the second the source then holds, and returns
		// the file it wrote (or "" for a deletion).
		change func()
		again  func() string
	}{
		{"create", func() { put("new1.ics", "New 1") }, func() string { put("new2.ics", "New 2"); return "new2.ics" }},
		{"modify", func() { put("lunch.ics", "Lunch v2") }, func() string { put("lunch.ics", "Lunch v3"); return "lunch.ics" }},
		{"delete", func() { del("new1.ics") }, func() string { del("new2.ics"); return "" }},
	}
	for _, st := range steps {
		// Two quiet seconds: an unchanged poll is one PROPFIND of
		// getlastmodified.
		ct.take()
		events := pollUnchanged(t, srv, src, ct)
		if got := summaries(events); !slices.Equal(got, want()) {
			t.Fatalf("%s: unchanged Fetch() = %q, want %q", st.name, got, want())
		}
		if _, _, trusted := caldav.HeldLastModified(src); !trusted {
			t.Errorf("%s: getlastmodified after a one-request poll not trusted", st.name)
		}
		ct.take()
		if _, _, err := src.Fetch(t.Context()); err != nil {
			t.Fatal(err)
		}
		if reqs, n := ct.take(); len(reqs) != 1 || reqs[0].Method != "PROPFIND" || reqs[0].Depth != "0" || !strings.Contains(reqs[0].Body, "getlastmodified") {
			t.Errorf("%s: unchanged Fetch() requests = %v (%d bytes), want one PROPFIND of getlastmodified", st.name, methods(reqs), n)
		}

		st.change()
		events, _, err := src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("%s: Fetch() error = %v", st.name, err)
		}
		if got := summaries(events); !slices.Equal(got, want()) {
			t.Errorf("%s: Fetch() after the change = %q, want %q", st.name, got, want())
		}

		// A second change right away. Radicale stamps it with the time
		// it wrote it, which may still be the second the source holds;
		// to make sure of it, its mtimes are set back into that second.
		at, ok, trusted := caldav.HeldLastModified(src)
		file := st.again()
		pinned := ok && !trusted
		if pinned {
			if file != "" {
				if err := os.Chtimes(filepath.Join(dir, file), at, at); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chtimes(dir, at, at); err != nil {
				t.Fatal(err)
			}
		} else {
			t.Logf("%s: getlastmodified %v held (ok %v, trusted %v): the change within its second is not tried", st.name, at, ok, trusted)
		}
		ct.take()
		events, _, err = src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("%s: Fetch() error = %v", st.name, err)
		}
		reqs, _ := ct.take()
		if got := summaries(events); !slices.Equal(got, want()) {
			t.Errorf("%s: Fetch() after a change within the second of getlastmodified = %q, want %q (requests %v)", st.name, got, want(), methods(reqs))
		}
		if at2, _, _ := caldav.HeldLastModified(src); pinned && !at2.Equal(at) {
			t.Errorf("%s: getlastmodified after the pinned change = %v, want %v unchanged", st.name, at2, at)
		}
	}
	// And two quiet seconds after the last change.
	if got := summaries(pollUnchanged(t, srv, src, ct)); !slices.Equal(got, want()) {
		t.Errorf("unchanged Fetch() at the end = %q, want %q", got, want())
	}
}

// eventICS is a one-event calendar object.
func eventICS(uid, summary string) string {
	return strings.ReplaceAll(fmt.Sprintf(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calpresence//test//EN
BEGIN:VEVENT
UID:%s
DTSTAMP:20260101T000000Z
DTSTART:20260303T110000Z
DTEND:20260303T120000Z
SUMMARY:%s
END:VEVENT
END:VCALENDAR
`, uid, summary), "\n", "\r\n")
}

// summaries lists events as "UID SUMMARY", sorted.
func summaries(events []*calendar.Event) []string {
	var l []string
	for _, e := range events {
		l = append(l, e.UID+" "+e.Summary)
	}
	sort.Strings(l)
	return l
}
