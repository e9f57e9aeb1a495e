package publishertest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Request is one request a Doer saw, as it was when Do was called.
type Request struct {
	At          time.Time // when Do was called, by Doer.Now
	N           int       // its number, from 1
	Method      string    // "PUBLISH"
	Expires     string    // the Expires header, "" if none
	IfMatch     string    // SIP-If-Match (RFC 3903 §11.3.2)
	Event       string    // the Event header, e.g. "presence"
	ContentType string    // e.g. "application/pidf+xml"
	Body        string
	// Auth is the Authorization or Proxy-Authorization header, "" if none.
	Auth        string
	Destination string // req.Destination(), "ip:port"
	Transport   string // req.Transport(), "UDP", "TCP" or "TLS"
	// Request is a copy of the whole request, for any other header.
	Request *sip.Request
}

// Handler answers the n-th request (from 1). A nil response with an error
// is a failed request, e.g. ErrTransport or sip.ErrTransactionTimeout.
type Handler func(req *sip.Request, n int) (*sip.Response, error)

// ErrTransport is a transport failure for handlers to return, like the
// "connection refused" of a server that is down.
var ErrTransport = errors.New("publishertest: transport error: connection refused")

// Doer is a scripted publisher.Doer that records every request. Its zero
// value answers every request with 200 OK, SIP-ETag "etag<n>" and the
// requested Expires. It is safe for concurrent use; set Handler and Now
// before the first request.
type Doer struct {
	// Handler answers each request; nil answers as the zero Doer does.
	Handler Handler
	// Now stamps the requests; nil: time.Now (a synctest bubble's clock
	// inside a bubble).
	Now func() time.Time

	mu      sync.Mutex
	reqs    []Request
	changed chan struct{} // closed and replaced on every request
}

// Do implements publisher.Doer: it records req, then answers it through
// the Handler. Like sipgo's client, it returns ctx's error as soon as ctx
// is done, while the Handler (the server) goes on with the request.
func (d *Doer) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	at := time.Now()
	if d.Now != nil {
		at = d.Now()
	}
	r := Request{
		At: at, Method: string(req.Method), Expires: header(req, "Expires"), IfMatch: header(req, "SIP-If-Match"),
		Event: header(req, "Event"), ContentType: header(req, "Content-Type"), Body: string(req.Body()),
		Auth:        header(req, "Authorization") + header(req, "Proxy-Authorization"),
		Destination: req.Destination(), Transport: req.Transport(), Request: req.Clone(),
	}
	d.mu.Lock()
	r.N = len(d.reqs) + 1
	d.reqs = append(d.reqs, r)
	if d.changed != nil {
		close(d.changed)
		d.changed = nil
	}
	h := d.Handler
	d.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil {
		h = Default
	}
	type answer struct {
		res *sip.Response
		err error
	}
	done := make(chan answer, 1)
	go func() {
		res, err := h(req, r.N)
		done <- answer{res, err}
	}()
	select {
	case a := <-done:
		return a.res, a.err
	case <-ctx.Done():
		select {
		case a := <-done:
			return a.res, a.err
		default:
			return nil, ctx.Err()
		}
	}
}

// Requests returns a copy of the requests seen so far, in order.
func (d *Doer) Requests() []Request {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]Request(nil), d.reqs...)
}

// Len returns how many requests were seen so far.
func (d *Doer) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.reqs)
}

// Wait blocks until at least n requests were seen, then returns them; it
// returns ctx's error if ctx is done first.
func (d *Doer) Wait(ctx context.Context, n int) ([]Request, error) {
	for {
		d.mu.Lock()
		if len(d.reqs) >= n {
			out := append([]Request(nil), d.reqs...)
			d.mu.Unlock()
			return out, nil
		}
		if d.changed == nil {
			d.changed = make(chan struct{})
		}
		ch := d.changed
		d.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return d.Requests(), fmt.Errorf("publishertest: waiting for %d requests, saw %d: %w", n, d.Len(), ctx.Err())
		}
	}
}

// Default is the zero Doer's answer: 200 OK with SIP-ETag "etag<n>" and the
// requested Expires.
func Default(req *sip.Request, n int) (*sip.Response, error) {
	return OK(req, "etag"+strconv.Itoa(n)), nil
}

// Sequence answers the n-th request with hs[n-1], and every request after
// the last handler with the last one.
func Sequence(hs ...Handler) Handler {
	return func(req *sip.Request, n int) (*sip.Response, error) {
		if len(hs) == 0 {
			return Default(req, n)
		}
		return hs[min(n, len(hs))-1](req, n)
	}
}

// OK is a 200 OK with SIP-ETag etag and the Expires the request asked for
// (RFC 3903 §6).
func OK(req *sip.Request, etag string) *sip.Response {
	return Status(req, 200, "OK", "SIP-ETag", etag, "Expires", header(req, "Expires"))
}

// OKExpires is a 200 OK with SIP-ETag etag that grants expires seconds,
// whatever was asked.
func OKExpires(req *sip.Request, etag string, expires int) *sip.Response {
	return Status(req, 200, "OK", "SIP-ETag", etag, "Expires", strconv.Itoa(expires))
}

// Status is a response with code and reason and the given headers, as
// name, value pairs.
func Status(req *sip.Request, code int, reason string, headers ...string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		res.AppendHeader(sip.NewHeader(headers[i], headers[i+1]))
	}
	return res
}

// Challenge is a digest challenge (RFC 3261 §22.4, RFC 8760): 401 with
// WWW-Authenticate, or with proxy set 407 with Proxy-Authenticate, for
// realm and nonce, qop=auth and the algorithm ("MD5", "SHA-256").
func Challenge(req *sip.Request, proxy bool, realm, nonce, algorithm string) *sip.Response {
	code, reason, name := 401, "Unauthorized", "WWW-Authenticate"
	if proxy {
		code, reason, name = 407, "Proxy Authentication Required", "Proxy-Authenticate"
	}
	return Status(req, code, reason, name,
		fmt.Sprintf(`Digest realm="%s", nonce="%s", qop="auth", algorithm=%s`, realm, nonce, algorithm))
}

// PreconditionFailed is 412 Conditional Request Failed: the server has no
// publication under the request's SIP-If-Match (RFC 3903 §6).
func PreconditionFailed(req *sip.Request) *sip.Response {
	return Status(req, 412, "Conditional Request Failed")
}

// IntervalTooBrief is 423 Interval Too Brief with Min-Expires (RFC 3903 §6).
func IntervalTooBrief(req *sip.Request, minExpires int) *sip.Response {
	return Status(req, 423, "Interval Too Brief", "Min-Expires", strconv.Itoa(minExpires))
}

// Unavailable is 503 Service Unavailable with Retry-After, if retryAfter
// is positive (RFC 3261 §21.5.4).
func Unavailable(req *sip.Request, retryAfter int) *sip.Response {
	if retryAfter > 0 {
		return Status(req, 503, "Service Unavailable", "Retry-After", strconv.Itoa(retryAfter))
	}
	return Status(req, 503, "Service Unavailable")
}

func header(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}
