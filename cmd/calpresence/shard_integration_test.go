package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/internal/shard"
	"github.com/calpresence/calpresence/internal/status"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/pidf"
)

// shardProc is one `calpresence run -shard K/N` process.
type shardProc struct {
	*agentProc
	spec shard.Spec
	addr string // its metrics listener
}

func startShard(t *testing.T, bin, cfgPath, dir string, sp shard.Spec) *shardProc {
	t.Helper()
	addr := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	a := startAgent(t, bin, dir, "shard "+sp.String()+" (tail)", 3000, []string{"-config", cfgPath, "-metrics-addr", addr, "-shard", sp.String()})
	return &shardProc{agentProc: a, spec: sp, addr: addr}
}

// stop sends SIGTERM (the shard removes its publications) and waits.
func (p *shardProc) stop(t *testing.T) {
	t.Helper()
	p.signal(syscall.SIGTERM)
	err, ok := p.wait(10 * time.Second)
	if !ok {
		t.Fatalf("shard %v did not exit 10 s after SIGTERM", p.spec)
	}
	if err != nil {
		t.Errorf("shard %v exited with %v", p.spec, err)
	}
}

// published waits until every user the shard serves has presence and an
// accepted PUBLISH, and returns them.
func (p *shardProc) published(t *testing.T, want int, deadline time.Time) []string {
	t.Helper()
	for {
		var st status.StatusJSON
		if res, err := http.Get("http://" + p.addr + "/api/status"); err == nil {
			json.NewDecoder(res.Body).Decode(&st)
			res.Body.Close()
		}
		var ids []string
		for _, u := range st.Users {
			if u.Presence != nil && u.Requests["2xx"] > 0 {
				ids = append(ids, u.AOR)
			}
		}
		if len(ids) == want && len(st.Users) == want {
			return ids
		}
		if time.Now().After(deadline) {
			t.Fatalf("shard %v: %d of %d users published (%d served) by %v", p.spec, len(ids), want, len(st.Users), deadline.Format("15:04:05"))
		}
		time.Sleep(200 * time.Millisecond) // polling subprocesses, not timing
	}
}

// 4 shard processes serve 2,000 users against one real Kamailio: every
// user is published by exactly one shard; then it goes to 5 shards as a
// StatefulSet's rolling update does (the new shard 4 starts, then each old
// shard is stopped, removing its publications, and restarted as K/5).
// It reports how many users moved (expected about 1/5) and the longest
// time a sample of moved and of kept users had no publication at the
// presence server, as the watchers' NOTIFYs tell.
func TestShards4To5(t *testing.T) {
	if !testserver.Integration() {
		t.Skip("starts 4+5 agent processes with 2,000 users: CALPRESENCE_INTEGRATION=1 runs it")
	}
	const users = 2000
	kam := testserver.StartKamailioDND(t, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"))
	bin := buildBinary(t)
	dir := t.TempDir()
	ics := filepath.Join(dir, "meeting.ics")
	now := time.Now()
	if err := os.WriteFile(ics, []byte(meetingICS(now.Add(-time.Hour), now.Add(3*time.Hour))), 0o644); err != nil {
		t.Fatal(err)
	}
	var cfg strings.Builder
	fmt.Fprintf(&cfg, "timezone = \"UTC\"\nstate_dir = %q\n[sip]\nproxy = \"sip:%s;transport=tcp\"\n[[calendar]]\nname = \"work\"\nurl = %q\npoll = \"@every 30s\"\n",
		filepath.Join(dir, "state"), kam.Addr(), ics)
	ids := make([]string, users)
	for i := range ids {
		ids[i] = fmt.Sprintf("sip:u%04d@example.com", i)
		fmt.Fprintf(&cfg, "[[user]]\naor = %q\n", ids[i])
	}
	cfgPath := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	count := func(n int) []int {
		c := make([]int, n)
		for _, id := range ids {
			c[shard.Owner(id, n)]++
		}
		return c
	}
	c4, c5 := count(4), count(5)
	var moved, kept []string
	for _, id := range ids {
		if shard.Owner(id, 4) != shard.Owner(id, 5) {
			moved = append(moved, id)
		} else {
			kept = append(kept, id)
		}
	}
	// Watchers on a sample, subscribed before anything is published.
	sample := slices.Concat(moved[:30], kept[:10])
	watchers := map[string]*watcher{}
	for _, id := range sample {
		watchers[id] = startWatcher(t, kam.Addr(), id)
	}

	start := time.Now()
	var old [4]*shardProc
	for k := range old {
		old[k] = startShard(t, bin, cfgPath, dir, shard.Spec{K: k, N: 4})
	}
	owner := map[string]int{}
	for k, p := range old {
		for _, id := range p.published(t, c4[k], time.Now().Add(60*time.Second)) {
			if prev, dup := owner[id]; dup {
				t.Errorf("%s is published by shards %d and %d of 4", id, prev, k)
			}
			owner[id] = k
		}
	}
	if len(owner) != users {
		t.Fatalf("4 shards publish %d of %d users", len(owner), users)
	}
	for _, id := range sample {
		watchers[id].waitFor(t, id+"'s meeting at Kamailio", time.Now().Add(20*time.Second), inMeeting(id))
	}
	t.Logf("4 shards: %v users each, all %d published in %v", c4, users, time.Since(start).Round(time.Millisecond))

	// To 5 shards.
	t0 := time.Now()
	var next [5]*shardProc
	next[4] = startShard(t, bin, cfgPath, dir, shard.Spec{K: 4, N: 5})
	next[4].published(t, c5[4], time.Now().Add(60*time.Second))
	for k := range old {
		old[k].stop(t)
		next[k] = startShard(t, bin, cfgPath, dir, shard.Spec{K: k, N: 5})
		next[k].published(t, c5[k], time.Now().Add(60*time.Second))
	}
	t1 := time.Now()
	owner5 := map[string]int{}
	for k, p := range next {
		for _, id := range p.published(t, c5[k], time.Now().Add(10*time.Second)) {
			if prev, dup := owner5[id]; dup {
				t.Errorf("%s is published by shards %d and %d of 5", id, prev, k)
			}
			owner5[id] = k
		}
	}
	if len(owner5) != users {
		t.Fatalf("5 shards publish %d of %d users", len(owner5), users)
	}
	n := 0
	for _, id := range ids {
		if owner[id] != owner5[id] {
			n++
			if owner5[id] != 4 {
				t.Errorf("%s moved from shard %d to %d, want only moves to the new shard", id, owner[id], owner5[id])
			}
		}
	}
	if n != len(moved) {
		t.Errorf("%d users moved, the hash says %d", n, len(moved))
	}
	// Every sampled user is published at the end, and the gaps.
	time.Sleep(time.Second) // let the last NOTIFYs arrive; the gaps are measured from their times
	gapMoved, gapKept := time.Duration(0), time.Duration(0)
	for _, id := range sample {
		g := unpublishedFor(watchers[id], id, t0, time.Now())
		if slices.Contains(moved, id) {
			gapMoved = max(gapMoved, g)
		} else {
			gapKept = max(gapKept, g)
		}
		if !watchers[id].lastIs(id, inMeeting(id)) {
			t.Errorf("%s: after the move the presence server's last NOTIFY is not the meeting", id)
		}
	}
	frac := float64(n) / users
	t.Logf("4→5 shards: %v users each; %d of %d users moved (%.1f%%, expected about 20%%), in %v; longest time without a publication: moved users %v, kept users %v (sample of %d and %d; poll interval 30s)",
		c5, n, users, 100*frac, t1.Sub(t0).Round(time.Millisecond), gapMoved.Round(time.Millisecond), gapKept.Round(time.Millisecond), 30, 10)
	if frac < 0.15 || frac > 0.25 {
		t.Errorf("%.1f%% of the users moved, want about 20%%", 100*frac)
	}
	if gapMoved > 30*time.Second || gapKept > 30*time.Second {
		t.Errorf("a user had no publication for longer than one poll (30s): moved %v, kept %v", gapMoved, gapKept)
	}
	for _, p := range next {
		p.stop(t)
	}
}

// unpublishedFor is the longest stretch in [from, to) during which the
// watcher's NOTIFYs said the presence server held no publication of ours.
func unpublishedFor(w *watcher, aor string, from, to time.Time) time.Duration {
	w.mu.Lock()
	ns := slices.Clone(w.bodies)
	w.mu.Unlock()
	var longest time.Duration
	var since time.Time // zero: published
	published := true
	for _, n := range ns {
		doc, err := pidf.Unmarshal(n.body)
		if err != nil {
			continue
		}
		tu, pe := ours(doc, aor)
		now := tu != nil && pe != nil && tu.Basic == "closed"
		switch {
		case published && !now:
			since = n.at
		case !published && now && !since.IsZero():
			if n.at.After(from) {
				longest = max(longest, n.at.Sub(maxT(since, from)))
			}
		}
		published = now
	}
	if !published && !since.IsZero() {
		longest = max(longest, to.Sub(maxT(since, from)))
	}
	return longest
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// lastIs reports whether the last NOTIFY satisfies ok.
func (w *watcher) lastIs(aor string, ok func(*pidf.Document) bool) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.bodies) == 0 {
		return false
	}
	doc, err := pidf.Unmarshal(w.bodies[len(w.bodies)-1].body)
	return err == nil && ok(doc)
}
