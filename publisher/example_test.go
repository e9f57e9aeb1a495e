package publisher_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/calpresence/calpresence/publisher"
	"github.com/calpresence/calpresence/publisher/publishertest"
)

// A Publisher follows a timeline until its context is done, then removes
// the publication. In production the Doer is a *publisher.Client (sipgo);
// here it is a publishertest.Doer, which records what would go on the wire.
func Example() {
	d := &publishertest.Doer{} // or: d, err := publisher.NewClient(publisher.ClientOptions{})
	p := publisher.New(d, publisher.Options{
		AOR:      "sip:alice@example.com",
		Proxy:    "sip:127.0.0.1:5060;transport=udp", // optional; else RFC 3263 on example.com
		Username: "alice",
		Password: func(ctx context.Context) (string, error) { return "secret", nil },
		Expires:  time.Hour,
		Grace:    2 * time.Minute,
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }() // until ctx is done; then removes the publication

	now := time.Now()
	p.SetTimeline([]publisher.Entry{ // again whenever the timeline changes
		{Start: now.Add(-time.Minute), End: now.Add(2 * time.Hour), Body: []byte(`<presence entity="sip:alice@example.com"/>`)},
	})
	if _, err := d.Wait(ctx, 1); err != nil { // the initial PUBLISH
		log.Fatal(err)
	}
	cancel()
	if err := <-done; err != nil {
		log.Fatal(err)
	}

	for _, r := range d.Requests() {
		fmt.Printf("%s %s Event: %s Expires: %s SIP-If-Match: %q Content-Type: %q\n  body %q\n",
			r.Method, r.Transport, r.Event, r.Expires, r.IfMatch, r.ContentType, r.Body)
	}
	// Output:
	// PUBLISH UDP Event: presence Expires: 3600 SIP-If-Match: "" Content-Type: "application/pidf+xml"
	//   body "<presence entity=\"sip:alice@example.com\"/>"
	// PUBLISH UDP Event: presence Expires: 0 SIP-If-Match: "etag1" Content-Type: ""
	//   body ""
}
