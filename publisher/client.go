package publisher

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"time"

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
	log  *slog.Logger
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
	return &Client{log: log, ua: ua, c: c, name: name}, nil
}

// Do implements Doer. A request without a User-Agent header gets the
// Client's.
//
// Do returns when ctx ends even if the request was never written: sipgo
// writes a request on TCP and TLS with no deadline and without looking at
// the context, so a server that stops reading (an overloaded Kamailio)
// would hold every request to it, and a daemon's shutdown, forever. A
// connection whose write is still stuck when a request's time is up is
// closed: part of a message may have gone out, so nothing more can follow
// it on that stream, and the next request dials afresh.
func (c *Client) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	if req.GetHeader("User-Agent") == nil {
		req.AppendHeader(sip.NewHeader("User-Agent", c.name))
	}
	started := make(chan txResult, 1)
	go func() {
		tx, err := c.c.TransactionRequest(ctx, req)
		started <- txResult{tx, err}
	}()
	var r txResult
	select {
	case r = <-started:
	case <-ctx.Done():
		c.unstick(req, started)
		return nil, ctx.Err()
	}
	if r.err != nil {
		return nil, r.err
	}
	defer r.tx.Terminate()
	for {
		select {
		case res := <-r.tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-r.tx.Done():
			return nil, r.tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

type txResult struct {
	tx  sip.ClientTransaction
	err error
}

// writeGrace is how long a request whose context ended may still take to
// get written before its connection counts as stuck: dialling and DNS
// follow the context and return at once.
const writeGrace = 100 * time.Millisecond

// unstick waits writeGrace for the request to be written and, if it still
// is not, closes the reliable connection it waits on. Either way the
// transaction, once there, is ended in the background.
func (c *Client) unstick(req *sip.Request, started <-chan txResult) {
	t := time.NewTimer(writeGrace)
	defer t.Stop()
	select {
	case r := <-started:
		if r.err == nil {
			r.tx.Terminate()
		}
		return
	case <-t.C:
	}
	if network := req.Transport(); sip.IsReliable(network) {
		// The pool knows connections by the address dialled, which is the
		// destination for TCP; for TLS to a name, only Close frees it.
		if conn, err := c.ua.TransportLayer().GetConnection(network, req.Destination()); err == nil {
			c.log.Warn("sip connection stuck: the server reads nothing; closing it",
				"target", req.Destination(), "transport", network)
			conn.Close()
		}
	}
	go func() {
		if r := <-started; r.err == nil {
			r.tx.Terminate()
		}
	}()
}

func (c *Client) sentBy() (host, userAgent string) { return c.c.Hostname(), c.name }

// Close closes the client's connections.
func (c *Client) Close() error { return c.ua.Close() }
