package shard

import (
	"fmt"
	"math"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		s, host string
		want    Spec
		err     bool
	}{
		{"0/1", "", Spec{0, 1}, false},
		{"2/4", "", Spec{2, 4}, false},
		{" 3/4 ", "", Spec{3, 4}, false},
		{"auto/5", "calpresence-3", Spec{3, 5}, false},
		{"auto/5", "calpresence-4.calpresence.default.svc.cluster.local", Spec{4, 5}, false},
		{"auto/3", "calpresence-3", Spec{}, true}, // more pods than shards
		{"auto/3", "laptop", Spec{}, true},
		{"auto/3", "my-host-x", Spec{}, true},
		{"4/4", "", Spec{}, true},
		{"-1/4", "", Spec{}, true},
		{"1/0", "", Spec{}, true},
		{"1", "", Spec{}, true},
		{"a/b", "", Spec{}, true},
	}
	for _, tt := range tests {
		got, err := Parse(tt.s, tt.host)
		if (err != nil) != tt.err || got != tt.want {
			t.Errorf("Parse(%q, %q) = %v, %v; want %v, error %v", tt.s, tt.host, got, err, tt.want, tt.err)
		}
	}
}

func ids(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("sip:user%04d@example.com", i)
	}
	return out
}

// Every id has exactly one owner, and the shards get about equal shares.
func TestBalance(t *testing.T) {
	users := ids(2000)
	for _, n := range []int{1, 2, 3, 4, 5, 8, 16} {
		counts := make([]int, n)
		for _, id := range users {
			owners := 0
			for k := range n {
				if (Spec{k, n}).Owns(id) {
					owners++
					counts[k]++
				}
			}
			if owners != 1 {
				t.Fatalf("%s has %d owners among %d shards, want 1", id, owners, n)
			}
		}
		mean := float64(len(users)) / float64(n)
		for k, c := range counts {
			// Binomial spread: 5 standard deviations is far outside chance.
			if sd := math.Sqrt(mean * (1 - 1/float64(n))); math.Abs(float64(c)-mean) > 5*sd+1 {
				t.Errorf("shard %d/%d owns %d of %d users, want about %.0f", k, n, c, len(users), mean)
			}
		}
	}
}

// Going from N to N+1 shards moves about 1/(N+1) of the users, all to the
// new shard.
func TestMovement(t *testing.T) {
	users := ids(2000)
	tests := []struct{ from, to int }{{1, 2}, {2, 3}, {3, 4}, {4, 5}, {5, 6}, {9, 10}, {5, 4}}
	for _, tt := range tests {
		moved := 0
		for _, id := range users {
			a, b := Owner(id, tt.from), Owner(id, tt.to)
			if a == b {
				continue
			}
			moved++
			if tt.to > tt.from && b != tt.to-1 {
				t.Errorf("%s moved from shard %d to %d going %d→%d, want only moves to the new shard", id, a, b, tt.from, tt.to)
			}
			if tt.to < tt.from && a != tt.from-1 {
				t.Errorf("%s moved from shard %d going %d→%d, want only the removed shard's users to move", id, a, tt.from, tt.to)
			}
		}
		want := float64(len(users)) / float64(max(tt.from, tt.to))
		sd := math.Sqrt(want * (1 - want/float64(len(users))))
		t.Logf("%d→%d shards: %d of %d users moved (%.1f%%; 1/%d = %.1f%%)", tt.from, tt.to, moved, len(users),
			100*float64(moved)/float64(len(users)), max(tt.from, tt.to), 100/float64(max(tt.from, tt.to)))
		if math.Abs(float64(moved)-want) > 5*sd {
			t.Errorf("%d→%d shards moved %d of %d users, want about %.0f", tt.from, tt.to, moved, len(users), want)
		}
	}
}

func BenchmarkOwner(b *testing.B) {
	for b.Loop() {
		Owner("sip:alice@example.com", 16)
	}
}
