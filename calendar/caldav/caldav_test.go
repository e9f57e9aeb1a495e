package caldav_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	gocaldav "github.com/emersion/go-webdav/caldav"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/caldav"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/httpx"
)

// The in-process tests run go-webdav's own CalDAV server (gocaldav.Handler)
// over a fake backend, behind httptest, for the faults that real servers
// rarely show on demand.

const (
	fakePrincipal = "/alice/"
	fakeHome      = "/alice/calendars/"
	fakeUser      = "alice"
	fakePassword  = "s3cret-pw"
	// breakMarker in an object's text is replaced, on the wire, by the
	// server's rewrite function.
	// no iCalendar parser accepts.
	breakMarker = "X-CALPRESENCE-TEST:BREAK"
)

type fakeObject struct {
	data     string
	etag     string
	noLength bool // leave out getcontentlength
}

type fakeCalendar struct {
	cal     gocaldav.Calendar
	objects map[string]*fakeObject // by file name
}

// fakeBackend is a gocaldav.Backend over in-memory calendars.
type fakeBackend struct {
	mu   sync.Mutex
	cals []*fakeCalendar
	gen  int
}

func (b *fakeBackend) CurrentUserPrincipal(context.Context) (string, error) {
	return fakePrincipal, nil
}
func (b *fakeBackend) CalendarHomeSetPath(context.Context) (string, error) { return fakeHome, nil }

func (b *fakeBackend) CreateCalendar(context.Context, *gocaldav.Calendar) error {
	return webdav.NewHTTPError(http.StatusForbidden, errors.New("read-only"))
}

func (b *fakeBackend) ListCalendars(context.Context) ([]gocaldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var l []gocaldav.Calendar
	for _, c := range b.cals {
		l = append(l, c.cal)
	}
	return l, nil
}

func (b *fakeBackend) find(p string) (*fakeCalendar, string) {
	for _, c := range b.cals {
		if p == c.cal.Path || p+"/" == c.cal.Path {
			return c, ""
		}
		if strings.HasPrefix(p, c.cal.Path) {
			return c, strings.TrimPrefix(p, c.cal.Path)
		}
	}
	return nil, ""
}

func (b *fakeBackend) GetCalendar(_ context.Context, p string) (*gocaldav.Calendar, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, name := b.find(p)
	if c == nil || name != "" {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no calendar %s", p))
	}
	cal := c.cal
	return &cal, nil
}

func (b *fakeBackend) object(c *fakeCalendar, name string) (*gocaldav.CalendarObject, error) {
	o := c.objects[name]
	if o == nil {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", name))
	}
	data, err := ical.NewDecoder(strings.NewReader(o.data)).Decode()
	if err != nil {
		return nil, err
	}
	co := &gocaldav.CalendarObject{Path: c.cal.Path + name, ETag: o.etag, Data: data}
	if !o.noLength {
		co.ContentLength = int64(len(o.data))
	}
	return co, nil
}

func (b *fakeBackend) GetCalendarObject(_ context.Context, p string, _ *gocaldav.CalendarCompRequest) (*gocaldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, name := b.find(p)
	if c == nil || name == "" {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no object %s", p))
	}
	return b.object(c, name)
}

func (b *fakeBackend) ListCalendarObjects(_ context.Context, p string, _ *gocaldav.CalendarCompRequest) ([]gocaldav.CalendarObject, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, _ := b.find(p)
	if c == nil {
		return nil, webdav.NewHTTPError(http.StatusNotFound, fmt.Errorf("no calendar %s", p))
	}
	var names []string
	for n := range c.objects {
		names = append(names, n)
	}
	sort.Strings(names)
	var l []gocaldav.CalendarObject
	for _, n := range names {
		co, err := b.object(c, n)
		if err != nil {
			return nil, err
		}
		l = append(l, *co)
	}
	return l, nil
}

func (b *fakeBackend) QueryCalendarObjects(context.Context, string, *gocaldav.CalendarQuery) ([]gocaldav.CalendarObject, error) {
	return nil, webdav.NewHTTPError(http.StatusNotImplemented, errors.New("no queries here"))
}

func (b *fakeBackend) PutCalendarObject(context.Context, string, *ical.Calendar, *gocaldav.PutCalendarObjectOptions) (*gocaldav.CalendarObject, error) {
	return nil, webdav.NewHTTPError(http.StatusForbidden, errors.New("read-only"))
}

func (b *fakeBackend) DeleteCalendarObject(context.Context, string) error {
	return webdav.NewHTTPError(http.StatusForbidden, errors.New("read-only"))
}

// put stores an object (as a test's server-side change).
func (b *fakeBackend) put(calPath, name, data string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, _ := b.find(calPath)
	b.gen++
	c.objects[name] = &fakeObject{data: data, etag: fmt.Sprintf("etag-%d", b.gen)}
}

func (b *fakeBackend) remove(calPath, name string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	c, _ := b.find(calPath)
	b.gen++
	delete(c.objects, name)
}

func (b *fakeBackend) setNoLength() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, c := range b.cals {
		for _, o := range c.objects {
			o.noLength = true
		}
	}
}

// newFakeBackend holds testdata/caldav: work ("Work"), team ("Team
// Meetings") and tasks ("Tasks", VTODO only).
func newFakeBackend(t testing.TB) *fakeBackend {
	t.Helper()
	b := &fakeBackend{}
	for _, c := range []struct{ dir, name, comp string }{
		{"work", "Work", "VEVENT"}, {"team", "Team Meetings", "VEVENT"}, {"tasks", "Tasks", "VTODO"},
	} {
		fc := &fakeCalendar{
			cal:     gocaldav.Calendar{Path: fakeHome + c.dir + "/", Name: c.name, SupportedComponentSet: []string{c.comp}},
			objects: map[string]*fakeObject{},
		}
		b.cals = append(b.cals, fc)
		for name, data := range readTestdataDir(t, c.dir) {
			b.gen++
			fc.objects[name] = &fakeObject{data: data, etag: fmt.Sprintf("etag-%d", b.gen)}
		}
	}
	return b
}

func readTestdataDir(t testing.TB, dir string) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "caldav", dir, "*.ics"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/caldav/%s: %v (%d files)", dir, err, len(files))
	}
	m := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		m[filepath.Base(f)] = string(b)
	}
	return m
}

type recordedRequest struct {
	Method, Path, Depth, Body string
	Response                  string
}

// fakeServer is go-webdav's gocaldav.Handler over a fakeBackend, with
// authentication, a fault hook and a record of the requests.
type fakeServer struct {
	*httptest.Server
	backend *fakeBackend

	mu       sync.Mutex
	requests []recordedRequest
	auth     string // the Authorization header required; "" for none
	// hook, when set, may answer a request itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request, n int) bool
	// rewrite, when set, changes the handler's answers on the wire.
	rewrite func([]byte) []byte
}

func newFakeServer(t testing.TB) *fakeServer {
	t.Helper()
	s := &fakeServer{backend: newFakeBackend(t)}
	s.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(fakeUser+":"+fakePassword))
	h := &gocaldav.Handler{Backend: s.backend}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		s.mu.Lock()
		s.requests = append(s.requests, recordedRequest{Method: r.Method, Path: r.URL.Path, Depth: r.Header.Get("Depth"), Body: string(body)})
		n := len(s.requests)
		hook, auth, rewrite := s.hook, s.auth, s.rewrite
		s.mu.Unlock()
		if hook != nil && hook(w, r, n) {
			return
		}
		if auth != "" && r.Header.Get("Authorization") != auth {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		out := rec.Body.Bytes()
		if rewrite != nil {
			out = rewrite(out)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.Header().Del("Content-Length")
		w.WriteHeader(rec.Code)
		w.Write(out)
		s.mu.Lock()
		s.requests[n-1].Response = string(out)
		s.mu.Unlock()
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fakeServer) setHook(h func(w http.ResponseWriter, r *http.Request, n int) bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = h
}

// take returns the requests recorded since the last take.
func (s *fakeServer) take() []recordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.requests
	s.requests = nil
	return r
}

func berlin(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// newSource makes a source for url with the fake server's credentials and
// fast retries.
func newSource(t testing.TB, url string, mod func(*caldav.Options)) *caldav.Source {
	t.Helper()
	opts := caldav.Options{
		Name:     "work",
		URL:      url,
		Username: fakeUser,
		Password: func(context.Context) (string, error) { return fakePassword, nil },
		Parse:    calendar.ParseOptions{Zone: berlin(t), Me: []string{"mailto:alice@example.com"}},
	}
	if mod != nil {
		mod(&opts)
	}
	s, err := caldav.New(opts)
	if err != nil {
		t.Fatalf("New(%+v) = %v", opts.URL, err)
	}
	caldav.SetRetry(s, 2, time.Millisecond)
	return s
}

func uids(events []*calendar.Event) []string {
	var l []string
	for _, e := range events {
		if !slices.Contains(l, e.UID) {
			l = append(l, e.UID)
		}
	}
	sort.Strings(l)
	return l
}

var (
	workUIDs = []string{"lunch-0303@example.com", "review-0305@example.com", "standup-2020@example.com", "vacation-0309@example.com"}
	teamUIDs = []string{"teamsync@example.com"}
)

func sorted(l ...[]string) []string {
	var all []string
	for _, x := range l {
		all = append(all, x...)
	}
	sort.Strings(all)
	return all
}

func TestCalDAVDiscoveryAndSelection(t *testing.T) {
	srv := newFakeServer(t)
	tests := []struct {
		name      string
		path      string
		calendars []string
		want      []string
	}{
		{"server root", "/", nil, sorted(workUIDs, teamUIDs)},
		{"principal", fakePrincipal, nil, sorted(workUIDs, teamUIDs)},
		{"calendar home", fakeHome, nil, sorted(workUIDs, teamUIDs)},
		{"one calendar", fakeHome + "team/", nil, teamUIDs},
		{"one calendar without slash", fakeHome + "team", nil, teamUIDs},
		{"by display name", "/", []string{"Work"}, workUIDs},
		{"by display name in other case", "/", []string{"team meetings"}, teamUIDs},
		{"by last path segment", "/", []string{"team"}, teamUIDs},
		{"by path", "/", []string{fakeHome + "work/", "team"}, sorted(workUIDs, teamUIDs)},
		{"a tasks calendar on request", "/", []string{"Tasks"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := newSource(t, srv.URL+tt.path, func(o *caldav.Options) { o.Calendars = tt.calendars })
			events, warnings, err := src.Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch(%s, %q) error = %v", tt.path, tt.calendars, err)
			}
			if got := uids(events); !slices.Equal(got, tt.want) {
				t.Errorf("Fetch(%s, %q) UIDs = %q, want %q", tt.path, tt.calendars, got, tt.want)
			}
			if len(warnings) > 0 {
				t.Errorf("Fetch(%s) warnings = %v, want none", tt.path, warnings)
			}
		})
	}
}

func TestCalDAVUnknownCalendarListsNames(t *testing.T) {
	srv := newFakeServer(t)
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) { o.Calendars = []string{"Work", "Holidays"} })
	_, _, err := src.Fetch(t.Context())
	if err == nil {
		t.Fatalf("Fetch(calendars=Work,Holidays) error = nil, want one naming Holidays")
	}
	for _, want := range []string{`"Holidays"`, `"Work" (/alice/calendars/work/)`, `"Team Meetings" (/alice/calendars/team/)`, `"Tasks"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Fetch(calendars=Work,Holidays) error = %q, want it to contain %s", err, want)
		}
	}
}

func TestCalDAVRedirectsKeepMethodAndBody(t *testing.T) {
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, from := range []string{"/.well-known/caldav", "/old/"} {
			t.Run(fmt.Sprintf("%d %s", code, from), func(t *testing.T) {
				srv := newFakeServer(t)
				srv.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
					if r.URL.Path == from {
						http.Redirect(w, r, fakePrincipal, code)
						return true
					}
					return false
				})
				start := "/"
				if from != "/.well-known/caldav" {
					start = from
				}
				src := newSource(t, srv.URL+start, nil)
				events, _, err := src.Fetch(t.Context())
				if err != nil {
					t.Fatalf("Fetch() through a %d redirect error = %v", code, err)
				}
				if got := uids(events); !slices.Equal(got, sorted(workUIDs, teamUIDs)) {
					t.Errorf("Fetch() through a %d redirect UIDs = %q, want %q", code, got, sorted(workUIDs, teamUIDs))
				}
				reqs := srv.take()
				i := slices.IndexFunc(reqs, func(r recordedRequest) bool { return r.Path == from })
				if i < 0 || i+1 >= len(reqs) {
					t.Fatalf("requests = %v, want one to %s followed by its redirect", reqs, from)
				}
				next := reqs[i+1]
				if next.Path != fakePrincipal || next.Method != "PROPFIND" || next.Body != reqs[i].Body || next.Body == "" {
					t.Errorf("request after the %d = %s %s (body %d bytes), want PROPFIND %s with the same %d-byte body",
						code, next.Method, next.Path, len(next.Body), fakePrincipal, len(reqs[i].Body))
				}
			})
		}
	}
}

func TestCalDAVRedirectLoop(t *testing.T) {
	srv := newFakeServer(t)
	srv.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/loop/" {
			http.Redirect(w, r, "/loop/", http.StatusFound)
			return true
		}
		return false
	})
	_, _, err := newSource(t, srv.URL+"/loop/", nil).Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "redirects") {
		t.Errorf("Fetch() of a redirect loop error = %v, want too many redirects", err)
	}
}

func TestCalDAVBrokenObjectIsSkipped(t *testing.T) {
	broken := strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//calpresence//test//EN
BEGIN:VEVENT
UID:broken@example.com
DTSTAMP:20260101T000000Z
DTSTART:20260302T100000Z
DTEND:20260302T110000Z
SUMMARY:Broken
`+breakMarker+`
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")
	tests := []struct {
		name    string
		rewrite func([]byte) []byte
		wantErr string
	}{
		{"a component cut short", func(b []byte) []byte {
			return bytes.ReplaceAll(b, []byte(breakMarker), []byte("BEGIN:VALARM"))
		}, "END:VEVENT closes BEGIN:VALARM"},
		{"not iCalendar at all", func(b []byte) []byte {
			// The object's calendar-data no longer starts with BEGIN:VCALENDAR.
			re := regexp.MustCompile(`(broken\.ics</href>.*?<calendar-data[^>]*>)BEGIN:VCALENDAR`)
			return re.ReplaceAll(b, []byte("${1}<html>Internal error</html>"))
		}, "calendar object skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.rewrite = tt.rewrite
			srv.backend.put(fakeHome+"work/", "broken.ics", broken)
			src := newSource(t, srv.URL+"/", func(o *caldav.Options) { o.Calendars = []string{"Work"} })
			events, warnings, err := src.Fetch(t.Context())
			if err != nil {
				t.Fatalf("Fetch() with a broken object error = %v, want nil", err)
			}
			if got := uids(events); !slices.Equal(got, workUIDs) {
				t.Errorf("Fetch() with a broken object UIDs = %q, want %q", got, workUIDs)
			}
			wantSource := srv.URL + fakeHome + "work/broken.ics"
			if len(warnings) != 1 || warnings[0].Source != wantSource || warnings[0].UID != "broken@example.com" ||
				!strings.Contains(warnings[0].Err.Error(), tt.wantErr) {
				t.Fatalf("Fetch() with a broken object warnings = %v, want one for %s, uid broken@example.com, saying %q",
					warnings, wantSource, tt.wantErr)
			}
			// The warning stays while the object does, and costs no download.
			srv.take()
			_, warnings, err = src.Fetch(t.Context())
			if err != nil || len(warnings) != 1 || warnings[0].Source != wantSource {
				t.Errorf("second Fetch() = %v, %v; want the broken object's warning again", warnings, err)
			}
			if reqs := srv.take(); len(reqs) != 1 {
				t.Errorf("second Fetch() made %d requests, want 1", len(reqs))
			}
		})
	}
}

func TestCalDAVMissingContentLength(t *testing.T) {
	srv := newFakeServer(t)
	srv.backend.setNoLength()
	events, _, err := newSource(t, srv.URL+"/", nil).Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() without getcontentlength error = %v", err)
	}
	if got := uids(events); !slices.Equal(got, sorted(workUIDs, teamUIDs)) {
		t.Errorf("Fetch() without getcontentlength UIDs = %q, want %q", got, sorted(workUIDs, teamUIDs))
	}
	for _, r := range srv.take() {
		if strings.Contains(r.Response, "getcontentlength>") && strings.Contains(r.Response, ".ics") {
			t.Fatalf("the fake server sent getcontentlength for objects; the test does not test what it says")
		}
	}
}

func TestCalDAVUnchangedPollIsOneRequest(t *testing.T) {
	srv := newFakeServer(t)
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) { o.Calendars = []string{"Work"} })
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatalf("first Fetch() error = %v", err)
	}
	srv.take()

	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("unchanged Fetch() error = %v", err)
	}
	reqs := srv.take()
	if len(reqs) != 1 || reqs[0].Method != "PROPFIND" {
		t.Errorf("unchanged Fetch() requests = %v, want one PROPFIND", methods(reqs))
	}
	if got := uids(events); !slices.Equal(got, workUIDs) {
		t.Errorf("unchanged Fetch() UIDs = %q, want %q", got, workUIDs)
	}

	// Change one object, add one, delete one: one listing, one multiget of
	// exactly the two new versions.
	work := fakeHome + "work/"
	lunch := readTestdataDir(t, "work")["lunch.ics"]
	srv.backend.put(work, "lunch.ics", strings.Replace(lunch, "Lunch with Bob", "Lunch with Dave", 1))
	srv.backend.put(work, "new event@x.ics", strings.Replace(lunch, "lunch-0303@example.com", "new@example.com", 1))
	srv.backend.remove(work, "vacation.ics")
	events, _, err = src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() after changes error = %v", err)
	}
	want := []string{"lunch-0303@example.com", "new@example.com", "review-0305@example.com", "standup-2020@example.com"}
	if got := uids(events); !slices.Equal(got, want) {
		t.Errorf("Fetch() after changes UIDs = %q, want %q", got, want)
	}
	reqs = srv.take()
	if len(reqs) != 2 || reqs[0].Method != "PROPFIND" || reqs[1].Method != "REPORT" {
		t.Fatalf("Fetch() after changes requests = %v, want PROPFIND, REPORT", methods(reqs))
	}
	if got := multigetHrefs(reqs[1].Body); !slices.Equal(got, []string{work + "lunch.ics", work + "new%20event@x.ics"}) {
		t.Errorf("Fetch() after changes fetched %q, want only the changed lunch.ics and the new object", got)
	}

	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatalf("Fetch() error = %v", err)
	}
	if reqs := srv.take(); len(reqs) != 1 {
		t.Errorf("unchanged Fetch() after changes made %d requests, want 1", len(reqs))
	}
}

func methods(reqs []recordedRequest) []string {
	var l []string
	for _, r := range reqs {
		l = append(l, r.Method+" "+r.Path)
	}
	return l
}

// multigetHrefs returns the hrefs a calendar-multiget body asks for, sorted.
func multigetHrefs(body string) []string {
	var l []string
	for _, part := range strings.Split(body, "<D:href>")[1:] {
		l = append(l, strings.SplitN(part, "</D:href>", 2)[0])
	}
	sort.Strings(l)
	return l
}

func TestCalDAVStatusErrors(t *testing.T) {
	start := fakeHome + "work/"
	tests := []struct {
		name      string
		code      int
		failFirst int // requests answered with code; 0 for all
		wantErr   []string
		wantReqs  int // requests made, 0 to not check
	}{
		{"401", http.StatusUnauthorized, 0, []string{"wrong credentials for ", start}, 1},
		{"403", http.StatusForbidden, 0, []string{"forbidden", start}, 1},
		{"404", http.StatusNotFound, 0, []string{"not found", start}, 1},
		{"500 always", http.StatusInternalServerError, 0, []string{"500 Internal Server Error", start}, 3},
		// 429 and 503 say "later": the scheduler waits, the request does
		// not retry them.
		{"503 always", http.StatusServiceUnavailable, 0, []string{"503", start}, 1},
		{"429 always", http.StatusTooManyRequests, 0, []string{"429", start}, 1},
		{"500 then fine", http.StatusInternalServerError, 2, nil, 0},
		{"502 then fine", http.StatusBadGateway, 1, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
				if tt.failFirst == 0 || n <= tt.failFirst {
					http.Error(w, "no", tt.code)
					return true
				}
				return false
			})
			events, _, err := newSource(t, srv.URL+start, nil).Fetch(t.Context())
			reqs := srv.take()
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Fetch() after %d × %d error = %v, want a retried success", tt.failFirst, tt.code, err)
				}
				if got := uids(events); !slices.Equal(got, workUIDs) {
					t.Errorf("Fetch() UIDs = %q, want %q", got, workUIDs)
				}
				return
			}
			if err == nil {
				t.Fatalf("Fetch() against %d error = nil, want one", tt.code)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Fetch() against %d error = %q, want it to contain %q", tt.code, err, w)
				}
			}
			if strings.Contains(err.Error(), fakePassword) {
				t.Errorf("Fetch() error = %q reveals the password", err)
			}
			var se *httpx.StatusError
			if !errors.As(err, &se) || se.Code != tt.code {
				t.Errorf("Fetch() error = %v, want an *httpx.StatusError with code %d", err, tt.code)
			}
			if tt.wantReqs != 0 && len(reqs) != tt.wantReqs {
				t.Errorf("Fetch() against %d made %d requests, want %d", tt.code, len(reqs), tt.wantReqs)
			}
		})
	}
}

func TestCalDAVWrongPasswordFromRoot(t *testing.T) {
	srv := newFakeServer(t)
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) {
		o.Password = func(context.Context) (string, error) { return "not-the-password", nil }
	})
	_, _, err := src.Fetch(t.Context())
	want := "wrong credentials for " + srv.URL + "/.well-known/caldav"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "not-the-password") {
		t.Errorf("Fetch() with a wrong password error = %v, want it to contain %q and no password", err, want)
	}
	if reqs := srv.take(); len(reqs) != 1 {
		t.Errorf("Fetch() with a wrong password made %d requests, want 1 (no retry, no fallback)", len(reqs))
	}
}

func TestCalDAVAuth(t *testing.T) {
	tests := []struct {
		name     string
		username string
		secret   string
		want     string
	}{
		{"basic", "bob", "pw:with:colons", "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:pw:with:colons"))},
		{"bearer", "", "tok-123", "Bearer tok-123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newFakeServer(t)
			srv.auth = tt.want
			var calls atomic.Int32
			src := newSource(t, srv.URL+"/", func(o *caldav.Options) {
				o.Username = tt.username
				o.Password = func(context.Context) (string, error) { calls.Add(1); return tt.secret, nil }
			})
			for range 2 {
				if _, _, err := src.Fetch(t.Context()); err != nil {
					t.Fatalf("Fetch() with %s auth error = %v", tt.name, err)
				}
			}
			if calls.Load() != 1 {
				t.Errorf("Password called %d times in 2 Fetches, want 1", calls.Load())
			}
		})
	}
}

func TestCalDAVPasswordRotated(t *testing.T) {
	srv := newFakeServer(t)
	var mu sync.Mutex
	current, calls := fakePassword, 0
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) {
		o.Password = func(context.Context) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			return current, nil
		}
	})
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The password changes on the server and in the password store.
	srv.mu.Lock()
	srv.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(fakeUser+":new-pw"))
	srv.mu.Unlock()
	mu.Lock()
	current = "new-pw"
	mu.Unlock()
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() after a password change error = %v, want the new password read and used", err)
	}
	if got := uids(events); !slices.Equal(got, sorted(workUIDs, teamUIDs)) {
		t.Errorf("Fetch() after a password change UIDs = %q, want %q", got, sorted(workUIDs, teamUIDs))
	}
	if calls != 2 {
		t.Errorf("Password called %d times, want 2 (at start and after the 401)", calls)
	}
	// A password that is simply wrong is reported, and read again next time.
	mu.Lock()
	current = "wrong"
	mu.Unlock()
	srv.mu.Lock()
	srv.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(fakeUser+":other"))
	srv.mu.Unlock()
	if _, _, err := src.Fetch(t.Context()); !strings.Contains(fmt.Sprint(err), "wrong credentials for") {
		t.Errorf("Fetch() with a wrong password error = %v, want wrong credentials", err)
	}
	if _, _, err := src.Fetch(t.Context()); !strings.Contains(fmt.Sprint(err), "wrong credentials for") {
		t.Errorf("Fetch() with a wrong password error = %v, want wrong credentials", err)
	}
	if calls != 4 {
		t.Errorf("Password called %d times, want 4 (once more after each failing Fetch)", calls)
	}
}

func TestCalDAVPasswordError(t *testing.T) {
	srv := newFakeServer(t)
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) {
		o.Password = func(context.Context) (string, error) { return "", errors.New("pass: no such entry") }
	})
	_, _, err := src.Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "password: pass: no such entry") {
		t.Errorf("Fetch() with a failing password source error = %v, want it named", err)
	}
	if reqs := srv.take(); len(reqs) != 0 {
		t.Errorf("Fetch() with a failing password source made %d requests, want 0", len(reqs))
	}
}

func TestCalDAVSlowResponses(t *testing.T) {
	hang := func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // until the client gives up
	}
	t.Run("one slow answer is retried", func(t *testing.T) {
		srv := newFakeServer(t)
		srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				hang(w, r)
				return true
			}
			return false
		})
		src := newSource(t, srv.URL+fakeHome+"work/", func(o *caldav.Options) { o.Timeout = 50 * time.Millisecond })
		events, _, err := src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch() with one slow answer error = %v", err)
		}
		if got := uids(events); !slices.Equal(got, workUIDs) {
			t.Errorf("Fetch() UIDs = %q, want %q", got, workUIDs)
		}
	})
	t.Run("the context bounds everything", func(t *testing.T) {
		srv := newFakeServer(t)
		srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool { hang(w, r); return true })
		src := newSource(t, srv.URL+fakeHome+"work/", nil)
		ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
		defer cancel()
		_, _, err := src.Fetch(ctx)
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Fetch() against a hung server error = %v, want context.DeadlineExceeded", err)
		}
	})
}

func TestCalDAVServerDown(t *testing.T) {
	srv := newFakeServer(t)
	url := srv.URL
	srv.Close()
	_, _, err := newSource(t, url+"/", nil).Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), url) {
		t.Errorf("Fetch() against a closed server error = %v, want connection refused naming %s", err, url)
	}
}

func TestCalDAVCalendarGoneIsRediscovered(t *testing.T) {
	srv := newFakeServer(t)
	src := newSource(t, srv.URL+"/", nil)
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.backend.mu.Lock()
	srv.backend.cals = slices.DeleteFunc(srv.backend.cals, func(c *fakeCalendar) bool { return path.Base(c.cal.Path) == "team" })
	srv.backend.mu.Unlock()
	if _, _, err := src.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Fatalf("Fetch() with a calendar gone error = %v, want not found", err)
	}
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() after rediscovery error = %v", err)
	}
	if got := uids(events); !slices.Equal(got, workUIDs) {
		t.Errorf("Fetch() after rediscovery UIDs = %q, want %q", got, workUIDs)
	}
}

func TestNewRejects(t *testing.T) {
	zone := calendar.ParseOptions{Zone: time.UTC}
	tests := []struct {
		name string
		opts caldav.Options
		want string
	}{
		{"no url", caldav.Options{Name: "w", Parse: zone}, "no url"},
		{"webcal", caldav.Options{Name: "w", URL: "webcal://x/", Parse: zone}, "scheme"},
		{"no host", caldav.Options{Name: "w", URL: "https:///dav/", Parse: zone}, "no host"},
		{"credentials in url", caldav.Options{Name: "w", URL: "https://bob:pw@x/", Parse: zone}, "credentials"},
		{"bad url with credentials", caldav.Options{Name: "w", URL: "https://bob:pw@x/%zz", Parse: zone}, "bad url"},
		{"no zone", caldav.Options{Name: "w", URL: "https://x/"}, "zone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := caldav.New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) error = %v, want it to contain %q", tt.name, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), ":pw@") {
				t.Errorf("NewCalDAVSource error = %q reveals the password", err)
			}
		})
	}
}

func TestCalDAVCAFile(t *testing.T) {
	srv := httptest.NewTLSServer(&gocaldav.Handler{Backend: newFakeBackend(t)})
	defer srv.Close()
	t.Run("untrusted", func(t *testing.T) {
		_, _, err := newSource(t, srv.URL+fakeHome+"work/", func(o *caldav.Options) { o.Username = "" }).Fetch(t.Context())
		if err == nil || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("Fetch() of an untrusted server error = %v, want a certificate error", err)
		}
	})
	t.Run("ca file", func(t *testing.T) {
		ca := filepath.Join(t.TempDir(), "ca.pem")
		writeCertPEM(t, ca, srv.Certificate().Raw)
		src := newSource(t, srv.URL+fakeHome+"work/", func(o *caldav.Options) { o.CAFile = ca })
		events, _, err := src.Fetch(t.Context())
		if err != nil {
			t.Fatalf("Fetch() with the CA file error = %v", err)
		}
		if got := uids(events); !slices.Equal(got, workUIDs) {
			t.Errorf("Fetch() with the CA file UIDs = %q, want %q", got, workUIDs)
		}
	})
}

func writeCertPEM(t *testing.T, file string, der []byte) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// ctagHook makes the fake server answer PROPFIND Depth 0 on the work
// calendar with a getctag that changes with every change to the backend, as
// most servers do (go-webdav's Handler has no getctag).
func ctagHook(srv *fakeServer) func(w http.ResponseWriter, r *http.Request, n int) bool {
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method != "PROPFIND" || r.Header.Get("Depth") != "0" || r.URL.Path != fakeHome+"work/" {
			return false
		}
		srv.backend.mu.Lock()
		gen := srv.backend.gen
		srv.backend.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprintf(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">
<d:response><d:href>%swork/</d:href>
<d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype><d:displayname>Work</d:displayname>
<cs:getctag>"ctag-%d"</cs:getctag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
<d:propstat><d:prop><d:sync-token/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat>
</d:response></d:multistatus>`, fakeHome, gen)
		return true
	}
}

func TestCalDAVCTag(t *testing.T) {
	srv := newFakeServer(t)
	srv.setHook(ctagHook(srv))
	src := newSource(t, srv.URL+fakeHome+"work/", nil)
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatalf("first Fetch() error = %v", err)
	}
	srv.take()
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatalf("unchanged Fetch() error = %v", err)
	}
	if reqs := srv.take(); len(reqs) != 1 || reqs[0].Depth != "0" || !strings.Contains(reqs[0].Body, "getctag") {
		t.Errorf("unchanged Fetch() requests = %v, want one PROPFIND Depth 0 for getctag", methods(reqs))
	}
	srv.backend.remove(fakeHome+"work/", "lunch.ics")
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() after a deletion error = %v", err)
	}
	if got, want := uids(events), []string{"review-0305@example.com", "standup-2020@example.com", "vacation-0309@example.com"}; !slices.Equal(got, want) {
		t.Errorf("Fetch() after a deletion UIDs = %q, want %q", got, want)
	}
	if reqs := srv.take(); len(reqs) != 2 || reqs[1].Depth != "1" {
		t.Errorf("Fetch() after a deletion requests = %v, want the getctag PROPFIND and one listing, no download", methods(reqs))
	}
}

// BenchmarkCalDAVUnchangedPollClient measures our side of an unchanged poll:
// the server answers the getctag PROPFIND at once.
func BenchmarkCalDAVUnchangedPollClient(b *testing.B) {
	srv := newFakeServer(b)
	srv.setHook(ctagHook(srv))
	src := newSource(b, srv.URL+fakeHome+"work/", nil)
	if _, _, err := src.Fetch(b.Context()); err != nil {
		b.Fatal(err)
	}
	srv.take()
	for b.Loop() {
		if _, _, err := src.Fetch(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(srv.take()))/float64(b.N), "requests/op")
}

func TestCalDAVRediscoversHourly(t *testing.T) {
	srv := newFakeServer(t)
	var mu sync.Mutex
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	src := newSource(t, srv.URL+"/", func(o *caldav.Options) { o.Now = clock })
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	srv.backend.mu.Lock()
	srv.backend.cals = append(srv.backend.cals, &fakeCalendar{
		cal:     gocaldav.Calendar{Path: fakeHome + "new/", Name: "New", SupportedComponentSet: []string{"VEVENT"}},
		objects: map[string]*fakeObject{"a.ics": {data: readTestdataDir(t, "work")["vacation.ics"], etag: "n1"}},
	})
	srv.backend.mu.Unlock()
	srv.backend.remove(fakeHome+"work/", "vacation.ics")

	advance(59 * time.Minute)
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := sorted(slices.DeleteFunc(slices.Clone(workUIDs), func(s string) bool { return s == "vacation-0309@example.com" }), teamUIDs)
	if got := uids(events); !slices.Equal(got, want) {
		t.Errorf("Fetch() before an hour UIDs = %q, want %q (no new calendar yet)", got, want)
	}

	advance(time.Minute)
	events, _, err = src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := uids(events); !slices.Equal(got, sorted(workUIDs, teamUIDs)) {
		t.Errorf("Fetch() after an hour UIDs = %q, want %q (the new calendar's event too)", got, sorted(workUIDs, teamUIDs))
	}

	// A failed rediscovery keeps the calendars found before.
	srv.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.URL.Path == "/.well-known/caldav" || r.URL.Path == fakeHome {
			http.Error(w, "down for maintenance", http.StatusBadGateway)
			return true
		}
		return false
	})
	advance(time.Hour)
	events, _, err = src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() with rediscovery failing error = %v, want the known calendars synced", err)
	}
	if got := uids(events); !slices.Equal(got, sorted(workUIDs, teamUIDs)) {
		t.Errorf("Fetch() with rediscovery failing UIDs = %q, want %q", got, sorted(workUIDs, teamUIDs))
	}
}

func TestCalDAVObjectMissingFromMultigetIsAskedAgain(t *testing.T) {
	srv := newFakeServer(t)
	srv.setHook(ctagHook(srv))
	drop := regexp.MustCompile(`(?s)<response[^>]*><href>[^<]*lunch\.ics</href>.*?</response>`)
	var dropping atomic.Bool
	dropping.Store(true)
	srv.rewrite = func(b []byte) []byte {
		if dropping.Load() && bytes.Contains(b, []byte("calendar-data")) {
			return drop.ReplaceAll(b, nil)
		}
		return b
	}
	src := newSource(t, srv.URL+fakeHome+"work/", nil)
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() with an object left out error = %v", err)
	}
	if got := uids(events); slices.Contains(got, "lunch-0303@example.com") || len(got) != len(workUIDs)-1 {
		t.Fatalf("Fetch() with lunch.ics left out UIDs = %q, want the others", got)
	}
	// The calendar's getctag has not changed, but the last sync was not
	// complete: the next poll must look again.
	dropping.Store(false)
	srv.take()
	events, _, err = src.Fetch(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := uids(events); !slices.Equal(got, workUIDs) {
		t.Errorf("Fetch() after the object came back UIDs = %q, want %q", got, workUIDs)
	}
	var fetched []string
	for _, r := range srv.take() {
		if strings.Contains(r.Body, "calendar-multiget") {
			fetched = append(fetched, multigetHrefs(r.Body)...)
		}
	}
	if want := []string{fakeHome + "work/lunch.ics"}; !slices.Equal(fetched, want) {
		t.Errorf("second Fetch() downloaded %q, want only %q", fetched, want)
	}
}

// syncTokenHook makes the work calendar advertise a sync-token and no
// getctag; go-webdav's Handler then refuses the sync-collection REPORT, as
// a server with a broken RFC 6578 implementation would.
func syncTokenHook(srv *fakeServer) func(w http.ResponseWriter, r *http.Request, n int) bool {
	return func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if r.Method != "PROPFIND" || r.Header.Get("Depth") != "0" || r.URL.Path != fakeHome+"work/" {
			return false
		}
		srv.backend.mu.Lock()
		gen := srv.backend.gen
		srv.backend.mu.Unlock()
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprintf(w, `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
<d:response><d:href>%swork/</d:href>
<d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype>
<d:sync-token>http://example.com/sync/%d</d:sync-token></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>
</d:response></d:multistatus>`, fakeHome, gen)
		return true
	}
}

func TestCalDAVSyncCollectionRefused(t *testing.T) {
	srv := newFakeServer(t)
	srv.setHook(syncTokenHook(srv))
	src := newSource(t, srv.URL+fakeHome+"work/", nil)
	events, _, err := src.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() with sync-collection refused error = %v", err)
	}
	if got := uids(events); !slices.Equal(got, workUIDs) {
		t.Errorf("Fetch() with sync-collection refused UIDs = %q, want %q", got, workUIDs)
	}
	srv.take()
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	if reqs := srv.take(); len(reqs) != 1 || !strings.Contains(reqs[0].Body, "sync-token") {
		t.Errorf("unchanged Fetch() requests = %v, want one PROPFIND for the sync-token", methods(reqs))
	}
	srv.backend.remove(fakeHome+"work/", "lunch.ics")
	if _, _, err := src.Fetch(t.Context()); err != nil {
		t.Fatal(err)
	}
	reqs := srv.take()
	if len(reqs) != 2 || reqs[1].Method != "PROPFIND" || reqs[1].Depth != "1" {
		t.Errorf("Fetch() after a change requests = %v, want the sync-token PROPFIND and an ETag listing (sync-collection not tried again)", methods(reqs))
	}
}

func TestCalDAVSyncCollectionTruncated(t *testing.T) {
	// RFC 6578 §3.6: a server may answer part of the changes, marking the
	// collection 507; the client asks again from the token it got.
	srv := newFakeServer(t)
	tokenHook := syncTokenHook(srv)
	var tokens []string
	srv.setHook(func(w http.ResponseWriter, r *http.Request, n int) bool {
		if r.Method != "REPORT" || !strings.Contains(readBody(r), "sync-collection") {
			return tokenHook(w, r, n)
		}
		body := readBody(r)
		from := strings.SplitN(strings.SplitN(body, "<D:sync-token>", 2)[1], "<", 2)[0]
		tokens = append(tokens, from)
		names := []string{"lunch.ics", "review.ics", "standup.ics", "vacation.ics"}
		next, status := "page2", `<d:response><d:href>`+fakeHome+`work/</d:href><d:status>HTTP/1.1 507 Insufficient Storage</d:status></d:response>`
		if from == "" {
			names = names[:2]
		} else {
			names, next, status = names[2:], fmt.Sprintf("http://example.com/sync/%d", srv.backend.gen), ""
		}
		w.Header().Set("Content-Type", "application/xml")
		w.WriteHeader(http.StatusMultiStatus)
		fmt.Fprint(w, `<d:multistatus xmlns:d="DAV:">`)
		for _, name := range names {
			fmt.Fprintf(w, `<d:response><d:href>%swork/%s</d:href><d:propstat><d:prop><d:getetag>"%s"</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`,
				fakeHome, name, name)
		}
		fmt.Fprintf(w, `%s<d:sync-token>%s</d:sync-token></d:multistatus>`, status, next)
		return true
	})
	events, _, err := newSource(t, srv.URL+fakeHome+"work/", nil).Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() with a truncated sync-collection error = %v", err)
	}
	if got := uids(events); !slices.Equal(got, workUIDs) {
		t.Errorf("Fetch() with a truncated sync-collection UIDs = %q, want %q", got, workUIDs)
	}
	if want := []string{"", "page2"}; !slices.Equal(tokens, want) {
		t.Errorf("sync-collection asked from tokens %q, want %q", tokens, want)
	}
}

func readBody(r *http.Request) string {
	b, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(b))
	return string(b)
}

// dialTo is an HTTP client that reaches addr (a test server on 127.0.0.1)
// whatever host a URL names, so that tests can use host names that differ
// as an origin and its subdomain do.
func dialTo(addr string) *http.Client {
	d := &net.Dialer{}
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// Credentials never follow a redirect to another origin, a subdomain of
// the configured host included.
func TestCalDAVRedirectToSubdomainCarriesNoCredentials(t *testing.T) {
	srv := newFakeServer(t)
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	var mu sync.Mutex
	auth := map[string][]string{} // host → Authorization headers seen
	srv.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		mu.Lock()
		auth[r.Host] = append(auth[r.Host], r.Header.Get("Authorization"))
		mu.Unlock()
		if r.Host == fmt.Sprintf("dav.test:%d", port) && r.URL.Path == "/old/" {
			http.Redirect(w, r, fmt.Sprintf("http://p01.dav.test:%d%s", port, fakePrincipal), http.StatusMovedPermanently)
			return true
		}
		return false
	})
	src := newSource(t, fmt.Sprintf("http://dav.test:%d/old/", port), func(o *caldav.Options) {
		o.HTTPClient = dialTo(srv.Listener.Addr().String())
	})
	_, _, err := src.Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "wrong credentials") {
		t.Errorf("Fetch() redirected to a subdomain error = %v, want the subdomain's 401", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := auth[fmt.Sprintf("dav.test:%d", port)]; len(got) == 0 || got[0] == "" {
		t.Errorf("Authorization sent to the configured host = %q, want the credentials", got)
	}
	sub := auth[fmt.Sprintf("p01.dav.test:%d", port)]
	if len(sub) == 0 {
		t.Fatalf("no request reached the subdomain; requests by host: %v", auth)
	}
	for _, a := range sub {
		if a != "" {
			t.Errorf("Authorization sent to the subdomain = %q, want none", a)
		}
	}
}

// handlerTransport serves requests with a handler in the calling
// goroutine, without a network: for tests in a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// A CalDAV server's 503 with Retry-After is not retried by the source: it
// reaches the scheduler, whose next poll waits that long, not the shorter
// backoff.
func TestCalDAVRetryAfterReachesScheduler(t *testing.T) {
	srv := newFakeServer(t)
	var busy atomic.Bool
	var busyAnswers atomic.Int32
	busy.Store(true)
	srv.setHook(func(w http.ResponseWriter, r *http.Request, _ int) bool {
		if busy.Load() {
			busyAnswers.Add(1)
			w.Header().Set("Retry-After", "1200")
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	synctest.Test(t, func(t *testing.T) {
		src := newSource(t, "http://dav.test"+fakeHome+"work/", func(o *caldav.Options) {
			o.HTTPClient = &http.Client{Transport: handlerTransport{srv.Config.Handler}}
		})
		sched, err := poll.New(poll.Options{MinRetry: time.Minute, MaxRetry: 2 * time.Minute, ClockCheck: -1})
		if err != nil {
			t.Fatal(err)
		}
		every, err := poll.ParseSchedule("@every 1h")
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		var failedAt, updatedAt []time.Duration
		var retryAfter time.Duration
		_, err = sched.Add(poll.Spec{Source: src, Schedule: every, Zone: time.UTC,
			OnUpdate: func(string, []*calendar.Event, []calendar.Warning, bool) {
				updatedAt = append(updatedAt, time.Since(start))
			},
			OnFailure: func(_ string, err error) {
				failedAt = append(failedAt, time.Since(start))
				var se *httpx.StatusError
				if errors.As(err, &se) {
					retryAfter = se.RetryAfter()
				}
				busy.Store(false)
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- sched.Run(ctx) }()
		time.Sleep(30 * time.Minute)
		synctest.Wait()
		cancel()
		<-done
		if want := []time.Duration{0}; !slices.Equal(failedAt, want) || retryAfter != 20*time.Minute {
			t.Errorf("failures at %v with Retry-After %v, want %v and 20m", failedAt, retryAfter, want)
		}
		if want := []time.Duration{20 * time.Minute}; !slices.Equal(updatedAt, want) {
			t.Errorf("successful polls at %v, want %v: the server's Retry-After, not the 1m backoff", updatedAt, want)
		}
		if n := busyAnswers.Load(); n != 1 {
			t.Errorf("the source sent %d requests to the busy server, want 1: no retry of a 503 of its own", n)
		}
	})
}
