package publisher

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/calpresence/calpresence/publisher/publishertest"
)

// Repair sends the document in force at once: a modification with the
// body under the ETag; a server that lost the publication answers 412 and
// it is published afresh; with nothing in force it sends nothing; a repair
// is one request.
func TestRepair(t *testing.T) {
	for _, tc := range []struct {
		name    string
		handler publishertest.Handler
		body    []byte // the document in force; nil: none
		want    []sent
	}{
		{"server holds a stale version", nil, []byte("A"), []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "3600", ifMatch: "etag1", body: "A"},
			{at: t0.Add(2 * time.Minute), expires: "3600", ifMatch: "etag2", body: "A"},
			{at: t0.Add(2 * time.Minute), expires: "0", ifMatch: "etag3"},
		}},
		{"server lost it", publishertest.Sequence(publishertest.Default,
			func(req *sip.Request, n int) (*sip.Response, error) {
				return publishertest.PreconditionFailed(req), nil
			},
			publishertest.Default), []byte("A"), []sent{
			{at: t0, expires: "3600", body: "A"},
			{at: t0.Add(time.Minute), expires: "3600", ifMatch: "etag1", body: "A"},
			{at: t0.Add(time.Minute), expires: "3600", body: "A"}, // afresh
			{at: t0.Add(2 * time.Minute), expires: "3600", ifMatch: "etag3", body: "A"},
			{at: t0.Add(2 * time.Minute), expires: "0", ifMatch: "etag4"},
		}},
		{"nothing in force", nil, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				atT0()
				s := &publishertest.Doer{Handler: tc.handler}
				p, cancel, done := start(t, s, Options{})
				if tc.body != nil {
					p.SetTimeline([]Entry{{Start: t0, Body: tc.body}})
				}
				time.Sleep(time.Minute)
				p.Repair()
				synctest.Wait()
				time.Sleep(time.Minute)
				p.Repair()
				synctest.Wait()
				p.SetTimeline(nil)
				synctest.Wait()
				cancel()
				if err := <-done; err != nil {
					t.Fatalf("Run() = %v", err)
				}
				checkSent(t, sents(s), tc.want)
			})
		})
	}
}

// A repair that fails is sent again after the backoff, though the document
// did not change.
func TestRepairRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		atT0()
		s := &publishertest.Doer{Handler: publishertest.Sequence(publishertest.Default,
			func(req *sip.Request, n int) (*sip.Response, error) { return publishertest.Unavailable(req, 0), nil },
			publishertest.Default)}
		p, cancel, done := start(t, s, Options{})
		p.SetTimeline([]Entry{{Start: t0, Body: []byte("A")}})
		time.Sleep(time.Minute)
		p.Repair()
		time.Sleep(10 * time.Second)
		synctest.Wait()
		got := sents(s)
		if len(got) != 3 {
			t.Fatalf("sent %d requests, want 3 (publish, failed repair, its retry):\n%s", len(got), dump(got))
		}
		if r := got[2]; r.ifMatch != "etag1" || r.body != "A" || r.at.Before(t0.Add(time.Minute)) || r.at.After(t0.Add(time.Minute+time.Second)) {
			t.Errorf("the retried repair = %+v, want a modification with A under etag1 within the 1s backoff", r)
		}
		cancel()
		<-done
	})
}
