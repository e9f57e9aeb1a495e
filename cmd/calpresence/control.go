package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/config"
	"github.com/calpresence/calpresence/internal/control"
)

// serveControl opens the agent's control socket in stateDir and answers
// set and status on it until ctx ends.
func serveControl(ctx context.Context, stateDir string, a *agent.Agent, log *slog.Logger) error {
	srv, err := control.Listen(stateDir, controlHandler(a), log)
	if err != nil {
		return err
	}
	go srv.Serve(ctx)
	log.Debug("control socket listening", "path", srv.Path())
	return nil
}

// controlHandler answers control requests from a.
func controlHandler(a *agent.Agent) control.Handler {
	return func(_ context.Context, req control.Request) control.Response {
		var id string
		var err error
		switch req.Op {
		case control.OpSet:
			id, err = a.SetOverride(req.User, agent.Override{State: req.State, Note: req.Note, Until: req.Until}, req.For)
		case control.OpClear:
			id, err = a.ClearOverride(req.User)
		case control.OpStatus:
			return control.Response{Users: statuses(a.Presences(), req.User)}
		default:
			return control.Response{Error: fmt.Sprintf("unknown request %q", req.Op), Input: true}
		}
		if err != nil {
			var ie *agent.InputError
			return control.Response{Error: err.Error(), Input: errors.As(err, &ie)}
		}
		return control.Response{User: id}
	}
}

// statuses are the presences of the users (of user, if not "") as the
// control socket tells them, times in each user's zone.
func statuses(ps []agent.Presence, user string) []control.UserStatus {
	out := []control.UserStatus{}
	in := func(t time.Time, z *time.Location) time.Time {
		if t.IsZero() || z == nil {
			return t
		}
		return t.In(z)
	}
	for _, p := range ps {
		if user != "" && p.User != user {
			continue
		}
		u := control.UserStatus{User: p.User, Published: p.HasPresence, Source: p.Source}
		if p.HasPresence {
			u.Basic, u.Rule, u.Note = p.Current.Basic, p.Current.Rule, p.Current.Note
			u.Since, u.Next = in(p.Current.Start, p.Zone), in(p.Current.End, p.Zone)
			if p.Current.Activities != "" {
				u.Activities = strings.Split(p.Current.Activities, ",")
			}
		}
		if o := p.Override; o != nil {
			u.Override = &control.Override{State: o.State, Note: o.Note, Since: in(o.Since, p.Zone), Until: in(o.Until, p.Zone)}
		}
		out = append(out, u)
	}
	return out
}

// controlTarget is the config and control socket of the agent that set
// and status talk to.
type controlTarget struct {
	cfg    *config.Config
	socket string
}

// loadControlTarget loads the config at path (default: the XDG one) to find
// the agent's state directory, where its control socket is.
func loadControlTarget(e *env, path string) (*controlTarget, error) {
	if path == "" {
		path = config.DefaultPath(e.getenv)
	}
	cfg, err := config.Load(path, e.getenv)
	if err != nil {
		return nil, &inputError{err}
	}
	dir := cfg.StateDir
	if dir == "" {
		if dir, err = agent.DefaultStateDir(e.getenv); err != nil {
			return nil, err
		}
	}
	return &controlTarget{cfg: cfg, socket: control.SocketPath(dir)}, nil
}

// call sends req to the agent; an answer that is an error becomes one
// (an input error where the request was at fault).
func (t *controlTarget) call(ctx context.Context, req control.Request) (control.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	res, err := control.Call(ctx, t.socket, req)
	if err != nil {
		return res, err
	}
	if res.Error != "" {
		if res.Input {
			return res, &inputError{errors.New(res.Error)}
		}
		return res, errors.New(res.Error)
	}
	return res, nil
}
