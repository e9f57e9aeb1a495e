package caldav

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/httpx"
)

// The fast path of an unchanged poll on Radicale.
//
// Radicale computes a calendar's getctag and sync-token from every item's
// ETag: ~45 ms for 2,000 items, on every poll. Its getlastmodified of a
// collection costs a few stat calls instead (~8 ms): the newest mtime of the
// collection folder, its .Radicale.props and every item file
// (radicale/storage/multifilesystem/__init__.py, last_modified). Creating or
// deleting an item changes the folder's mtime; modifying one writes a new
// file and renames it into place. So any change moves getlastmodified to the
// second the change was written — but only to the second: a change within
// the second of the value we hold leaves it as it is.
//
// Hence a value L is trusted only when the answer that brought it came at
// least lastModMargin after L, quickly (lastModMaxWait): Radicale read the
// mtimes within that answer's round trip, so after L's second had ended,
// and a later change lands in a later second. Radicale holds a shared lock
// while it answers and an exclusive one while it writes, so no write is
// half done when it reads the mtimes.
//
// L is read in its own request before the full check (getctag, then a sync
// when it moved), never after: a change racing with the check can only make
// the L we keep look older than what we hold, which costs one more full
// check, never a missed change. A poll then reads getlastmodified alone and
// stops there when it equals a trusted L; anything else — a different or
// untrusted L, a missing or unreadable property or Date, a failed request,
// an hour since the last full check — runs the full check.
//
// Other servers make no such promise (a collection's getlastmodified is
// optional in RFC 4918 and often missing or stale), so they keep the getctag
// path. Radicale sends a generic Server header; it is recognised by the
// prefix of its sync-tokens.
const (
	radicaleSyncTokenPrefix = "http://radicale.org/ns/sync/"
	// lastModMargin is how long after L its answer must come for L to be
	// trusted: a second for L's second to end and a second for the
	// round trip (lastModMaxWait) and the file system's coarse clock.
	lastModMargin = 2 * time.Second
	// lastModMaxWait bounds the round trip of a trusted answer, and so
	// how long before its Date the server may have read the mtimes.
	lastModMaxWait = 500 * time.Millisecond
	// fullCheckEvery bounds how long the fast path alone is relied on,
	// in case something changed the storage behind Radicale's back
	// (restored files with old mtimes, a clock stepped back).
	fullCheckEvery = time.Hour
)

// lastModRead is what one getlastmodified answer told.
type lastModRead struct {
	at      time.Time
	ok      bool // at was there and readable
	trusted bool // any change after the answer has a later getlastmodified
}

// lastModTracksMembers reports whether col's server is known to move a
// collection's getlastmodified on every change of its members: Radicale,
// recognised by its sync-tokens.
func lastModTracksMembers(col *davCollection) bool {
	return strings.HasPrefix(col.syncToken, radicaleSyncTokenPrefix)
}

// unchangedSince reports whether lm, read now, proves col unchanged since
// its last full check: lm equals the value read before that check, that
// value was trusted, and the check is less than fullCheckEvery old.
func (col *davCollection) unchangedSince(lm lastModRead, now time.Time) bool {
	held := col.lastMod
	if !lm.ok || !held.ok || !held.trusted || !lm.at.Equal(held.at) {
		return false
	}
	age := now.Sub(col.checkedAt)
	return age >= 0 && age < fullCheckEvery
}

// readLastModified reads col's getlastmodified with a PROPFIND Depth 0 and
// judges it by the answer's Date and round trip. An answer that is odd
// (no such property, not for col, unreadable) comes back not ok.
func (s *Source) readLastModified(ctx context.Context, col *davCollection) (lastModRead, error) {
	var value *string
	responses := 0
	began := time.Now()
	_, _, hdr, err := s.doXMLHeader(ctx, "PROPFIND", col.url, "0", []byte(propfindLastModified), func(r *davResponse) error {
		responses++
		u, err := resolveHref(col.url, r.href())
		if err != nil || !isCollectionItself(col, u) {
			return nil
		}
		value = r.props().GetLastModified
		return nil
	})
	wait := time.Since(began)
	if err != nil {
		return lastModRead{}, err
	}
	if value == nil || responses != 1 {
		s.log.Debug("caldav getlastmodified missing, checking in full", "url", httpx.RedactURL(col.url), "responses", responses)
		return lastModRead{}, nil
	}
	return judgeLastModified(*value, hdr.Get("Date"), wait), nil
}

// judgeLastModified reads a getlastmodified value and trusts it when the
// answer's Date is at least lastModMargin after it and the answer took at
// most lastModMaxWait.
func judgeLastModified(value, date string, wait time.Duration) lastModRead {
	at, err := http.ParseTime(strings.TrimSpace(value))
	if err != nil {
		return lastModRead{}
	}
	r := lastModRead{at: at.UTC(), ok: true}
	d, err := http.ParseTime(strings.TrimSpace(date))
	r.trusted = err == nil && !d.Before(at.Add(lastModMargin)) && wait >= 0 && wait <= lastModMaxWait
	return r
}

// checkAfterLastModFailure reports whether a poll whose getlastmodified
// request failed with err should go on with the full check: yes when the
// server answered oddly, no when the context ended, the server cannot be
// reached (the check would wait for it again) or it answered 401 or 404
// (which Fetch acts on).
func checkAfterLastModFailure(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if code := davStatus(err); code != 0 {
		return code != http.StatusUnauthorized && code != http.StatusNotFound
	}
	var ne net.Error
	return !errors.As(err, &ne)
}
