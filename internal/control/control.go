// Package control is the running agent's local control interface: a unix
// socket in the agent's state directory, mode 0600 in a directory of mode
// 0700, so that only the agent's own user reaches it and nothing is exposed
// to the network. Each connection carries one JSON Request and gets one
// JSON Response; `calpresence set` and `calpresence status` are its
// clients.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SocketName is the socket's file name in the state directory.
const SocketName = "control.sock"

// maxRequest bounds a request's size.
const maxRequest = 64 << 10

// Ops of a Request.
const (
	OpSet    = "set"    // make State the user's presence until Until (or For)
	OpClear  = "clear"  // end the user's override
	OpStatus = "status" // every user's presence
)

// Request is one command to the agent.
type Request struct {
	Op string `json:"op"`
	// User is the AOR; "" for the one user of a single-user agent.
	User  string `json:"user,omitempty"`
	State string `json:"state,omitempty"`
	Note  string `json:"note,omitempty"`
	// Until ends the override; For does, from the agent's now, if
	// positive; neither: until cleared.
	Until time.Time     `json:"until,omitzero"`
	For   time.Duration `json:"for,omitempty"`
}

// Response is the agent's answer.
type Response struct {
	// Error is one sentence; "" on success. Input says that the request
	// was at fault (exit 2), not the agent (exit 1).
	Error string `json:"error,omitempty"`
	Input bool   `json:"input,omitempty"`
	// User is the user a set or clear applied to.
	User  string       `json:"user,omitempty"`
	Users []UserStatus `json:"users,omitempty"`
}

// UserStatus is one user's presence, for status.
type UserStatus struct {
	User       string   `json:"user"`
	Published  bool     `json:"published"` // false: nothing is published yet
	Basic      string   `json:"basic,omitempty"`
	Activities []string `json:"activities,omitempty"`
	Note       string   `json:"note,omitempty"`
	// Source is "override" or "calendar"; Rule is the rule that decided
	// the calendar's presence ("" for the default presence) or the
	// override's state.
	Source string `json:"source"`
	Rule   string `json:"rule"`
	// Since and Next are when the presence in force started and when it
	// changes next (zero: not within the timeline), in the user's zone.
	Since time.Time `json:"since,omitzero"`
	Next  time.Time `json:"next,omitzero"`
	// Override is the user's own status, if any.
	Override *Override `json:"override,omitempty"`
}

// Override is a user's own status as status shows it.
type Override struct {
	State string    `json:"state"`
	Note  string    `json:"note,omitempty"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until,omitzero"`
}

// Handler answers requests.
type Handler func(ctx context.Context, req Request) Response

// ErrNotRunning is what Call returns when no agent listens on the socket.
var ErrNotRunning = errors.New("the agent is not running")

// Server is a listening control socket.
type Server struct {
	ln   net.Listener
	path string
	h    Handler
	log  *slog.Logger
	wg   sync.WaitGroup
}

// Listen opens the control socket in dir, which it creates (mode 0700) if
// needed. A socket left by an agent that is gone is replaced; one that
// answers is another agent's, and an error.
func Listen(dir string, h Handler, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := filepath.Join(dir, SocketName)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	if _, err := os.Lstat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("control socket %s: another agent is running with this state directory", path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("control socket: %w", err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The directory is the owner's alone already; the socket is too.
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	return &Server{ln: ln, path: path, h: h, log: log}, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.path }

// Serve answers connections until ctx ends, then closes the socket,
// removes its file and returns once every answer is written.
func (s *Server) Serve(ctx context.Context) {
	stop := context.AfterFunc(ctx, func() { s.ln.Close() })
	defer stop()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("control socket failed", "err", err)
			}
			break
		}
		s.wg.Go(func() { s.serve(ctx, c) })
	}
	s.ln.Close()
	s.wg.Wait()
}

func (s *Server) serve(ctx context.Context, c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	var req Request
	var res Response
	if err := json.NewDecoder(io.LimitReader(c, maxRequest)).Decode(&req); err != nil {
		res = Response{Error: "bad request: " + err.Error(), Input: true}
	} else {
		res = s.h(ctx, req)
	}
	if err := json.NewEncoder(c).Encode(res); err != nil {
		s.log.Warn("control answer not sent", "err", err)
	}
}

// SocketPath is the control socket of the agent whose state directory is
// dir.
func SocketPath(dir string) string { return filepath.Join(dir, SocketName) }

// Call sends req to the agent listening at path and returns its answer.
// It wraps ErrNotRunning when nothing listens there.
func Call(ctx context.Context, path string, req Request) (Response, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return Response{}, fmt.Errorf("%w (no control socket at %s)", ErrNotRunning, path)
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return Response{}, fmt.Errorf("control socket %s: %w", path, err)
	}
	var res Response
	if err := json.NewDecoder(c).Decode(&res); err != nil {
		return Response{}, fmt.Errorf("control socket %s: no answer: %w", path, err)
	}
	return res, nil
}
