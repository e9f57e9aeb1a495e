package ics

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/httpx"
)

// DefaultMaxBytes is the default limit on the size of one ICS feed, after
// decompression: large enough for a decade of a busy calendar, small enough
// that a broken or hostile server cannot exhaust memory.
const DefaultMaxBytes = 20 << 20

// maxRedirects bounds the redirects an ICS fetch follows; feeds behind a
// link shortener or a moved share need one or two.
const maxRedirects = 5

// Options configures a [Source].
type Options struct {
	// Name is the configured calendar's name; empty means one derived from
	// the URL (the file name without .ics, else the host).
	Name string
	// URL is a file path, or a file://, http://, https:// or webcal://
	// (fetched as https://) URL.
	URL string
	// Parse says how to read the feed. Calendar defaults to Name and
	// Source to the URL with any password removed; Zone is required.
	Parse calendar.ParseOptions
	// Username selects HTTP basic authentication with Password's result.
	// When Username is empty and Password is set, Password's result is
	// sent as a bearer token. Password is called on every fetch so that a
	// rotated secret is picked up; nil means no credentials.
	Username string
	Password func(ctx context.Context) (string, error)
	// HTTPClient is shared between sources (its connection pool is the
	// point of sharing); nil means a default client with timeouts. The
	// source never modifies it: it follows redirects with its own policy on
	// a shallow copy.
	HTTPClient *http.Client
	// MaxBytes limits the feed's size after decompression; 0 means
	// DefaultMaxBytes.
	MaxBytes int64
	// CAFile names a PEM file of extra certificate authorities trusted for
	// this feed, on top of the system's. It is read on the first fetch.
	CAFile string
	// Logger receives one debug record per fetch; nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Source is an iCalendar feed (RFC 5545) read from a file or over HTTP.
// It remembers what it last read so that an unchanged feed costs no parse:
// over HTTP it asks with a conditional GET (RFC 9110 §13.1: If-None-Match,
// If-Modified-Since) and compares a digest of the body when the server
// ignores those; for files it compares size and modification time.
//
// An Source is safe for concurrent use; fetches are serialized.
type Source struct {
	// Of Options, what fetches use: a Source per user, tens of thousands
	// in one process, so no copy of the rest.
	parseOpts calendar.ParseOptions
	username  string
	password  func(ctx context.Context) (string, error)
	shared    *http.Client // Options.HTTPClient
	caFile    string

	name     string
	redacted string // the URL for messages: no password
	url      string // the URL fetched, normalized; empty for a file path
	path     string // for files
	max      int64
	logger   *slog.Logger
	now      func() time.Time
	parse    func(io.Reader, calendar.ParseOptions) ([]*calendar.Event, []calendar.Warning, error)

	sem chan struct{} // held while fetching; guards the fields below

	client *http.Client // built on the first HTTP fetch

	have     bool // events below are from a successful read
	events   []*calendar.Event
	warnings []calendar.Warning
	etag     string
	lastMod  string
	digest   [sha256.Size]byte
	size     int64
	modTime  time.Time
}

// discard is the logger of every Source given none: one, not one each,
// and so at hand in the cache when a poll round asks it whether to log.
var discard = slog.New(slog.DiscardHandler)

// New validates opts and returns a source. It does no I/O.
func New(opts Options) (*Source, error) {
	s := &Source{
		parseOpts: opts.Parse,
		username:  opts.Username,
		password:  opts.Password,
		shared:    opts.HTTPClient,
		caFile:    opts.CAFile,
		max:       opts.MaxBytes,
		logger:    opts.Logger,
		now:       opts.Now,
		parse:     calendar.ParseICS,
		sem:       make(chan struct{}, 1),
	}
	if s.max == 0 {
		s.max = DefaultMaxBytes
	}
	if s.max < 0 {
		return nil, fmt.Errorf("ics %s: negative size limit %d", httpx.Redact(opts.URL), s.max)
	}
	if s.logger == nil {
		s.logger = discard
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.setURL(opts.URL); err != nil {
		return nil, err
	}
	if opts.Parse.Zone == nil {
		return nil, fmt.Errorf("ics %s: no time zone for floating times and all-day dates", s.redacted)
	}
	if opts.Username != "" && opts.Password == nil {
		return nil, fmt.Errorf("ics %s: username %q given without a password source", s.redacted, opts.Username)
	}
	if s.url == "" && (opts.Username != "" || opts.Password != nil) {
		return nil, fmt.Errorf("ics %s: credentials given for a file", s.redacted)
	}
	s.name = opts.Name
	if s.name == "" {
		var u *url.URL
		if s.url != "" {
			u, _ = url.Parse(s.url) // setURL parsed it
		}
		s.name = defaultICSName(u, s.path)
	}
	if s.parseOpts.Calendar == "" {
		s.parseOpts.Calendar = s.name
	}
	// Warnings carry Source: never a password, even when the caller
	// passes the URL as given.
	s.parseOpts.Source = httpx.Redact(s.parseOpts.Source)
	if s.parseOpts.Source == "" {
		s.parseOpts.Source = s.redacted
	}
	return s, nil
}

// setURL classifies raw as a file path or a URL of a supported scheme.
// CheckURL reports whether New would take raw as Options.URL: a file path,
// file://, http(s):// or webcal(s)://, without reading it, so that a config
// check refuses exactly what the source would.
func CheckURL(raw string) error {
	var s Source
	return s.setURL(raw)
}

func (s *Source) setURL(raw string) error {
	s.redacted = httpx.Redact(raw)
	if strings.TrimSpace(raw) == "" {
		return errors.New("ics: empty URL")
	}
	if !strings.Contains(raw, "://") {
		s.path = raw
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included; keep only the reason.
		return fmt.Errorf("ics %s: invalid URL: %w", s.redacted, httpx.UnwrapURLError(err))
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		if u.Host != "" && u.Host != "localhost" {
			return fmt.Errorf("ics %s: file URL names host %q; only local files can be read", s.redacted, u.Host)
		}
		if u.Path == "" {
			return fmt.Errorf("ics %s: file URL without a path", s.redacted)
		}
		s.path = u.Path
		return nil
	case "http", "https":
		u.Scheme = strings.ToLower(u.Scheme)
	case "webcal", "webcals":
		// webcal is not a protocol of its own: by convention it is https
		// with a hint to subscribe.
		u.Scheme = "https"
	default:
		return fmt.Errorf("ics %s: unsupported scheme %q (want a file path, file://, http://, https:// or webcal://)", s.redacted, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("ics %s: URL without a host", s.redacted)
	}
	u.Fragment = ""
	s.url = u.String()
	return nil
}

// defaultICSName names a calendar after its file or host when the config
// gives no name.
func defaultICSName(u *url.URL, path string) string {
	base := path
	if u != nil {
		base = u.Path
	}
	base = strings.TrimSuffix(filepath.Base(strings.TrimRight(base, "/")), filepath.Ext(base))
	if base == "" || base == "." || base == "/" {
		if u != nil {
			return u.Hostname()
		}
		return "calendar"
	}
	return base
}

// Name returns the configured calendar's name.
func (s *Source) Name() string { return s.name }

// URL returns the feed's URL (or path) with any password removed.
func (s *Source) URL() string { return s.redacted }

// Fetch reads the feed and returns its events; when the feed has not
// changed since the last successful read it returns that read's events and
// warnings without parsing again. The slices are shared between calls and
// must not be modified. On error, a *FetchError, the source keeps its
// previous state.
func (s *Source) Fetch(ctx context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, s.fetchError(ctx.Err())
	}
	defer func() { <-s.sem }()

	var err error
	if s.url == "" {
		err = s.fetchFile(ctx)
	} else {
		err = s.fetchHTTP(ctx)
	}
	if err != nil {
		return nil, nil, s.fetchError(err)
	}
	return s.events, s.warnings, nil
}

// fetchError wraps err with the URL and says whose fault it is.
func (s *Source) fetchError(err error) *FetchError {
	fe := &FetchError{URL: s.redacted, Err: err}
	var se *httpx.StatusError
	var ne net.Error
	switch {
	case s.url == "":
		fe.Input = !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
	case errors.As(err, &se):
		// 4xx: the URL or the credentials are wrong; 408 and 429 are the
		// server's way of saying "later".
		fe.Input = se.ClientFault()
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne):
	default:
		fe.Input = errors.Is(err, errParse) || errors.Is(err, errTooLarge)
	}
	return fe
}

// FetchError is a failed fetch of an ICS feed. It reads "ics URL: reason",
// or just the reason when that starts with the URL already, as a
// FILE:LINE:COL syntax error does.
type FetchError struct {
	URL string // the feed's URL or path, without password
	// Input is set when the calendar is at fault rather than the network
	// or the server: a file that cannot be read, content that is not
	// iCalendar or is over the size limit, an HTTP 4xx answer such as
	// wrong credentials. Commands exit 2 for such errors, 1 for others.
	Input bool
	Err   error
}

// Error reads as the type's doc says.
func (e *FetchError) Error() string {
	msg := e.Err.Error()
	var se *httpx.StatusError
	switch {
	case strings.HasPrefix(msg, e.URL+":"):
		return msg
	case errors.As(e.Err, &se) && se.WrongCredentials():
		// The one message users must act on reads as a sentence.
		return "ics: wrong credentials for " + e.URL + ": " + msg
	}
	return "ics " + e.URL + ": " + msg
}

// Unwrap returns the cause, so that errors.As finds a *httpx.StatusError in it.
func (e *FetchError) Unwrap() error { return e.Err }

// errParse marks errors of the parse step, for FetchError.Input.
var errParse = errors.New("parse")

// parseError keeps err's text but marks it as errParse too.
type parseError struct{ err error }

func (e *parseError) Error() string   { return e.err.Error() }
func (e *parseError) Unwrap() []error { return []error{e.err, errParse} }

// fetchFile re-reads the file when its size or modification time changed.
func (s *Source) fetchFile(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(s.path)
	if err != nil {
		return unwrapPathError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return unwrapPathError(err)
	}
	if fi.IsDir() {
		return errors.New("is a directory, not an iCalendar file")
	}
	if s.have && fi.Size() == s.size && fi.ModTime().Equal(s.modTime) {
		s.logger.DebugContext(ctx, "ics file unchanged", "calendar", s.name, "path", s.path)
		return nil
	}
	if fi.Size() > s.max {
		return s.tooLarge()
	}
	body, err := readLimited(f, s.max, fi.Size())
	if err != nil {
		if errors.Is(err, errTooLarge) {
			return s.tooLarge()
		}
		return unwrapPathError(err)
	}
	if err := s.parseBody(ctx, body); err != nil {
		return err
	}
	s.size, s.modTime = fi.Size(), fi.ModTime()
	return nil
}

// unwrapPathError drops the path that *os.PathError repeats: Fetch's
// wrapping already names it.
func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var errTooLarge = errors.New("too large")

func (s *Source) tooLarge() error { return sizeError(s.max) }

// sizeError is a feed over the limit of its value in bytes.
type sizeError int64

func (e sizeError) Error() string {
	return "feed exceeds the size limit of " + formatBytes(int64(e))
}

func (e sizeError) Is(target error) bool { return target == errTooLarge }

// formatBytes writes n in the unit a user configured it in, most likely.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// readLimited reads r to its end, or fails with errTooLarge past max bytes.
// size, when positive, is what r should hold (the file's size, the
// Content-Length): the buffer starts that large, one byte more to see the
// end, where io.ReadAll would start at 512 bytes and copy the body each
// time it doubled.
func readLimited(r io.Reader, max, size int64) ([]byte, error) {
	r = io.LimitReader(r, max+1)
	if size <= 0 || size > max {
		b, err := io.ReadAll(r)
		if err != nil {
			return nil, err
		}
		if int64(len(b)) > max {
			return nil, errTooLarge
		}
		return b, nil
	}
	b := make([]byte, 0, size+1)
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // more than size: it grew while read
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if int64(len(b)) > max {
		return nil, errTooLarge
	}
	return b, nil
}

// parseBody parses body unless it is byte for byte the one parsed last,
// and keeps the result.
func (s *Source) parseBody(ctx context.Context, body []byte) error {
	sum := sha256.Sum256(body)
	if s.have && sum == s.digest {
		s.logger.DebugContext(ctx, "ics content unchanged", "calendar", s.name, "url", s.redacted)
		return nil
	}
	events, warnings, err := s.parse(bytes.NewReader(body), s.parseOpts)
	if err != nil {
		return &parseError{err}
	}
	s.have, s.events, s.warnings, s.digest = true, events, warnings, sum
	return nil
}

// httpClient returns the client for this source, with this package's
// redirect policy and the extra CAs when CAFile is set.
func (s *Source) httpClient() (*http.Client, error) {
	if s.client != nil {
		return s.client, nil
	}
	c, err := httpx.NewClient(s.shared, s.caFile, checkICSRedirect)
	if err != nil {
		return nil, err
	}
	s.client = c
	return c, nil
}

// checkICSRedirect bounds redirects and keeps credentials to the origin
// (httpx.SameOrigin): net/http forwards Authorization to the same host name
// on any port and scheme, which would hand a token to another service on
// that host or send it in clear after a downgrade to http.
func checkICSRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if !httpx.SameOrigin(via[0].URL, req.URL) {
		req.Header.Del("Authorization")
	}
	return nil
}

// The values of fetchHTTP's constant request headers, shared by every
// request and never modified.
var (
	userAgentValue = []string{httpx.UserAgent}
	acceptValue    = []string{"text/calendar, */*;q=0.5"}
	gzipValue      = []string{"gzip"}
)

// fetchHTTP does a conditional GET and parses a changed body.
func (s *Source) fetchHTTP(ctx context.Context) error {
	client, err := s.httpClient()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return err
	}
	// The keys in canonical form and the constant values shared, read
	// only: a poll round of every feed makes tens of thousands of these.
	h := req.Header
	h["User-Agent"] = userAgentValue
	h["Accept"] = acceptValue
	// Asking for gzip ourselves turns off net/http's transparent decoding,
	// so that the size limit applies to the decoded bytes we keep.
	h["Accept-Encoding"] = gzipValue
	if s.have {
		if s.etag != "" {
			h["If-None-Match"] = []string{s.etag}
		}
		if s.lastMod != "" {
			h["If-Modified-Since"] = []string{s.lastMod}
		}
	}
	if s.password != nil {
		secret, err := s.password(ctx)
		if err != nil {
			return fmt.Errorf("credentials: %w", err)
		}
		h.Set("Authorization", httpx.Authorization(s.username, secret))
	}

	start := s.now()
	resp, err := client.Do(req)
	if err != nil {
		return httpx.Explain(httpx.UnwrapURLError(err)) // Fetch names the URL
	}
	defer resp.Body.Close()
	// The debug records cost nothing when they are not wanted.
	debug := s.logger.Enabled(ctx, slog.LevelDebug)

	switch {
	case resp.StatusCode == http.StatusNotModified:
		if !s.have {
			return errors.New("server answered 304 Not Modified to an unconditional request")
		}
		if debug {
			s.logger.DebugContext(ctx, "ics not modified", "calendar", s.name, "url", s.redacted, "status", resp.StatusCode,
				"duration", s.now().Sub(start))
		}
		return nil
	case resp.StatusCode < 200 || resp.StatusCode > 299:
		// No Method or URL: FetchError names the URL.
		return &httpx.StatusError{Code: resp.StatusCode, Status: resp.Status, Credentials: s.password != nil,
			Retry: httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), s.now())}
	}

	var body io.Reader = resp.Body
	if resp.ContentLength > s.max && !strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		return s.tooLarge()
	}
	switch enc := strings.ToLower(resp.Header.Get("Content-Encoding")); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(io.LimitReader(resp.Body, s.max+1))
		if err != nil {
			return fmt.Errorf("gzip: %w", err)
		}
		defer zr.Close()
		body = zr
	default:
		return fmt.Errorf("unsupported content encoding %q", enc)
	}
	size := resp.ContentLength // of the body as sent: a size hint only when it is not compressed
	if body != resp.Body {
		size = -1
	}
	b, err := readLimited(body, s.max, size)
	if errors.Is(err, errTooLarge) {
		return s.tooLarge()
	}
	if err != nil {
		return fmt.Errorf("reading the body: %w", err)
	}
	if err := s.parseBody(ctx, b); err != nil {
		return err
	}
	s.etag = resp.Header.Get("ETag")
	s.lastMod = resp.Header.Get("Last-Modified")
	if debug {
		s.logger.DebugContext(ctx, "ics fetched", "calendar", s.name, "url", s.redacted, "status", resp.StatusCode,
			"bytes", len(b), "events", len(s.events), "duration", s.now().Sub(start))
	}
	return nil
}

var _ calendar.Source = (*Source)(nil)
