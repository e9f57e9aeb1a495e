package caldav

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/calpresence/calpresence/internal/backoff"
	"github.com/calpresence/calpresence/internal/httpx"
)

// Retry and redirect bounds of a CalDAV source.
const (
	davMaxRedirects   = 10
	davRetries        = 3 // after the first attempt
	davBackoff        = 500 * time.Millisecond
	davMaxBackoff     = 8 * time.Second
	davAttemptTimeout = 30 * time.Second
)

// davHTTP performs the HTTP requests of one CalDAV source. It implements
// go-webdav's HTTPClient, so discovery through go-webdav's client shares its
// authentication, redirect handling and retries.
//
// Redirects are followed here rather than by net/http because net/http turns
// a PROPFIND or REPORT answered with 301 or 302 into a bodiless GET (Radicale
// answers /.well-known/caldav with 301, Xandikos with 302).
type davHTTP struct {
	client         *http.Client // never follows redirects itself
	username       string
	logger         *slog.Logger
	retries        int
	backoff        time.Duration
	maxBackoff     time.Duration
	attemptTimeout time.Duration

	// auth is the Authorization header value for the current Fetch; set
	// before a Fetch's first request and only read during it.
	auth string
}

// newDAVHTTP builds the HTTP client of a source: base (shared, may be nil)
// with redirect following turned off, since the source follows redirects
// itself, keeping the method and body, and with a CA file's roots besides
// the system's when caFile is set.
func newDAVHTTP(base *http.Client, caFile string) (*http.Client, error) {
	return httpx.NewClient(base, caFile, func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse })
}

// setCredentials sets the Authorization used by the following requests:
// basic when a user name is configured, bearer when only a secret is.
func (h *davHTTP) setCredentials(secret string, have bool) {
	h.auth = ""
	if h.username != "" || have {
		h.auth = httpx.Authorization(h.username, secret)
	}
}

// Do sends req, following redirects with the same method and body and
// retrying transport failures, timeouts and 5xx answers (a proxy's blip)
// with capped, jittered backoff (internal/backoff) within req's context.
// Statuses of 400 and above come back as an *httpx.StatusError. An answer
// that says when to come back — 429, 503 or any with Retry-After — is not
// retried here: its error reaches the poll scheduler at once, whose
// backoff honours the Retry-After.
func (h *davHTTP) Do(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read request body: %w", err)
		}
		body = b
	}
	policy := backoff.Policy{Min: h.backoff, Max: h.maxBackoff}
	for attempt := 0; ; attempt++ {
		resp, err := h.attempt(ctx, req.Method, req.URL, req.Header, body)
		var retry bool
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, fmt.Errorf("%s %s: %w", req.Method, httpx.RedactURL(req.URL), httpx.Explain(ctx.Err()))
		case err != nil:
			retry = retriable(err)
		case resp.StatusCode < 400:
			return resp, nil
		default:
			retry = resp.StatusCode >= 500 && !saysWhen(resp)
		}
		if !retry || attempt >= h.retries {
			if err != nil {
				return nil, err
			}
			httpx.Drain(resp)
			return nil, httpx.NewStatusError(resp, h.auth != "", time.Now())
		}
		reason := ""
		if err != nil {
			reason = err.Error()
		} else {
			reason = resp.Status
			httpx.Drain(resp)
		}
		wait := policy.Delay(attempt + 1)
		h.logger.Debug("caldav request failed, retrying", "method", req.Method, "url", httpx.RedactURL(req.URL),
			"attempt", attempt+1, "reason", reason, "backoff", wait)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%s %s: %w (last failure: %s)", req.Method, httpx.RedactURL(req.URL), httpx.Explain(ctx.Err()), reason)
		case <-t.C:
		}
	}
}

// saysWhen reports whether resp tells the client when to come back: a 429
// or 503 (RFC 6585 §4, RFC 9110 §15.6.4), or any answer with Retry-After.
// Such an answer is the scheduler's to wait for, not the request's.
func saysWhen(resp *http.Response) bool {
	return resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable ||
		resp.Header.Get("Retry-After") != ""
}

// attempt sends one request and follows its redirects. The attempt's
// timeout lasts until the response body is closed, because callers read the
// body after attempt returns.
func (h *davHTTP) attempt(ctx context.Context, method string, u *url.URL, hdr http.Header, body []byte) (*http.Response, error) {
	actx, cancel := context.WithTimeout(ctx, h.attemptTimeout)
	orig := u
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(actx, method, u.String(), bytes.NewReader(body))
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s %s: %w", method, httpx.RedactURL(u), err)
		}
		req.Header = hdr.Clone()
		if req.Header == nil {
			req.Header = http.Header{}
		}
		req.Header.Del("Authorization")
		if h.auth != "" && httpx.SameOrigin(orig, u) {
			req.Header.Set("Authorization", h.auth)
		}
		resp, err := h.client.Do(req)
		if err != nil {
			timedOut := errors.Is(actx.Err(), context.DeadlineExceeded) && ctx.Err() == nil
			cancel()
			if timedOut {
				return nil, fmt.Errorf("%s %s: the server did not answer within %s: %w", method, httpx.RedactURL(u), h.attemptTimeout, httpx.UnwrapURLError(err))
			}
			return nil, fmt.Errorf("%s %s: %w", method, httpx.RedactURL(u), httpx.Explain(httpx.UnwrapURLError(err)))
		}
		switch resp.StatusCode {
		case http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
		default:
			resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		httpx.Drain(resp)
		if loc == "" {
			cancel()
			return nil, fmt.Errorf("%s %s: redirect %d without Location", method, httpx.RedactURL(u), resp.StatusCode)
		}
		if hops >= davMaxRedirects {
			cancel()
			return nil, fmt.Errorf("%s %s: more than %d redirects", method, httpx.RedactURL(orig), davMaxRedirects)
		}
		next, err := u.Parse(loc)
		if err != nil {
			cancel()
			return nil, fmt.Errorf("%s %s: bad redirect Location: %w", method, httpx.RedactURL(u), err)
		}
		h.logger.Debug("caldav redirect", "method", method, "from", httpx.RedactURL(u), "to", httpx.RedactURL(next), "status", resp.StatusCode)
		u = next
	}
}

// retriable reports whether a transport failure may go away on its own: a
// timeout, a refused or reset connection. Certificate failures do not.
func retriable(err error) bool {
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var hn x509.HostnameError
	var ci x509.CertificateInvalidError
	if errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &hn) || errors.As(err, &ci) {
		return false
	}
	return true
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}
