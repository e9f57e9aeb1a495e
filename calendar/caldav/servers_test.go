package caldav_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
	"github.com/calpresence/calpresence/internal/testserver"
)

// These tests run against real CalDAV servers: Radicale and Xandikos,
// started on loopback by internal/testserver and seeded over CalDAV.

// davServer is a running real server and where its calendars live.
type davServer struct {
	name           string
	root           string // server root URL, "http://127.0.0.1:PORT/"
	home           string // calendar home path
	user, password string // "" when the server has no authentication
	process        *testserver.Process
	storage        string // Radicale's storage folder
}

func startRadicale(t testing.TB) *davServer {
	r := testserver.StartRadicale(t, map[string]string{"alice": "radicale-pw", "bob": "bobs-pw"})
	return &davServer{name: "radicale", root: r.URL, home: "/alice/", user: "alice", password: "radicale-pw",
		process: r.Process, storage: r.Storage}
}

func startXandikos(t testing.TB) *davServer {
	x := testserver.StartXandikos(t)
	return &davServer{name: "xandikos", root: x.URL, home: x.Principal + "calendars/", process: x.Process}
}

// do sends a seeding request and fails t unless the server answers 2xx.
func (s *davServer) do(t testing.TB, method, path, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.root, "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if s.user != "" {
		req.SetBasicAuth(s.user, s.password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, path, resp.Status, b)
	}
}

func (s *davServer) mkcalendar(t testing.TB, dir, name, comp string) {
	t.Helper()
	body := fmt.Sprintf(`<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>
<D:displayname>%s</D:displayname>
<C:supported-calendar-component-set><C:comp name="%s"/></C:supported-calendar-component-set>
</D:prop></D:set></C:mkcalendar>`, name, comp)
	s.do(t, "MKCALENDAR", s.home+dir+"/", "application/xml; charset=utf-8", []byte(body))
}

func (s *davServer) put(t testing.TB, dir, file, data string) {
	t.Helper()
	s.do(t, http.MethodPut, s.home+dir+"/"+file, "text/calendar; charset=utf-8", []byte(data))
}

// seed creates the calendars of testdata/caldav and puts their objects.
func (s *davServer) seed(t testing.TB) {
	t.Helper()
	for _, c := range []struct{ dir, name, comp string }{
		{"work", "Work", "VEVENT"}, {"team", "Team Meetings", "VEVENT"}, {"tasks", "Tasks", "VTODO"},
	} {
		s.mkcalendar(t, c.dir, c.name, c.comp)
		for file, data := range readTestdataDir(t, c.dir) {
			s.put(t, c.dir, file, data)
		}
	}
}

// countingTransport counts the requests a source makes and the bytes it
// receives, and keeps each request's method, path and body.
type countingTransport struct {
	base http.RoundTripper
	mu   sync.Mutex
	reqs []recordedRequest
	recv int64
	wait time.Duration
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
		r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	c.mu.Lock()
	c.reqs = append(c.reqs, recordedRequest{Method: r.Method, Path: r.URL.Path, Depth: r.Header.Get("Depth"), Body: string(body)})
	c.mu.Unlock()
	began := time.Now()
	resp, err := c.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &countingBody{ReadCloser: resp.Body, c: c, began: began}
	return resp, nil
}

type countingBody struct {
	io.ReadCloser
	c      *countingTransport
	began  time.Time
	closed bool
}

// Close adds the time from sending the request to the end of the answer
// to the transport's wait: the part of a Fetch spent on the network and the
// server.
func (b *countingBody) Close() error {
	b.c.mu.Lock()
	if !b.closed {
		b.c.wait += time.Since(b.began)
		b.closed = true
	}
	b.c.mu.Unlock()
	return b.ReadCloser.Close()
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.c.mu.Lock()
	b.c.recv += int64(n)
	b.c.mu.Unlock()
	return n, err
}

// take returns the requests and received bytes since the last take.
func (c *countingTransport) take() ([]recordedRequest, int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r, n := c.reqs, c.recv
	c.reqs, c.recv, c.wait = nil, 0, 0
	return r, n
}

// waited returns the time spent waiting for answers since the last take.
func (c *countingTransport) waited() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wait
}

func (s *davServer) source(t testing.TB, path string, ct *countingTransport, mod func(*caldav.Options)) *caldav.Source {
	t.Helper()
	opts := caldav.Options{
		Name:     "work",
		URL:      strings.TrimSuffix(s.root, "/") + path,
		Username: s.user,
		Parse:    calendar.ParseOptions{Zone: berlin(t), Me: []string{"mailto:alice@example.com"}},
	}
	if s.user != "" {
		opts.Password = func(context.Context) (string, error) { return s.password, nil }
	}
	if ct != nil {
		opts.HTTPClient = &http.Client{Transport: ct}
	}
	if mod != nil {
		mod(&opts)
	}
	src, err := caldav.New(opts)
	if err != nil {
		t.Fatalf("New(%s) error = %v", opts.URL, err)
	}
	return src
}

// window is the stretch the occurrence comparisons expand: the standup's
// first instance lies six years before it.
func window(t testing.TB) (time.Time, time.Time) {
	loc := berlin(t)
	return time.Date(2026, 3, 1, 0, 0, 0, 0, loc), time.Date(2026, 3, 15, 0, 0, 0, 0, loc)
}

// occurrenceLines expands events over the window into comparable lines.
func occurrenceLines(t testing.TB, events []*calendar.Event) []string {
	t.Helper()
	from, to := window(t)
	occs, warns := calendar.Expand(events, from, to, calendar.ExpandOptions{Zone: berlin(t)})
	if len(warns) > 0 {
		t.Errorf("Expand warnings = %v, want none", warns)
	}
	var l []string
	for _, o := range occs {
		rid := ""
		if !o.RecurrenceID.IsZero() {
			rid = o.RecurrenceID.UTC().Format(time.RFC3339)
		}
		l = append(l, fmt.Sprintf("%s..%s uid=%s rid=%s %q loc=%q allday=%v status=%q transp=%v class=%q resp=%q att=%d cal=%s",
			o.Start.UTC().Format(time.RFC3339), o.End.UTC().Format(time.RFC3339), o.UID, rid, o.Summary,
			o.Location, o.AllDay, o.Status, o.Transparent, o.Class, o.Response, o.Attendees, o.Calendar))
	}
	sort.Strings(l)
	return l
}

// fileEvents reads testdata/caldav/dir as ICS files, the reference the
// CalDAV results are compared with.
func fileEvents(t testing.TB, dirs ...string) []*calendar.Event {
	t.Helper()
	var all []*calendar.Event
	for _, dir := range dirs {
		files, _ := filepath.Glob(filepath.Join("testdata", "caldav", dir, "*.ics"))
		sort.Strings(files)
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			evs, warns, err := calendar.ParseICS(bytes.NewReader(b), calendar.ParseOptions{
				Calendar: "work", Source: f, Zone: berlin(t), Me: []string{"mailto:alice@example.com"}})
			if err != nil || len(warns) > 0 {
				t.Fatalf("ParseICS(%s) = %v, %v", f, warns, err)
			}
			all = append(all, evs...)
		}
	}
	return all
}

func TestCalDAVRadicale(t *testing.T) { testRealServer(t, startRadicale(t)) }
func TestCalDAVXandikos(t *testing.T) { testRealServer(t, startXandikos(t)) }

func testRealServer(t *testing.T, srv *davServer) {
	srv.seed(t)

	t.Run("discovery from the root", func(t *testing.T) {
		ct := &countingTransport{base: http.DefaultTransport}
		events, warnings, err := srv.source(t, "/", ct, nil).Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch(%s) error = %v", srv.root, err)
		}
		if len(warnings) > 0 {
			t.Errorf("Fetch(%s) warnings = %v, want none", srv.root, warnings)
		}
		if got, want := uids(events), sorted(workUIDs, teamUIDs); !slices.Equal(got, want) {
			t.Fatalf("Fetch(%s) UIDs = %q, want %q", srv.root, got, want)
		}
		got, want := occurrenceLines(t, events), occurrenceLines(t, fileEvents(t, "work", "team"))
		if !slices.Equal(got, want) {
			t.Errorf("occurrences over CalDAV:\n%s\nwant (from the ICS files):\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The stand-up began in 2020; its instances in the window are there:
		// Mon 2, Wed 4 (moved to 10:00), Mon 9, Wed 11, Fri 13; Fri 6 is
		// excluded.
		var standup []string
		for _, l := range got {
			if strings.Contains(l, "uid=standup-2020@example.com") {
				standup = append(standup, l[:len("2026-03-02T08:00:00Z")])
			}
		}
		wantStandup := []string{"2026-03-02T08:00:00Z", "2026-03-04T09:00:00Z", "2026-03-09T08:00:00Z", "2026-03-11T08:00:00Z", "2026-03-13T08:00:00Z"}
		if !slices.Equal(standup, wantStandup) {
			t.Errorf("stand-up instances in the window = %q, want %q", standup, wantStandup)
		}
	})

	t.Run("selection", func(t *testing.T) {
		events, _, err := srv.source(t, "/", nil, func(o *caldav.Options) { o.Calendars = []string{"Team Meetings"} }).Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch(calendars=Team Meetings) error = %v", err)
		}
		if got := uids(events); !slices.Equal(got, teamUIDs) {
			t.Errorf("Fetch(calendars=Team Meetings) UIDs = %q, want %q", got, teamUIDs)
		}
		_, _, err = srv.source(t, "/", nil, func(o *caldav.Options) { o.Calendars = []string{"Holidays"} }).Fetch(t.Context())
		if err == nil || !strings.Contains(err.Error(), `"Holidays"`) || !strings.Contains(err.Error(), `"Work" (`+srv.home+`work/)`) {
			t.Errorf("Fetch(calendars=Holidays) error = %v, want it to name Holidays and list Work", err)
		}
		events, _, err = srv.source(t, srv.home+"work/", nil, nil).Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch(%swork/) error = %v", srv.home, err)
		}
		if got := uids(events); !slices.Equal(got, workUIDs) {
			t.Errorf("Fetch(%swork/) UIDs = %q, want %q", srv.home, got, workUIDs)
		}
	})

	t.Run("changes and deletions, only changed objects fetched", func(t *testing.T) {
		srv.mkcalendar(t, "changing", "Changing", "VEVENT")
		work := readTestdataDir(t, "work")
		for _, f := range []string{"lunch.ics", "vacation.ics", "review.ics"} {
			srv.put(t, "changing", f, work[f])
		}
		ct := &countingTransport{base: http.DefaultTransport}
		src := srv.source(t, "/", ct, func(o *caldav.Options) { o.Calendars = []string{"Changing"} })
		if _, _, err := src.Fetch(t.Context()); err != nil {
			t.Fatalf("first Fetch() error = %v", err)
		}
		ct.take()

		pollUnchanged(t, srv, src, ct)

		srv.put(t, "changing", "lunch.ics", strings.Replace(work["lunch.ics"], "Lunch with Bob", "Lunch with Dave", 1))
		srv.put(t, "changing", "new.ics", strings.Replace(work["lunch.ics"], "lunch-0303@example.com", "new@example.com", 1))
		srv.do(t, http.MethodDelete, srv.home+"changing/vacation.ics", "", nil)
		events, _, err := src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch() after changes error = %v", err)
		}
		if got, want := uids(events), []string{"lunch-0303@example.com", "new@example.com", "review-0305@example.com"}; !slices.Equal(got, want) {
			t.Errorf("Fetch() after changes UIDs = %q, want %q", got, want)
		}
		reqs, _ := ct.take()
		var fetched []string
		for _, r := range reqs {
			if strings.Contains(r.Body, "calendar-multiget") {
				fetched = append(fetched, multigetHrefs(r.Body)...)
			}
		}
		if want := []string{srv.home + "changing/lunch.ics", srv.home + "changing/new.ics"}; !slices.Equal(fetched, want) {
			t.Errorf("Fetch() after changes downloaded %q, want only %q", fetched, want)
		}
		if srv.name == "radicale" {
			if len(reqs) != 4 {
				t.Errorf("Fetch() after changes requests = %v, want 4 (getlastmodified, getctag, sync-collection, multiget)", methods(reqs))
			}
		} else if len(reqs) != 3 {
			t.Errorf("Fetch() after changes requests = %v, want 3 (getctag, sync-collection, multiget)", methods(reqs))
		}
		lines := occurrenceLines(t, events)
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, `"Lunch with Dave"`) }) {
			t.Errorf("occurrences after the change = %q, want the new lunch summary", lines)
		}

		if got, want := uids(pollUnchanged(t, srv, src, ct)), []string{"lunch-0303@example.com", "new@example.com", "review-0305@example.com"}; !slices.Equal(got, want) {
			t.Errorf("unchanged Fetch() after changes UIDs = %q, want %q", got, want)
		}
	})

	if srv.storage != "" {
		t.Run("forgotten sync token", func(t *testing.T) {
			srv.mkcalendar(t, "forgetful", "Forgetful", "VEVENT")
			work := readTestdataDir(t, "work")
			srv.put(t, "forgetful", "lunch.ics", work["lunch.ics"])
			srv.put(t, "forgetful", "review.ics", work["review.ics"])
			ct := &countingTransport{base: http.DefaultTransport}
			src := srv.source(t, srv.home+"forgetful/", ct, func(o *caldav.Options) { o.Logger = testLogger(t) })
			if _, _, err := src.Fetch(t.Context()); err != nil {
				t.Fatalf("first Fetch() error = %v", err)
			}
			// Radicale keeps its sync tokens here; without them, the
			// token we hold is unknown to it.
			cache := filepath.Join(srv.storage, "collection-root", strings.Trim(srv.home, "/"), "forgetful", ".Radicale.cache", "sync-token")
			if err := os.RemoveAll(cache); err != nil {
				t.Fatal(err)
			}
			srv.put(t, "forgetful", "vacation.ics", work["vacation.ics"])
			srv.do(t, http.MethodDelete, srv.home+"forgetful/lunch.ics", "", nil)
			ct.take()
			events, _, err := src.Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch() with a forgotten token error = %v", err)
			}
			if got, want := uids(events), []string{"review-0305@example.com", "vacation-0309@example.com"}; !slices.Equal(got, want) {
				t.Errorf("Fetch() with a forgotten token UIDs = %q, want %q", got, want)
			}
			reqs, _ := ct.take()
			var fetched []string
			for _, r := range reqs {
				if strings.Contains(r.Body, "calendar-multiget") {
					fetched = append(fetched, multigetHrefs(r.Body)...)
				}
			}
			if want := []string{srv.home + "forgetful/vacation.ics"}; !slices.Equal(fetched, want) {
				t.Errorf("Fetch() with a forgotten token downloaded %q, want only %q (requests %v)", fetched, want, methods(reqs))
			}
		})
	}

	if srv.user != "" {
		t.Run("wrong password", func(t *testing.T) {
			src := srv.source(t, "/", nil, func(o *caldav.Options) {
				o.Password = func(context.Context) (string, error) { return "guess", nil }
			})
			_, _, err := src.Fetch(t.Context())
			if err == nil || !strings.Contains(err.Error(), "wrong credentials for "+srv.root) || strings.Contains(err.Error(), "guess") {
				t.Errorf("Fetch() with a wrong password error = %v, want wrong credentials for %s", err, srv.root)
			}
		})
	}

	t.Run("server down", func(t *testing.T) {
		src := srv.source(t, "/", nil, nil)
		if _, _, err := src.Fetch(t.Context()); err != nil {
			t.Fatalf("Fetch() error = %v", err)
		}
		stopServer(t, srv)
		caldav.SetRetry(src, 1, time.Millisecond)
		_, _, err := src.Fetch(t.Context())
		if err == nil || !strings.Contains(err.Error(), "connection refused") {
			t.Errorf("Fetch() with the server down error = %v, want connection refused", err)
		}
	})
}

// pollUnchanged polls src's unchanged calendars until a Fetch makes one
// request, and returns that Fetch's events. Radicale's getlastmodified is
// trusted only once its second has passed, so there the polls within about
// two seconds of a change also read getctag; other servers answer every
// unchanged poll with one request. No poll may download anything.
func pollUnchanged(t testing.TB, srv *davServer, src *caldav.Source, ct *countingTransport) []*calendar.Event {
	t.Helper()
	ct.take()
	deadline := time.Now().Add(15 * time.Second)
	for {
		events, _, err := src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("unchanged Fetch() error = %v", err)
		}
		reqs, n := ct.take()
		if len(reqs) == 1 {
			return events
		}
		if srv.name != "radicale" || len(reqs) != 2 || slices.ContainsFunc(reqs, func(r recordedRequest) bool { return r.Method != "PROPFIND" }) {
			t.Fatalf("unchanged Fetch() requests = %v (%d bytes), want 1", methods(reqs), n)
		}
		if time.Now().After(deadline) {
			t.Fatalf("unchanged Fetch() requests = %v (%d bytes) for 15s, want 1 after 2s without changes", methods(reqs), n)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// stopServer stops srv's process and waits until its port refuses
// connections.
func stopServer(t testing.TB, srv *davServer) {
	t.Helper()
	syscall.Kill(-srv.process.Cmd.Process.Pid, syscall.SIGTERM)
	addr := strings.TrimSuffix(strings.TrimPrefix(srv.root, "http://"), "/")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s did not stop", srv.name)
}

// testLogger sends a source's debug log to t.Log.
func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}
