package publisher

// Repair asks the Publisher to send the document in force again at once,
// for a caller that saw the server tell watchers something else (it lost
// the publication in a restart, dropped it early, or holds a stale or
// mis-merged version). With an ETag it is a modification carrying the
// document (RFC 3903 §4.4), which replaces whatever the server holds under
// that ETag; a server that lost the publication answers 412 and the
// document is published afresh (§6). Without one it is an initial
// PUBLISH. During a backoff it goes out at the retry, and a repair that
// fails is retried like any publication; with no document in force there
// is nothing to repair. It does not block.
func (p *Publisher) Repair() {
	p.mu.Lock()
	p.repair = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// takeRepair applies a pending Repair: the body the server holds is
// taken as unknown, so that decide sends the document in force (a
// modification under the ETag, or an initial PUBLISH without one) and,
// should that fail, sends it again after the backoff. The Run goroutine
// calls it.
func (p *Publisher) takeRepair() {
	p.mu.Lock()
	asked := p.repair
	p.repair = false
	p.mu.Unlock()
	if asked {
		p.published = nil
	}
}

// InForce returns the document the timeline has in force now, nil for
// none: what the server should hold, and tell watchers, once the
// Publisher has caught up.
func (p *Publisher) InForce() []byte {
	now := p.opts.Clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	return stateAt(p.timeline, now).body
}
