package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/publisher/verify"
)

// verifyDeps make the one verify.Client that the watchers of every user
// with [sip] verify = true share, when the first of them starts.
type verifyDeps struct {
	log       *slog.Logger
	userAgent string

	mu  sync.Mutex
	c   *verify.Client
	err error
}

// watcher is the agent.Watcher of one user, subscribing at the proxy to
// each publication it is started for (presence, and dialog for BLF).
func (v *verifyDeps) watcher(aor, proxy string) (agent.Watcher, error) {
	dest, err := verifyDestination(proxy)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, event string, inForce func() []byte, repair func()) {
		c, err := v.client(dest)
		if err != nil {
			v.log.Error("not watching the presence server", "user", aor, "err", err)
			return
		}
		if err := c.Watch(ctx, verify.Options{AOR: aor, Destination: dest, Event: event, InForce: inForce, Repair: repair,
			Logger: v.log.With("user", aor)}); err != nil {
			v.log.Error("not watching the presence server", "user", aor, "event", event, "err", err)
		}
	}, nil
}

// client is the shared client, listening on the local address that routes
// to dest, the first verifying user's server.
func (v *verifyDeps) client(dest string) (*verify.Client, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.c != nil || v.err != nil {
		return v.c, v.err
	}
	listen, err := verify.LocalAddrFor(dest)
	if err == nil {
		v.c, err = verify.NewClient(verify.ClientOptions{Listen: listen, UserAgent: v.userAgent, Logger: v.log})
	}
	v.err = err
	return v.c, err
}

// Close closes the client, if one was made.
func (v *verifyDeps) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.c != nil {
		v.c.Close()
	}
}

// verifyDestination is where the watcher subscribes: the proxy's host and
// port, over UDP.
func verifyDestination(proxy string) (string, error) {
	var u sip.Uri
	if err := sip.ParseUri(proxy, &u); err != nil {
		return "", fmt.Errorf("verify: proxy %q: %w", proxy, err)
	}
	if tp, _ := u.UriParams.Get("transport"); u.Scheme == "sips" || strings.EqualFold(tp, "tls") {
		return "", fmt.Errorf("verify: proxy %s is TLS; the watcher subscribes over UDP", proxy)
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return net.JoinHostPort(u.Host, strconv.Itoa(port)), nil
}
