package caldav

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	gocaldav "github.com/emersion/go-webdav/caldav"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/httpx"
)

// Options configures a CalDAV calendar source (RFC 4791).
type Options struct {
	// Name is the configured calendar's name.
	Name string
	// URL is where to start: the server root (discovered through
	// /.well-known/caldav, RFC 6764), a principal, a calendar home or one
	// calendar. It must not hold credentials.
	URL string
	// Username selects basic authentication. Without it, a Password is
	// sent as a bearer token.
	Username string
	// Password returns the secret. It is called by the first Fetch and
	// again after the server answers 401, so that a rotated password or an
	// expired token is picked up without running a password command at
	// every poll. Nil means no secret.
	Password func(ctx context.Context) (string, error)
	// Calendars selects calendars by display name or path (the full path or
	// its last segment). Empty selects every calendar that can hold events.
	Calendars []string
	// Parse says how to read the objects; its Calendar defaults to Name and
	// its Source is set to each object's URL.
	Parse calendar.ParseOptions
	// HTTPClient is shared with other sources; nil uses a client on a
	// transport all sources share. Its redirect policy is not used:
	// redirects are followed here.
	HTTPClient *http.Client
	// CAFile is a PEM file of CAs to trust besides the system's.
	CAFile string
	// Timeout bounds one HTTP attempt (default 30s); Fetch's context bounds
	// all of them, retries included.
	Timeout time.Duration
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
	// Now is the clock, for rediscovery; nil is time.Now.
	Now func() time.Time
}

// rediscoverEvery is how often the calendar list is read again, so that
// calendars created or renamed on the server are picked up by a long-running
// agent.
const rediscoverEvery = time.Hour

// Source is a [calendar.Source] reading one account's calendars from a CalDAV
// server.
//
// It keeps, per calendar, every object's href, ETag and parsed events, and
// the calendar's getctag and sync-token. A Fetch of an unchanged calendar
// costs one small PROPFIND and downloads nothing: of the getctag (or
// sync-token) in general, and on Radicale, where getctag costs a pass over
// every item, of the calendar's getlastmodified once that has not moved for
// two seconds (see lastmod.go). When something changed,
// the changed hrefs come from a sync-collection REPORT (RFC 6578) where the
// server offers it, else from a PROPFIND listing of all ETags, and only those
// objects are downloaded, with calendar-multiget.
//
// The whole collection is synced, not a time range: servers evaluate
// time-range filters on recurring events differently (Xandikos ignores
// RRULE in them), so a server-side filter can lose a recurring event whose
// first instance lies before the window. Reading every object once and
// expanding on our side is correct on every server, and after the first sync
// it costs no more than a window query would.
type Source struct {
	opts  Options
	start *url.URL
	now   func() time.Time
	log   *slog.Logger

	mu           sync.Mutex // one Fetch at a time
	http         *davHTTP
	selected     []*davCollection
	discoveredAt time.Time
	cache        map[string]*davCollection // by calendar URL, across rediscoveries

	secret     string // from Password, kept until a 401
	haveSecret bool

	// Retry bounds of the HTTP client; tests shorten them.
	retries             int
	backoff, maxBackoff time.Duration
}

// New checks opts and returns a source. It does no I/O: the
// server is first contacted by Fetch.
func New(opts Options) (*Source, error) {
	if opts.URL == "" {
		return nil, fmt.Errorf("caldav %q: no url", opts.Name)
	}
	u, err := url.Parse(opts.URL)
	if err != nil {
		// Not err itself: its message repeats the URL, password and all.
		return nil, fmt.Errorf("caldav %q: bad url: %w", opts.Name, httpx.UnwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("caldav %q: url %s: scheme must be http or https", opts.Name, httpx.RedactURL(u))
	}
	if u.Host == "" {
		return nil, fmt.Errorf("caldav %q: url %s has no host", opts.Name, httpx.RedactURL(u))
	}
	if u.User != nil {
		return nil, fmt.Errorf("caldav %q: url %s must not hold credentials; set username and a password source", opts.Name, httpx.RedactURL(u))
	}
	if opts.Parse.Zone == nil {
		return nil, fmt.Errorf("caldav %q: parse options need a zone", opts.Name)
	}
	if opts.Parse.Calendar == "" {
		opts.Parse.Calendar = opts.Name
	}
	if u.Path == "" {
		u.Path = "/"
	}
	u.RawQuery, u.Fragment = "", ""
	s := &Source{
		opts:  opts,
		start: u,
		now:   opts.Now,
		log:   opts.Logger,
		cache: map[string]*davCollection{},

		retries: davRetries, backoff: davBackoff, maxBackoff: davMaxBackoff,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.log = s.log.With("calendar", opts.Name)
	return s, nil
}

// Name returns the configured calendar's name.
func (s *Source) Name() string { return s.opts.Name }

// Fetch syncs the selected calendars and returns the events of all their
// objects, and the warnings of objects that could not be read (each names
// its href and UID). On an error nothing of the source's state is lost: the
// next Fetch picks up where the last complete one left off.
func (s *Source) Fetch(ctx context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.ensureHTTP(); err != nil {
		return nil, nil, err
	}
	fresh := false
	if s.opts.Password != nil && !s.haveSecret {
		if err := s.readSecret(ctx); err != nil {
			return nil, nil, err
		}
		fresh = true
	}
	s.http.setCredentials(s.secret, s.haveSecret)
	defer s.http.setCredentials("", false)
	events, warnings, err := s.fetch(ctx)
	if davStatus(err) == http.StatusUnauthorized && s.opts.Password != nil {
		if !fresh {
			// The secret may have been rotated (or a bearer token
			// expired) since it was read: read it again, once.
			if err := s.readSecret(ctx); err != nil {
				return nil, nil, err
			}
			s.http.setCredentials(s.secret, s.haveSecret)
			events, warnings, err = s.fetch(ctx)
		}
		if davStatus(err) == http.StatusUnauthorized {
			s.secret, s.haveSecret = "", false
		}
	}
	return events, warnings, err
}

// ensureHTTP sets up the source's HTTP client; s.mu is held.
func (s *Source) ensureHTTP() error {
	if s.http != nil {
		return nil
	}
	hc, err := newDAVHTTP(s.opts.HTTPClient, s.opts.CAFile)
	if err != nil {
		return fmt.Errorf("caldav %q: %w", s.opts.Name, err)
	}
	timeout := s.opts.Timeout
	if timeout <= 0 {
		timeout = davAttemptTimeout
	}
	s.http = &davHTTP{client: hc, username: s.opts.Username, logger: s.log,
		retries: s.retries, backoff: s.backoff, maxBackoff: s.maxBackoff, attemptTimeout: timeout}
	return nil
}

// readSecret calls the Password function. The secret is kept between
// Fetches, so that a password command (which may prompt, or wake a GPG
// agent) runs at start and after a 401, not at every poll.
func (s *Source) readSecret(ctx context.Context) error {
	p, err := s.opts.Password(ctx)
	if err != nil {
		return fmt.Errorf("caldav %q: password: %w", s.opts.Name, err)
	}
	s.secret, s.haveSecret = p, true
	return nil
}

// davStatus returns the code of the *httpx.StatusError in err's chain; 0
// when there is none.
func davStatus(err error) int {
	var se *httpx.StatusError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

// fetch is Fetch once the credentials are set.
func (s *Source) fetch(ctx context.Context) ([]*calendar.Event, []calendar.Warning, error) {
	if s.selected == nil || s.now().Sub(s.discoveredAt) >= rediscoverEvery {
		sel, err := s.discover(ctx)
		switch {
		case err == nil:
			s.selected = sel
		case s.selected == nil:
			return nil, nil, fmt.Errorf("caldav %q: %w", s.opts.Name, err)
		default:
			// A periodic look failed: the calendars we have still work.
			s.log.Warn("caldav rediscovery failed, keeping the calendars found before", "err", err)
		}
		s.discoveredAt = s.now()
	}

	var errs []error
	for _, col := range s.selected {
		if err := s.sync(ctx, col); err != nil {
			if davStatus(err) == http.StatusNotFound {
				s.selected = nil // the calendar moved or went: look again next time
			}
			errs = append(errs, fmt.Errorf("calendar %s: %w", col.label(), err))
		}
	}
	if len(errs) > 0 {
		return nil, nil, fmt.Errorf("caldav %q: %w", s.opts.Name, errors.Join(errs...))
	}
	var events []*calendar.Event
	var warnings []calendar.Warning
	for _, col := range s.selected {
		for _, key := range col.sortedKeys() {
			o := col.objects[key]
			events = append(events, o.events...)
			warnings = append(warnings, o.warnings...)
		}
	}
	return events, warnings, nil
}

// davCollection is one calendar collection and what we hold of it.
type davCollection struct {
	url         *url.URL // absolute; path ends in "/"
	displayName string
	components  []string // supported components; empty means any

	// State as of the last complete sync.
	synced    bool
	ctag      string // getctag; "" if the server has none
	syncToken string // sync-token (RFC 6578); "" if the server has none
	// What the server offers here, learnt on the first sync.
	hasCTag, hasToken bool
	noSyncColl        bool // sync-collection failed here: list ETags instead
	objects           map[string]*davObject

	// For servers whose getlastmodified tracks the members (see
	// lastmod.go): the getlastmodified read just before the last
	// successful full check, and when (s.now) that check began.
	lastMod   lastModRead
	checkedAt time.Time
}

// davObject is one calendar object resource.
type davObject struct {
	href     string // as sent in requests (escaped path)
	etag     string
	events   []*calendar.Event
	warnings []calendar.Warning
}

func (c *davCollection) label() string {
	if c.displayName != "" {
		return fmt.Sprintf("%q (%s)", c.displayName, httpx.RedactURL(c.url))
	}
	return httpx.RedactURL(c.url)
}

func (c *davCollection) sortedKeys() []string {
	return slices.Sorted(maps.Keys(c.objects))
}

func (c *davCollection) holdsEvents() bool {
	return len(c.components) == 0 || slices.ContainsFunc(c.components, func(s string) bool {
		return strings.EqualFold(s, "VEVENT")
	})
}

// errNotMultiStatus is a WebDAV request answered with a success that is no
// multistatus: not a WebDAV resource.
var errNotMultiStatus = errors.New("want 207 Multi-Status")

// probe is what a PROPFIND Depth 0 on a URL told about it.
type probe struct {
	url   *url.URL // after redirects
	props davProp
}

// doXML sends a WebDAV request with an XML body and decodes the multistatus
// answer, calling fn for each response.
func (s *Source) doXML(ctx context.Context, method string, u *url.URL, depth string, body []byte,
	fn func(*davResponse) error) (final *url.URL, syncToken string, err error) {
	final, syncToken, _, err = s.doXMLHeader(ctx, method, u, depth, body, fn)
	return final, syncToken, err
}

// doXMLHeader is doXML that also returns the answer's header.
func (s *Source) doXMLHeader(ctx context.Context, method string, u *url.URL, depth string, body []byte,
	fn func(*davResponse) error) (final *url.URL, syncToken string, hdr http.Header, err error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, "", nil, fmt.Errorf("%s %s: %w", method, httpx.RedactURL(u), err)
	}
	req.Header.Set("Content-Type", `application/xml; charset="utf-8"`)
	if depth != "" {
		req.Header.Set("Depth", depth)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, "", nil, err
	}
	defer resp.Body.Close()
	final = resp.Request.URL
	if resp.StatusCode != http.StatusMultiStatus {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return final, "", resp.Header, fmt.Errorf("%s %s: got %s: %w", method, httpx.RedactURL(final), resp.Status, errNotMultiStatus)
	}
	token, err := decodeMultistatus(resp.Body, fn)
	if err != nil {
		return final, "", resp.Header, fmt.Errorf("%s %s: %w", method, httpx.RedactURL(final), err)
	}
	return final, token, resp.Header, nil
}

// probeURL sends propfindProbe to u with Depth 0.
func (s *Source) probeURL(ctx context.Context, u *url.URL) (*probe, error) {
	var p *probe
	final, _, err := s.doXML(ctx, "PROPFIND", u, "0", []byte(propfindProbe), func(r *davResponse) error {
		if p == nil {
			p = &probe{props: r.props()}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("PROPFIND %s: empty multistatus", httpx.RedactURL(final))
	}
	p.url = final
	return p, nil
}

// discover finds the account's calendars from the configured URL and
// selects the configured ones.
func (s *Source) discover(ctx context.Context) ([]*davCollection, error) {
	all, err := s.discoverAll(ctx)
	if err != nil {
		return nil, err
	}
	sel, err := selectCalendars(all, s.opts.Calendars)
	if err != nil {
		return nil, err
	}
	for i, c := range sel {
		key := c.url.String()
		if old, ok := s.cache[key]; ok {
			old.displayName, old.components = c.displayName, c.components
			sel[i] = old
		} else {
			s.cache[key] = c
		}
	}
	names := make([]string, len(sel))
	for i, c := range sel {
		names[i] = c.label()
	}
	s.log.Debug("caldav calendars selected", "calendars", names)
	return sel, nil
}

// discoverAll finds every calendar of the account from the source's URL.
func (s *Source) discoverAll(ctx context.Context) ([]*davCollection, error) {
	var p *probe
	var err error
	if s.start.Path == "/" {
		// RFC 6764 §5: the well-known URI leads to the context path.
		wk := s.start.ResolveReference(&url.URL{Path: "/.well-known/caldav"})
		p, err = s.probeURL(ctx, wk)
		if code := davStatus(err); errors.Is(err, errNotMultiStatus) || code != 0 && code != http.StatusUnauthorized {
			s.log.Debug("caldav well-known lookup failed, trying the root", "err", err)
			p, err = s.probeURL(ctx, s.start)
		}
	} else {
		p, err = s.probeURL(ctx, s.start)
	}
	if err != nil {
		return nil, fmt.Errorf("discovery: %w", err)
	}

	var all []*davCollection
	if rt := p.props.ResourceType; rt != nil && rt.Calendar != nil {
		all = []*davCollection{collectionFrom(p.url, p.props)}
	} else {
		home, err := s.findHome(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("discovery: %w", err)
		}
		all, err = s.listCalendars(ctx, home)
		if err != nil {
			return nil, fmt.Errorf("discovery: list calendars at %s: %w", httpx.RedactURL(home), err)
		}
		if len(all) == 0 {
			return nil, fmt.Errorf("discovery: no calendars at %s", httpx.RedactURL(home))
		}
	}
	return all, nil
}

// findHome returns the calendar home: the probed URL's calendar-home-set,
// else that of its current-user-principal (RFC 4791 §6.2.1, RFC 5397),
// else the probed URL itself.
func (s *Source) findHome(ctx context.Context, p *probe) (*url.URL, error) {
	if h := p.props.CalendarHomeSet; h != nil && strings.TrimSpace(h.Href) != "" {
		return resolveHref(p.url, h.Href)
	}
	cup := p.props.CurrentUserPrincipal
	if cup == nil || strings.TrimSpace(cup.Href) == "" {
		return p.url, nil
	}
	principal, err := resolveHref(p.url, cup.Href)
	if err != nil {
		return nil, fmt.Errorf("current-user-principal: %w", err)
	}
	cl, err := gocaldav.NewClient(s.http, hostURL(principal))
	if err != nil {
		return nil, fmt.Errorf("caldav client for %s: %w", httpx.RedactURL(principal), err)
	}
	homePath, err := cl.FindCalendarHomeSet(ctx, principal.EscapedPath())
	if err != nil {
		return nil, fmt.Errorf("calendar-home-set of %s: %w", httpx.RedactURL(principal), err)
	}
	return resolveHref(principal, (&url.URL{Path: homePath}).EscapedPath())
}

// listCalendars lists the calendars in home with go-webdav's client.
func (s *Source) listCalendars(ctx context.Context, home *url.URL) ([]*davCollection, error) {
	cl, err := gocaldav.NewClient(s.http, hostURL(home))
	if err != nil {
		return nil, err
	}
	cals, err := cl.FindCalendars(ctx, home.EscapedPath())
	if err != nil {
		return nil, err
	}
	out := make([]*davCollection, 0, len(cals))
	for _, c := range cals {
		u, err := resolveHref(home, (&url.URL{Path: c.Path}).EscapedPath())
		if err != nil {
			return nil, err
		}
		out = append(out, &davCollection{url: u, displayName: c.Name, components: c.SupportedComponentSet,
			objects: map[string]*davObject{}})
	}
	return out, nil
}

func collectionFrom(u *url.URL, p davProp) *davCollection {
	c := &davCollection{url: withSlash(u), objects: map[string]*davObject{}}
	if p.DisplayName != nil {
		c.displayName = strings.TrimSpace(*p.DisplayName)
	}
	if p.SupportedComponents != nil {
		for _, comp := range p.SupportedComponents.Comps {
			c.components = append(c.components, comp.Name)
		}
	}
	return c
}

// selectCalendars picks the wanted calendars by display name or path, or
// all that hold events when none are named.
func selectCalendars(all []*davCollection, want []string) ([]*davCollection, error) {
	if len(want) == 0 {
		var sel []*davCollection
		for _, c := range all {
			if c.holdsEvents() {
				sel = append(sel, c)
			}
		}
		if len(sel) == 0 {
			return nil, fmt.Errorf("none of the calendars holds events: %s", calendarList(all))
		}
		return sel, nil
	}
	var sel []*davCollection
	var missing []string
	for _, w := range want {
		c := findCalendar(all, w)
		if c == nil {
			missing = append(missing, fmt.Sprintf("%q", w))
			continue
		}
		if !slices.Contains(sel, c) {
			sel = append(sel, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("no calendar named %s; the calendars are: %s", strings.Join(missing, ", "), calendarList(all))
	}
	return sel, nil
}

func findCalendar(all []*davCollection, want string) *davCollection {
	match := []func(*davCollection) bool{
		func(c *davCollection) bool { return c.displayName == want },
		func(c *davCollection) bool { return strings.Trim(c.url.Path, "/") == strings.Trim(want, "/") },
		func(c *davCollection) bool {
			return path.Base(strings.TrimSuffix(c.url.Path, "/")) == strings.Trim(want, "/")
		},
		func(c *davCollection) bool { return strings.EqualFold(c.displayName, want) },
	}
	for _, m := range match {
		if i := slices.IndexFunc(all, m); i >= 0 {
			return all[i]
		}
	}
	return nil
}

func calendarList(all []*davCollection) string {
	if len(all) == 0 {
		return "none"
	}
	l := make([]string, len(all))
	for i, c := range all {
		p := httpx.RedactPath(c.url.Path)
		name := c.displayName
		if name == "" {
			name = path.Base(strings.TrimSuffix(p, "/"))
		}
		l[i] = fmt.Sprintf("%q (%s)", name, p)
	}
	return strings.Join(l, ", ")
}

// resolveHref resolves a DAV:href, which may be a path or a full URL,
// against base.
func resolveHref(base *url.URL, href string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, fmt.Errorf("bad href %q: %w", httpx.RedactPath(href), httpx.UnwrapURLError(err))
	}
	u := base.ResolveReference(ref)
	u.User = nil
	return u, nil
}

// hostURL is u's scheme and host, the endpoint go-webdav's client resolves
// paths against.
func hostURL(u *url.URL) string {
	return (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
}

func withSlash(u *url.URL) *url.URL {
	c := *u
	if !strings.HasSuffix(c.Path, "/") {
		c.Path += "/"
		if c.RawPath != "" {
			c.RawPath += "/"
		}
	}
	return &c
}
