package main

import (
	"net/http"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/metrics"
	"github.com/calpresence/calpresence/internal/status"
)

// listenerHandler is what -metrics-addr serves: /metrics and /healthz
// (internal/metrics), the status pages beside them (internal/status),
// guarded by the -metrics-token-file and -metrics-basic-auth-file
// credentials except /healthz.
func listenerHandler(a *agent.Agent, reloads *metrics.Reloads, f *runFlags) (http.Handler, error) {
	creds, err := status.LoadCredentials(f.tokenFile, f.basicAuthFile)
	if err != nil {
		return nil, err
	}
	m := metrics.Handler(a, reloads)
	mux := http.NewServeMux()
	mux.Handle("/metrics", m)
	mux.Handle("/healthz", m)
	mux.Handle("/", status.Handler(a, status.Options{}))
	return creds.Guard(mux), nil
}
