package publisher

import (
	"bytes"
	"time"
)

// expiresAtGap reports whether the publication of st is to expire when
// st ends: with Options.ExpireIntoGaps, where no publication follows. It
// is asked for exactly that lifetime (rounded up to the second, with no
// 60s floor: a server that wants more answers 423 and gets its
// Min-Expires) and not refreshed once granted, so that it lapses at the
// boundary without a request.
func (p *Publisher) expiresAtGap(st state) bool {
	return p.opts.ExpireIntoGaps && st.gapAfter && !st.end.IsZero()
}

// letExpire reports, with Options.ExpireIntoGaps, whether a publication that the timeline no longer
// wants is left to expire rather than removed: when it ends within Grace
// anyway. Presence servers tell watchers of a removal and of an expiry
// differently: Kamailio (presence_xml) NOTIFYs a removed publication's
// tuple rewritten to <basic>closed</basic>, or an empty body for a
// tuple-less document, even while another publisher (the user's phone)
// holds a publication of its own; an expiry NOTIFYs only the
// publications that remain. So where the timeline turns to "no
// publication" at a boundary it announced (the publication was asked to
// expire there, see expiresAtGap), the publisher sends nothing and the
// watchers get the phone's state when the server drops ours. A
// publication that would outlive the change by more than Grace (an event
// cancelled mid-way) is removed, as is every publication on shutdown.
func (p *Publisher) letExpire(now time.Time) bool {
	return p.opts.ExpireIntoGaps && !p.expiresAt.IsZero() && p.expiresAt.Sub(now) <= p.opts.Grace
}

// changed tells Options.OnChange of a change, once.
func (p *Publisher) changed(body []byte, how string) {
	if p.opts.OnChange == nil || (how == p.toldHow && bytes.Equal(body, p.told)) {
		return
	}
	p.told, p.toldHow = body, how
	p.opts.OnChange(body, how)
}
