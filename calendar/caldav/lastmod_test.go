package caldav

import (
	"encoding/xml"
	"fmt"
	"github.com/calpresence/calpresence/calendar"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestJudgeLastModified(t *testing.T) {
	const l = "Thu, 26 Nov 2026 10:00:00 GMT"
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name        string
		value, date string
		wait        time.Duration
		want        lastModRead
	}{
		{"date 2s after", l, "Thu, 26 Nov 2026 10:00:02 GMT", 10 * time.Millisecond, lastModRead{at: at, ok: true, trusted: true}},
		{"date much later", l, "Fri, 27 Nov 2026 10:00:00 GMT", 0, lastModRead{at: at, ok: true, trusted: true}},
		{"date 1s after", l, "Thu, 26 Nov 2026 10:00:01 GMT", 10 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"same second", l, l, 10 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"date before", l, "Thu, 26 Nov 2026 09:59:00 GMT", 10 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"slow answer", l, "Thu, 26 Nov 2026 10:00:02 GMT", 600 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"at the wait bound", l, "Thu, 26 Nov 2026 10:00:02 GMT", lastModMaxWait, lastModRead{at: at, ok: true, trusted: true}},
		{"no date", l, "", 10 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"unreadable date", l, "yesterday", 10 * time.Millisecond, lastModRead{at: at, ok: true}},
		{"rfc 850 dates", "Thursday, 26-Nov-26 10:00:00 GMT", "Thursday, 26-Nov-26 10:00:05 GMT", 0, lastModRead{at: at, ok: true, trusted: true}},
		{"spaces", " " + l + "\n", "Thu, 26 Nov 2026 10:00:02 GMT", 0, lastModRead{at: at, ok: true, trusted: true}},
		{"empty value", "", "Thu, 26 Nov 2026 10:00:02 GMT", 0, lastModRead{}},
		{"unreadable value", "2026-11-26T10:00:00Z", "Thu, 26 Nov 2026 10:00:02 GMT", 0, lastModRead{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := judgeLastModified(tt.value, tt.date, tt.wait); got != tt.want {
				t.Errorf("judgeLastModified(%q, %q, %v) = %+v, want %+v", tt.value, tt.date, tt.wait, got, tt.want)
			}
		})
	}
}

func TestUnchangedSince(t *testing.T) {
	at := time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	checked := time.Date(2026, 11, 26, 11, 0, 0, 0, time.UTC)
	trusted := lastModRead{at: at, ok: true, trusted: true}
	tests := []struct {
		name     string
		held, lm lastModRead
		now      time.Time
		want     bool
	}{
		{"equal and trusted", trusted, lastModRead{at: at, ok: true}, checked.Add(time.Minute), true},
		{"just under an hour", trusted, trusted, checked.Add(fullCheckEvery - time.Second), true},
		{"an hour", trusted, trusted, checked.Add(fullCheckEvery), false},
		{"clock went back", trusted, trusted, checked.Add(-time.Second), false},
		{"held untrusted", lastModRead{at: at, ok: true}, trusted, checked.Add(time.Minute), false},
		{"none held", lastModRead{}, trusted, checked.Add(time.Minute), false},
		{"none read", trusted, lastModRead{}, checked.Add(time.Minute), false},
		{"later", trusted, lastModRead{at: at.Add(time.Second), ok: true, trusted: true}, checked.Add(time.Minute), false},
		{"earlier", trusted, lastModRead{at: at.Add(-time.Second), ok: true, trusted: true}, checked.Add(time.Minute), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			col := &davCollection{lastMod: tt.held, checkedAt: checked}
			if got := col.unchangedSince(tt.lm, tt.now); got != tt.want {
				t.Errorf("unchangedSince(%+v, %v) with %+v held = %v, want %v", tt.lm, tt.now, tt.held, got, tt.want)
			}
		})
	}
}

// fakeDAV is a scripted CalDAV server of one calendar at /cal/ that answers
// as Radicale does: getctag and sync-tokens that move with every change,
// and a getlastmodified and Date header the test sets.
type fakeDAV struct {
	mu          sync.Mutex
	tokenPrefix string
	version     int
	objects     map[string]string // name -> SUMMARY
	changedAt   map[string]int    // name -> version of its last change, deleted ones too
	lastMod     string            // getlastmodified; "" answers it 404
	date        string            // Date header; "" sends none
	lastModCode int               // answer the getlastmodified PROPFIND with this status
	ctagCode    int               // answer the getctag PROPFIND with this status
	omit        string            // an object multiget leaves out
	kinds       []string          // the requests, by what they ask
}

func newFakeDAV(t *testing.T, tokenPrefix string) (*fakeDAV, *httptest.Server) {
	f := &fakeDAV{tokenPrefix: tokenPrefix, objects: map[string]string{}, changedAt: map[string]int{}}
	f.put("a.ics", "A")
	f.put("b.ics", "B")
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

// put creates or modifies an object; the caller holds mu or is alone.
func (f *fakeDAV) put(name, summary string) {
	f.version++
	f.objects[name] = summary
	f.changedAt[name] = f.version
}

func (f *fakeDAV) del(name string) {
	f.version++
	delete(f.objects, name)
	f.changedAt[name] = f.version
}

func (f *fakeDAV) etag(name string) string { return `"` + strconv.Itoa(f.changedAt[name]) + `"` }

func (f *fakeDAV) take() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := f.kinds
	f.kinds = nil
	return k
}

func (f *fakeDAV) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	body := string(b)
	var kind string
	switch {
	case r.Method == "PROPFIND" && strings.Contains(body, "resourcetype"):
		kind = "probe"
	case r.Method == "PROPFIND" && strings.Contains(body, "getlastmodified"):
		kind = "lastmod"
	case r.Method == "PROPFIND" && strings.Contains(body, "getctag") && strings.Contains(body, "sync-token"):
		kind = "state"
	case r.Method == "PROPFIND" && strings.Contains(body, "getctag"):
		kind = "ctag"
	case r.Method == "REPORT" && strings.Contains(body, "sync-collection"):
		kind = "sync"
	case r.Method == "REPORT" && strings.Contains(body, "calendar-multiget"):
		kind = "multiget"
	default:
		kind = r.Method + "?"
	}
	f.kinds = append(f.kinds, kind)
	if r.URL.Path != "/cal/" {
		http.NotFound(w, r)
		return
	}
	code := map[string]int{"lastmod": f.lastModCode, "ctag": f.ctagCode}[kind]
	if code != 0 {
		http.Error(w, "scripted failure", code)
		return
	}
	var out strings.Builder
	out.WriteString(`<?xml version="1.0" encoding="utf-8"?><d:multistatus xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/">`)
	token := f.tokenPrefix + strconv.Itoa(f.version)
	switch kind {
	case "probe", "state", "ctag":
		fmt.Fprintf(&out, `<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:resourcetype><d:collection/><c:calendar/></d:resourcetype>`+
			`<d:displayname>Cal</d:displayname><cs:getctag>"%d"</cs:getctag><d:sync-token>%s</d:sync-token></d:prop>`+
			`<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, f.version, token)
	case "lastmod":
		if f.lastMod == "" {
			out.WriteString(`<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:getlastmodified/></d:prop><d:status>HTTP/1.1 404 Not Found</d:status></d:propstat></d:response>`)
		} else {
			fmt.Fprintf(&out, `<d:response><d:href>/cal/</d:href><d:propstat><d:prop><d:getlastmodified>%s</d:getlastmodified></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`, f.lastMod)
		}
		if f.date == "" {
			w.Header()["Date"] = nil // net/http adds one otherwise
		} else {
			w.Header().Set("Date", f.date)
		}
	case "sync":
		from := 0
		if s := strings.SplitN(strings.SplitN(body, "<D:sync-token>", 2)[1], "</D:sync-token>", 2)[0]; s != "" {
			from, _ = strconv.Atoi(strings.TrimPrefix(s, f.tokenPrefix))
		}
		names := make([]string, 0, len(f.changedAt))
		for name := range f.changedAt {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			if f.changedAt[name] <= from {
				continue
			}
			if _, ok := f.objects[name]; !ok {
				fmt.Fprintf(&out, `<d:response><d:href>/cal/%s</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>`, name)
				continue
			}
			fmt.Fprintf(&out, `<d:response><d:href>/cal/%s</d:href><d:propstat><d:prop><d:getetag>%s</d:getetag></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`,
				name, f.etag(name))
		}
		fmt.Fprintf(&out, `<d:sync-token>%s</d:sync-token>`, token)
	case "multiget":
		for _, part := range strings.Split(body, "<D:href>")[1:] {
			name := strings.TrimPrefix(strings.SplitN(part, "</D:href>", 2)[0], "/cal/")
			summary, ok := f.objects[name]
			if !ok || name == f.omit {
				continue
			}
			ics := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nDTSTAMP:20260101T000000Z\r\n"+
				"DTSTART:20260301T090000Z\r\nDTEND:20260301T100000Z\r\nSUMMARY:%s\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", name, summary)
			fmt.Fprintf(&out, `<d:response><d:href>/cal/%s</d:href><d:propstat><d:prop><d:getetag>%s</d:getetag><c:calendar-data>`, name, f.etag(name))
			xml.EscapeText(&out, []byte(ics))
			out.WriteString(`</c:calendar-data></d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>`)
		}
	default:
		http.Error(w, "not scripted", http.StatusMethodNotAllowed)
		return
	}
	out.WriteString(`</d:multistatus>`)
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	io.WriteString(w, out.String())
}

// lmStep is one poll of a scripted fast-path test: what changes before it,
// and what it must ask and see.
type lmStep struct {
	change      func(f *fakeDAV) // under f.mu
	lastMod     string           // offset from t0 in seconds, or a literal value
	date        string           // the same
	advance     time.Duration    // of the client's clock before the poll
	want        []string         // request kinds
	wantSummary []string         // nil: as before
	wantErr     bool
}

var lmT0 = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)

// lmAt turns "+N" into the HTTP-date N seconds after lmT0 and leaves other
// values as they are.
func lmAt(v string) string {
	if n, err := strconv.Atoi(v); err == nil && (strings.HasPrefix(v, "+") || strings.HasPrefix(v, "-")) {
		return lmT0.Add(time.Duration(n) * time.Second).Format(http.TimeFormat)
	}
	return v
}

func TestCalDAVLastModifiedFastPath(t *testing.T) {
	first := []string{"probe", "state", "sync", "multiget"}
	full := []string{"lastmod", "ctag"}
	fullSync := []string{"lastmod", "ctag", "sync", "multiget"}
	fullDelete := []string{"lastmod", "ctag", "sync"} // nothing to download
	fast := []string{"lastmod"}
	modifyA := func(f *fakeDAV) { f.put("a.ics", "A2") }
	tests := []struct {
		name        string
		tokenPrefix string
		steps       []lmStep
	}{
		{"trusted and equal: one request", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first, wantSummary: []string{"A", "B"}},
			{want: full}, // no getlastmodified held yet
			{want: fast},
			{advance: 10 * time.Minute, date: "+600", want: fast},
		}},
		{"untrusted until the second of L is closed", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+1", want: first},
			{want: full},
			{want: full},
			{date: "+2", want: full}, // held L was read at +1
			{want: fast},
		}},
		{"a change within the second of L is seen", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+0", want: first},
			{want: full},
			{change: modifyA, want: fullSync, wantSummary: []string{"A2", "B"}},
			{change: func(f *fakeDAV) { f.put("c.ics", "C") }, date: "+1", want: fullSync, wantSummary: []string{"A2", "B", "C"}},
			{change: func(f *fakeDAV) { f.del("b.ics") }, want: fullDelete, wantSummary: []string{"A2", "C"}},
			{date: "+2", want: full},
			{want: fast, wantSummary: []string{"A2", "C"}},
		}},
		{"a moved getlastmodified is checked", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{want: full},
			{want: fast},
			{change: modifyA, lastMod: "+10", date: "+12", want: fullSync, wantSummary: []string{"A2", "B"}},
			{want: fast},
			{change: func(f *fakeDAV) { f.put("c.ics", "C") }, lastMod: "+20", date: "+22", want: fullSync, wantSummary: []string{"A2", "B", "C"}},
			{change: func(f *fakeDAV) { f.del("a.ics") }, lastMod: "+30", date: "+32", want: fullDelete, wantSummary: []string{"B", "C"}},
			{lastMod: "+40", date: "+42", want: full}, // moved, nothing changed (properties, say)
			{want: fast},
			{lastMod: "+35", want: full}, // went back
			{want: fast},
		}},
		{"a full check at least hourly", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{advance: 30 * time.Minute, want: full},
			{advance: 29 * time.Minute, want: fast},
			{advance: time.Minute, want: []string{"probe", "lastmod"}}, // rediscovery, hourly since the first Fetch
			{advance: 29 * time.Minute, want: fast},
			{advance: time.Minute, want: full},
			{want: fast},
		}},
		{"no getlastmodified", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "", date: "+5", want: first},
			{want: full},
			{want: full},
			{change: modifyA, want: fullSync, wantSummary: []string{"A2", "B"}},
		}},
		{"unreadable getlastmodified", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "2026-11-26T10:00:00Z", date: "+5", want: first},
			{want: full},
			{want: full},
		}},
		{"no Date", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "", want: first},
			{want: full},
			{want: full},
		}},
		{"unreadable Date", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "soon", want: first},
			{want: full},
			{want: full},
		}},
		{"getlastmodified refused", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{want: full},
			{want: fast},
			{change: func(f *fakeDAV) { f.lastModCode = http.StatusForbidden; f.put("a.ics", "A2") }, want: fullSync, wantSummary: []string{"A2", "B"}},
			{want: full},
			{change: func(f *fakeDAV) { f.lastModCode = 0 }, want: full},
			{want: fast},
		}},
		{"getlastmodified 404 fails the poll", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{change: func(f *fakeDAV) { f.lastModCode = http.StatusNotFound }, want: []string{"lastmod"}, wantErr: true},
			{change: func(f *fakeDAV) { f.lastModCode = 0 }, want: []string{"probe", "lastmod", "ctag"}},
			{want: fast},
		}},
		{"a failed check is redone", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{want: full},
			{change: func(f *fakeDAV) { f.ctagCode = http.StatusInternalServerError }, advance: fullCheckEvery, date: "+3600",
				want: []string{"probe", "lastmod", "ctag"}, wantErr: true},
			{change: func(f *fakeDAV) { f.ctagCode = 0 }, want: full},
			{want: fast},
		}},
		{"an incomplete sync is redone", radicaleSyncTokenPrefix, []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{want: full},
			{change: func(f *fakeDAV) { f.put("c.ics", "C"); f.omit = "c.ics" }, lastMod: "+10", date: "+15", want: fullSync},
			{want: fullSync},
			{change: func(f *fakeDAV) { f.omit = "" }, want: fullSync, wantSummary: []string{"A", "B", "C"}},
			{want: fast},
		}},
		{"other servers keep the getctag path", "urn:other:sync:", []lmStep{
			{lastMod: "+0", date: "+5", want: first},
			{want: []string{"ctag"}},
			{want: []string{"ctag"}},
			{change: modifyA, want: []string{"ctag", "sync", "multiget"}, wantSummary: []string{"A2", "B"}},
			{advance: fullCheckEvery, want: []string{"probe", "ctag"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, srv := newFakeDAV(t, tt.tokenPrefix)
			clock := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
			src, err := New(Options{Name: "fake", URL: srv.URL + "/cal/",
				Parse: calendar.ParseOptions{Zone: time.UTC}, Now: func() time.Time { return clock }})
			if err != nil {
				t.Fatal(err)
			}
			src.retries, src.backoff, src.maxBackoff = 0, 0, 0
			summaries := []string{"A", "B"}
			for i, st := range tt.steps {
				f.mu.Lock()
				if st.change != nil {
					st.change(f)
				}
				if st.lastMod != "" || i == 0 {
					f.lastMod = lmAt(st.lastMod)
				}
				if st.date != "" || i == 0 {
					f.date = lmAt(st.date)
				}
				f.mu.Unlock()
				clock = clock.Add(st.advance)
				events, _, err := src.Fetch(t.Context())
				if (err != nil) != st.wantErr {
					t.Fatalf("step %d: Fetch() error = %v, want error %v", i, err, st.wantErr)
				}
				if got := f.take(); !slices.Equal(got, st.want) {
					t.Errorf("step %d: Fetch() asked %q, want %q", i, got, st.want)
				}
				if err != nil {
					continue
				}
				if st.wantSummary != nil {
					summaries = st.wantSummary
				}
				var got []string
				for _, e := range events {
					got = append(got, e.Summary)
				}
				sort.Strings(got)
				if !slices.Equal(got, summaries) {
					t.Errorf("step %d: Fetch() summaries = %q, want %q", i, got, summaries)
				}
			}
		})
	}
}
