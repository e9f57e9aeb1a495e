package main

import (
	"fmt"
	"os"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/shard"
)

// hostname is the machine's name, for -shard auto/N; tests replace it.
var hostname = os.Hostname

// runShard is run's shard: -shard, else $CALPRESENCE_SHARD, else all
// users. auto/N takes K from the hostname's StatefulSet ordinal.
func runShard(flag string, getenv func(string) string) (shard.Spec, error) {
	s := flag
	if s == "" {
		s = getenv("CALPRESENCE_SHARD")
	}
	if s == "" {
		return shard.All, nil
	}
	h, err := hostname()
	if err != nil {
		h = ""
	}
	return shard.Parse(s, h)
}

// shardUsers keeps the users that sp serves.
func shardUsers(sp shard.Spec, specs []agent.User) []agent.User {
	if sp.N <= 1 {
		return specs
	}
	out := make([]agent.User, 0, len(specs)/sp.N+1)
	for _, s := range specs {
		if sp.Owns(s.ID) {
			out = append(out, s)
		}
	}
	return out
}

// shardNote is the log's account of the shard.
func shardNote(sp shard.Spec, total, served int) []any {
	return []any{"shard", sp.String(), "users_in_config", total, "users_served", served, "hashing", fmt.Sprintf("rendezvous over %d shards", sp.N)}
}
