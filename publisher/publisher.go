package publisher

// API of the publisher that cmd codes against; the publisher issue fills
// in the bodies, the signatures are settled.

import (
	"context"
	"log/slog"
	"time"

	"github.com/emiago/sipgo/sip"
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
	Expires  time.Duration // requested publication lifetime (default 1h)
	Grace    time.Duration // how long a publication may outlive its segment (default 2m)
	Logger   *slog.Logger
	Now      func() time.Time // the clock; default time.Now
}

// Publisher keeps one user's publication at the presence server in step
// with a timeline of documents.
type Publisher struct {
	opts Options
}

// New returns a Publisher that sends its requests through d. It does no I/O.
func New(d Doer, opts Options) *Publisher {
	return &Publisher{opts: opts}
}

// SetTimeline replaces the timeline the Publisher follows. It does not
// block; the publication changes at once if the document in force changed.
func (p *Publisher) SetTimeline(entries []Entry) {
	panic("publisher: built by the publisher issue")
}

// Run publishes until ctx is done, then removes the publication (PUBLISH
// with Expires: 0) within a bounded time and returns.
func (p *Publisher) Run(ctx context.Context) error {
	panic("publisher: built by the publisher issue")
}
