package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/internal/metrics"
	"github.com/calpresence/calpresence/publisher"
)

// shutdownBound is how long the agent waits for its publications to be
// removed after SIGTERM/SIGINT: it must exit within 5 s (CONTRACT.md).
const shutdownBound = 4500 * time.Millisecond

// runFlags are the flags of `calpresence run`.
type runFlags struct {
	config, logFormat, logLevel, metricsAddr string
	staleAfter                               time.Duration
	tokenFile, basicAuthFile                 string // guard the metrics listener (run_status.go)
	shard                                    string // run_shard.go
}

// parseRunFlags parses run's command line; a usage error has been printed
// to w when it returns one.
func parseRunFlags(w io.Writer, args []string) (*runFlags, error) {
	f := &runFlags{}
	fs := newFlagSet(w, "run", "usage: calpresence run [-config FILE] [-log-format text|json] [-log-level LEVEL] [-metrics-addr ADDR] [-metrics-token-file FILE] [-metrics-basic-auth-file FILE] [-shard K/N|auto/N] [-stale-after D]",
		"Polls the config's calendars and publishes presence at every boundary until SIGTERM/SIGINT; SIGHUP reloads the config.")
	fs.StringVar(&f.config, "config", "", "config `FILE` (default $XDG_CONFIG_HOME/calpresence/config.toml)")
	fs.StringVar(&f.logFormat, "log-format", "text", "log `format`: text or json")
	fs.StringVar(&f.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	fs.StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus metrics, /healthz and the status page on `ADDR` (e.g. 127.0.0.1:9370); off by default")
	fs.StringVar(&f.tokenFile, "metrics-token-file", "", "require the bearer token in `FILE` on the metrics listener (all but /healthz)")
	fs.StringVar(&f.basicAuthFile, "metrics-basic-auth-file", "", "require the basic auth USER:PASSWORD in `FILE` on the metrics listener (all but /healthz)")
	fs.StringVar(&f.shard, "shard", "", "serve only the users that rendezvous hashing assigns to shard `K/N` (0 <= K < N; auto/N: K from the hostname's StatefulSet ordinal); default $CALPRESENCE_SHARD, else all")
	fs.DurationVar(&f.staleAfter, "stale-after", 24*time.Hour, "ignore a calendar's last good data once it is older than this; presence then falls back to the default")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if f.staleAfter <= 0 {
		err := fmt.Errorf("calpresence run: -stale-after must be positive")
		fmt.Fprintf(w, "%v.\n", err)
		return nil, err
	}
	return f, nil
}

func runAgent(ctx context.Context, e *env, args []string) int {
	f, err := parseRunFlags(e.stderr, args)
	if err != nil {
		return flagsExit(err)
	}
	log, err := newLogger(e.stderr, f.logFormat, f.logLevel)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence run: %v.\n", err)
		return 2
	}
	path := f.config
	if path == "" {
		path = config.DefaultPath(e.getenv)
	}
	sh, err := runShard(f.shard, e.getenv)
	if err != nil {
		fmt.Fprintf(e.stderr, "calpresence run: %v.\n", err)
		return 2
	}
	ver, _ := buildInfo()

	// SIGHUP is caught before anything is started, so that a reload
	// requested during start-up is not the default action (exit).
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	// One SIP client per CA file and one HTTP client, shared by every
	// user: connections to the presence and calendar servers are reused.
	clients := map[string]*publisher.Client{}
	pacers := map[string]*publisher.Pacer{}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	var clientsMu sync.Mutex
	verifying := &verifyDeps{log: log, userAgent: "calpresence/" + ver}
	defer verifying.Close()
	deps := agentDeps{
		verify: verifying,
		sources: config.SourceDeps{Logger: log, HTTPClient: &http.Client{Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			MaxIdleConnsPerHost: 32,
			IdleConnTimeout:     90 * time.Second,
			TLSHandshakeTimeout: 15 * time.Second,
			ForceAttemptHTTP2:   true,
		}}},
		sipClient: func(caFile string) (publisher.Doer, error) {
			clientsMu.Lock()
			defer clientsMu.Unlock()
			if c := clients[caFile]; c != nil {
				return pacers[caFile], nil
			}
			c, err := publisher.NewClient(publisher.ClientOptions{CAFile: caFile, Logger: log, UserAgent: "calpresence/" + ver})
			if err != nil {
				return nil, err
			}
			// Every user's requests to a server share one window (issue 13).
			clients[caFile], pacers[caFile] = c, publisher.NewPacer(c, publisher.PaceOptions{})
			return pacers[caFile], nil
		},
	}

	cfg, specs, err := loadAgentConfig(path, e.getenv, deps)
	if err != nil {
		// Loading does no network I/O: whatever fails is the config or a
		// file it names (rules, CA files), even when it cannot be read.
		return fail(e, &inputError{err})
	}
	if sh.N > 1 {
		n := len(specs)
		specs = shardUsers(sh, specs)
		log.Info("sharded", shardNote(sh, n, len(specs))...)
	}
	stateDir := cfg.StateDir
	if stateDir == "" {
		if stateDir, err = agent.DefaultStateDir(e.getenv); err != nil {
			fmt.Fprintf(e.stderr, "calpresence run: %v.\n", err)
			return 1
		}
	}

	opts := agent.Options{Logger: log, StateDir: stateDir, StaleAfter: f.staleAfter}
	if len(specs) > 1000 {
		// Thousands of publishers each waking every 2 s to notice a suspend
		// cost more than a server that does not suspend gains.
		opts.PublisherClockCheck = 15 * time.Second
	}
	a := agent.New(opts)
	var reloads metrics.Reloads
	if f.metricsAddr != "" {
		h, err := listenerHandler(a, &reloads, f)
		if err != nil {
			fmt.Fprintf(e.stderr, "calpresence run: %v.\n", err)
			return 2
		}
		if err := metrics.Serve(ctx, f.metricsAddr, h, log); err != nil {
			fmt.Fprintf(e.stderr, "calpresence run: %v.\n", err)
			return 2
		}
	}
	if err := serveControl(ctx, stateDir, a, log); err != nil {
		// Publishing matters more than set and status.
		log.Error("no control socket; set and status cannot reach this agent", "err", err)
	}
	log.Info("agent started", "config", path, "users", len(specs), "state_dir", stateDir, "version", ver)
	done := make(chan struct{})
	go func() {
		defer close(done)
		a.Run(ctx, specs)
	}()
	running := cfg // the config applied last; a reload keeps its version of a broken users_dir file
	for {
		select {
		case <-hup:
			newCfg, newSpecs, err := reloadAgentConfig(path, e.getenv, deps, running)
			if err != nil {
				reloads.Refused.Add(1)
				log.Error("config reload refused; the running config stays", "config", path, "err", err.Error())
				continue
			}
			if newCfg.StateDir != cfg.StateDir {
				log.Warn("state_dir changes take effect on restart", "state_dir", stateDir)
			}
			a.Apply(shardUsers(sh, newSpecs))
			running = newCfg
			reloads.OK.Add(1)
			log.Info("config reloaded", "config", path, "users", len(newSpecs))
		case <-ctx.Done():
			log.Info("stopping; removing publications")
			select {
			case <-done:
				log.Info("stopped")
			case <-time.After(shutdownBound):
				log.Warn("stopped before every publication was removed", "waited", shutdownBound)
			}
			return 0
		}
	}
}

// loadAgentConfig loads the config and compiles its users; the config's
// warnings (a plain password) go to the log of deps.
func loadAgentConfig(path string, getenv func(string) string, deps agentDeps) (*config.Config, []agent.User, error) {
	cfg, err := config.Load(path, getenv)
	if err != nil {
		return nil, nil, err
	}
	// What check refuses, run refuses too: a password source that cannot
	// give a password (an unset password_env, a missing password_file).
	secretWarnings, secretErrs := cfg.CheckSecrets()
	if len(secretErrs) > 0 {
		return nil, nil, errors.Join(secretErrs...)
	}
	specs, err := buildUsers(cfg, deps)
	if err != nil {
		return nil, nil, err
	}
	for _, w := range slices.Concat(cfg.Warnings, secretWarnings) {
		deps.sources.Logger.Warn("config", "warning", w.Error())
	}
	return cfg, specs, nil
}

// newLogger builds a command's one logger (-log-format, -log-level).
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	l, err := parseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format %q: want text or json", format)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("-log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
