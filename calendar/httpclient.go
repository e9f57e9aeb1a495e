package calendar

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"
)

// What the ICS and CalDAV sources share of HTTP: the default transport,
// extra CAs, error messages and the Authorization header.

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

// sourceClient returns a shallow copy of base (nil: a client on the
// shared default transport) that trusts the CAs of caFile besides the
// system's, and follows redirects by checkRedirect. The shared client is
// never modified.
func sourceClient(base *http.Client, caFile string, checkRedirect func(*http.Request, []*http.Request) error) (*http.Client, error) {
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
	pool, err := loadCAs(caFile)
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

// loadCAs returns the system's roots plus those in the PEM file.
func loadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificates in it", file)
	}
	return pool, nil
}

// unwrapURLError drops the *url.Error wrapper of net/http and url.Parse, whose
// message repeats the method and URL (password and all, for url.Parse) that
// our own messages give, redacted.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// authorization is the Authorization header for a secret: basic auth when
// a user name is configured, a bearer token when only the secret is.
func authorization(username, secret string) string {
	if username == "" {
		return "Bearer " + secret
	}
	req := http.Request{Header: http.Header{}}
	req.SetBasicAuth(username, secret)
	return req.Header.Get("Authorization")
}
