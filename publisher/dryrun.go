package publisher

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// DryRun is a Doer that sends nothing: it writes each request in full to a
// writer and answers 200 OK like a presence server would, for `calpresence
// demo`. It is also a Resolver that locates every domain at 192.0.2.1
// (TEST-NET-1), so that a dry run does no DNS either:
//
//	d := publisher.NewDryRun(os.Stdout)
//	p := publisher.New(d, publisher.Options{AOR: aor, Resolver: d})
type DryRun struct {
	mu sync.Mutex
	w  io.Writer
	n  int
}

// NewDryRun returns a DryRun writing to w.
func NewDryRun(w io.Writer) *DryRun { return &DryRun{w: w} }

// Do implements Doer.
func (d *DryRun) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.n++
	if _, err := fmt.Fprintf(d.w, "%s\n", req.String()); err != nil {
		return nil, fmt.Errorf("dry run: %w", err)
	}
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if h := req.GetHeader("Expires"); h != nil && h.Value() != "0" {
		res.AppendHeader(sip.NewHeader("SIP-ETag", "dry-run."+strconv.Itoa(d.n)))
		res.AppendHeader(sip.NewHeader("Expires", h.Value()))
	}
	return res, nil
}

// LookupNAPTR implements Resolver: no records.
func (d *DryRun) LookupNAPTR(context.Context, string) ([]NAPTR, error) { return nil, nil }

// LookupSRV implements Resolver: no records.
func (d *DryRun) LookupSRV(context.Context, string) ([]SRV, error) { return nil, nil }

// LookupIP implements Resolver: every host is 192.0.2.1.
func (d *DryRun) LookupIP(context.Context, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("192.0.2.1")}, nil
}
