package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/calpresence/calpresence/calendar"
	"github.com/calpresence/calpresence/calendar/ics"
	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/rules"
	"github.com/robfig/cron/v3"
)

// BenchmarkAgentUsers runs N users in one process: ICS feeds from an
// in-process HTTP server, publications to the real Kamailio (the DND
// config, a presence server). It reports the memory per user in steady
// state, the CPU time of one poll round of every calendar (unchanged
// feeds: conditional GETs), and the time from a meeting start shared by
// every user (the 09:00 flip) until the last user's new state was
// accepted by the server; then SIPp sends N presentities' PUBLISHes to the
// same Kamailio as fast as it takes them, and the flip is reported against
// the time Kamailio needs for N PUBLISHes at that ceiling.
//
// The users have no BLF publication: the DND config serves no Event:
// dialog (it would answer 489), and the flip is to be N PUBLISHes.
// N comes from CALPRESENCE_BENCH_USERS (default 1000); run it once: go
// test -run '^$' -bench AgentUsers -benchtime 1x. CALPRESENCE_BENCH_PROFILE
// names a directory for heap.pprof (steady state) and cpu.pprof (the
// poll round); CALPRESENCE_BENCH_FLIP=0 stops after the poll round, for
// the memory and CPU figures at 50,000 users in minutes.
func BenchmarkAgentUsers(b *testing.B) {
	n := 1000
	if v, err := strconv.Atoi(os.Getenv("CALPRESENCE_BENCH_USERS")); err == nil && v > 0 {
		n = v
	}
	// db_text keeps every presentity in shared memory, and each finished
	// transaction stays there for 5s.
	kam := testserver.StartKamailioDNDWith(b, filepath.Join("..", "..", "examples", "kamailio-dnd.cfg"),
		testserver.KamailioDNDOptions{SharedMemMB: max(256, n/25)})
	zone, _ := time.LoadLocation("Europe/Berlin")
	rs := builtin(b)

	if os.Getenv("CALPRESENCE_BENCH_PROFILE") != "" {
		runtime.MemProfileRate = 512 // the users' memory, finely
	}
	for b.Loop() {
		benchAgentUsers(b, n, kam.Addr(), zone, rs)
	}
}

func benchAgentUsers(b *testing.B, n int, server string, zone *time.Location, rs *rules.Rules) {
	b.Helper()
	// Busy until far ahead (the default presence publishes nothing): every
	// user publishes once at start. Later the feeds change to add a
	// meeting that starts at the same instant for every user, the flip;
	// the busy document before it stays the same, so the change costs no
	// PUBLISH before the flip and one per user at it.
	start := time.Now()
	busy := icsEvent{uid: "b1", summary: "Focus", start: start.Add(-time.Hour), end: start.Add(23 * time.Hour)}
	feeds := startFeeds(b, buildICS([]icsEvent{busy}))

	client, err := publisher.NewClient(publisher.ClientOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer client.Close()
	httpc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 30 * time.Second}

	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	specs := make([]User, n)
	for i := range specs {
		aor := fmt.Sprintf("sip:u%d@example.com", i)
		src, err := ics.New(ics.Options{
			Name: "work", URL: fmt.Sprintf("%s/u/%d.ics", feeds.url, i), HTTPClient: httpc,
			Parse: calendar.ParseOptions{Calendar: "work", Zone: zone},
		})
		if err != nil {
			b.Fatal(err)
		}
		specs[i] = User{
			ID: aor, Zone: zone, Rules: rs,
			Calendars: []Calendar{{Name: "work", Source: src, Poll: cron.Every(time.Hour), Key: "work"}},
			Publisher: publisher.Options{AOR: aor, Proxy: "sip:" + server + ";transport=tcp"},
			NoBLF:     true,
		}
	}
	// As calpresence run does: every user's requests through one Pacer
	// (CALPRESENCE_BENCH_PACE=0: straight to the Client, for comparison).
	var doer publisher.Doer = publisher.NewPacer(client, publisher.PaceOptions{})
	if os.Getenv("CALPRESENCE_BENCH_PACE") == "0" {
		doer = client
	}
	opts := Options{Doer: doer}
	if n > 1000 {
		opts.PublisherClockCheck = 15 * time.Second // as calpresence run does
	}
	a := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.Run(ctx, specs) }()
	defer func() {
		cancel()
		stopped := time.Now()
		<-done
		// The contract's bound for SIGTERM, which calpresence run maps to
		// this cancel: every publication removed, or given up, by then.
		if took := time.Since(stopped); took > 5*time.Second {
			b.Errorf("the agent took %v to stop; the contract allows 5s", took)
		}
	}()

	results := func() (res [7]uint64) {
		a.mu.Lock()
		defer a.mu.Unlock()
		for _, p := range a.users {
			p.mu.Lock()
			for i := range res {
				res[i] += p.doer.results[i].Load()
			}
			p.mu.Unlock()
		}
		return res
	}
	ok := func() uint64 { r := results(); return r[2] }
	wait := func(what string, cond func() bool, deadline time.Time) {
		for !cond() {
			if time.Now().After(deadline) {
				b.Fatalf("%s: not done by %v; requests by result (none, 1xx..6xx): %v; feed GETs %d",
					what, deadline, results(), feeds.gets(b))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	// Kamailio's db_text looks presentities up one by one: the more it
	// holds, the slower each PUBLISH (a few hundred a second at 50,000).
	wait("first publications", func() bool { return ok() >= uint64(n) }, start.Add(60*time.Second+time.Duration(n/50)*time.Second))
	firstDone := time.Now()

	// Steady state: every user published, timers armed, nothing in flight.
	// A few collections, as a daemon's minutes bring: each halves the
	// stacks that use less than a quarter of theirs.
	for range 4 {
		runtime.GC()
	}
	var steady runtime.MemStats
	runtime.ReadMemStats(&steady)
	perUser := float64(int64(steady.HeapInuse+steady.StackInuse)-int64(before.HeapInuse+before.StackInuse)) / float64(n)
	profDir := os.Getenv("CALPRESENCE_BENCH_PROFILE")
	if profDir != "" {
		writeProfile(b, filepath.Join(profDir, "heap.pprof"), pprof.WriteHeapProfile)
		// Sampling every 512 bytes would dominate the CPU profile.
		runtime.MemProfileRate = 512 * 1024
		f, err := os.Create(filepath.Join(profDir, "cpu.pprof"))
		if err != nil {
			b.Fatal(err)
		}
		pprof.StartCPUProfile(f)
	}

	// One poll round of every calendar: all answered 304. The feeds are
	// served by another process, so that the CPU time is the agent's.
	pollAll := func() {
		a.mu.Lock()
		for _, p := range a.users {
			for _, c := range p.cals {
				c.poll.PollNow()
			}
		}
		a.mu.Unlock()
	}
	g0 := feeds.gets(b)
	ru0 := rusage()
	pollAll()
	wait("poll round", func() bool { return feeds.gets(b)-g0 >= int64(n) }, time.Now().Add(time.Minute+time.Duration(n/1000)*time.Second))
	roundCPU := rusage() - ru0
	if profDir != "" {
		pprof.StopCPUProfile()
	}

	b.ReportMetric(float64(n), "users")
	b.ReportMetric(perUser, "B/user")
	b.ReportMetric(float64(roundCPU.Microseconds())/float64(n), "cpu-µs/user/poll-round")
	b.ReportMetric(firstDone.Sub(start).Seconds(), "s/first-publish")
	b.Logf("steady state per user: heap %d B, stacks %d B",
		(int64(steady.HeapInuse)-int64(before.HeapInuse))/int64(n), (int64(steady.StackInuse)-int64(before.StackInuse))/int64(n))
	if os.Getenv("CALPRESENCE_BENCH_FLIP") == "0" {
		// Memory and the poll round only: at 50,000 users the flip takes
		// a quarter of an hour at Kamailio's pace.
		b.Logf("%d users: %.0f B/user in steady state, poll round %v CPU (%v/user), goroutines %d; no flip",
			n, perUser, roundCPU, roundCPU/time.Duration(n), runtime.NumGoroutine())
		return
	}

	// The new feeds, with the flip far enough ahead for every user to
	// fetch them and rebuild.
	flip := time.Now().Add(10*time.Second + time.Duration(n/2000)*time.Second).Truncate(time.Second)
	feeds.change(b, buildICS([]icsEvent{busy,
		{uid: "m1", summary: "Review", start: flip, end: flip.Add(time.Hour), attendees: 3}}))
	r0 := a.rebuilds.Load()
	pollAll()
	wait("rebuilds before the flip", func() bool { return a.rebuilds.Load()-r0 >= uint64(n) }, flip)
	if got := ok(); got != uint64(n) {
		b.Fatalf("%d PUBLISHes answered 200 before the flip, want %d (the busy document changed?)", got, n)
	}

	// The flip.
	wait("the flip", func() bool { return ok() >= uint64(2*n) }, flip.Add(60*time.Second+time.Duration(n/50)*time.Second))
	flipDelay := time.Since(flip)
	if pc, ok := doer.(*publisher.Pacer); ok {
		w, in := pc.Window(server)
		b.Logf("after the flip: requests by result (none, 1xx..6xx) %v; pacer window %d, in flight %d", results(), w, in)
	}

	// Kamailio's own ceiling, now, on the same server (holding the users'
	// presentities) and transport: each SIPp presentity takes 6 PUBLISHes
	// (publish, 4 modifications, remove). At most 2,000 of them: the rate
	// is what counts, and it is that of a server holding N presentities.
	calls := min(n, 2000)
	scenario, _ := filepath.Abs(filepath.Join("..", "..", "publisher", "testdata", "sipp", "publish.xml"))
	took, _ := testserver.RunSIPp(b, scenario, server,
		"-m", strconv.Itoa(calls), "-r", "100000", "-rp", "1000", "-l", "64", "-t", "t1")
	rate := float64(6*calls) / took.Seconds()
	ceiling := time.Duration(float64(n) / rate * float64(time.Second))

	b.ReportMetric(flipDelay.Seconds(), "s/flip")
	b.ReportMetric(ceiling.Seconds(), "s/sipp-n-publishes")
	b.ReportMetric(flipDelay.Seconds()/ceiling.Seconds(), "flip/ceiling")
	b.Logf("%d users: %.0f B/user in steady state, poll round %v CPU (%v/user), flip delivered %v after it was due (SIPp: %.0f PUBLISH/s, %v for %d: %.2fx), goroutines %d",
		n, perUser, roundCPU, roundCPU/time.Duration(n), flipDelay.Round(time.Millisecond), rate, ceiling.Round(time.Millisecond), n,
		flipDelay.Seconds()/ceiling.Seconds(), runtime.NumGoroutine())
}

func writeProfile(b *testing.B, path string, write func(io.Writer) error) {
	b.Helper()
	runtime.GC()
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := write(f); err != nil {
		b.Fatal(err)
	}
}

// benchFeeds is the benchmark's feed server: this test binary run again
// as TestBenchFeedServer, in a process of its own.
type benchFeeds struct {
	url string
	dir string
}

// startFeeds starts the feed server serving ics to every user until b
// ends.
func startFeeds(b *testing.B, ics string) *benchFeeds {
	b.Helper()
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "feed.ics"), []byte(ics), 0o600); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchFeedServer$", "-test.v")
	cmd.Env = append(os.Environ(), "CALPRESENCE_BENCH_FEEDS="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the server exits when its stdin ends
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if addr, ok := strings.CutPrefix(sc.Text(), "feeds at "); ok {
			go io.Copy(io.Discard, out)
			return &benchFeeds{url: "http://" + addr, dir: dir}
		}
	}
	b.Fatalf("feed server: no address: %v", sc.Err())
	return nil
}

// gets is how many feed requests the server has answered.
func (f *benchFeeds) gets(b *testing.B) int64 {
	b.Helper()
	res, err := http.Get(f.url + "/count")
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	n, err := strconv.ParseInt(strings.TrimSpace(string(body)), 10, 64)
	if err != nil {
		b.Fatalf("feed server count %q: %v", body, err)
	}
	return n
}

// change makes ics every user's feed, under a new ETag.
func (f *benchFeeds) change(b *testing.B, ics string) {
	b.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, "feed.ics"), []byte(ics), 0o600); err != nil {
		b.Fatal(err)
	}
	res, err := http.Post(f.url+"/change", "text/plain", nil)
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNoContent {
		b.Fatalf("feed server change: %s", res.Status)
	}
}

// TestBenchFeedServer is BenchmarkAgentUsers' feed server when run by it
// (CALPRESENCE_BENCH_FEEDS names the directory of feed.ics); as a test it
// has nothing to do. It answers conditional GETs by ETag, /count with the
// number of feed requests, /change by reading feed.ics anew under a new
// ETag, and exits when its stdin ends.
func TestBenchFeedServer(t *testing.T) {
	dir := os.Getenv("CALPRESENCE_BENCH_FEEDS")
	if dir == "" {
		t.Skip("the feed server of BenchmarkAgentUsers, run by it")
	}
	var mu sync.Mutex
	var feed []byte
	var version int
	load := func() error {
		b, err := os.ReadFile(filepath.Join(dir, "feed.ics"))
		if err != nil {
			return err
		}
		mu.Lock()
		feed, version = b, version+1
		mu.Unlock()
		return nil
	}
	if err := load(); err != nil {
		t.Fatal(err)
	}
	var gets atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("GET /count", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, gets.Load())
	})
	mux.HandleFunc("POST /change", func(w http.ResponseWriter, r *http.Request) {
		if err := load(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /u/", func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		mu.Lock()
		body, etag := feed, fmt.Sprintf(`"v%d"`, version)
		mu.Unlock()
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
		w.Header().Set("Content-Type", "text/calendar")
		w.Write(body)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	fmt.Printf("feeds at %s\n", ln.Addr())
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

// rusage is the process's CPU time so far (user + system).
func rusage() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
