package ics

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/poll"
	"github.com/calpresence/calpresence/internal/httpx"
)

// newFeedSource returns a source and a count of the parses it has done.
func newFeedSource(t *testing.T, opts Options) (*Source, *atomic.Int32) {
	t.Helper()
	if opts.Parse.Zone == nil {
		opts.Parse.Zone = feedZone(t, "Europe/Berlin")
	}
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%q) = %v", opts.URL, err)
	}
	var n atomic.Int32
	s.parse = func(r io.Reader, po calendar.ParseOptions) ([]*calendar.Event, []calendar.Warning, error) {
		n.Add(1)
		return calendar.ParseICS(r, po)
	}
	return s, &n
}

func feedZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q) = %v", name, err)
	}
	return loc
}

func readFeedFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "feeds", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func feedUIDs(events []*calendar.Event) []string {
	var out []string
	for _, e := range events {
		out = append(out, e.UID)
	}
	return out
}

func feedFetchOK(t *testing.T, s *Source) []*calendar.Event {
	t.Helper()
	events, _, err := s.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() = %v", err)
	}
	return events
}

func TestNewURLs(t *testing.T) {
	zone := feedZone(t, "UTC")
	tests := []struct {
		url      string
		wantErr  string // substring; "" means valid
		wantName string
		wantURL  string // what the source fetches: the URL or the path
	}{
		{url: "cal/work.ics", wantName: "work", wantURL: "cal/work.ics"},
		{url: "/srv/cal/team.ics", wantName: "team", wantURL: "/srv/cal/team.ics"},
		{url: "file:///srv/cal/team.ics", wantName: "team", wantURL: "/srv/cal/team.ics"},
		{url: "file://localhost/srv/x.ics", wantName: "x", wantURL: "/srv/x.ics"},
		{url: "http://example.com/feeds/holidays.ics", wantName: "holidays", wantURL: "http://example.com/feeds/holidays.ics"},
		{url: "HTTPS://example.com/", wantName: "example.com", wantURL: "https://example.com/"},
		{url: "webcal://p01-calendars.icloud.com/published/2/abc", wantName: "abc", wantURL: "https://p01-calendars.icloud.com/published/2/abc"},
		{url: "webcals://example.com/a.ics", wantName: "a", wantURL: "https://example.com/a.ics"},
		{url: "", wantErr: "ics: empty URL"},
		{url: "ftp://example.com/a.ics", wantErr: `ics ftp://example.com/a.ics: unsupported scheme "ftp"`},
		{url: "caldav://example.com/", wantErr: `unsupported scheme "caldav"`},
		{url: "file://otherhost/a.ics", wantErr: `file URL names host "otherhost"`},
		{url: "https:///a.ics", wantErr: "URL without a host"},
		{url: "https://u:hunter2@exa mple.com/", wantErr: "invalid URL"},
		{url: "https://u:hunter2@[::1/", wantErr: "invalid URL"},
	}
	for _, tt := range tests {
		s, err := New(Options{URL: tt.url, Parse: calendar.ParseOptions{Zone: zone}})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New(%q) = %v, want error containing %q", tt.url, err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Errorf("New(%q) = %v, want no password in the error", tt.url, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("New(%q) = %v, want ok", tt.url, err)
			continue
		}
		if s.Name() != tt.wantName {
			t.Errorf("New(%q).Name() = %q, want %q", tt.url, s.Name(), tt.wantName)
		}
		got := s.path
		if s.url != "" {
			got = s.url
		}
		if got != tt.wantURL {
			t.Errorf("New(%q) fetches %q, want %q", tt.url, got, tt.wantURL)
		}
	}
}

func TestNewOptions(t *testing.T) {
	zone := feedZone(t, "UTC")
	pw := func(context.Context) (string, error) { return "x", nil }
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"no zone", Options{URL: "a.ics"}, "no time zone"},
		{"username without password", Options{URL: "https://h/a.ics", Username: "u", Parse: calendar.ParseOptions{Zone: zone}}, "without a password source"},
		{"credentials for a file", Options{URL: "a.ics", Password: pw, Parse: calendar.ParseOptions{Zone: zone}}, "credentials given for a file"},
		{"negative limit", Options{URL: "a.ics", MaxBytes: -1, Parse: calendar.ParseOptions{Zone: zone}}, "negative size limit"},
	}
	for _, tt := range tests {
		_, err := New(tt.opts)
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("New(%s) = %v, want error containing %q", tt.name, err, tt.wantErr)
		}
	}

	s, err := New(Options{Name: "team", URL: "https://u:hunter2@h/a.ics", Parse: calendar.ParseOptions{Zone: zone, Source: "https://u:hunter2@h/a.ics"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.parseOpts.Calendar != "team" || strings.Contains(s.parseOpts.Source, "hunter2") || s.URL() != "https://h/a.ics" {
		t.Errorf("New() parse options = %+v, URL() = %q, want calendar team and the userinfo dropped", s.parseOpts, s.URL())
	}
}

// condFeedServer serves body with the given validators and answers conditional
// requests; it counts requests and 304s.
type condFeedServer struct {
	mu           sync.Mutex
	body         []byte
	etag         string
	lastModified string
	requests     int
	notModified  int
}

func (f *condFeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
	}
	if f.lastModified != "" {
		w.Header().Set("Last-Modified", f.lastModified)
	}
	if (f.etag != "" && r.Header.Get("If-None-Match") == f.etag) ||
		(f.etag == "" && f.lastModified != "" && r.Header.Get("If-Modified-Since") == f.lastModified) {
		f.notModified++
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Write(f.body)
}

func (f *condFeedServer) set(body []byte, etag string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.body, f.etag = body, etag
}

func (f *condFeedServer) counts() (requests, notModified int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests, f.notModified
}

func TestSourceConditionalGET(t *testing.T) {
	two, one := readFeedFile(t, "two.ics"), readFeedFile(t, "one.ics")
	tests := []struct {
		name            string
		etag, lastMod   string
		wantNotModified int
	}{
		{"etag", `"v1"`, "", 2},
		{"last-modified", "", "Mon, 02 Mar 2026 08:00:00 GMT", 2},
		{"no validators: digest", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &condFeedServer{body: two, etag: tt.etag, lastModified: tt.lastMod}
			srv := httptest.NewServer(f)
			defer srv.Close()
			s, parses := newFeedSource(t, Options{URL: srv.URL + "/cal.ics"})

			first := feedFetchOK(t, s)
			if got, want := feedUIDs(first), []string{"standup@example.com", "review@example.com"}; !slices.Equal(got, want) {
				t.Fatalf("Fetch() UIDs = %q, want %q", got, want)
			}
			for range 2 {
				again := feedFetchOK(t, s)
				if len(again) != len(first) || again[0] != first[0] {
					t.Fatalf("Fetch() after no change = %q, want the previous events", feedUIDs(again))
				}
			}
			requests, notModified := f.counts()
			if requests != 3 || notModified != tt.wantNotModified || parses.Load() != 1 {
				t.Errorf("after 3 fetches of an unchanged feed: %d requests, %d answered 304, %d parses; want 3, %d, 1",
					requests, notModified, parses.Load(), tt.wantNotModified)
			}

			f.set(one, strings.ReplaceAll(tt.etag, "v1", "v2"))
			if tt.lastMod != "" {
				f.mu.Lock()
				f.lastModified = "Tue, 03 Mar 2026 08:00:00 GMT"
				f.mu.Unlock()
			}
			if got := feedUIDs(feedFetchOK(t, s)); !slices.Equal(got, []string{"lunch@example.com"}) {
				t.Errorf("Fetch() after a change = %q, want the new events", got)
			}
			if parses.Load() != 2 {
				t.Errorf("parses after a change = %d, want 2", parses.Load())
			}
		})
	}
}

func TestSourceUnexpected304(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer srv.Close()
	s, _ := newFeedSource(t, Options{URL: srv.URL})
	_, _, err := s.Fetch(t.Context())
	if err == nil || !strings.Contains(err.Error(), "304 Not Modified to an unconditional request") {
		t.Errorf("Fetch() = %v, want an error about the 304", err)
	}
}

func feedGzip(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSourceGzip(t *testing.T) {
	body := readFeedFile(t, "two.ics")
	bomb := append([]byte("BEGIN:VCALENDAR\r\n"), bytes.Repeat([]byte("X-PAD:0000000000000000000000000000000\r\n"), 1<<15)...) // ~1.2 MiB
	var sawAccept atomic.Value
	handler := func(payload []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			sawAccept.Store(r.Header.Get("Accept-Encoding"))
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(feedGzip(t, payload))
		}
	}
	srv := httptest.NewServer(handler(body))
	defer srv.Close()
	s, _ := newFeedSource(t, Options{URL: srv.URL})
	if got := feedUIDs(feedFetchOK(t, s)); len(got) != 2 {
		t.Errorf("Fetch() of a feedGzip feed = %q, want 2 events", got)
	}
	if got := sawAccept.Load(); got != "gzip" {
		t.Errorf("Accept-Encoding sent = %q, want gzip", got)
	}

	bombSrv := httptest.NewServer(handler(bomb))
	defer bombSrv.Close()
	s, _ = newFeedSource(t, Options{URL: bombSrv.URL + "/big.ics", MaxBytes: 1 << 20})
	_, _, err := s.Fetch(t.Context())
	if want := "ics " + bombSrv.URL + "/big.ics: feed exceeds the size limit of 1 MiB"; err == nil || err.Error() != want {
		t.Errorf("Fetch() of a feedGzip feed over the limit = %v, want %q", err, want)
	}

	badSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(body)
	}))
	defer badSrv.Close()
	s, _ = newFeedSource(t, Options{URL: badSrv.URL})
	if _, _, err := s.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "gzip") {
		t.Errorf("Fetch() of a body that claims gzip but is not = %v, want a gzip error", err)
	}
}

func TestSourceSizeLimit(t *testing.T) {
	big := append([]byte("BEGIN:VCALENDAR\r\n"), bytes.Repeat([]byte("X"), 4096)...)
	tests := []struct {
		name    string
		chunked bool // no Content-Length: the limit must hold while reading
	}{{"content-length", false}, {"chunked", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.chunked {
					w.Write(big[:100])
					w.(http.Flusher).Flush()
					w.Write(big[100:])
					return
				}
				w.Header().Set("Content-Length", fmt.Sprint(len(big)))
				w.Write(big)
			}))
			defer srv.Close()
			s, parses := newFeedSource(t, Options{URL: srv.URL + "/a.ics", MaxBytes: 4 << 10})
			_, _, err := s.Fetch(t.Context())
			if want := "ics " + srv.URL + "/a.ics: feed exceeds the size limit of 4 KiB"; err == nil || err.Error() != want {
				t.Errorf("Fetch() = %v, want %q", err, want)
			}
			if parses.Load() != 0 {
				t.Errorf("parses = %d, want 0", parses.Load())
			}
		})
	}

	// Exactly at the limit is fine.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(big) }))
	defer srv.Close()
	s, _ := newFeedSource(t, Options{URL: srv.URL, MaxBytes: int64(len(big))})
	feedFetchOK(t, s)
}

func TestSourceRedirects(t *testing.T) {
	body := readFeedFile(t, "two.ics")
	mux := http.NewServeMux()
	mux.HandleFunc("/hop/{n}", func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscan(r.PathValue("n"), &n)
		if n == 0 {
			w.Write(body)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/hop/%d", n-1), http.StatusFound)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	tests := []struct {
		hops    int
		wantErr string
	}{
		{0, ""},
		{1, ""},
		{maxRedirects, ""},
		{maxRedirects + 1, "stopped after 5 redirects"},
		{50, "stopped after 5 redirects"},
	}
	for _, tt := range tests {
		url := fmt.Sprintf("%s/hop/%d", srv.URL, tt.hops)
		s, _ := newFeedSource(t, Options{URL: url})
		_, _, err := s.Fetch(t.Context())
		if tt.wantErr == "" && err != nil {
			t.Errorf("Fetch(%d redirects) = %v, want ok", tt.hops, err)
		}
		if want := "ics " + url + ": " + tt.wantErr; tt.wantErr != "" && (err == nil || err.Error() != want) {
			t.Errorf("Fetch(%d redirects) = %v, want %q", tt.hops, err, want)
		}
	}
}

// feedAuthRecorder records the Authorization header of each request.
type feedAuthRecorder struct {
	mu   sync.Mutex
	seen []string
}

func (a *feedAuthRecorder) record(r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = append(a.seen, r.Header.Get("Authorization"))
}

func (a *feedAuthRecorder) get() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.seen)
}

func TestSourceAuth(t *testing.T) {
	const secret = "s3cr3t-pa55"
	body := readFeedFile(t, "one.ics")
	var rec feedAuthRecorder
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec.record(r)
		w.Write(body)
	}))
	defer srv.Close()
	password := func(context.Context) (string, error) { return secret, nil }
	tests := []struct {
		name     string
		username string
		password func(context.Context) (string, error)
		want     string
	}{
		{"none", "", nil, ""},
		{"basic", "alice", password, "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:"+secret))},
		{"bearer", "", password, "Bearer " + secret},
	}
	for _, tt := range tests {
		s, _ := newFeedSource(t, Options{URL: srv.URL, Username: tt.username, Password: tt.password})
		feedFetchOK(t, s)
		seen := rec.get()
		if got := seen[len(seen)-1]; got != tt.want {
			t.Errorf("Fetch(%s) sent Authorization %q, want %q", tt.name, got, tt.want)
		}
	}

	failing := func(context.Context) (string, error) {
		return "", errors.New("password_command pass show dav: exit status 1")
	}
	s, _ := newFeedSource(t, Options{URL: srv.URL, Username: "alice", Password: failing})
	n := len(rec.get())
	if _, _, err := s.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "credentials: password_command") {
		t.Errorf("Fetch() with a failing password source = %v, want a credentials error", err)
	}
	if len(rec.get()) != n {
		t.Errorf("Fetch() with a failing password source sent a request")
	}
}

func TestSourceStatusErrors(t *testing.T) {
	const secret = "s3cr3t-pa55"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private.ics":
			if _, pw, _ := r.BasicAuth(); pw != "right" {
				http.Error(w, "no", http.StatusUnauthorized)
				return
			}
			w.Write([]byte("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"))
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			w.Write([]byte("<html>login</html>"))
		case "/gone.ics":
			http.Error(w, "gone", http.StatusGone)
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	password := func(context.Context) (string, error) { return secret, nil }
	u := srv.URL
	tests := []struct {
		name     string
		url      string
		username string
		password func(context.Context) (string, error)
		want     string
		wantCode int
	}{
		{"wrong password", u + "/private.ics", "alice", password, "ics: wrong credentials for " + u + "/private.ics: HTTP 401 Unauthorized", 401},
		{"no password", u + "/private.ics", "", nil, "ics " + u + "/private.ics: the feed needs credentials (HTTP 401 Unauthorized)", 401},
		{"gone", u + "/gone.ics", "", nil, "ics " + u + "/gone.ics: server answered HTTP 410 Gone", 410},
		{"server error", u + "/x.ics", "", nil, "ics " + u + "/x.ics: server answered HTTP 500 Internal Server Error", 500},
		{"userinfo in URL", strings.Replace(u, "://", "://bob:"+secret+"@", 1) + "/x.ics", "", nil,
			"ics " + u + "/x.ics: server answered HTTP 500 Internal Server Error", 500},
		{"not a calendar", u + "/html", "", nil, u + `/html:1:1: expected BEGIN:VCALENDAR, got "<html>login</html>"`, 0},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		s, _ := newFeedSource(t, Options{URL: tt.url, Username: tt.username, Password: tt.password,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		_, _, err := s.Fetch(t.Context())
		if err == nil || err.Error() != tt.want {
			t.Errorf("Fetch(%s) = %v, want %q", tt.name, err, tt.want)
		}
		var se *httpx.StatusError
		if code := 0; errors.As(err, &se) && se.Code != tt.wantCode || !errors.As(err, &se) && tt.wantCode != code {
			t.Errorf("Fetch(%s) status code = %v, want %d", tt.name, err, tt.wantCode)
		}
		if strings.Contains(fmt.Sprint(err), secret) || strings.Contains(logs.String(), secret) {
			t.Errorf("Fetch(%s) leaked the password: error %v, logs %q", tt.name, err, logs.String())
		}
	}
}

func TestSourceCrossHostRedirectDropsCredentials(t *testing.T) {
	body := readFeedFile(t, "one.ics")
	var other feedAuthRecorder
	otherSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		other.record(r)
		w.Write(body)
	}))
	defer otherSrv.Close()
	var origin feedAuthRecorder
	originSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin.record(r)
		switch r.URL.Path {
		case "/away":
			// Same IP, another port: another service, as far as
			// credentials go.
			http.Redirect(w, r, otherSrv.URL+"/cal.ics", http.StatusMovedPermanently)
		case "/here":
			http.Redirect(w, r, "/cal.ics", http.StatusTemporaryRedirect)
		default:
			w.Write(body)
		}
	}))
	defer originSrv.Close()
	password := func(context.Context) (string, error) { return "tok", nil }

	s, _ := newFeedSource(t, Options{URL: originSrv.URL + "/away", Password: password})
	feedFetchOK(t, s)
	if got := other.get(); len(got) != 1 || got[0] != "" {
		t.Errorf("Authorization sent to the other host after a redirect = %q, want none", got)
	}
	if got := origin.get(); len(got) != 1 || got[0] != "Bearer tok" {
		t.Errorf("Authorization sent to the origin = %q, want the token", got)
	}

	s, _ = newFeedSource(t, Options{URL: originSrv.URL + "/here", Password: password})
	feedFetchOK(t, s)
	if got := origin.get(); len(got) != 3 || got[2] != "Bearer tok" {
		t.Errorf("Authorization after a same-host redirect = %q, want the token kept", got)
	}
}

func TestSourceServerDown(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/cal.ics"
	srv.Close()
	s, _ := newFeedSource(t, Options{URL: url})
	_, _, err := s.Fetch(t.Context())
	if err == nil || !strings.HasPrefix(err.Error(), "ics "+url+": ") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Fetch() from a closed port = %v, want a connection error naming %s", err, url)
	}
	if strings.Count(fmt.Sprint(err), url) != 1 {
		t.Errorf("Fetch() = %v, want the URL named once", err)
	}
}

func TestSourceSlowServer(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	s, _ := newFeedSource(t, Options{URL: srv.URL})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, _, err := s.Fetch(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "ics "+srv.URL) {
		t.Errorf("Fetch() from a server that never answers = %v, want context.DeadlineExceeded naming the URL", err)
	}

	// A fetch waiting for another one gives up with its context too.
	s.sem <- struct{}{}
	ctx, cancel = context.WithCancel(t.Context())
	cancel()
	if _, _, err := s.Fetch(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Fetch() while another fetch runs, ctx cancelled = %v, want context.Canceled", err)
	}
	<-s.sem
}

func TestSourceTLS(t *testing.T) {
	body := readFeedFile(t, "one.ics")
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()

	s, _ := newFeedSource(t, Options{URL: srv.URL})
	if _, _, err := s.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("Fetch() from a server with an unknown CA = %v, want a certificate error", err)
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	shared := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	s, _ = newFeedSource(t, Options{URL: srv.URL, CAFile: ca, HTTPClient: shared})
	feedFetchOK(t, s)
	if tc := shared.Transport.(*http.Transport).TLSClientConfig; shared.CheckRedirect != nil || tc != nil && tc.RootCAs != nil {
		t.Errorf("Fetch() with CAFile modified the shared HTTP client")
	}
	webcal := strings.Replace(srv.URL, "https://", "webcal://", 1)
	s, _ = newFeedSource(t, Options{URL: webcal, CAFile: ca})
	feedFetchOK(t, s)

	bad := filepath.Join(t.TempDir(), "bad.pem")
	os.WriteFile(bad, []byte("not pem"), 0o600)
	s, _ = newFeedSource(t, Options{URL: srv.URL, CAFile: bad})
	if _, _, err := s.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "no PEM certificates") {
		t.Errorf("Fetch() with a CA file without certificates = %v, want an error saying so", err)
	}
}

func TestSourceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "cal.ics")
	if err := os.WriteFile(path, readFeedFile(t, "two.ics"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, url := range []string{path, "file://" + path} {
		s, parses := newFeedSource(t, Options{URL: url})
		if got := feedUIDs(feedFetchOK(t, s)); len(got) != 2 {
			t.Fatalf("Fetch(%s) = %q, want 2 events", url, got)
		}
		feedFetchOK(t, s)
		if parses.Load() != 1 {
			t.Errorf("parses of an unchanged file = %d, want 1", parses.Load())
		}
	}

	s, parses := newFeedSource(t, Options{URL: path})
	feedFetchOK(t, s)
	// Same size, new modification time: read again.
	mtime := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	feedFetchOK(t, s)
	if parses.Load() != 1 { // same content, so the digest spares the parse
		t.Errorf("parses after touching the file = %d, want 1 (content unchanged)", parses.Load())
	}
	if err := os.WriteFile(path, readFeedFile(t, "one.ics"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := feedUIDs(feedFetchOK(t, s)); !slices.Equal(got, []string{"lunch@example.com"}) {
		t.Errorf("Fetch() after rewriting the file = %q, want the new events", got)
	}

	if err := os.WriteFile(path, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Fetch(t.Context()); err == nil {
		t.Errorf("Fetch() of a corrupt file = nil error, want one")
	}
	// Nothing lost: the source still has the last good events for when the
	// file is fixed, and the failed read is not remembered as current.
	if got := feedUIDs(s.events); !slices.Equal(got, []string{"lunch@example.com"}) {
		t.Errorf("events after a failed read = %q, want the last good ones", got)
	}

	tests := []struct {
		url  string
		want string
	}{
		{filepath.Join(dir, "missing.ics"), "ics " + filepath.Join(dir, "missing.ics") + ": no such file or directory"},
		{dir, "ics " + dir + ": is a directory, not an iCalendar file"},
	}
	for _, tt := range tests {
		s, _ := newFeedSource(t, Options{URL: tt.url})
		if _, _, err := s.Fetch(t.Context()); err == nil || err.Error() != tt.want {
			t.Errorf("Fetch(%s) = %v, want %q", tt.url, err, tt.want)
		}
	}

	big := filepath.Join(dir, "big.ics")
	os.WriteFile(big, bytes.Repeat([]byte("x"), 2048), 0o600)
	s, _ = newFeedSource(t, Options{URL: big, MaxBytes: 1024})
	if _, _, err := s.Fetch(t.Context()); err == nil || err.Error() != "ics "+big+": feed exceeds the size limit of 1 KiB" {
		t.Errorf("Fetch(%s) = %v, want the size limit error", big, err)
	}
}

func TestSourceFetchErrorInput(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/429":
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case "/503":
			http.Error(w, "later", http.StatusServiceUnavailable)
		case "/html":
			w.Write([]byte("<html>"))
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 2048))
		}
	}))
	defer srv.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	missing := filepath.Join(t.TempDir(), "missing.ics")
	tests := []struct {
		url       string
		wantInput bool
	}{
		{srv.URL + "/404", true},
		{srv.URL + "/429", false},
		{srv.URL + "/503", false},
		{srv.URL + "/html", true},
		{srv.URL + "/big", true},
		{down.URL, false},
		{missing, true},
	}
	for _, tt := range tests {
		s, _ := newFeedSource(t, Options{URL: tt.url, MaxBytes: 1024})
		_, _, err := s.Fetch(t.Context())
		var fe *FetchError
		if !errors.As(err, &fe) || fe.Input != tt.wantInput || fe.URL != tt.url {
			t.Errorf("Fetch(%s) = %#v, want a *FetchError with Input %v", tt.url, err, tt.wantInput)
		}
	}

	// An error that names its position in the feed is not prefixed again.
	s, _ := newFeedSource(t, Options{URL: srv.URL + "/html"})
	s.parse = func(io.Reader, calendar.ParseOptions) ([]*calendar.Event, []calendar.Warning, error) {
		return nil, nil, fmt.Errorf("%s:1:1: expected BEGIN:VCALENDAR", srv.URL+"/html")
	}
	if _, _, err := s.Fetch(t.Context()); err == nil || err.Error() != srv.URL+"/html:1:1: expected BEGIN:VCALENDAR" {
		t.Errorf("Fetch() = %v, want the positioned error alone", err)
	}
}

// TestSourceParseICS runs the real parse step behind the transport.
func TestSourceParseICS(t *testing.T) {
	body := readFeedFile(t, "two.ics")
	f := &condFeedServer{body: body, etag: `"x"`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	url := strings.Replace(srv.URL, "://", "://alice:hunter2@", 1) + "/team.ics"
	s, err := New(Options{URL: url, Parse: calendar.ParseOptions{Zone: feedZone(t, "Europe/Berlin"), Source: url}})
	if err != nil {
		t.Fatal(err)
	}
	events, _, err := s.Fetch(t.Context())
	if err != nil {
		t.Fatalf("Fetch() = %v", err)
	}
	if got := feedUIDs(events); !slices.Equal(got, []string{"standup@example.com", "review@example.com"}) {
		t.Errorf("Fetch() UIDs = %q", got)
	}
	again, _, err := s.Fetch(t.Context())
	if err != nil || len(again) != 2 || again[0] != events[0] {
		t.Errorf("Fetch() after 304 = %v, %v; want the same events", feedUIDs(again), err)
	}
	if _, notModified := f.counts(); notModified != 1 {
		t.Errorf("304 answers = %d, want 1", notModified)
	}
	if strings.Contains(s.parseOpts.Source, "hunter2") {
		t.Errorf("parse source %q carries the password", s.parseOpts.Source)
	}
}

func TestRetryAfter(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "120")
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	s, _ := newFeedSource(t, Options{URL: srv.URL})
	_, _, err := s.Fetch(t.Context())
	var se *httpx.StatusError
	if !errors.As(err, &se) || se.RetryAfter() != 2*time.Minute {
		t.Errorf("Fetch() from a busy server = %v, want a StatusError with RetryAfter 2m", err)
	}
}

// BenchmarkSourceNotModified measures a poll of an unchanged feed over
// HTTP: one conditional GET answered 304, no parse.
func BenchmarkSourceNotModified(b *testing.B) {
	f := &condFeedServer{body: readFeedFile(b, "two.ics"), etag: `"v1"`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	s, err := New(Options{URL: srv.URL, Parse: calendar.ParseOptions{Zone: time.UTC}})
	if err != nil {
		b.Fatal(err)
	}
	if _, _, err := s.Fetch(b.Context()); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.Fetch(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSourceFileUnchanged measures a poll of an unchanged file:
// one stat, no read.
func BenchmarkSourceFileUnchanged(b *testing.B) {
	path := filepath.Join(b.TempDir(), "cal.ics")
	if err := os.WriteFile(path, readFeedFile(b, "two.ics"), 0o600); err != nil {
		b.Fatal(err)
	}
	s, err := New(Options{URL: path, Parse: calendar.ParseOptions{Zone: time.UTC}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := s.Fetch(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzNew checks that no URL makes the constructor panic or
// repeat a password from the URL in its error, name or display URL.
func FuzzNew(f *testing.F) {
	for _, s := range []string{"https://u:secret1@h/a.ics", "webcal://h/x", "file:///a.ics", "a.ics", "ftp://u:secret1@h",
		"https://u:secret1@exa mple.com/", "http://[::1]:80/", "https://u:secret1@[::1/", "://", "file://h/x"} {
		f.Add(s)
	}
	zone := time.UTC
	f.Fuzz(func(t *testing.T, raw string) {
		s, err := New(Options{URL: raw, Parse: calendar.ParseOptions{Zone: zone, Source: raw}})
		// The password is what net/http would send: the URL's userinfo;
		// for a string that is no URL, what looks like one.
		secret := ""
		if !strings.Contains(raw, "://") {
			return // a file path, whatever it looks like
		}
		if u, err := url.Parse(raw); err == nil {
			if u.User != nil {
				secret, _ = u.User.Password()
			}
		} else if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i {
			if k := strings.Index(raw[i+3:j], ":"); k >= 0 {
				secret = raw[i+3+k+1 : j]
			}
		}
		if len(secret) < 6 || strings.Count(raw, secret) != 1 {
			return
		}
		var shown []string
		if err != nil {
			shown = append(shown, err.Error())
		} else {
			shown = append(shown, s.Name(), s.URL(), s.parseOpts.Source)
		}
		for _, text := range shown {
			if strings.Contains(text, secret) {
				t.Errorf("New(%q) shows the password: %q", raw, text)
			}
		}
	})
}

// Credentials never follow a redirect to another origin, a subdomain of
// the feed's host included.
func TestRedirectToSubdomainCarriesNoCredentials(t *testing.T) {
	body := readFeedFile(t, "one.ics")
	var mu sync.Mutex
	auth := map[string]string{} // host → Authorization
	var port int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth[r.Host] = r.Header.Get("Authorization")
		mu.Unlock()
		if r.URL.Path == "/a.ics" {
			http.Redirect(w, r, fmt.Sprintf("http://cdn.cal.test:%d/b.ics", port), http.StatusFound)
			return
		}
		w.Write(body)
	}))
	defer srv.Close()
	port = srv.Listener.Addr().(*net.TCPAddr).Port
	d := &net.Dialer{}
	client := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, srv.Listener.Addr().String())
		},
	}}
	password := func(context.Context) (string, error) { return "s3cr3t-pa55", nil }
	for _, user := range []string{"alice", ""} { // basic, bearer
		s, _ := newFeedSource(t, Options{URL: fmt.Sprintf("http://cal.test:%d/a.ics", port),
			Username: user, Password: password, HTTPClient: client})
		feedFetchOK(t, s)
		mu.Lock()
		if got := auth[fmt.Sprintf("cal.test:%d", port)]; got == "" {
			t.Errorf("user %q: Authorization sent to the feed's host = %q, want the credentials", user, got)
		}
		if got, ok := auth[fmt.Sprintf("cdn.cal.test:%d", port)]; !ok || got != "" {
			t.Errorf("user %q: Authorization sent to the subdomain = %q (reached: %v), want none", user, got, ok)
		}
		clear(auth)
		mu.Unlock()
	}
}

// TestWithScheduler polls a feed through the scheduler: the second poll costs a
// 304, still hands the events on, and a failing server keeps them.
func TestWithScheduler(t *testing.T) {
	f := &condFeedServer{body: readFeedFile(t, "two.ics"), etag: `"v1"`}
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	src, parses := newFeedSource(t, Options{Name: "team", URL: srv.URL + "/team.ics"})
	var mu sync.Mutex
	var updates []string
	s, err := poll.New(poll.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := s.Add(poll.Spec{Source: src, Zone: feedZone(t, "Europe/Berlin"),
		OnUpdate: func(name string, events []*calendar.Event, _ []calendar.Warning, _ bool) {
			mu.Lock()
			defer mu.Unlock()
			updates = append(updates, name+":"+events[0].UID)
		}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := p.Fetch(t.Context()); err != nil {
			t.Fatalf("Fetch() = %v", err)
		}
	}
	down.Store(true)
	if err := p.Fetch(t.Context()); err == nil || !strings.Contains(err.Error(), "502 Bad Gateway") {
		t.Errorf("Fetch() from a failing server = %v, want the 502", err)
	}
	if _, notModified := f.counts(); notModified != 1 || parses.Load() != 1 {
		t.Errorf("after two polls: %d answered 304, %d parses; want 1 and 1", notModified, parses.Load())
	}
	mu.Lock()
	u := slices.Clone(updates)
	mu.Unlock()
	if len(u) != 2 || u[0] != "team:standup@example.com" || u[1] != u[0] {
		t.Errorf("OnUpdate calls = %q, want the feed's events twice", u)
	}
	if st := p.Status(); len(st.Events) != 2 || st.Failures != 1 {
		t.Errorf("Status() after a failure = %d events, %d failures; want the 2 last good events, 1 failure", len(st.Events), st.Failures)
	}
}
