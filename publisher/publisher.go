package publisher

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/internal/backoff"
	"github.com/calpresence/calpresence/internal/clock"
	"github.com/calpresence/calpresence/publisher/locate"
)

// Doer sends one SIP request and returns its final response. sipgo's
// *Client satisfies it.
type Doer interface {
	Do(ctx context.Context, req *sip.Request) (*sip.Response, error)
}

// Options configure a Publisher. The zero value of every optional field is a
// sensible default.
type Options struct {
	AOR      string // the presentity, e.g. "sip:alice@example.com"
	Proxy    string // optional outbound proxy URI; else RFC 3263 on the AOR's domain
	Username string // digest auth, optional
	// Password returns the digest password; called when a challenge
	// arrives, so that it can come from a command.
	Password func(ctx context.Context) (string, error)
	// Expires caps the requested publication lifetime (default 1h). The
	// lifetime asked is never below 60s (or Expires, if that is lower),
	// nor below the server's Min-Expires after a 423.
	Expires time.Duration
	// Grace is how long a publication may outlive its segment (default
	// 2m), so that a dead agent's state goes soon. The modification at a
	// boundary stands in for a refresh only if the publication lasts at
	// least Grace/2 past it, so a grace of a few seconds leaves a late
	// timer little room.
	Grace  time.Duration
	Logger *slog.Logger
	// Clock tells the time and runs the timers (default the real clock);
	// `calpresence demo -speed N` hands it one that runs N times faster.
	Clock clock.Clock

	// Resolver answers the RFC 3263 DNS lookups (default: the system's
	// DNS servers, see locate.DNSResolver).
	Resolver locate.Resolver
	// Timeout bounds one request, including its retransmissions (default
	// 5s); a target that does not answer in time is failed over.
	Timeout time.Duration
	// RemoveTimeout bounds the removal on shutdown (default 3s), so that the
	// agent exits within 5s of SIGTERM.
	RemoveTimeout time.Duration
	// MinBackoff and MaxBackoff bound the jittered exponential backoff
	// after a failure (defaults 1s and 5m).
	MinBackoff, MaxBackoff time.Duration
	// ClockCheck is how often the wall clock is compared with the
	// monotonic clock to notice suspend/resume and clock steps
	// (default 2s).
	ClockCheck time.Duration
	// UserAgent is the User-Agent header value; default none of the
	// Publisher's own, so that a Client adds its ClientOptions.UserAgent.
	UserAgent string

	// Event is the event package published (the Event header, default
	// "presence") and ContentType the bodies' media type (default
	// "application/pidf+xml"). One Publisher serves one event package: BLF
	// lamps take a second one per user with Event "dialog" and ContentType
	// "application/dialog-info+xml" (RFC 4235), the same RFC 3903
	// lifecycle for a publication of its own.
	Event       string
	ContentType string
	// Farewell, if set, is given the document the server holds before
	// each removal (where the timeline turns to "no publication", and on
	// shutdown) and returns one to publish under the ETag just before it,
	// nil (or the same document) for none. A server may notify a removal
	// with the removed document in the body (Kamailio 5.6 does, its
	// <basic> turned "closed"): the dialog farewell turns the dialogs
	// terminated, lest a BLF lamp stay lit; the presence farewell is a
	// tuple that says nothing (internal/agent, farewell.go). On shutdown
	// it gets at most half of RemoveTimeout.
	Farewell func(published []byte) []byte
	// Final, if set, tells a document that the server lets no
	// modification replace: a change from it removes the publication and
	// publishes afresh. A dialog-info document whose dialogs are all
	// terminated is one (a terminated dialog is final, RFC 4235 §3.7.1):
	// Kamailio skips updates of it, yet answers 200 with an ETag it does
	// not keep.
	Final func(published []byte) bool

	// ExpireIntoGaps leaves a publication to expire, rather than removing
	// it, where the timeline turns to "no publication" (a nil Body): see
	// letExpire. Shutdown still removes.
	ExpireIntoGaps bool
	// OnChange, if set, is told each change of what watchers get from
	// this publication: a document went out ("published", with its body),
	// the publication was removed at a boundary ("withdrawn") or left to
	// lapse there ("left to lapse"), body nil for both. It runs on Run's
	// goroutine and must not call the Publisher. The agent logs the
	// presence from it.
	OnChange func(body []byte, how string)
}

// StatusError is a final non-2xx response the publisher could not recover
// from by itself (403, 404, other 4xx, 5xx after failover).
type StatusError struct {
	AOR    string
	Code   int
	Reason string
}

// Error returns "sip publish for AOR: CODE REASON".
func (e *StatusError) Error() string {
	return fmt.Sprintf("sip publish for %s: %d %s", e.AOR, e.Code, e.Reason)
}

// authRejected is the error for credentials the server refused.
type authRejected struct {
	aor    string
	status *StatusError
}

func (e *authRejected) Error() string {
	return fmt.Sprintf("sip digest auth for %s rejected: wrong credentials", e.aor)
}

func (e *authRejected) Unwrap() []error { return []error{ErrWrongCredentials, e.status} }

// Publisher keeps one user's publication at the presence server in step
// with a timeline of documents.
type Publisher struct {
	opts Options
	doer Doer
	log  *slog.Logger

	mu       sync.Mutex
	timeline []Entry
	lastErr  error
	settled  chan struct{} // closed when lastErr is next set; nil if none asked
	wake     chan struct{}
	repair   bool // Repair was called (repair.go)

	// State below is owned by the Run goroutine.
	aor, next  sip.Uri // the presentity; where requests are located from
	uriErr     error
	callID     string
	fromTag    string
	etag       string
	published  []byte    // the body the server holds, nil if none
	expiresAt  time.Time // when the server drops the publication
	refreshAt  time.Time
	minExpires int
	auth       digestState
	targets    []locate.Target
	targetIdx  int
	targetsAt  time.Time
	failures   int
	retryAt    time.Time
	// stopAt is when Run's context was done while a request was in flight
	// (zero otherwise), guarded by mu: that request and the removal share
	// RemoveTimeout from then.
	// Real time, like Timeout and RemoveTimeout.
	stopAt time.Time
	// inflight cancels the request in flight, nil between requests;
	// guarded by mu. stepAside calls it RemoveTimeout/2 after Run's
	// context was done, if the request has not ended by then.
	inflight context.CancelFunc

	// refused is the document the server answered 489 Bad Event to (it
	// does not serve the event package), nil if none: it is not offered
	// again for an hour, only the next document is; badEventTold says
	// the 489 was logged as a warning since the last success.
	refused []byte

	told    []byte // what OnChange was last told, see changed
	toldHow string

	// The small fields together, so that a Publisher fits a 1 kB size
	// class (50,000 of them in one process).
	cseq         uint32
	toldTCP      bool // the switch from UDP to TCP was logged
	badEventTold bool
	stopping     bool // in shutdown: the removal is no change of presence
}

// New returns a Publisher that sends its requests through d. It does no I/O.
func New(d Doer, opts Options) *Publisher {
	opts.Expires = cmp.Or(opts.Expires, time.Hour)
	opts.Grace = cmp.Or(opts.Grace, 2*time.Minute)
	opts.Clock = clock.Or(opts.Clock)
	opts.Logger = cmp.Or(opts.Logger, slog.New(slog.DiscardHandler))
	opts.Timeout = cmp.Or(opts.Timeout, 5*time.Second)
	opts.RemoveTimeout = cmp.Or(opts.RemoveTimeout, 3*time.Second)
	opts.MinBackoff = cmp.Or(opts.MinBackoff, time.Second)
	opts.MaxBackoff = cmp.Or(opts.MaxBackoff, 5*time.Minute)
	opts.ClockCheck = cmp.Or(opts.ClockCheck, 2*time.Second)
	opts.Event = cmp.Or(opts.Event, "presence")
	opts.ContentType = cmp.Or(opts.ContentType, "application/pidf+xml")
	if opts.Resolver == nil {
		opts.Resolver = &locate.DNSResolver{}
	}
	p := &Publisher{
		opts:    opts,
		doer:    d,
		log:     opts.Logger.With("aor", opts.AOR, "event", opts.Event),
		wake:    make(chan struct{}, 1),
		callID:  sip.GenerateTagN(24) + "@calpresence",
		fromTag: sip.GenerateTagN(16),
		cseq:    1,
	}
	p.aor, p.next, p.uriErr = parseURIs(opts.AOR, opts.Proxy)
	return p
}

// Validate checks AOR and Proxy without network I/O, for `calpresence
// check`.
func (o Options) Validate() error {
	if _, _, err := parseURIs(o.AOR, o.Proxy); err != nil {
		return err
	}
	if o.Username != "" && o.Password == nil {
		return fmt.Errorf("sip %s: username set but no password source", o.AOR)
	}
	return nil
}

// CheckAOR reports whether aor can be a presentity: a sip: or sips: URI
// with a user and a host.
func CheckAOR(aor string) error {
	_, err := parseAOR(aor)
	return err
}

// CheckProxy reports whether proxy can be an outbound proxy: a sip: or
// sips: URI with a host and, if it names one, a transport this package
// speaks (udp, tcp, tls).
func CheckProxy(proxy string) error {
	_, err := parseProxy(proxy)
	return err
}

func parseAOR(aor string) (sip.Uri, error) {
	var a sip.Uri
	if err := sip.ParseUri(strings.Trim(aor, "<>"), &a); err != nil ||
		a.User == "" || a.Host == "" || (!strings.EqualFold(a.Scheme, "sip") && !strings.EqualFold(a.Scheme, "sips")) {
		return a, fmt.Errorf("aor %q is not a SIP address of the form sip:user@domain", aor)
	}
	return a, nil
}

func parseProxy(proxy string) (sip.Uri, error) {
	var n sip.Uri
	if err := sip.ParseUri(strings.Trim(proxy, "<>"), &n); err != nil {
		return n, fmt.Errorf("proxy %q is not a SIP URI: %w", proxy, err)
	}
	if n.Host == "" || (!strings.EqualFold(n.Scheme, "sip") && !strings.EqualFold(n.Scheme, "sips")) {
		return n, fmt.Errorf("proxy %q is not a SIP URI such as \"sip:127.0.0.1:5060;transport=tcp\"", proxy)
	}
	if err := checkTransport(n); err != nil {
		return n, fmt.Errorf("proxy %q: %w", proxy, err)
	}
	return n, nil
}

func checkTransport(u sip.Uri) error {
	if v, ok := u.UriParams.Get("transport"); ok {
		switch strings.ToLower(v) {
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("transport %q is not one of udp, tcp, tls", v)
		}
	}
	return nil
}

// parseURIs returns the AOR as a Request-URI (no parameters) and the URI
// the server is located from (the proxy, else the AOR).
func parseURIs(aor, proxy string) (sip.Uri, sip.Uri, error) {
	a, err := parseAOR(aor)
	if err != nil {
		return a, sip.Uri{}, err
	}
	n := a
	if proxy != "" {
		if n, err = parseProxy(proxy); err != nil {
			return a, n, err
		}
	} else if err := checkTransport(n); err != nil {
		return a, n, fmt.Errorf("aor %q: %w", aor, err)
	}
	a = sip.Uri{Scheme: a.Scheme, User: a.User, Host: a.Host, Port: a.Port}
	return a, n, nil
}

// SetTimeline replaces the timeline the Publisher follows. It does not
// block; the publication changes at once if the document in force changed.
func (p *Publisher) SetTimeline(entries []Entry) {
	tl := sortedTimeline(entries)
	p.mu.Lock()
	p.timeline = tl
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// LastError returns the error of the latest request, nil after a success:
// e.g. a *StatusError or an error wrapping ErrWrongCredentials.
func (p *Publisher) LastError() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastErr
}

func (p *Publisher) setErr(err error) {
	p.mu.Lock()
	p.lastErr = err
	if p.settled != nil {
		close(p.settled)
		p.settled = nil
	}
	p.mu.Unlock()
}

// nextResult returns a channel that is closed when the next request's
// result is recorded (LastError set), so that a caller can wait for it
// rather than poll.
func (p *Publisher) nextResult() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.settled == nil {
		p.settled = make(chan struct{})
	}
	return p.settled
}

// op is what a PUBLISH does to the publication (RFC 3903 §4).
type op string

const (
	opPublish op = "publish" // initial: body, no SIP-If-Match
	opRefresh op = "refresh" // SIP-If-Match, no body
	opModify  op = "modify"  // SIP-If-Match and a body
	opRemove  op = "remove"  // SIP-If-Match, Expires: 0
	// opFarewell is a modify to Options.Farewell's document, just before a
	// removal: see farewell.
	opFarewell op = "farewell"
)

// Run publishes until ctx is done, then removes the publication (PUBLISH
// with Expires: 0) within a bounded time and returns. It returns an error
// only if the configuration is unusable or the removal failed.
func (p *Publisher) Run(ctx context.Context) error {
	if p.uriErr != nil {
		return p.uriErr
	}
	timer := p.opts.Clock.NewTimer(time.Hour)
	defer timer.Stop()
	// stopAt is set by stepAside, when ctx ends with a request in flight:
	// the one case where the removal has less than RemoveTimeout left.
	// Idle, the loop sees ctx end at once. (A context.AfterFunc here, or
	// in do, cost every publication a map of children in ctx, kept for
	// good once made: 0.25-0.4 kB.)
	lastMono := p.opts.Clock.Now()
	lastWall := lastMono.Round(0)
	// The loop's work is in turn and noteJump, so that what waits here,
	// one goroutine per publication, is a small frame: the stack that
	// their calls grow shrinks back while it waits.
	for {
		wait, sent := p.turn(ctx)
		if sent {
			if ctx.Err() != nil {
				break
			}
			continue
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-p.wake:
		case <-timer.C():
		}
		if ctx.Err() != nil {
			break
		}
		lastWall, lastMono = p.noteJump(lastWall, lastMono)
	}
	return p.shutdown()
}

// turn sends what is due now, if anything, and reports whether it did;
// else it returns how long to wait before looking again.
//
//go:noinline
func (p *Publisher) turn(ctx context.Context) (wait time.Duration, sent bool) {
	now := p.opts.Clock.Now()
	if !p.expiresAt.IsZero() && !now.Before(p.expiresAt) {
		// The server has dropped it by now (e.g. after a suspend).
		p.forget()
	}
	p.mu.Lock()
	st := stateAt(p.timeline, now)
	p.mu.Unlock()

	p.takeRepair()
	if p.refused != nil && !bytes.Equal(st.body, p.refused) {
		p.refused, p.retryAt = nil, time.Time{} // a new document: offer it
	}
	what := p.decide(now, st)
	if what != "" && now.Before(p.retryAt) {
		what = ""
	}
	if what != "" {
		p.stepAside(ctx, what, st)
		return 0, true
	}
	wait = p.opts.ClockCheck
	for _, t := range []time.Time{st.next, p.refreshAt, p.expiresAt, p.retryAt} {
		if !t.IsZero() && t.After(now) {
			wait = min(wait, t.Sub(now))
		}
	}
	return wait, false
}

// noteJump logs a jump of the wall clock since the last wake and returns
// the new readings. Timers run on the monotonic clock, which stops during
// suspend and ignores clock steps; the loop re-reads the wall clock on
// every wake, this only says why the state suddenly changed.
//
//go:noinline
func (p *Publisher) noteJump(lastWall, lastMono time.Time) (wall, mono time.Time) {
	mono = p.opts.Clock.Now()
	wall = mono.Round(0)
	if jump := wall.Sub(lastWall) - mono.Sub(lastMono); jump > time.Second || jump < -time.Second {
		p.log.Info("wall clock jumped; publishing what is true now", "jump_ms", jump.Milliseconds())
	}
	return wall, mono
}

// decide returns what to send now, "" for nothing.
func (p *Publisher) decide(now time.Time, st state) op {
	switch {
	case st.body == nil && p.etag == "":
		if p.toldHow == "published" {
			p.changed(nil, "left to lapse") // it expired at the boundary
		}
		return ""
	case st.body == nil:
		if p.letExpire(now) {
			p.changed(nil, "left to lapse")
			return ""
		}
		if p.farewell() != nil {
			return opFarewell // then, the farewell published, opRemove
		}
		return opRemove
	case p.etag == "":
		return opPublish
	case !bytes.Equal(st.body, p.published):
		if p.opts.Final != nil && p.opts.Final(p.published) {
			return opRemove // then, with no ETag left, opPublish
		}
		return opModify
	case !now.Before(p.refreshAt):
		return opRefresh
	}
	return ""
}

// shutdown removes the publication, under the ETag of the latest 2xx: a
// request in flight when Run's context was done has been waited for (see
// send), so its answer's ETag is the one the server holds. The in-flight
// request and the removal together take at most RemoveTimeout.
func (p *Publisher) shutdown() error {
	if p.etag == "" {
		return nil
	}
	p.mu.Lock()
	stopAt := p.stopAt
	p.mu.Unlock()
	budget := p.opts.RemoveTimeout
	if !stopAt.IsZero() {
		budget = max(budget-time.Since(stopAt), budget/2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	p.stopping = true
	if p.farewell() != nil {
		// At most half the budget, so that a slow answer to the farewell
		// still leaves the removal its chance.
		fctx, fcancel := context.WithTimeout(ctx, budget/2)
		p.step(fctx, opFarewell, state{})
		fcancel()
	}
	if p.etag != "" { // a 412 to the farewell leaves nothing to remove
		p.step(ctx, opRemove, state{})
	}
	if p.etag != "" {
		err := p.LastError()
		if err == nil {
			err = errors.New("no answer")
		}
		return fmt.Errorf("sip publish for %s: remove on shutdown: %w", p.opts.AOR, err)
	}
	return nil
}

// farewell is the document to publish before removing the publication:
// Options.Farewell's for the published one, nil for none (no Farewell, or
// the farewell is what the server already holds).
func (p *Publisher) farewell() []byte {
	if p.opts.Farewell == nil || p.published == nil {
		return nil
	}
	body := p.opts.Farewell(p.published)
	if body == nil || bytes.Equal(body, p.published) {
		return nil
	}
	return body
}

func (p *Publisher) forget() {
	p.etag, p.published = "", nil
	p.expiresAt, p.refreshAt = time.Time{}, time.Time{}
}

// minRequestExpires is the least Expires asked for even when the segment
// ends sooner: RFC 3903 servers may answer tiny values with 423 Interval
// Too Brief, and a few seconds' lifetime leaves no room for a late timer.
// An Options.Expires below it is honoured (it is the cap).
const minRequestExpires = 60 * time.Second

// requestExpires is the lifetime to ask for: until shortly after the
// current segment ends, so that a dead agent cannot leave a stale state
// for long, and never more than Options.Expires. It is rounded down, so
// that the publication never outlives its segment by more than Grace
// (unless the floor or the server's Min-Expires says otherwise).
func (p *Publisher) requestExpires(now time.Time, st state) int {
	d := p.opts.Expires
	if p.expiresAtGap(st) {
		// Gone when the segment ends (rounded up to the second), no
		// floor: see letExpire.
		d = min(d, st.end.Sub(now)+time.Second-1)
		return max(int(d/time.Second), p.minExpires, 1)
	}
	if !st.end.IsZero() {
		d = min(d, st.end.Sub(now)+p.opts.Grace)
	}
	d = max(d, min(minRequestExpires, p.opts.Expires))
	return max(int(d/time.Second), p.minExpires, 1)
}

// refreshLead is how long before the granted expiry a refresh goes out:
// a quarter of the lifetime, at least 1s and at most 5m, and never more
// than half of it.
func refreshLead(granted time.Duration) time.Duration {
	return min(clamp(granted/4, time.Second, 5*time.Minute), granted/2)
}

// schedule sets when the publication granted at now for granted expires
// and when to refresh it. The boundary at st.end sends a modification or
// a removal, which refreshes too, so a refresh before it would be wasted
// — but only if the boundary comes comfortably before the expiry: a
// timer that fires a few ms late (or seconds, at demo speed) must not
// find the publication gone. That margin is half the refresh lead, and
// at most half the grace, which the default grace always leaves. When
// the expiry is not that far after the boundary (Expires capped the
// grace away, or the server granted less), refresh a lead before expiry;
// that is then at least half a lead before the boundary, never right
// before it.
func (p *Publisher) schedule(now time.Time, granted time.Duration, st state) {
	p.expiresAt = now.Add(granted)
	lead := refreshLead(granted)
	p.refreshAt = p.expiresAt.Add(-lead)
	if !st.end.IsZero() && p.expiresAt.Sub(st.end) >= min(lead, p.opts.Grace)/2 {
		p.refreshAt = st.end
	}
	if p.expiresAtGap(st) && !p.expiresAt.Before(st.end) {
		p.refreshAt = p.expiresAt // it is to end with the segment: no refresh
	}
}

// stepAside runs step on a goroutine of its own and waits for it. Run's
// goroutine lives as long as the publication, one per user: the request's
// deep calls (the SIP stack, logging) would grow its stack to 8 kB or more
// for good, 400 MB at 50,000 users; a short-lived goroutine takes that
// growth with it. The state step changes is handed over and back through
// the goroutine's start and end.
//
// When ctx ends first, the request in flight is given RemoveTimeout/2 more
// to be answered (its answer's ETag is the one the removal needs), then
// cancelled.
func (p *Publisher) stepAside(ctx context.Context, what op, st state) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.step(ctx, what, st)
	}()
	select {
	case <-done:
		return
	case <-ctx.Done():
	}
	p.mu.Lock()
	if p.stopAt.IsZero() {
		p.stopAt = time.Now() // RemoveTimeout is in real time, like the contexts
	}
	p.mu.Unlock()
	t := time.NewTimer(p.opts.RemoveTimeout / 2)
	defer t.Stop()
	select {
	case <-done:
		return
	case <-t.C:
	}
	p.mu.Lock()
	if p.inflight != nil {
		p.inflight()
	}
	p.mu.Unlock()
	<-done
}

// step sends one PUBLISH for what and updates the state from its answer.
func (p *Publisher) step(ctx context.Context, what op, st state) {
	now := p.opts.Clock.Now()
	expires := 0
	var body []byte
	switch what {
	case opPublish, opModify:
		body = st.body
		expires = p.requestExpires(now, st)
	case opRefresh:
		expires = p.requestExpires(now, st)
	case opFarewell:
		// Should the removal that follows fail, the farewell lapses soon.
		body, expires = p.farewell(), max(int(minRequestExpires/time.Second), p.minExpires)
	}
	start := time.Now()
	res, err := p.send(ctx, what, body, expires)
	ms := time.Since(start).Milliseconds()
	if err != nil {
		if ctx.Err() != nil && what != opRemove {
			return // shutting down; the removal follows
		}
		p.failed(what, "error", ms, err, 0)
		return
	}
	code := res.StatusCode
	switch {
	case code >= 200 && code < 300:
		if what == opRemove {
			p.failures, p.retryAt = 0, time.Time{}
			p.setErr(nil)
			p.forget()
			p.log.Info("sip publish", "what", string(what), "result", code, "ms", ms)
			if !p.stopping {
				p.changed(nil, "withdrawn")
			}
			return
		}
		h := res.GetHeader("SIP-ETag")
		if h == nil || strings.TrimSpace(h.Value()) == "" {
			// RFC 3903 §6 requires it; without it the publication cannot be
			// refreshed or removed, so treat it as a failure, not a loop.
			p.forget()
			p.failed(what, code, ms, &StatusError{AOR: p.opts.AOR, Code: code, Reason: res.Reason + " without SIP-ETag"}, 0)
			return
		}
		p.etag = strings.TrimSpace(h.Value())
		p.failures, p.retryAt = 0, time.Time{}
		p.refused, p.badEventTold = nil, false
		p.setErr(nil)
		granted := expires
		if h := res.GetHeader("Expires"); h != nil {
			if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v > 0 {
				granted = v
			}
		}
		if body != nil {
			p.published = body
		}
		p.schedule(now, time.Duration(granted)*time.Second, st)
		p.log.Info("sip publish", "what", string(what), "result", code, "ms", ms, "expires", granted)
		if body != nil && what != opFarewell { // the removal that follows is the change
			p.changed(body, "published")
		}
	case code == 412 && what == opRemove:
		// RFC 3903 §6: the server holds nothing under our ETag, so there
		// is nothing of ours left to remove under it. Should it hold a
		// publication of ours under an ETag we never saw (a request whose
		// answer was lost), that one expires by itself.
		p.log.Info("sip publish", "what", string(what), "result", code, "ms", ms, "action", "none; nothing left under our etag", "etag", p.etag)
		p.forget()
		p.failures, p.retryAt = 0, time.Time{}
		p.setErr(nil)
	case code == 412 && what != opPublish:
		// RFC 3903 §6: the server lost our publication; start afresh.
		p.log.Info("sip publish", "what", string(what), "result", code, "ms", ms, "action", "publish afresh")
		p.forget()
	case code == 489: // Bad Event
		p.badEvent(res, what, st.body, ms)
	case code == 423:
		v := 0
		if h := res.GetHeader("Min-Expires"); h != nil {
			v, _ = strconv.Atoi(strings.TrimSpace(h.Value()))
		}
		p.log.Info("sip publish", "what", string(what), "result", code, "ms", ms, "min_expires", v)
		if v > expires && v <= 86400 {
			p.minExpires = v
			return // retry at once with the longer Expires
		}
		p.fail(res, what, ms)
	default:
		p.fail(res, what, ms)
	}
}

func clamp(d, lo, hi time.Duration) time.Duration { return max(lo, min(d, hi)) }

// fail handles a final failure response: its error, and a backoff that
// honours Retry-After.
func (p *Publisher) fail(res *sip.Response, what op, ms int64) {
	se := &StatusError{AOR: p.opts.AOR, Code: res.StatusCode, Reason: res.Reason}
	var err error = se
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		err = &authRejected{aor: p.opts.AOR, status: se}
	}
	var retryAfter time.Duration
	if h := res.GetHeader("Retry-After"); h != nil {
		v := strings.TrimSpace(h.Value())
		if i := strings.IndexAny(v, " ;("); i >= 0 {
			v = v[:i]
		}
		if s, err := strconv.Atoi(v); err == nil && s > 0 {
			retryAfter = time.Duration(min(s, 3600)) * time.Second
		}
	}
	p.failed(what, res.StatusCode, ms, err, retryAfter)
}

// badEvent handles 489 Bad Event: the server does not serve the event
// package (a Kamailio without presence_dialoginfo for Event: dialog). No
// retry changes that, so it is final for the document: no backoff storm of
// thousands of users, one warning per publisher, and the next document of
// the timeline (or an hour) is the next attempt.
func (p *Publisher) badEvent(res *sip.Response, what op, doc []byte, ms int64) {
	p.setErr(&StatusError{AOR: p.opts.AOR, Code: res.StatusCode, Reason: res.Reason})
	now := p.opts.Clock.Now()
	p.failures = 0
	p.retryAt = now.Add(time.Hour)
	p.refused = doc // the document in force, whatever the request was
	if p.refused == nil {
		p.refused = []byte{} // none in force: it holds until one is
	}
	level := slog.LevelWarn
	if p.badEventTold {
		level = slog.LevelDebug
	}
	p.badEventTold = true
	p.log.Log(context.Background(), level, "sip publish refused: the server does not serve this event package; not retried until the document changes",
		"what", string(what), "result", res.StatusCode, "ms", ms, "retry_in_ms", time.Hour.Milliseconds())
}

// failed records err and backs off, at least retryAfter, from now: when the
// request failed, not when it started.
func (p *Publisher) failed(what op, result any, ms int64, err error, retryAfter time.Duration) {
	p.setErr(err)
	now := p.opts.Clock.Now()
	p.backoff(now, retryAfter)
	p.log.Warn("sip publish failed", "what", string(what), "result", result, "ms", ms, "error", err, "retry_in_ms", p.retryAt.Sub(now).Milliseconds())
}

// backoff schedules the next attempt: capped exponential with jitter
// (half fixed, half random), at least retryAfter.
func (p *Publisher) backoff(now time.Time, retryAfter time.Duration) {
	p.failures++
	d := backoff.Policy{Min: p.opts.MinBackoff, Max: p.opts.MaxBackoff}.Delay(p.failures)
	p.retryAt = now.Add(max(d, retryAfter))
}

// send builds and sends one PUBLISH, answering digest challenges and
// failing over to the next target on timeouts, transport errors and 503.
func (p *Publisher) send(ctx context.Context, what op, body []byte, expires int) (*sip.Response, error) {
	if err := p.locate(ctx); err != nil {
		return nil, err
	}
	challenged := false // credentials in this call answer a fresh challenge
	tried, challenges := 0, 0
	for {
		t := p.targets[p.targetIdx]
		req := p.build(what, body, expires, t)
		if err := p.auth.apply(req, p.opts.Username); err != nil {
			return nil, fmt.Errorf("sip publish for %s: %w", p.opts.AOR, err)
		}
		toTCP := p.fitUDP(req, t)
		if p.log.Enabled(ctx, slog.LevelDebug) {
			p.log.Debug("sip request", "what", string(what), "target", req.Destination(), "transport", req.Transport(), "cseq", p.cseq-1, "expires", expires, "body_bytes", len(body))
		}
		res, err := p.do(ctx, req)
		if ctx.Err() != nil && (err != nil || res.StatusCode == sip.StatusServiceUnavailable ||
			res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) {
			// Shutting down: no failover, no new credentials.
			return nil, ctx.Err()
		}
		if err == nil && res.StatusCode != sip.StatusServiceUnavailable {
			if res.StatusCode != sip.StatusUnauthorized && res.StatusCode != sip.StatusProxyAuthRequired {
				return res, nil
			}
			chal, header, cerr := pickChallenge(res)
			if cerr != nil {
				return nil, fmt.Errorf("sip digest auth for %s: %w", p.opts.AOR, cerr)
			}
			// Credentials sent pre-emptively may just have an expired
			// nonce: Kamailio 5.6 then re-challenges without stale=true.
			// Only credentials answering a challenge of this very call
			// are known to be wrong unless stale=true.
			if challenges++; challenges > 3 || (challenged && !chal.Stale) {
				// Our fresh credentials were refused: forget them, so that the
				// next attempt asks for the password again (it may have been
				// changed since).
				p.auth = digestState{}
				return res, nil
			}
			if p.opts.Username == "" {
				return nil, fmt.Errorf("sip digest auth for %s: challenged but no username configured", p.opts.AOR)
			}
			if err := p.auth.accept(ctx, chal, header, p.opts.Username, p.opts.Password); err != nil {
				return nil, fmt.Errorf("sip digest auth for %s: %w", p.opts.AOR, err)
			}
			challenged = true
			continue
		}
		if toTCP && err != nil {
			// RFC 3261 §18.1.1 leaves no choice, even if the proxy names
			// transport=udp: UDP may not carry it, sipgo would not send it.
			p.log.Warn("sip request too large for udp, and tcp failed: a udp-only server cannot get it; enable tcp on the server or shorten the document",
				"bytes", p.wireSize(req), "limit", maxUDP, "target", t.Addr, "error", explain(t, p.opts.Timeout, err))
		}
		// Timeout, transport error or 503: fail over (RFC 3263 §4.3).
		tried++
		p.log.Debug("sip target failed", "target", t.Addr, "transport", t.Transport, "error", errOrStatus(err, res))
		if tried >= len(p.targets) {
			p.targetsAt = time.Time{} // locate afresh next time
			if err != nil {
				return nil, fmt.Errorf("sip publish for %s: %w", p.opts.AOR, explain(t, p.opts.Timeout, err))
			}
			return res, nil
		}
		p.targetIdx = (p.targetIdx + 1) % len(p.targets)
	}
}

// do sends req and waits for its final response. The request is not
// abandoned the moment ctx is done: the server may already have acted on
// it, and only its answer tells the ETag the removal must carry (RFC 3903
// §4). It gets until half of RemoveTimeout after ctx is done, and never
// more than Timeout in all (through a TimeoutDoer: from when it is sent),
// nor past ctx's deadline.
func (p *Publisher) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	td, queued := p.doer.(TimeoutDoer)
	var rctx context.Context
	var cancel context.CancelFunc
	switch d, ok := ctx.Deadline(); {
	case queued && ok:
		rctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), d) // the removal's own bound
	case queued:
		// The Timeout counts from the sending; the wait for a turn is the
		// Doer's to bound, and the shutdown's (below).
		rctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
	default:
		deadline := time.Now().Add(p.opts.Timeout)
		if ok && d.Before(deadline) {
			deadline = d // the removal's own bound
		}
		rctx, cancel = context.WithDeadline(context.WithoutCancel(ctx), deadline)
	}
	defer cancel()
	// Not a context.AfterFunc on ctx: see stepAside, which cancels it.
	p.mu.Lock()
	p.inflight = cancel
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.inflight = nil
		p.mu.Unlock()
	}()
	if queued {
		return td.DoTimeout(rctx, req, p.opts.Timeout)
	}
	return p.doer.Do(rctx, req)
}

func errOrStatus(err error, res *sip.Response) any {
	if err != nil {
		return err.Error()
	}
	return res.StatusCode
}

// locate refreshes the target list every few minutes (DNS TTLs are not
// known for every resolver).
func (p *Publisher) locate(ctx context.Context) error {
	now := p.opts.Clock.Now()
	if len(p.targets) > 0 && now.Sub(p.targetsAt) < 5*time.Minute {
		return nil
	}
	ts, err := locate.Targets(ctx, p.opts.Resolver, p.next)
	if err != nil {
		if len(p.targets) > 0 {
			p.log.Warn("sip locate failed; keeping the old targets", "error", err)
			return nil
		}
		return fmt.Errorf("sip publish for %s: %w", p.opts.AOR, err)
	}
	if len(ts) == 0 {
		return fmt.Errorf("sip publish for %s: locate %s: no targets", p.opts.AOR, p.next.Host)
	}
	p.targets, p.targetIdx, p.targetsAt = ts, 0, now
	return nil
}

// newRequest starts a request of the publisher's own dialog-less
// transaction series: From (with the publisher's tag), To, Call-ID, the
// next CSeq, Max-Forwards.
func (p *Publisher) newRequest(method sip.RequestMethod) *sip.Request {
	req := sip.NewRequest(method, p.aor)
	from := &sip.FromHeader{Address: p.aor}
	from.Params = sip.NewParams()
	from.Params.Add("tag", p.fromTag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: p.aor})
	callID := sip.CallIDHeader(p.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq, MethodName: method})
	p.cseq++
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	return req
}

// build makes the PUBLISH request (RFC 3903 §4).
func (p *Publisher) build(what op, body []byte, expires int, t locate.Target) *sip.Request {
	req := p.newRequest(sip.PUBLISH)
	req.AppendHeader(sip.NewHeader("Event", p.opts.Event))
	exp := sip.ExpiresHeader(expires)
	req.AppendHeader(&exp)
	if what != opPublish && p.etag != "" {
		req.AppendHeader(sip.NewHeader("SIP-If-Match", p.etag))
	}
	if p.opts.UserAgent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", p.opts.UserAgent))
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", p.opts.ContentType))
	}
	req.SetBody(body)
	p.route(req, t, t.Transport)
	return req
}

// route sets req's transport and destination at target t.
func (p *Publisher) route(req *sip.Request, t locate.Target, transport string) {
	req.SetTransport(transport)
	dest := t.Addr
	if transport == "TLS" && t.Host != "" {
		// sipgo verifies the certificate against the destination's host
		// name, so hand it the name, not the address.
		if _, port, err := net.SplitHostPort(t.Addr); err == nil {
			dest = net.JoinHostPort(t.Host, port)
		}
	}
	req.SetDestination(dest)
}

// maxUDP is RFC 3261 §18.1.1's limit for requests over UDP when the path
// MTU is unknown: a larger request MUST go over a congestion-controlled
// transport. (sipgo refuses to send a larger UDP datagram anyway.)
const maxUDP = 1300

// fitUDP moves req, built for UDP target t, to TCP at the same address if
// its message as it goes on the wire is larger than maxUDP, and reports
// whether it did.
func (p *Publisher) fitUDP(req *sip.Request, t locate.Target) bool {
	if t.Transport != "UDP" {
		return false
	}
	n := p.wireSize(req)
	if n <= maxUDP {
		return false
	}
	p.route(req, t, "TCP")
	if !p.toldTCP {
		p.toldTCP = true
		p.log.Info("sip request too large for udp; sending it over tcp (RFC 3261 §18.1.1)",
			"bytes", n, "limit", maxUDP, "body_bytes", len(req.Body()), "target", t.Addr)
	}
	return true
}

// wireSize is the size of req as it goes on the wire: as it is now, plus
// what the Doer adds on sending. sipgo's client prepends a Via
// ("Via: SIP/2.0/UDP host:port;branch=z9hG4bK.<16>") whose sent-by is its
// configured host or else the address its socket is bound to (the
// wildcard, "0.0.0.0" or "[::]"), and the local port; our Client adds its
// User-Agent if req has none. Digest credentials are in req already. For
// other Doers (wrappers, fakes) the same is assumed, with our Client's
// default User-Agent.
func (p *Publisher) wireSize(req *sip.Request) int {
	host, ua := "", "calpresence"
	if s, ok := p.doer.(sender); ok {
		host, ua = s.sentBy()
	}
	if host == "" {
		host = "0.0.0.0"
		if h, _, err := net.SplitHostPort(req.Destination()); err == nil && strings.Contains(h, ":") {
			host = "[::]"
		}
	}
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: host, Port: 65535}
	via.Params = sip.NewParams()
	via.Params.Add("branch", sip.GenerateBranchN(16))
	n := len(req.String()) + len(via.Name()) + len(": ") + len(via.Value()) + len("\r\n")
	if ua != "" && req.GetHeader("User-Agent") == nil {
		n += len("User-Agent: ") + len(ua) + len("\r\n")
	}
	return n
}

// sender is a Doer that adds headers on sending (our Client).
type sender interface {
	// sentBy returns the Via host and the User-Agent it adds.
	sentBy() (host, userAgent string)
}
