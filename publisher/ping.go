package publisher

import (
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/locate"
)

// PingResult is what an OPTIONS to the presence server told.
type PingResult struct {
	Target    locate.Target // the server that answered (or the last one tried)
	Code      int
	Reason    string
	Allow     string // the Allow header: whether PUBLISH is among them
	UserAgent string // the Server or User-Agent header
}

// AllowsPublish reports whether the answer lists PUBLISH in Allow, or has
// no Allow header (which says nothing either way).
func (r PingResult) AllowsPublish() bool {
	if r.Allow == "" {
		return true
	}
	for _, m := range strings.Split(r.Allow, ",") {
		if strings.EqualFold(strings.TrimSpace(m), "PUBLISH") {
			return true
		}
	}
	return false
}

// Ping sends one OPTIONS (RFC 3261 §11) for p's AOR to the presence server,
// located as p's PUBLISH requests are (the proxy, else RFC 3263), trying
// each target in turn until one answers: `calpresence check -online`.
// Any final answer counts as reaching the server; a 401 or 407 too (it
// says the server wants credentials, which the PUBLISH will give).
func (p *Publisher) Ping(ctx context.Context) (PingResult, error) {
	if p.uriErr != nil {
		return PingResult{}, p.uriErr
	}
	if err := p.locate(ctx); err != nil {
		return PingResult{}, err
	}
	var last error
	var res PingResult
	for _, t := range p.targets {
		req := p.newRequest(sip.OPTIONS)
		req.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
		p.route(req, t, t.Transport)
		res = PingResult{Target: t}
		rctx, cancel := context.WithTimeout(ctx, p.opts.Timeout)
		r, err := p.doer.Do(rctx, req)
		cancel()
		if err != nil {
			last = fmt.Errorf("sip options %w", explain(t, p.opts.Timeout, err))
			continue
		}
		res.Code, res.Reason = r.StatusCode, r.Reason
		if h := r.GetHeader("Allow"); h != nil {
			res.Allow = h.Value()
		}
		if h := r.GetHeader("Server"); h != nil {
			res.UserAgent = h.Value()
		} else if h := r.GetHeader("User-Agent"); h != nil {
			res.UserAgent = h.Value()
		}
		if r.StatusCode == sip.StatusServiceUnavailable {
			last = fmt.Errorf("sip options to %s/%s: %d %s", t.Addr, strings.ToLower(t.Transport), r.StatusCode, r.Reason)
			continue
		}
		return res, nil
	}
	return res, last
}
