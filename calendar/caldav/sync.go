package caldav

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/internal/httpx"
)

// multigetBatch is how many objects one calendar-multiget asks for: large
// enough that a first sync of thousands of events takes few round trips,
// small enough that one answer stays a few megabytes.
const multigetBatch = 500

// member is a calendar object as a listing names it.
type member struct {
	href string // escaped path, for requests
	etag string
}

// changes is what changed in a collection since the last complete sync.
type changes struct {
	changed map[string]member // by decoded path
	gone    []string          // decoded paths
	// full means changed lists every member: held objects missing from it
	// are gone.
	full  bool
	token string // the sync-token the changes bring us to, if any
}

// sync brings col up to date with the server. Once a calendar is synced, a
// poll of it costs one request when nothing changed: on Radicale a PROPFIND
// Depth 0 for its getlastmodified (see lastmod.go), elsewhere one for
// its getctag or sync-token where the server has one, else the PROPFIND
// Depth 1 listing of ETags.
func (s *Source) sync(ctx context.Context, col *davCollection) error {
	var lm lastModRead
	if col.synced && lastModTracksMembers(col) {
		var err error
		lm, err = s.readLastModified(ctx, col)
		if err != nil {
			if !checkAfterLastModFailure(ctx, err) {
				return err
			}
			s.log.Debug("caldav getlastmodified failed, checking in full", "url", httpx.RedactURL(col.url), "err", err)
		}
		if col.unchangedSince(lm, s.now()) {
			return nil
		}
	}
	// Forget the held getlastmodified until this check succeeds: a check
	// that fails half way must not let the next poll take the fast path.
	col.lastMod = lastModRead{}
	began := s.now()
	complete, err := s.check(ctx, col)
	if err != nil || !complete {
		return err
	}
	// lm was read before the check began, so every change it does not
	// show is in what the check found (or changes getlastmodified later).
	col.lastMod, col.checkedAt = lm, began
	return nil
}

// check is a full check of col: its getctag or sync-token, and a sync of
// what changed when that moved. It reports whether col now holds every
// object.
func (s *Source) check(ctx context.Context, col *davCollection) (bool, error) {
	ctag, token := col.ctag, col.syncToken
	switch {
	case !col.synced:
		var err error
		ctag, token, err = s.state(ctx, col, propfindState)
		if err != nil {
			return false, err
		}
		col.hasCTag, col.hasToken = ctag != "", token != ""
	case col.hasCTag:
		c, _, err := s.state(ctx, col, propfindCTag)
		if err != nil {
			return false, err
		}
		if c == col.ctag {
			return true, nil
		}
		ctag = c
	case col.hasToken:
		_, t, err := s.state(ctx, col, propfindSyncToken)
		if err != nil {
			return false, err
		}
		if t == col.syncToken {
			return true, nil
		}
		token = t
	}

	ch, err := s.findChanges(ctx, col)
	if err != nil {
		return false, err
	}
	if ch.full {
		for key := range col.objects {
			if _, ok := ch.changed[key]; !ok {
				ch.gone = append(ch.gone, key)
			}
		}
	}
	slices.Sort(ch.gone)
	ch.gone = slices.Compact(ch.gone)
	for _, key := range ch.gone {
		delete(col.objects, key)
	}
	var want []string
	for key, m := range ch.changed {
		if o, ok := col.objects[key]; ok && m.etag != "" && o.etag == m.etag {
			continue
		}
		want = append(want, key)
	}
	complete, err := s.fetchObjects(ctx, col, ch.changed, want)
	if err != nil {
		return false, err
	}
	s.log.Debug("caldav calendar synced", "url", httpx.RedactURL(col.url), "fetched", len(want),
		"deleted", len(ch.gone), "objects", len(col.objects), "complete", complete)
	if complete {
		// The tags read before the changes: if the calendar changed in
		// between, the next poll sees a new tag and looks again.
		col.synced, col.ctag, col.syncToken = true, ctag, token
		if ch.token != "" {
			col.syncToken = ch.token
		}
	}
	return complete, nil
}

// state reads col's change tags with one PROPFIND Depth 0 of body.
func (s *Source) state(ctx context.Context, col *davCollection, body string) (ctag, token string, err error) {
	_, _, err = s.doXML(ctx, "PROPFIND", col.url, "0", []byte(body), func(r *davResponse) error {
		p := r.props()
		if p.GetCTag != nil {
			ctag = strings.TrimSpace(*p.GetCTag)
		}
		if p.SyncToken != nil {
			token = strings.TrimSpace(*p.SyncToken)
		}
		return nil
	})
	return ctag, token, err
}

// findChanges asks the server what changed: a sync-collection REPORT from
// our last token where the server offers sync tokens, else a listing of all
// members' ETags.
func (s *Source) findChanges(ctx context.Context, col *davCollection) (*changes, error) {
	if col.hasToken && !col.noSyncColl {
		from := ""
		if col.synced {
			from = col.syncToken
		}
		ch, err := s.syncCollection(ctx, col, from)
		if err != nil && from != "" && isClientError(davStatus(err)) {
			// RFC 6578 §3.2: a token the server no longer knows draws
			// 403 or 409 (valid-sync-token); start over from none.
			s.log.Debug("caldav sync token refused, syncing in full", "url", httpx.RedactURL(col.url), "err", err)
			ch, err = s.syncCollection(ctx, col, "")
		}
		if err == nil {
			return ch, nil
		}
		if !isClientError(davStatus(err)) {
			return nil, err
		}
		s.log.Debug("caldav sync-collection refused, listing ETags instead", "url", httpx.RedactURL(col.url), "err", err)
		col.noSyncColl = true
	}
	return s.listETags(ctx, col)
}

func isClientError(code int) bool {
	return code >= 400 && code < 500 && code != http.StatusUnauthorized && code != http.StatusNotFound
}

// syncCollection runs sync-collection REPORTs from token until the server
// says it has told everything (RFC 6578 §3.6: a 507 on the collection itself
// means the answer was truncated).
func (s *Source) syncCollection(ctx context.Context, col *davCollection, token string) (*changes, error) {
	ch := &changes{changed: map[string]member{}, full: token == ""}
	for range 1000 {
		truncated := false
		_, next, err := s.doXML(ctx, "REPORT", col.url, "", syncCollectionBody(token), func(r *davResponse) error {
			u, err := resolveHref(col.url, r.href())
			if err != nil {
				return err
			}
			if isCollectionItself(col, u) {
				if statusCode(r.Status) == http.StatusInsufficientStorage {
					truncated = true
				}
				return nil
			}
			if statusCode(r.Status) == http.StatusNotFound {
				delete(ch.changed, u.Path)
				ch.gone = append(ch.gone, u.Path)
				return nil
			}
			if strings.HasSuffix(u.Path, "/") {
				return nil // a sub-collection
			}
			m := member{href: u.EscapedPath()}
			if p := r.props(); p.GetETag != nil {
				m.etag = strings.TrimSpace(*p.GetETag)
			}
			ch.changed[u.Path] = m
			return nil
		})
		if err != nil {
			return nil, err
		}
		if next == "" {
			return nil, fmt.Errorf("REPORT sync-collection %s: no sync-token in the answer", httpx.RedactURL(col.url))
		}
		ch.token = next
		if !truncated || next == token {
			return ch, nil
		}
		token = next
	}
	return nil, fmt.Errorf("REPORT sync-collection %s: still truncated after 1000 rounds", httpx.RedactURL(col.url))
}

// listETags lists all members and their ETags with a PROPFIND Depth 1.
func (s *Source) listETags(ctx context.Context, col *davCollection) (*changes, error) {
	ch := &changes{changed: map[string]member{}, full: true}
	_, _, err := s.doXML(ctx, "PROPFIND", col.url, "1", []byte(propfindETags), func(r *davResponse) error {
		u, err := resolveHref(col.url, r.href())
		if err != nil {
			return err
		}
		if isCollectionItself(col, u) {
			return nil
		}
		p := r.props()
		if rt := p.ResourceType; rt != nil && rt.Collection != nil || strings.HasSuffix(u.Path, "/") {
			return nil
		}
		m := member{href: u.EscapedPath()}
		if p.GetETag != nil {
			m.etag = strings.TrimSpace(*p.GetETag)
		}
		ch.changed[u.Path] = m
		return nil
	})
	if err != nil {
		return nil, err
	}
	return ch, nil
}

func isCollectionItself(col *davCollection, u *url.URL) bool {
	return strings.TrimSuffix(u.Path, "/") == strings.TrimSuffix(col.url.Path, "/")
}

// fetchObjects downloads the objects want (decoded paths) with
// calendar-multiget and parses each one on its own, so that one bad object
// costs only itself. It reports whether every object came back.
func (s *Source) fetchObjects(ctx context.Context, col *davCollection, members map[string]member, want []string) (bool, error) {
	complete := true
	for start := 0; start < len(want); start += multigetBatch {
		batch := want[start:min(start+multigetBatch, len(want))]
		hrefs := make([]string, len(batch))
		pending := make(map[string]bool, len(batch))
		for i, key := range batch {
			hrefs[i] = members[key].href
			pending[key] = true
		}
		_, _, err := s.doXML(ctx, "REPORT", col.url, "1", multigetBody(hrefs), func(r *davResponse) error {
			u, err := resolveHref(col.url, r.href())
			if err != nil {
				return err
			}
			key := u.Path
			if !pending[key] {
				return nil
			}
			if statusCode(r.Status) == http.StatusNotFound {
				delete(col.objects, key) // deleted since the listing
				delete(pending, key)
				return nil
			}
			p := r.props()
			if p.CalendarData == nil {
				return nil // stays pending
			}
			delete(pending, key)
			etag := members[key].etag
			if p.GetETag != nil {
				etag = strings.TrimSpace(*p.GetETag)
			}
			events, warnings := s.parseObject(col, key, []byte(*p.CalendarData))
			col.objects[key] = &davObject{href: members[key].href, etag: etag, events: events, warnings: warnings}
			return nil
		})
		if err != nil {
			return false, err
		}
		for key := range pending {
			complete = false
			s.log.Warn("caldav server did not return a calendar object; will ask again next poll",
				"url", httpx.RedactURL(col.url.ResolveReference(&url.URL{Path: key})))
		}
	}
	return complete, nil
}

// parseObject reads one object's calendar-data. An object that cannot be
// read at all becomes a calendar.Warning naming its URL and UID.
func (s *Source) parseObject(col *davCollection, key string, data []byte) ([]*calendar.Event, []calendar.Warning) {
	src := httpx.RedactURL(col.url.ResolveReference(&url.URL{Path: key}))
	opts := s.opts.Parse
	opts.Source = src
	events, warnings, err := calendar.ParseICS(bytes.NewReader(data), opts)
	if err != nil {
		uid := scanUID(data)
		s.log.Warn("caldav calendar object skipped", "url", src, "uid", uid, "err", err)
		return nil, []calendar.Warning{{Source: src, UID: uid, Err: fmt.Errorf("calendar object skipped: %w", err)}}
	}
	// The object's UID names warnings that lack one; scanned only then,
	// since most objects have no warnings.
	uid, scanned := "", false
	for i := range warnings {
		if warnings[i].Source == "" {
			warnings[i].Source = src
		}
		if warnings[i].UID == "" {
			if !scanned {
				uid, scanned = scanUID(data), true
			}
			warnings[i].UID = uid
		}
	}
	return events, warnings
}

// scanUID finds the first UID property in raw iCalendar text, for naming
// an object that does not parse.
func scanUID(data []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		if len(line) < 4 || !strings.EqualFold(line[:3], "UID") || (line[3] != ':' && line[3] != ';') {
			continue
		}
		if i := strings.IndexByte(line, ':'); i >= 0 {
			return strings.TrimSpace(line[i+1:])
		}
	}
	return ""
}
