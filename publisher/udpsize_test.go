package publisher

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/internal/testserver"
	"github.com/calpresence/calpresence/publisher/publishertest"
)

// typicalPIDF is a PIDF document of exactly n bytes (n >= 300), like the
// agent's: a tuple with a note and an RPID person with activities.
func typicalPIDF(aor string, n int) []byte {
	doc := func(note string) string {
		return fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<presence xmlns="urn:ietf:params:xml:ns:pidf" xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model" xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="%s">
<tuple id="calpresence-1"><status><basic>open</basic></status><note>%s</note></tuple>
<dm:person id="p1"><rpid:activities><rpid:meeting/></rpid:activities></dm:person>
</presence>
`, aor, note)
	}
	base := len(doc(""))
	return []byte(doc(strings.Repeat("m", max(0, n-base))))
}

func TestTypicalPIDFSize(t *testing.T) {
	for _, n := range []int{519, 1200} {
		if got := len(typicalPIDF("sip:alice@example.com", n)); got != n {
			t.Errorf("len(typicalPIDF(%d)) = %d", n, got)
		}
	}
}

// TestBodyTransport: the transport follows the size of the whole message
// (RFC 3261 §18.1.1), not a guess: a 519-byte PIDF stays on UDP.
func TestBodyTransport(t *testing.T) {
	for _, tc := range []struct {
		body int
		want string
	}{
		{519, "UDP"},
		{800, "UDP"},
		{1200, "TCP"},
	} {
		t.Run(fmt.Sprint(tc.body), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				var logs bytes.Buffer
				var mu sync.Mutex
				s := &publishertest.Doer{}
				p, cancel, done := start(t, s, Options{Proxy: "sip:127.0.0.1:5060;transport=udp",
					Logger: slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))})
				p.SetTimeline([]Entry{{Start: t0, End: t0.Add(time.Hour), Body: typicalPIDF("sip:alice@example.com", tc.body)}})
				if _, err := s.Wait(t.Context(), 1); err != nil {
					t.Fatal(err)
				}
				cancel()
				<-done
				got := s.Requests()
				if got[0].Transport != tc.want {
					t.Errorf("PUBLISH with a %d-byte body went over %s, want %s", tc.body, got[0].Transport, tc.want)
				}
				if last := got[len(got)-1]; last.Transport != "UDP" {
					t.Errorf("removal (no body) went over %s, want UDP", last.Transport)
				}
				mu.Lock()
				defer mu.Unlock()
				if told := strings.Count(logs.String(), "too large for udp"); told != map[string]int{"UDP": 0, "TCP": 1}[tc.want] {
					t.Errorf("switch to tcp logged %d times, want once if it happened:\n%s", told, logs.String())
				}
			})
		})
	}
}

// datagramServer is a UDP-only SIP server on 127.0.0.1 that answers every
// request 200 with an ETag and records the size of each datagram.
type datagramServer struct {
	addr  string
	sizes chan int
}

func startDatagramServer(t *testing.T) *datagramServer {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d := &datagramServer{addr: pc.LocalAddr().String(), sizes: make(chan int, 100)}
	stopped := make(chan struct{})
	t.Cleanup(func() { pc.Close(); <-stopped })
	go func() {
		defer close(stopped)
		buf := make([]byte, 65536)
		for n := 1; ; n++ {
			k, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			msg, err := sip.ParseMessage(append([]byte(nil), buf[:k]...))
			req, isReq := msg.(*sip.Request)
			if err != nil || !isReq {
				continue
			}
			d.sizes <- k
			pc.WriteTo([]byte(ok(req, n).String()), from)
		}
	}()
	return d
}

// sizing records what the Publisher computes as each request's wire size.
type sizing struct {
	c     *Client
	p     *Publisher
	mu    sync.Mutex
	sizes []int
}

func (s *sizing) Do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	s.mu.Lock()
	s.sizes = append(s.sizes, s.p.wireSize(req))
	s.mu.Unlock()
	return s.c.Do(ctx, req)
}

func (s *sizing) sentBy() (string, string) { return s.c.sentBy() }

// TestWireSizeOnTheWire compares the size the Publisher decides by with the
// datagrams sipgo really sends: the Via and User-Agent it adds are
// accounted for (up to the digits of the local port).
func TestWireSizeOnTheWire(t *testing.T) {
	srv := startDatagramServer(t)
	var logs testserver.SafeBuffer
	sz := &sizing{c: newClient(t)}
	sz.p = New(sz, Options{AOR: "sip:alice@example.com", Proxy: "sip:" + srv.addr + ";transport=udp",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sz.p.Run(ctx) }()
	now := time.Now()
	sz.p.SetTimeline([]Entry{
		{Start: now.Add(-time.Minute), End: now.Add(time.Hour), Body: typicalPIDF("sip:alice@example.com", 519)},
	})
	var got []int
	for len(got) < 1 {
		select {
		case n := <-srv.sizes:
			got = append(got, n)
		case <-time.After(5 * time.Second):
			t.Fatalf("no PUBLISH with a 519-byte body over UDP within 5s; log:\n%s", logs.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	got = append(got, <-srv.sizes) // the removal; Run waited for its answer
	sz.mu.Lock()
	defer sz.mu.Unlock()
	if len(sz.sizes) != len(got) {
		t.Fatalf("%d requests sent, %d datagrams received", len(sz.sizes), len(got))
	}
	for i, n := range got {
		if d := sz.sizes[i] - n; d < 0 || d > 4 {
			t.Errorf("request %d: wireSize = %d, datagram %d bytes; want equal up to the port's digits", i, sz.sizes[i], n)
		}
	}
	t.Logf("519-byte body: %d bytes on the wire (limit %d); removal %d bytes", got[0], maxUDP, got[1])
}

// TestUDPOnlyServerTooLarge: a message over 1300 bytes must go over TCP
// (RFC 3261 §18.1.1) even with transport=udp; a UDP-only server then never
// gets it, and the log says why.
func TestUDPOnlyServerTooLarge(t *testing.T) {
	srv := startDatagramServer(t)
	var logs testserver.SafeBuffer
	p := New(newClient(t), Options{AOR: "sip:alice@example.com", Proxy: "sip:" + srv.addr + ";transport=udp",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	now := time.Now()
	p.SetTimeline([]Entry{{Start: now.Add(-time.Minute), End: now.Add(time.Hour), Body: typicalPIDF("sip:alice@example.com", 1200)}})
	deadline := time.After(5 * time.Second)
	for p.LastError() == nil {
		select {
		case n := <-srv.sizes:
			t.Fatalf("a %d-byte datagram arrived, want none (over 1300 bytes)", n)
		case <-deadline:
			t.Fatalf("no error within 5s; log:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	<-done
	for _, want := range []string{"too large for udp; sending it over tcp", "too large for udp, and tcp failed"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

// TestKamailioUDPOnly is issue 15's UDP-only PBX: a PUBLISH with a normal
// PIDF body goes over UDP and is accepted.
func TestKamailioUDPOnly(t *testing.T) {
	k := testserver.StartKamailio(t, testserver.KamailioOptions{UDPOnly: true})
	aor := "sip:udponly@example.com"
	w := newWatcher(t, k, aor)
	d := &recordingDoer{d: newClient(t)}
	p, stop := runPublisher(t, d, Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=udp"})
	now := time.Now()
	body := typicalPIDF(aor, 519)
	p.SetTimeline([]Entry{{Start: now.Add(-time.Minute), End: now.Add(time.Hour), Body: body}})
	w.waitFor(t, "with the published document", 10*time.Second, contains("calpresence-1", "<note>mmm"))
	if err := stop(); err != nil {
		t.Errorf("Run() = %v, want nil", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.codes) < 2 || d.codes[0] != 200 || d.codes[len(d.codes)-1] != 200 {
		t.Errorf("answers %v, want 200 to the PUBLISH and to the removal", d.codes)
	}
}
