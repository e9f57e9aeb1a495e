package publisher

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"

	"github.com/calpresence/calpresence/internal/capool"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// ClientOptions configure a Client.
type ClientOptions struct {
	// CAFile is a PEM file of CA certificates trusted for TLS (sips:);
	// default: the system's roots. Certificates are always verified.
	CAFile string
	// ServerName overrides the TLS server name (SNI and verification);
	// default: the host name the server was located by.
	ServerName string
	Logger     *slog.Logger
	// UserAgent is the User-Agent header of requests that have none
	// (Publishers without Options.UserAgent); default "calpresence".
	UserAgent string
}

// Client is a SIP client (sipgo user agent) that many Publishers can share:
// one transport layer, connections reused per server.
type Client struct {
	ua   *sipgo.UserAgent
	c    *sipgo.Client
	name string // User-Agent
}

// NewClient builds a Client. It reads CAFile but does no network I/O.
func NewClient(o ClientOptions) (*Client, error) {
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pool, err := capool.Load(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("sip client: %w", err)
		}
		tlsConf.RootCAs = pool
	}
	name := cmp.Or(o.UserAgent, "calpresence")
	log := cmp.Or(o.Logger, slog.New(slog.DiscardHandler))
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgenTLSConfig(tlsConf),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log),
			// Late retransmitted 200s to finished transactions are normal
			// over UDP; sipgo would log each at info on its global logger.
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})))
	if err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	c, err := sipgo.NewClient(ua, sipgo.WithClientLogger(log))
	if err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	return &Client{ua: ua, c: c, name: name}, nil
}

// Do implements Doer. A request without a User-Agent header gets the
// Client's.
func (c *Client) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if req.GetHeader("User-Agent") == nil {
		req.AppendHeader(sip.NewHeader("User-Agent", c.name))
	}
	return c.c.Do(ctx, req)
}

func (c *Client) sentBy() (host, userAgent string) { return c.c.Hostname(), c.name }

// Close closes the client's connections.
func (c *Client) Close() error { return c.ua.Close() }
