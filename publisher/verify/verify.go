// Package verify watches what a presence server tells watchers about the
// presentities the agent publishes, and has the publication repaired when
// the server lost, kept or mis-merged it: per user and publication it
// SUBSCRIBEs (RFC 6665) as a watcher of the presentity, Event: presence
// (RFC 3856) or Event: dialog (RFC 4235, the BLF lamp), compares each
// NOTIFY with the document the publisher has in force (by element and
// namespace, see Holds and HoldsDialog), and when they differ for longer than
// a settle time it asks the publisher to publish again at once
// (publisher.Publisher.Repair) rather than at the next refresh.
//
// Subscriptions are refreshed before they expire (RFC 6665 §4.1.2.1),
// established afresh after a 481, a terminated subscription or a failure,
// with backoff, and at once when the server answers again after failing
// to (a restart, which loses every subscription and publication of a
// server without persistent state). Every watcher shares one Client: one
// UDP socket, one SIP user agent, a bounded number of requests in flight.
package verify

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/internal/backoff"
	"github.com/calpresence/calpresence/pidf"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// Listen is the local UDP address NOTIFYs come to; its IP goes into
	// the subscriptions' Contact, so it must be one the presence server
	// reaches (see LocalAddrFor). Port 0 picks a free one.
	Listen string
	// MaxInFlight bounds the SUBSCRIBE and OPTIONS requests in flight at
	// once over all watchers (default 32), so that 10,000 users
	// re-subscribing after a server restart do not flood it.
	MaxInFlight int
	UserAgent   string // default "calpresence"
	Logger      *slog.Logger
}

// Client is the SIP user agent every watcher shares.
type Client struct {
	ua      *sipgo.UserAgent
	cli     *sipgo.Client
	conn    net.PacketConn
	contact string // <sip:calpresence@IP:PORT>
	log     *slog.Logger
	sem     chan struct{}

	mu       sync.Mutex
	byCallID map[string]*watch
	probes   map[string]*probe // by destination
}

// LocalAddrFor is the local IP address that routes to the presence server
// dest ("host:port"), with port 0: the Listen for a Client of its
// watchers. It sends nothing.
func LocalAddrFor(dest string) (string, error) {
	c, err := net.Dial("udp", dest)
	if err != nil {
		return "", fmt.Errorf("verify: local address for %s: %w", dest, err)
	}
	defer c.Close()
	host, _, _ := net.SplitHostPort(c.LocalAddr().String())
	return net.JoinHostPort(host, "0"), nil
}

// NewClient listens on o.Listen and answers NOTIFYs there until Close.
func NewClient(o ClientOptions) (*Client, error) {
	log := cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	conn, err := net.ListenPacket("udp", o.Listen)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr)
	host := addr.IP.String()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(cmp.Or(o.UserAgent, "calpresence")), sipgo.WithUserAgentHostname(host),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("verify: %w", err)
	}
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, fmt.Errorf("verify: %w", err)
	}
	cli, err := sipgo.NewClient(ua, sipgo.WithClientAddr(addr.String()), sipgo.WithClientLogger(log))
	if err != nil {
		ua.Close()
		conn.Close()
		return nil, fmt.Errorf("verify: %w", err)
	}
	c := &Client{ua: ua, cli: cli, conn: conn, log: log,
		contact:  fmt.Sprintf("<sip:calpresence@%s>", addr.String()),
		sem:      make(chan struct{}, cmp.Or(o.MaxInFlight, 32)),
		byCallID: map[string]*watch{}, probes: map[string]*probe{}}
	srv.OnNotify(c.onNotify)
	go srv.ServeUDP(conn)
	return c, nil
}

// Close stops the Client.
func (c *Client) Close() error {
	err := c.ua.Close()
	c.conn.Close()
	return err
}

// onNotify hands a NOTIFY to its watcher and answers it (RFC 6665
// §4.1.3: 481 for a subscription we do not know).
func (c *Client) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	id := ""
	if h := req.CallID(); h != nil {
		id = h.Value()
	}
	c.mu.Lock()
	w := c.byCallID[id]
	c.mu.Unlock()
	if w == nil {
		tx.Respond(sip.NewResponseFromRequest(req, 481, "Subscription Does Not Exist", nil))
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	state := ""
	if h := req.GetHeader("Subscription-State"); h != nil {
		state = strings.ToLower(strings.TrimSpace(strings.SplitN(h.Value(), ";", 2)[0]))
	}
	w.notified(bytes.Clone(req.Body()), state == "terminated")
}

// do sends req within the in-flight bound.
func (c *Client) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	return c.cli.Do(ctx, req)
}

// Options configure one watcher.
type Options struct {
	// AOR is the presentity watched; Destination the presence server,
	// "host:port" (the publisher's proxy).
	AOR, Destination string
	// Event is the event package watched: "presence" (the default, PIDF
	// documents compared by Holds) or dialoginfo.Event ("dialog",
	// dialog-info documents compared by HoldsDialog).
	Event string
	// InForce returns the document the publisher has in force, nil for
	// none (publisher.Publisher.InForce).
	InForce func() []byte
	// Repair has the publication sent again at once
	// (publisher.Publisher.Repair).
	Repair func()
	// OnRepair, if set, is called after each Repair, for the metrics.
	OnRepair func()
	// Settle is how long a difference may last before it counts: the
	// time a change takes from the publisher through the server to the
	// watcher (default 1s). After a repair that did not help, the wait
	// doubles, to at most a minute.
	Settle time.Duration
	// Expires is the subscription's requested lifetime (default 10m).
	Expires time.Duration
	// Probe is how often the server is asked whether it answers (an
	// OPTIONS, shared by the watchers of one server), so that a restart is
	// noticed within it (default 2s).
	Probe time.Duration
	// MinRetry and MaxRetry bound the backoff of failed subscriptions
	// (default 1s and 5m).
	MinRetry, MaxRetry time.Duration
	Logger             *slog.Logger
}

// watch is one running watcher.
type watch struct {
	c   *Client
	o   Options
	log *slog.Logger
	aor sip.Uri
	// holds compares a NOTIFY body with the document in force.
	holds  func(notify, want []byte) bool
	accept string
	wake   chan struct{}
	pr     *probe

	mu       sync.Mutex
	body     []byte    // the last NOTIFY's body
	seen     bool      // a NOTIFY came since the subscription was made
	lost     bool      // the server ended the subscription
	restarts uint64    // the probe's count of the server answering again
	notifyAt time.Time // when the last NOTIFY came

	// Owned by Run.
	callID, fromTag, toTag string
	cseq                   uint32
	subscribed             bool
	refreshAt, retryAt     time.Time
	failures               int
	diffSince              time.Time
	settle                 time.Duration
	// For the dialog event: when the last SUBSCRIBE was answered, and
	// when a NOTIFY that did not answer one is to be confirmed by a
	// refresh (zero for none), and which NOTIFY that was.
	subAt, confirmAt, confirmed time.Time
}

// Watch watches o.AOR until ctx is done, then ends the subscription. It
// returns an error only for an unusable AOR.
func (c *Client) Watch(ctx context.Context, o Options) error {
	o.Settle = cmp.Or(o.Settle, time.Second)
	o.Expires = cmp.Or(o.Expires, 10*time.Minute)
	o.Probe = cmp.Or(o.Probe, 2*time.Second)
	o.MinRetry = cmp.Or(o.MinRetry, time.Second)
	o.MaxRetry = cmp.Or(o.MaxRetry, 5*time.Minute)
	o.Logger = cmp.Or(o.Logger, c.log)
	o.Event = cmp.Or(o.Event, "presence")
	w := &watch{c: c, o: o, log: o.Logger.With("aor", o.AOR, "watch", o.Event),
		wake: make(chan struct{}, 1), settle: o.Settle}
	switch o.Event {
	case "presence":
		base := pidf.IDBase(o.AOR)
		w.holds = func(notify, want []byte) bool { return Holds(notify, want, base) }
		w.accept = "application/pidf+xml"
	case dialoginfo.Event:
		id := dialoginfo.IDFor(o.AOR)
		w.holds = func(notify, want []byte) bool { return HoldsDialog(notify, want, id) }
		w.accept = dialoginfo.ContentType
	default:
		return fmt.Errorf("verify: event %q: want presence or %s", o.Event, dialoginfo.Event)
	}
	if err := sip.ParseUri(o.AOR, &w.aor); err != nil {
		return fmt.Errorf("verify: aor %q: %w", o.AOR, err)
	}
	w.aor = sip.Uri{Scheme: w.aor.Scheme, User: w.aor.User, Host: w.aor.Host, Port: w.aor.Port}
	pr := c.probe(ctx, o.Destination, o.Probe)
	defer c.unprobe(pr)
	w.pr = pr
	pr.add(w)
	defer pr.remove(w)
	w.run(ctx)
	return nil
}

func (w *watch) notified(body []byte, terminated bool) {
	w.mu.Lock()
	if terminated {
		w.lost = true
	} else {
		w.body, w.seen, w.notifyAt = body, true, time.Now()
	}
	w.mu.Unlock()
	w.poke()
}

func (w *watch) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *watch) run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(w.o.Probe) // re-checks a document that changed without a NOTIFY
	defer tick.Stop()
	var restarts uint64
	for ctx.Err() == nil {
		now := time.Now()
		w.mu.Lock()
		lost, r := w.lost, w.restarts
		w.lost = false
		w.mu.Unlock()
		if lost || r != restarts {
			if w.subscribed {
				w.log.Info("subscription lost; subscribing afresh", "server_restarted", r != restarts)
			}
			restarts = r
			w.forget()
			w.retryAt = time.Time{}
		}
		switch {
		case !w.subscribed && !now.Before(w.retryAt):
			w.subscribe(ctx, false)
			continue
		case w.subscribed && !now.Before(w.refreshAt):
			w.subscribe(ctx, true)
			continue
		}
		if w.confirmNotify(now) {
			w.subscribe(ctx, true)
			continue
		}
		w.check(now, restarts)

		wait := time.Hour
		for _, t := range []time.Time{w.retryAt, w.refreshAt, w.repairAt(), w.confirmAt} {
			if !t.IsZero() {
				wait = min(wait, max(t.Sub(now), 0))
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-tick.C:
		case <-timer.C:
		}
	}
	w.unsubscribe()
}

// confirmNotify reports whether the subscription is to be refreshed now
// to confirm what a NOTIFY said. Kamailio's presence_dialoginfo tells
// watchers of a removed dialog publication with the removed document
// itself, which still shows the dialog, and only the NOTIFY of a later
// SUBSCRIBE shows it gone: so for the dialog event a NOTIFY that does not
// answer our SUBSCRIBE (one that comes more than 2 s after its answer) is
// confirmed by a refresh of the subscription, a settle time later, whose
// NOTIFY then shows what the server holds. One refresh per unsolicited
// NOTIFY: two per meeting for a BLF lamp.
func (w *watch) confirmNotify(now time.Time) bool {
	if w.o.Event != dialoginfo.Event || !w.subscribed {
		return false
	}
	w.mu.Lock()
	at := w.notifyAt
	w.mu.Unlock()
	if at.After(w.subAt.Add(2*time.Second)) && !at.Equal(w.confirmed) {
		w.confirmed, w.confirmAt = at, at.Add(w.o.Settle)
	}
	if w.confirmAt.IsZero() || now.Before(w.confirmAt) {
		return false
	}
	w.confirmAt = time.Time{}
	return true
}

func (w *watch) repairAt() time.Time {
	if w.diffSince.IsZero() {
		return time.Time{}
	}
	return w.diffSince.Add(w.settle)
}

// check compares what watchers were told last with the document in force
// and repairs a difference that outlasted the settle time.
func (w *watch) check(now time.Time, restarts uint64) {
	// Whether the server answers is read before the restart count: the
	// probe counts a restart before it marks the server up again, so a
	// repair never goes out on a NOTIFY from before the restart.
	up := w.pr.up.Load()
	w.mu.Lock()
	body, seen, fresh := w.body, w.seen, w.restarts == restarts
	w.mu.Unlock()
	if !w.subscribed || !seen || !fresh {
		return // a server that came back is subscribed to afresh first
	}
	want := w.o.InForce()
	if w.holds(body, want) {
		w.diffSince, w.settle = time.Time{}, w.o.Settle
		return
	}
	if w.diffSince.IsZero() {
		w.diffSince = now
		w.log.Debug("watchers are told something else than published; settling", "notify", string(body), "published", string(want))
		return
	}
	if now.Before(w.diffSince.Add(w.settle)) || !up {
		return // a server that does not answer gets its repair when it does
	}
	what := "stale or mis-merged"
	if want != nil && w.holds(body, nil) {
		what = "missing"
	}
	w.log.Warn("presence server tells watchers something else than published; republishing", "publication", what,
		"for_ms", now.Sub(w.diffSince).Milliseconds())
	w.o.Repair()
	if w.o.OnRepair != nil {
		w.o.OnRepair()
	}
	// Should it not help (a server that cannot merge the document), wait
	// longer before the next repair.
	w.diffSince, w.settle = now, min(2*w.settle, time.Minute)
}

// forget drops the subscription's dialog.
func (w *watch) forget() {
	if w.callID != "" {
		w.c.mu.Lock()
		delete(w.c.byCallID, w.callID)
		w.c.mu.Unlock()
	}
	w.callID, w.toTag, w.subscribed = "", "", false
	w.refreshAt = time.Time{}
	w.diffSince, w.confirmAt = time.Time{}, time.Time{}
	w.mu.Lock()
	w.body, w.seen = nil, false
	w.mu.Unlock()
}

// request builds a SUBSCRIBE of the dialog (a new one when callID is "").
func (w *watch) request(expires int) *sip.Request {
	req := sip.NewRequest(sip.SUBSCRIBE, w.aor)
	req.SetDestination(w.o.Destination)
	req.SetTransport("UDP")
	from := fmt.Sprintf("<%s>;tag=%s", w.aor.String(), w.fromTag)
	to := "<" + w.aor.String() + ">"
	if w.toTag != "" {
		to += ";tag=" + w.toTag
	}
	w.cseq++
	for _, h := range [][2]string{
		{"From", from}, {"To", to}, {"Call-ID", w.callID}, {"CSeq", fmt.Sprintf("%d SUBSCRIBE", w.cseq)},
		{"Contact", w.c.contact}, {"Event", w.o.Event}, {"Accept", w.accept},
		{"Expires", strconv.Itoa(expires)}, {"Max-Forwards", "70"},
	} {
		req.AppendHeader(sip.NewHeader(h[0], h[1]))
	}
	return req
}

// subscribe makes (refresh false) or refreshes the subscription.
func (w *watch) subscribe(ctx context.Context, refresh bool) {
	if !refresh {
		w.forget()
		w.callID = sip.GenerateTagN(24) + "@calpresence-watch"
		w.fromTag = sip.GenerateTagN(16)
		w.cseq = 0
		w.c.mu.Lock()
		w.c.byCallID[w.callID] = w
		w.c.mu.Unlock()
	}
	req := w.request(int(w.o.Expires / time.Second))
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	res, err := w.c.do(rctx, req)
	cancel()
	now := time.Now()
	if ctx.Err() != nil {
		return
	}
	code := 0
	if res != nil {
		code = res.StatusCode
	}
	if err == nil && code >= 200 && code < 300 {
		if h := res.To(); h != nil {
			if tag, ok := h.Params.Get("tag"); ok {
				w.toTag = tag
			}
		}
		granted := w.o.Expires
		if h := res.GetHeader("Expires"); h != nil {
			if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v > 0 {
				granted = time.Duration(v) * time.Second
			}
		}
		if !w.subscribed || w.failures > 0 {
			w.log.Info("sip subscribe", "refresh", refresh, "result", code, "expires", int(granted/time.Second))
		}
		if !refresh {
			w.settle = w.o.Settle // a new subscription starts afresh
		}
		w.subscribed, w.failures, w.subAt = true, 0, time.Now()
		// RFC 6665 §4.1.2.1: refresh before it expires.
		w.refreshAt = now.Add(granted - min(max(granted/4, time.Second), 5*time.Minute))
		return
	}
	w.failures++
	delay := backoff.Policy{Min: w.o.MinRetry, Max: w.o.MaxRetry}.Delay(w.failures)
	result := any(code)
	if err != nil {
		result = err.Error()
	}
	w.log.Info("sip subscribe failed", "refresh", refresh, "result", result, "retry_in_ms", delay.Milliseconds())
	w.forget()
	if refresh && code == 481 {
		delay = 0 // RFC 6665 §4.1.2.4: the dialog is gone; start a new one
	}
	w.retryAt = now.Add(delay)
}

// unsubscribe ends the subscription (Expires: 0), briefly.
func (w *watch) unsubscribe() {
	if !w.subscribed {
		w.forget()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	w.c.do(ctx, w.request(0))
	w.forget()
}

// probe asks one server, for all its watchers, whether it answers; when it
// answers again after failing to, it tells them to subscribe afresh.
type probe struct {
	dest   string
	cancel context.CancelFunc
	users  int // guarded by Client.mu
	up     atomic.Bool

	mu sync.Mutex
	ws map[*watch]bool
}

func (c *Client) probe(ctx context.Context, dest string, every time.Duration) *probe {
	c.mu.Lock()
	defer c.mu.Unlock()
	pr := c.probes[dest]
	if pr == nil {
		pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		pr = &probe{dest: dest, cancel: cancel, ws: map[*watch]bool{}}
		pr.up.Store(true)
		c.probes[dest] = pr
		go pr.run(pctx, c, every)
	}
	pr.users++
	return pr
}

func (c *Client) unprobe(pr *probe) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if pr.users--; pr.users == 0 {
		pr.cancel()
		delete(c.probes, pr.dest)
	}
}

func (pr *probe) add(w *watch) {
	pr.mu.Lock()
	pr.ws[w] = true
	pr.mu.Unlock()
}

func (pr *probe) remove(w *watch) {
	pr.mu.Lock()
	delete(pr.ws, w)
	pr.mu.Unlock()
}

func (pr *probe) run(ctx context.Context, c *Client, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: hostOf(pr.dest)})
		req.SetDestination(pr.dest)
		req.SetTransport("UDP")
		req.AppendHeader(sip.NewHeader("Max-Forwards", "0"))
		// An answer may take a while (a loaded server, a long way); a
		// probe that takes longer than the interval delays the next.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := c.do(rctx, req)
		cancel()
		if ctx.Err() != nil {
			return
		}
		answered := err == nil // any response; an error is no answer
		if answered && !pr.up.Load() {
			c.log.Info("presence server answers again; watchers subscribe afresh", "server", pr.dest)
			pr.mu.Lock()
			for w := range pr.ws {
				w.mu.Lock()
				w.restarts++
				w.mu.Unlock()
				w.poke()
			}
			pr.mu.Unlock()
		}
		pr.up.Store(answered)
	}
}

func hostOf(dest string) string {
	if h, _, err := net.SplitHostPort(dest); err == nil {
		return h
	}
	return dest
}
