package publishertest

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"
)

func publish(etag string, body []byte) *sip.Request {
	aor := sip.Uri{Scheme: "sip", User: "alice", Host: "example.com"}
	req := sip.NewRequest(sip.PUBLISH, aor)
	req.AppendHeader(sip.NewHeader("Event", "presence"))
	req.AppendHeader(sip.NewHeader("Expires", "600"))
	if etag != "" {
		req.AppendHeader(sip.NewHeader("SIP-If-Match", etag))
	}
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", "application/pidf+xml"))
	}
	req.SetBody(body)
	req.SetTransport("UDP")
	req.SetDestination("127.0.0.1:5060")
	return req
}

func TestSequenceAndRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		d := &Doer{Handler: Sequence(
			func(req *sip.Request, n int) (*sip.Response, error) { return nil, ErrTransport },
			func(req *sip.Request, n int) (*sip.Response, error) { return IntervalTooBrief(req, 900), nil },
			Default,
		)}
		ctx := context.Background()
		if _, err := d.Do(ctx, publish("", []byte("<presence/>"))); !errors.Is(err, ErrTransport) {
			t.Errorf("Do #1 error = %v, want ErrTransport", err)
		}
		time.Sleep(time.Second)
		res, err := d.Do(ctx, publish("", []byte("<presence/>")))
		if err != nil || res.StatusCode != 423 || res.GetHeader("Min-Expires").Value() != "900" {
			t.Errorf("Do #2 = %v, %v, want 423 with Min-Expires 900", res, err)
		}
		for n := 3; n <= 4; n++ {
			res, err = d.Do(ctx, publish("etag1", nil))
			if err != nil || res.StatusCode != 200 || res.GetHeader("Expires").Value() != "600" {
				t.Errorf("Do #%d = %v, %v, want 200 with Expires 600", n, res, err)
			}
		}
		if got := res.GetHeader("SIP-ETag").Value(); got != "etag4" {
			t.Errorf("SIP-ETag of request 4 = %q, want etag4", got)
		}
		rs := d.Requests()
		if len(rs) != 4 {
			t.Fatalf("Requests() has %d, want 4", len(rs))
		}
		r1, r2, r3 := rs[0], rs[1], rs[2]
		if r1.N != 1 || r1.Method != "PUBLISH" || r1.Event != "presence" || r1.Expires != "600" || r1.IfMatch != "" ||
			r1.ContentType != "application/pidf+xml" || r1.Body != "<presence/>" || r1.Transport != "UDP" || r1.Destination != "127.0.0.1:5060" {
			t.Errorf("request 1 = %+v", r1)
		}
		if d := r2.At.Sub(r1.At); d != time.Second {
			t.Errorf("request 2 at +%v, want +1s", d)
		}
		if r3.IfMatch != "etag1" || r3.Body != "" || r3.ContentType != "" {
			t.Errorf("request 3 = %+v, want If-Match etag1 and no body", r3)
		}
	})
}

func TestWaitAndCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		d := &Doer{Handler: func(req *sip.Request, n int) (*sip.Response, error) {
			<-release
			return OK(req, "late"), nil
		}}
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := d.Do(ctx, publish("", []byte("x")))
			errc <- err
		}()
		if rs, err := d.Wait(context.Background(), 1); err != nil || len(rs) != 1 {
			t.Fatalf("Wait(1) = %d requests, %v", len(rs), err)
		}
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("Do after cancel = %v, want context.Canceled", err)
		}
		close(release)
		wctx, wcancel := context.WithTimeout(context.Background(), time.Second)
		defer wcancel()
		if _, err := d.Wait(wctx, 2); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Wait(2) with one request = %v, want DeadlineExceeded", err)
		}
	})
}
