package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/calpresence/calpresence/internal/agent"
	"github.com/calpresence/calpresence/internal/shard"
)

func TestRunShard(t *testing.T) {
	defer func(h func() (string, error)) { hostname = h }(hostname)
	tests := []struct {
		flag, env, host string
		hostErr         bool
		want            shard.Spec
		err             bool
	}{
		{"", "", "x", false, shard.All, false},
		{"1/3", "", "x", false, shard.Spec{K: 1, N: 3}, false},
		{"", "2/3", "x", false, shard.Spec{K: 2, N: 3}, false},
		{"0/2", "1/2", "x", false, shard.Spec{K: 0, N: 2}, false}, // the flag wins
		{"auto/4", "", "calpresence-2", false, shard.Spec{K: 2, N: 4}, false},
		{"", "auto/4", "calpresence-3", false, shard.Spec{K: 3, N: 4}, false},
		{"auto/4", "", "", true, shard.Spec{}, true},
		{"auto/2", "", "calpresence-2", false, shard.Spec{}, true},
		{"3/3", "", "x", false, shard.Spec{}, true},
	}
	for _, tt := range tests {
		hostname = func() (string, error) {
			if tt.hostErr {
				return "", errors.New("no hostname")
			}
			return tt.host, nil
		}
		getenv := func(k string) string {
			if k == "CALPRESENCE_SHARD" {
				return tt.env
			}
			return ""
		}
		got, err := runShard(tt.flag, getenv)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("runShard(%q) with CALPRESENCE_SHARD=%q, hostname %q = %v, %v; want %v, error %v", tt.flag, tt.env, tt.host, got, err, tt.want, tt.err)
		}
	}
}

func TestShardUsers(t *testing.T) {
	var specs []agent.User
	for i := range 300 {
		specs = append(specs, agent.User{ID: fmt.Sprintf("sip:u%d@example.com", i)})
	}
	seen := map[string]int{}
	for k := range 3 {
		for _, u := range shardUsers(shard.Spec{K: k, N: 3}, specs) {
			seen[u.ID]++
		}
	}
	if len(seen) != len(specs) {
		t.Errorf("3 shards serve %d of %d users", len(seen), len(specs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s is served by %d shards, want 1", id, n)
		}
	}
	if got := shardUsers(shard.All, specs); len(got) != len(specs) {
		t.Errorf("shardUsers(All) = %d users, want %d", len(got), len(specs))
	}
}
