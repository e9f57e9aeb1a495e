package publisher

// Digest authentication (RFC 3261 §22, RFC 2617, RFC 7616). The server's
// nonce is reused with an incrementing nonce count, so that once
// challenged, every later PUBLISH carries credentials pre-emptively and
// costs one round trip.

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ErrWrongCredentials is wrapped by the error returned when the server
// rejects the configured username and password.
var ErrWrongCredentials = errors.New("wrong credentials")

// digestState is one user's current digest context.
type digestState struct {
	header string // "Authorization" or "Proxy-Authorization"
	chal   *digest.Challenge
	a1     string // H(username:realm:password), so the password is not kept
	nc     int
	cnonce string
}

// algorithmRank orders the algorithms we can do, best first (RFC 7616
// §3.7: use the strongest the server offers).
func algorithmRank(alg string) int {
	switch strings.ToUpper(alg) {
	case "SHA-256":
		return 2
	case "", "MD5":
		return 1
	}
	return 0
}

// pickChallenge returns the best challenge of res we can answer and the
// header name the credentials go in.
func pickChallenge(res *sip.Response) (*digest.Challenge, string, error) {
	name, reply := "WWW-Authenticate", "Authorization"
	if res.StatusCode == sip.StatusProxyAuthRequired {
		name, reply = "Proxy-Authenticate", "Proxy-Authorization"
	}
	var best *digest.Challenge
	for _, h := range res.GetHeaders(name) {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		c.Algorithm = strings.ToUpper(c.Algorithm)
		for i, q := range c.QOP {
			c.QOP[i] = strings.TrimSpace(q)
		}
		if algorithmRank(c.Algorithm) == 0 || (len(c.QOP) > 0 && !c.SupportsQOP("auth")) {
			continue
		}
		if best == nil || algorithmRank(c.Algorithm) > algorithmRank(best.Algorithm) {
			best = c
		}
	}
	if best == nil {
		return nil, "", fmt.Errorf("no usable digest challenge in %d response (need MD5 or SHA-256 with qop=auth)", res.StatusCode)
	}
	return best, reply, nil
}

func newHash(alg string) hash.Hash {
	if strings.EqualFold(alg, "SHA-256") {
		return sha256.New()
	}
	return md5.New()
}

// accept takes a new challenge. A password is fetched only when the realm
// or algorithm changed (a stale nonce keeps the old A1).
func (d *digestState) accept(ctx context.Context, chal *digest.Challenge, header, username string, password func(context.Context) (string, error)) error {
	if d.a1 == "" || d.chal == nil || d.chal.Realm != chal.Realm || d.chal.Algorithm != chal.Algorithm {
		if password == nil {
			return errors.New("no password configured")
		}
		pw, err := password(ctx)
		if err != nil {
			return fmt.Errorf("get password: %w", err)
		}
		h := newHash(chal.Algorithm)
		h.Write([]byte(username + ":" + chal.Realm + ":" + pw))
		d.a1 = hex.EncodeToString(h.Sum(nil))
	}
	d.chal, d.header, d.nc = chal, header, 0
	d.cnonce = sip.GenerateTagN(16)
	return nil
}

// apply adds credentials for req using the current nonce and the next
// nonce count.
func (d *digestState) apply(req *sip.Request, username string) error {
	if d.chal == nil {
		return nil
	}
	d.nc++
	cred, err := digest.Digest(d.chal, digest.Options{
		Method:   string(req.Method),
		URI:      req.Recipient.String(),
		Username: username,
		A1:       d.a1,
		Cnonce:   d.cnonce,
		Count:    d.nc,
	})
	if err != nil {
		return fmt.Errorf("compute digest: %w", err)
	}
	req.RemoveHeader(d.header)
	req.AppendHeader(sip.NewHeader(d.header, cred.String()))
	return nil
}
