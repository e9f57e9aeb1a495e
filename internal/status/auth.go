package status

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"os"
	"strings"
)

// Credentials guard the listener of the metrics and status pages: a
// bearer token (Authorization: Bearer TOKEN), a user and password (basic
// auth), or both, either of which then lets a request in. The zero value
// lets every request in.
type Credentials struct {
	Token          string
	User, Password string
}

// Open reports whether c lets every request in.
func (c Credentials) Open() bool { return c.Token == "" && c.User == "" }

// LoadCredentials reads a token file (the token on its first line) and a
// basic auth file ("user:password" on its first line); "" skips one.
func LoadCredentials(tokenFile, basicFile string) (Credentials, error) {
	var c Credentials
	if tokenFile != "" {
		line, err := firstLine(tokenFile)
		if err != nil {
			return c, err
		}
		if line == "" {
			return c, fmt.Errorf("%s: empty token", tokenFile)
		}
		c.Token = line
	}
	if basicFile != "" {
		line, err := firstLine(basicFile)
		if err != nil {
			return c, err
		}
		user, pass, ok := strings.Cut(line, ":")
		if !ok || user == "" || pass == "" {
			return c, fmt.Errorf("%s: want one line USER:PASSWORD", basicFile)
		}
		c.User, c.Password = user, pass
	}
	return c, nil
}

func firstLine(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return strings.TrimSpace(line), nil
}

// equal compares secrets in constant time (of their hashes, so that the
// length does not show either).
func equal(a, b string) bool {
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}

// Guard lets only requests with c's credentials through to h; /healthz
// stays open, for liveness and readiness probes.
func (c Credentials) Guard(h http.Handler) http.Handler {
	if c.Open() {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || c.allows(r) {
			h.ServeHTTP(w, r)
			return
		}
		if c.User != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="calpresence", charset="UTF-8"`)
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="calpresence"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
}

func (c Credentials) allows(r *http.Request) bool {
	if c.Token != "" {
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok && equal(strings.TrimSpace(tok), c.Token) {
			return true
		}
	}
	if c.User != "" {
		if u, p, ok := r.BasicAuth(); ok && equal(u, c.User) && equal(p, c.Password) {
			return true
		}
	}
	return false
}
