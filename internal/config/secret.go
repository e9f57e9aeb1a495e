package config

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

type secretKind int

const (
	secretPlain secretKind = iota + 1
	secretEnv
	secretFile
	secretCommand
)

// Secret is where a password comes from. It is read when needed, not at
// load time, so that a rotated password is picked up and a password command
// is not run for commands that never authenticate. Its String never shows
// the password.
type Secret struct {
	kind    secretKind
	value   string   // the password, the variable's name or the file's path
	command []string // password_command
	getenv  func(string) string
	pos     string // FILE:LINE:COL of the key that set it, for check's messages
}

// secretCommandTimeout bounds a password command, which may wait on a
// locked keyring.
const secretCommandTimeout = 30 * time.Second

// Get returns the password.
func (s *Secret) Get(ctx context.Context) (string, error) {
	switch s.kind {
	case secretPlain:
		return s.value, nil
	case secretEnv:
		v := s.getenv(s.value)
		if v == "" {
			return "", fmt.Errorf("password_env: environment variable %s is not set", s.value)
		}
		return v, nil
	case secretFile:
		b, err := os.ReadFile(s.value)
		if err != nil {
			return "", fmt.Errorf("password_file: %w", err)
		}
		return firstLine(b), nil
	case secretCommand:
		ctx, cancel := context.WithTimeout(ctx, secretCommandTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, s.command[0], s.command[1:]...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			// The command's stderr is shown (trimmed), never its stdout,
			// which may hold the password.
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 200 {
				msg = msg[:200] + "…"
			}
			if msg != "" {
				return "", fmt.Errorf("password_command %s: %w: %s", s.command[0], err, msg)
			}
			return "", fmt.Errorf("password_command %s: %w", s.command[0], err)
		}
		pw := firstLine(out)
		if pw == "" {
			return "", fmt.Errorf("password_command %s printed no password", s.command[0])
		}
		return pw, nil
	}
	return "", errors.New("no password configured")
}

// Func returns s.Get as a function, nil for a nil Secret, the form the
// calendar sources and the publisher take.
func (s *Secret) Func() func(context.Context) (string, error) {
	if s == nil {
		return nil
	}
	return s.Get
}

// Check reports whether the password source is usable, without running a
// password command: the variable is set, the file is readable and not
// readable by others, the command exists.
func (s *Secret) Check() (warning, err error) {
	switch s.kind {
	case secretEnv:
		if s.getenv(s.value) == "" {
			return nil, fmt.Errorf("password_env: environment variable %s is not set", s.value)
		}
	case secretFile:
		fi, err := os.Stat(s.value)
		if err != nil {
			return nil, fmt.Errorf("password_file: %w", err)
		}
		if fi.Mode().Perm()&0o077 != 0 {
			warning = fmt.Errorf("password_file %s is readable by others (mode %v); chmod 600 it", s.value, fi.Mode().Perm())
		}
		f, err := os.Open(s.value)
		if err != nil {
			return warning, fmt.Errorf("password_file: %w", err)
		}
		f.Close()
	case secretCommand:
		if _, err := exec.LookPath(s.command[0]); err != nil {
			return nil, fmt.Errorf("password_command: %w", err)
		}
	}
	return warning, nil
}

// CheckSecrets checks every password source of cfg (see Secret.Check).
func (cfg *Config) CheckSecrets() (warnings, errs []error) {
	seen := map[*Secret]bool{}
	check := func(s *Secret) {
		if s == nil || seen[s] {
			return
		}
		seen[s] = true
		w, err := s.Check()
		if w != nil {
			warnings = append(warnings, fmt.Errorf("%s: %w", s.pos, w))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.pos, err))
		}
	}
	for _, u := range cfg.Users {
		check(u.SIP.Password)
		for _, c := range u.Calendars {
			check(c.Password)
		}
	}
	return warnings, errs
}

// String describes the source, never the password.
func (s *Secret) String() string {
	switch s.kind {
	case secretPlain:
		return "password (in the config)"
	case secretEnv:
		return "password_env " + s.value
	case secretFile:
		return "password_file " + s.value
	case secretCommand:
		return "password_command " + s.command[0]
	}
	return "no password"
}

func firstLine(b []byte) string {
	s := string(b)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimRight(s, "\r")
}

// Key tells password sources apart without reading them: two secrets with
// the same key give the same password.
func (s *Secret) Key() string {
	if s == nil {
		return ""
	}
	return fmt.Sprintf("%d\x00%s\x00%q", s.kind, s.value, s.command)
}
