// Package shard splits users among processes: each of N shards serves
// the users that rendezvous hashing (highest random weight, Thaler and
// Ravishankar 1996) assigns to it. Every process computes the same owner
// for a user from the user's id and N alone, with no coordination, and
// going from N to N+1 shards moves only the users that the new shard wins,
// about 1/(N+1) of them; no user moves between the old shards.
package shard

import (
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Spec is shard K of N (0 <= K < N).
type Spec struct{ K, N int }

// All is the one shard that owns every user.
var All = Spec{K: 0, N: 1}

func (s Spec) String() string { return fmt.Sprintf("%d/%d", s.K, s.N) }

// Parse reads "K/N" (K from 0 to N-1) or "auto/N", for which K is the
// ordinal at the end of hostname, as a Kubernetes StatefulSet names its
// pods ("calpresence-3" is shard 3).
func Parse(s, hostname string) (Spec, error) {
	k, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Spec{}, fmt.Errorf("shard %q: want K/N or auto/N", s)
	}
	var sp Spec
	var err error
	if sp.N, err = strconv.Atoi(n); err != nil || sp.N < 1 {
		return Spec{}, fmt.Errorf("shard %q: N must be a positive number", s)
	}
	if k == "auto" {
		if sp.K, err = Ordinal(hostname); err != nil {
			return Spec{}, fmt.Errorf("shard %q: %w", s, err)
		}
	} else if sp.K, err = strconv.Atoi(k); err != nil || sp.K < 0 {
		return Spec{}, fmt.Errorf("shard %q: K must be a number from 0 to N-1", s)
	}
	if sp.K >= sp.N {
		return Spec{}, fmt.Errorf("shard %q: K must be below N (shards are numbered from 0)", s)
	}
	return sp, nil
}

// Ordinal is the number after the last "-" of a StatefulSet pod's
// hostname (the first label, if it is a full name).
func Ordinal(hostname string) (int, error) {
	h, _, _ := strings.Cut(hostname, ".")
	i := strings.LastIndexByte(h, '-')
	if i < 0 {
		return 0, errors.New("hostname " + strconv.Quote(hostname) + " does not end in -ORDINAL as a StatefulSet pod's does")
	}
	n, err := strconv.Atoi(h[i+1:])
	if err != nil || n < 0 {
		return 0, errors.New("hostname " + strconv.Quote(hostname) + " does not end in -ORDINAL as a StatefulSet pod's does")
	}
	return n, nil
}

// weight is the score of shard k for id: a 64-bit FNV-1a of both, mixed
// (splitmix64's finalizer) so that close inputs give independent scores.
func weight(id string, k int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	h.Write([]byte{0, byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)})
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// Owner is the shard among n that owns id: the one with the highest
// weight (ties, which need equal 64-bit scores, go to the lower shard).
func Owner(id string, n int) int {
	best, bestW := 0, uint64(0)
	for k := range n {
		if w := weight(id, k); k == 0 || w > bestW {
			best, bestW = k, w
		}
	}
	return best
}

// Owns reports whether the shard serves id.
func (s Spec) Owns(id string) bool { return s.N <= 1 || Owner(id, s.N) == s.K }
