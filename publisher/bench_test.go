package publisher

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/calpresence/calpresence/internal/testserver"
)

// BenchmarkKamailioPublish measures modifications (SIP-If-Match + a new
// PIDF body) per second that N publishers sharing one Client get through a
// real Kamailio, and the allocations per PUBLISH on our side.
//
// Each run gets a fresh Kamailio with 1 GB of shared memory: Kamailio keeps
// every finished transaction (about 12 kB) for 5 s, so at ~10k PUBLISH/s it
// needs over 500 MB, and answers 500 when it runs out.
func BenchmarkKamailioPublish(b *testing.B) {
	for _, transport := range []string{"udp", "tcp"} {
		for _, users := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/users=%d", transport, users), func(b *testing.B) {
				k := testserver.StartKamailio(b, testserver.KamailioOptions{SharedMemMB: 1024})
				c := newClient(b)
				ctx := context.Background()
				pubs := make([]*Publisher, users)
				docs := make([][2][]byte, users)
				for i := range pubs {
					aor := fmt.Sprintf("sip:bench-%s-%d-%d@example.com", transport, users, i)
					pubs[i] = New(c, Options{AOR: aor, Proxy: "sip:" + k.Addr + ";transport=" + transport})
					docs[i] = [2][]byte{pidfDoc(aor, "calpresence-1", "open", "Available"), pidfDoc(aor, "calpresence-1", "closed", "In a meeting")}
					pubs[i].step(ctx, opPublish, state{body: docs[i][0]})
					if err := pubs[i].LastError(); err != nil || pubs[i].etag == "" {
						b.Fatalf("initial PUBLISH: %v", err)
					}
				}
				var next atomic.Int64
				var failed atomic.Value
				var wg sync.WaitGroup
				b.ReportAllocs()
				b.ResetTimer()
				for i, p := range pubs {
					wg.Go(func() {
						for n := 1; next.Add(1) <= int64(b.N); n++ {
							p.step(ctx, opModify, state{body: docs[i][n%2]})
							if err := p.LastError(); err != nil {
								failed.Store(err)
								return
							}
						}
					})
				}
				wg.Wait()
				b.StopTimer()
				if err, _ := failed.Load().(error); err != nil {
					b.Fatalf("modify: %v", err)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "publish/s")
				for _, p := range pubs {
					p.step(ctx, opRemove, state{})
				}
			})
		}
	}
}

// BenchmarkKamailioCeilingSIPp measures what Kamailio itself can take, with
// SIPp sending the same kind of PUBLISHes (1 initial, 4 modifications, 1
// removal per presentity) as fast as it can: b.N is the number of
// presentities.
func BenchmarkKamailioCeilingSIPp(b *testing.B) {
	scenario, _ := filepath.Abs("testdata/sipp/publish.xml")
	for _, tc := range []struct{ transport, flag string }{{"udp", "u1"}, {"tcp", "t1"}} {
		b.Run(tc.transport, func(b *testing.B) {
			k := testserver.StartKamailio(b, testserver.KamailioOptions{SharedMemMB: 1024})
			b.ResetTimer()
			took, _ := testserver.RunSIPp(b, scenario, k.Addr,
				"-m", strconv.Itoa(b.N), "-r", "100000", "-rp", "1000", "-l", "64", "-t", tc.flag)
			b.StopTimer()
			b.ReportMetric(float64(6*b.N)/took.Seconds(), "publish/s")
		})
	}
}
