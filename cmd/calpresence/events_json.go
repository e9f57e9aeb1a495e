package main

import (
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/calpresence/calpresence/calendar"
)

// jsonChunk is how many occurrences one piece of the `events -json`
// output holds: a piece is what a worker encodes and the writer writes in
// one go (about 400 KB).
const jsonChunk = 1024

// writeEventsJSON writes the contract's `events -json`: calendar's one JSON
// form of each occurrence, its contract fields, times in zone. The
// occurrences go straight into buffers (the same bytes writeJSON wrote for
// the []OccurrenceJSON, for a small part of the time and memory), a piece
// of jsonChunk occurrences each, encoded on up to GOMAXPROCS workers and
// written in order: encoding was a sixth of the whole process's time for
// a year of 5,000 events, on one core while the other idled.
func writeEventsJSON(w io.Writer, occs []calendar.Occurrence, zone *time.Location) error {
	if len(occs) == 0 {
		_, err := io.WriteString(w, "[]\n")
		return err
	}
	pieces := (len(occs) + jsonChunk - 1) / jsonChunk
	encode := func(i int, b []byte) []byte {
		for j := i * jsonChunk; j < min((i+1)*jsonChunk, len(occs)); j++ {
			if j > 0 {
				b = append(b, ",\n"...)
			}
			b = occs[j].AppendContractJSON(b, zone)
		}
		return b
	}
	if _, err := io.WriteString(w, "[\n"); err != nil {
		return err
	}
	workers := min(runtime.GOMAXPROCS(0), pieces)
	if workers <= 1 {
		var b []byte
		for i := range pieces {
			b = encode(i, b[:0])
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
	} else if err := writePieces(w, pieces, workers, encode); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n]\n")
	return err
}

// writePieces has workers encode pieces 0 to n-1 and writes them to w in
// order. At most two pieces a worker are encoded ahead of the writer, so
// the memory held follows the workers, not the output; after a failed
// write the workers stop at their next piece.
func writePieces(w io.Writer, n, workers int, encode func(i int, b []byte) []byte) error {
	done := make([]chan []byte, n)
	for i := range done {
		done[i] = make(chan []byte, 1)
	}
	ahead := make(chan struct{}, 2*workers) // a token per piece in flight
	free := make(chan []byte, 2*workers)    // written pieces' buffers
	stop := make(chan struct{})
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				select {
				case ahead <- struct{}{}:
				case <-stop:
					return
				}
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				var b []byte
				select {
				case b = <-free:
				default:
				}
				done[i] <- encode(i, b[:0])
			}
		})
	}
	var err error
	for i := 0; i < n && err == nil; i++ {
		b := <-done[i]
		_, err = w.Write(b)
		<-ahead
		select {
		case free <- b:
		default:
		}
	}
	close(stop)
	wg.Wait()
	return err
}
