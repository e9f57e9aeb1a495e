package agent

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/calpresence/calpresence/dialoginfo"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
)

// A user's BLF lamp (docs/blf.md) is a second publication beside the
// presence one: Event: dialog, a dialog-info document (RFC 4235) with one
// confirmed dialog during the segments whose rule says blf = true, built by
// dialoginfo.Timeline. It has a publisher of its own, so that each event
// package has its own RFC 3903 lifecycle (ETag, refresh, 412, 423, digest)
// and one PUBLISH in flight, and neither waits for the other.
//
// The publisher starts when the user's timeline first has a BLF span, not
// with the user: a user whose rules never mark BLF, or who has no meeting
// in the horizon, costs no goroutine and sends nothing, which matters for
// 10,000 users; and whether the rules can mark BLF depends on their
// matches, which only the timeline tells. Once started it stays until the
// user stops or its publisher settings change: between spans its timeline
// is empty and it holds no publication.

// blfState is a user's dialog publication; the pipeline's mu guards it.
type blfState struct {
	doer   *countingDoer // counts survive a restart of the publisher
	pub    timelineRunner
	cancel context.CancelFunc
	ready  bool   // a timeline was handed over
	h      uint64 // hash of the last timeline handed over
	spansH uint64 // hash of the spans it was built from
	lit    []dialoginfo.Span
}

// dialogOptions are the user's publisher options for the dialog event
// package; p.mu is held.
func (p *pipeline) dialogOptions() publisher.Options {
	opts := p.spec.Publisher
	opts.Event, opts.ContentType = dialoginfo.Event, dialoginfo.ContentType
	opts.Logger = p.a.log
	if opts.Clock == nil {
		opts.Clock = p.a.opts.Clock
	}
	if opts.ClockCheck == 0 {
		opts.ClockCheck = p.a.opts.PublisherClockCheck
	}
	opts.Farewell, opts.Final = dialogFarewell, dialogFinal
	return opts
}

// dialogFinal reports whether a published dialog-info document has only
// terminated dialogs: a terminated dialog is final (RFC 4235), and
// Kamailio skips a modification of it (while answering 200), so a meeting
// that starts during the previous one's linger must be published afresh.
func dialogFinal(published []byte) bool {
	d, err := dialoginfo.Unmarshal(published)
	if err != nil || len(d.Dialogs) == 0 {
		return false
	}
	for _, dl := range d.Dialogs {
		if dl.State != dialoginfo.Terminated {
			return false
		}
	}
	return true
}

// dialogFarewell is the document the dialog publisher sends before its
// removal on shutdown: the one the server holds with every dialog
// terminated, one version up; nil if they are all terminated already. A
// removal alone would leave a lamp lit when the agent stops during a
// meeting, since Kamailio notifies it with the removed document.
func dialogFarewell(published []byte) []byte {
	d, err := dialoginfo.Unmarshal(published)
	if err != nil {
		return nil
	}
	changed := false
	for i := range d.Dialogs {
		if d.Dialogs[i].State != dialoginfo.Terminated {
			d.Dialogs[i].State, changed = dialoginfo.Terminated, true
		}
	}
	if !changed {
		return nil
	}
	d.Version++
	b, err := d.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// startBLF starts the user's dialog publisher; p.mu is held.
func (p *pipeline) startBLF() {
	b := &p.blf
	d := p.spec.Doer
	if d == nil {
		d = p.a.doer
	}
	cd := &countingDoer{d: d}
	if b.doer != nil {
		for i := range cd.results {
			cd.results[i].Store(b.doer.results[i].Load())
		}
	}
	b.doer = cd
	ctx, cancel := context.WithCancel(p.a.ctx)
	pub := p.a.newPublisher(cd, p.dialogOptions())
	b.pub, b.cancel, b.ready, b.h = pub, cancel, false, 0
	p.a.pubs.Go(func() {
		if err := pub.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			p.a.log.Error("publisher stopped", "user", p.id, "event", dialoginfo.Event, "err", err)
		}
	})
	p.startWatch(ctx, dialoginfo.Event, pub)
}

// stopBLF stops the user's dialog publisher, which removes its
// publication; the next rebuild starts a new one if the timeline needs it.
// p.mu is held.
func (p *pipeline) stopBLF() {
	b := &p.blf
	if b.pub == nil {
		return
	}
	b.cancel()
	b.pub, b.cancel, b.ready, b.h, b.lit = nil, nil, false, 0, nil
}

// blfSpans are the stretches of segs whose rule lights the BLF lamp.
func blfSpans(segs []rules.Segment) []dialoginfo.Span {
	var spans []dialoginfo.Span
	for _, s := range segs {
		if s.State.BLF {
			spans = append(spans, dialoginfo.Span{Start: s.Start, End: s.End})
		}
	}
	return spans
}

// rebuildBLF hands the dialog timeline of segs (the whole window, as
// rebuildLocked computed it) to the dialog publisher, starting it if
// there is anything to publish; p.mu is held.
func (p *pipeline) rebuildBLF(segs []rules.Segment, now time.Time) {
	if p.spec.NoBLF {
		p.stopBLF()
		return
	}
	spans := blfSpans(segs)
	b := &p.blf
	b.lit = spans
	// Most rebuilds (a poll that changed nothing) leave the spans as they
	// were: the publisher has their timeline, entries that are over since
	// do not matter to it, and encoding the documents again costs more
	// than the rest of the rebuild.
	sh := fnv.New64a()
	for _, s := range spans {
		fmt.Fprintf(sh, "%d\x00%d\x00", s.Start.UnixNano(), s.End.UnixNano())
	}
	if b.pub != nil && b.ready && sh.Sum64() == b.spansH {
		return
	}
	var entries []publisher.Entry
	h := fnv.New64a()
	for _, e := range dialoginfo.Timeline(p.spec.Publisher.AOR, spans, dialoginfo.TimelineOptions{Linger: p.a.opts.DialogLinger}) {
		if !e.End.After(now) {
			continue
		}
		entries = append(entries, publisher.Entry(e))
		fmt.Fprintf(h, "%d\x00%d\x00", e.Start.UnixNano(), e.End.UnixNano())
		h.Write(e.Body)
	}
	if b.pub == nil {
		if len(entries) == 0 {
			return
		}
		p.startBLF()
	}
	if sum := h.Sum64(); !b.ready || sum != b.h {
		if p.a.opts.OnDialogTimeline != nil {
			p.a.opts.OnDialogTimeline(p.id, entries)
		}
		b.pub.SetTimeline(entries)
		b.ready, b.h = true, sum
	}
	b.spansH = sh.Sum64()
}

// blfStats fills in what u tells of the dialog publication; p.mu is held.
func (p *pipeline) blfStats(u *UserStats, now time.Time) {
	b := &p.blf
	if b.doer != nil {
		for i := range u.DialogRequests {
			u.DialogRequests[i] = b.doer.results[i].Load()
		}
	}
	for _, s := range b.lit {
		if !now.Before(s.Start) && now.Before(s.End) {
			u.BLF = true
		}
	}
}
