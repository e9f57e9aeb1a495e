package agent

import "context"

// Watcher watches, until ctx is done, what the presence server tells
// watchers about one of a user's publications, event "presence" or
// dialoginfo.Event ("dialog", the BLF lamp), and calls repair when it
// differs from inForce, the document that publication's publisher has in
// force (publisher/verify does, wired by cmd/calpresence).
type Watcher func(ctx context.Context, event string, inForce func() []byte, repair func())

// repairable is what a watcher needs of a publisher
// (publisher.Publisher has it).
type repairable interface {
	InForce() []byte
	Repair()
}

// startWatch runs the user's Watcher of event beside pub, for as long as
// ctx (the publisher's); repairs of either publication count in
// UserStats.Repairs. p.mu is held.
func (p *pipeline) startWatch(ctx context.Context, event string, pub timelineRunner) {
	w := p.spec.Watch
	r, ok := pub.(repairable)
	if w == nil || !ok {
		return
	}
	p.a.pubs.Go(func() {
		w(ctx, event, r.InForce, func() {
			p.repairs.Add(1)
			r.Repair()
		})
	})
}
