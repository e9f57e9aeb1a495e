package publisher

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// PaceOptions configure a Pacer; zero values take the defaults.
type PaceOptions struct {
	// Initial is how many requests may be in flight to one server at
	// first (default 256): the on-the-hour flip of many users goes out at
	// once while the server keeps up.
	Initial int
	// Max bounds the window as it grows with answered requests (default
	// 4096); Min is the least it shrinks to (default 4).
	Max, Min int
	// SlowAfter is how long an answer may take before it counts as the
	// server slowing down (default 1s); one slower than half of it no
	// longer widens the window. The window then holds about what the
	// server answers in SlowAfter, which leaves a request's 5s Timeout
	// room for the server's hiccups: with 2s, a flip of 10,000 users on
	// Kamailio saw twice as many requests time out in flight, each
	// retried (and answered 412) for nothing.
	SlowAfter time.Duration
	// QueueTimeout bounds how long a request sent with DoTimeout waits
	// for its turn (default 2m): its own timeout starts when it is sent.
	QueueTimeout time.Duration
}

// TimeoutDoer is a Doer that may hold a request before it sends it, as a
// Pacer does. DoTimeout bounds the request by timeout from when it is
// sent, not from when it was handed over: at the on-the-hour flip of
// 50,000 users a presence server takes minutes for them all, and a request
// still in the queue has cost the server nothing. ctx bounds the whole.
// A Publisher sends its requests so, with its Timeout, through a Doer that
// is one.
type TimeoutDoer interface {
	Doer
	DoTimeout(ctx context.Context, req *sip.Request, timeout time.Duration) (*sip.Response, error)
}

// Pacer is a Doer that paces the requests of many Publishers to each
// server, so that an overloaded presence server sees fewer requests rather
// than a pile of retries. Per destination it lets a window of requests be
// in flight, as TCP does with segments: at first every answered request
// widens it by one (the on-the-hour flip of many users goes out at once),
// and a 503, a timeout, a transport error or an answer slower than
// SlowAfter halves it, once per round trip (only requests sent after the
// last halving count); from then on it widens by one per window's worth
// of answers. Each Publisher still waits out the Retry-After of its own
// 503 before it retries; the Pacer keeps those retries, and everyone
// else's requests, from arriving at the server all at once.
//
// Requests wait in order of arrival; a request whose context ends while it
// waits returns the context's error without being sent.
type Pacer struct {
	next Doer
	opts PaceOptions

	mu      sync.Mutex
	servers map[string]*paced
}

type paced struct {
	window    float64
	inflight  int
	congested bool      // the window was halved at least once
	shrunkAt  time.Time // the last halving
	queue     list.List // of chan struct{}: the requests waiting, first come first; closed on their turn
}

// NewPacer returns a Pacer that sends requests through next.
func NewPacer(next Doer, o PaceOptions) *Pacer {
	if o.Initial <= 0 {
		o.Initial = 256
	}
	if o.Max <= 0 {
		o.Max = 4096
	}
	if o.Min <= 0 {
		o.Min = 4
	}
	o.Min = min(o.Min, o.Max)
	o.Initial = max(min(o.Initial, o.Max), o.Min)
	if o.SlowAfter <= 0 {
		o.SlowAfter = time.Second
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = 2 * time.Minute
	}
	return &Pacer{next: next, opts: o, servers: map[string]*paced{}}
}

// Window returns the current window for destination ("host:port" as
// sip.Request.Destination gives it) and how many requests are in flight
// to it.
func (p *Pacer) Window(destination string) (window, inflight int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.servers[destination]
	if s == nil {
		return p.opts.Initial, 0
	}
	return int(s.window), s.inflight
}

// Do implements Doer.
func (p *Pacer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	key := req.Destination()
	s, err := p.acquire(ctx, key)
	if err != nil {
		return nil, err
	}
	sent := time.Now()
	res, err := p.next.Do(ctx, req)
	p.release(s, sent, res, err, ctx.Err() != nil)
	return res, err
}

// DoTimeout implements TimeoutDoer: the request waits for its turn up to
// QueueTimeout, then has timeout from when it is sent.
func (p *Pacer) DoTimeout(ctx context.Context, req *sip.Request, timeout time.Duration) (*sip.Response, error) {
	qctx, cancel := context.WithTimeout(ctx, p.opts.QueueTimeout)
	s, err := p.acquire(qctx, req.Destination())
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			return nil, fmt.Errorf("sip request to %s: not sent: %v in the queue behind other users' requests: %w",
				req.Destination(), p.opts.QueueTimeout, err)
		}
		return nil, ctx.Err()
	}
	sctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	sent := time.Now()
	res, err := p.next.Do(sctx, req)
	p.release(s, sent, res, err, ctx.Err() != nil)
	return res, err
}

func (p *Pacer) acquire(ctx context.Context, key string) (*paced, error) {
	p.mu.Lock()
	s := p.servers[key]
	if s == nil {
		s = &paced{window: float64(p.opts.Initial)}
		p.servers[key] = s
	}
	if s.inflight < int(s.window) && s.queue.Len() == 0 {
		s.inflight++
		p.mu.Unlock()
		return s, nil
	}
	turn := make(chan struct{})
	e := s.queue.PushBack(turn)
	p.mu.Unlock()
	select {
	case <-turn:
		return s, nil
	case <-ctx.Done():
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-turn: // granted meanwhile: pass the slot on
		s.inflight--
		s.grant()
	default:
		s.queue.Remove(e)
	}
	return nil, ctx.Err()
}

// grant hands the free slots to the requests waiting longest, one each:
// waking every waiter on every answer, for them to race for one slot,
// costs N wake-ups per answer with N users waiting (100 million at a flip
// of 10,000), and the CPU it burns is the presence server's on a shared
// machine. p.mu is held.
func (s *paced) grant() {
	for s.inflight < int(s.window) && s.queue.Len() > 0 {
		turn := s.queue.Remove(s.queue.Front()).(chan struct{})
		s.inflight++
		close(turn)
	}
}

func (p *Pacer) release(s *paced, sent time.Time, res *sip.Response, err error, cancelled bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s.inflight--
	now := time.Now()
	took := now.Sub(sent)
	congested := !cancelled && (err != nil || res.StatusCode == sip.StatusServiceUnavailable || took > p.opts.SlowAfter)
	// An answer slower than half of SlowAfter: the server's queue is
	// filling. Widening on it would overshoot, in one round trip, to
	// twice what the server takes, and the requests at the back would
	// time out while in flight.
	slowing := took > p.opts.SlowAfter/2
	switch {
	case congested && sent.After(s.shrunkAt):
		s.window = max(s.window/2, float64(p.opts.Min))
		s.shrunkAt, s.congested = now, true
	case congested || cancelled || slowing:
	case s.congested:
		s.window = min(s.window+1/s.window, float64(p.opts.Max))
	default:
		s.window = min(s.window+1, float64(p.opts.Max))
	}
	s.grant()
}

// sentBy passes on what the Doer it wraps adds on sending (a Client's Via
// host and User-Agent), so that a Publisher sizes its UDP requests the
// same through a Pacer.
func (p *Pacer) sentBy() (host, userAgent string) {
	if s, ok := p.next.(sender); ok {
		return s.sentBy()
	}
	return "", "calpresence"
}
