package httpx

import (
	"crypto/tls"
	"errors"
	"fmt"
	"github.com/calpresence/calpresence/internal/capool"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// UserAgent identifies calpresence to calendar servers, some of which
// refuse requests without one.
const UserAgent = "calpresence (+https://github.com/calpresence/calpresence)"

// defaultTransport is shared by every source without an HTTP client of its
// own, so that calendars on one server share connections.
var defaultTransport = &http.Transport{
	Proxy:                 http.ProxyFromEnvironment,
	DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	ForceAttemptHTTP2:     true,
	MaxIdleConns:          100,
	IdleConnTimeout:       90 * time.Second,
	TLSHandshakeTimeout:   15 * time.Second,
	ResponseHeaderTimeout: time.Minute,
	ExpectContinueTimeout: time.Second,
	TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
}

// NewClient returns a shallow copy of base (nil: a client on the shared
// default transport) that trusts the CAs of caFile besides the system's,
// and follows redirects by checkRedirect. base is never modified.
func NewClient(base *http.Client, caFile string, checkRedirect func(*http.Request, []*http.Request) error) (*http.Client, error) {
	var c http.Client
	if base != nil {
		c = *base
	} else {
		c = http.Client{Transport: defaultTransport, Timeout: 2 * time.Minute}
	}
	c.CheckRedirect = checkRedirect
	if caFile == "" {
		return &c, nil
	}
	t, ok := c.Transport.(*http.Transport)
	if c.Transport == nil {
		t, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return nil, fmt.Errorf("ca_file %s: the HTTP client's transport is a %T, not an *http.Transport", caFile, c.Transport)
	}
	pool, err := capool.Load(caFile)
	if err != nil {
		return nil, err
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	t.TLSClientConfig.RootCAs = pool
	c.Transport = t
	return &c, nil
}

// UnwrapURLError drops the *url.Error wrapper of net/http and url.Parse,
// whose message repeats the method and URL (password and all, for
// url.Parse) that the caller's own message gives, redacted.
func UnwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// Authorization is the Authorization header for a secret: basic auth when
// a user name is configured, a bearer token when only the secret is.
func Authorization(username, secret string) string {
	if username == "" {
		return "Bearer " + secret
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(username, secret)
	return req.Header.Get("Authorization")
}

// SameOrigin reports whether credentials meant for from may be sent to to:
// only when scheme, host and port match exactly (RFC 6454 origins; the
// default port counts as written). A subdomain is another host, and an
// upgrade from http to https another origin, so a redirect to either
// carries no credentials. net/http itself forwards Authorization to the
// same host name on any port and scheme, and the CalDAV client used to
// forward it to any subdomain.
func SameOrigin(from, to *url.URL) bool {
	if from == nil || to == nil {
		return false
	}
	return strings.EqualFold(from.Scheme, to.Scheme) && strings.EqualFold(from.Hostname(), to.Hostname()) &&
		effectivePort(from) == effectivePort(to)
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	switch {
	case strings.EqualFold(u.Scheme, "https"):
		return "443"
	case strings.EqualFold(u.Scheme, "http"):
		return "80"
	}
	return ""
}

// Drain reads what is left of a response body, up to 64 KiB so that the
// connection can be reused, and closes it.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
