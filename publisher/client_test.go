package publisher

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// A server that accepts a TCP connection and then stops reading (an
// overloaded Kamailio whose TCP reader is busy) fills the socket buffers;
// every further write blocks. Client.Do must still return when its context
// ends, or a daemon with thousands of requests in flight never finishes its
// shutdown (the 50,000-user benchmark hung so, with 9,089 requests stuck).
func TestClientDoReturnsWhenServerStopsReading(t *testing.T) {
	ln := deafServer(t)
	c := newClient(t)
	// Enough data to fill both ends' buffers many times over on loopback.
	body := bytes.Repeat([]byte("x"), 256<<10)
	const n = 64
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := time.Now()
	for range n {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			req := sip.NewRequest(sip.PUBLISH, sip.Uri{Scheme: "sip", User: "stall", Host: "example.com"})
			req.AppendHeader(sip.NewHeader("Event", "presence"))
			req.AppendHeader(sip.NewHeader("Content-Type", "application/pidf+xml"))
			req.SetBody(body)
			req.SetTransport("TCP")
			req.SetDestination(ln)
			// Any error will do (the context's, a write's), as long as it
			// comes in time.
			if _, err := c.Do(ctx, req); err == nil {
				errs <- errors.New("an answer from a server that sends none")
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("Client.Do still blocked %v after its 500ms contexts ended", time.Since(start).Round(time.Millisecond))
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("the requests took %v to give up; their contexts ended after 500ms", took)
	}
}

// The same from the daemon's side: publishers whose requests are stuck in
// a connection the server does not read finish within the contract's 5s
// of their context ending (SIGTERM).
func TestPublishersStopWhenServerStopsReading(t *testing.T) {
	addr := deafServer(t)
	c := newClient(t)
	body := bytes.Repeat([]byte("x"), 256<<10)
	now := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	for i := range 32 {
		p := New(c, Options{AOR: "sip:stall" + strconv.Itoa(i) + "@example.com", Proxy: "sip:" + addr + ";transport=tcp"})
		p.SetTimeline([]Entry{{Start: now.Add(-time.Minute), End: now.Add(time.Hour), Body: body}})
		wg.Go(func() { p.Run(ctx) })
	}
	time.Sleep(time.Second) // the buffers fill; every publisher waits on a write
	cancel()
	stopped := time.Now()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("publishers still running 10s after their context ended")
	}
	if took := time.Since(stopped); took > 5*time.Second {
		t.Errorf("publishers took %v to stop; the contract allows 5s", took)
	}
}

// deafServer listens on a loopback TCP port, accepts connections and never
// reads from them, until t ends; it returns the address.
func deafServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}
