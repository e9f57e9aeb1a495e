package calendar

import (
	"cmp"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// occRec is an occurrence before sorting: small and free of pointers, so
// that sorting and storing moves little memory and the garbage collector
// need not scan it; the Occurrence values are laid out once, in order.
type occRec struct {
	start, end, recID int64 // Unix seconds (iCalendar has no finer times); recID 0: none
	det               int32 // its Details, by number in its part
	hasRecID          bool
}

// recBlock is how many records one block of a part holds. Records go
// into blocks rather than one growing slice, so that none is copied as
// the list grows: regrowing it was a fifth of the bytes an expansion
// allocated (BenchmarkParseExpand5k).
const recBlock = 512

var blockPool = sync.Pool{New: func() any { return new([recBlock]occRec) }}

// part is the expansion of a run of consecutive events: its records, the
// Details they refer to (and the line of each one's event, the last sort
// key), and its warnings, all in event order.
type part struct {
	blocks   []*[recBlock]occRec
	n        int
	dets     []*Details
	lines    []int
	warnings []Warning
}

func (p *part) add(r occRec) {
	if p.n%recBlock == 0 {
		p.blocks = append(p.blocks, blockPool.Get().(*[recBlock]occRec))
	}
	p.blocks[p.n/recBlock][p.n%recBlock] = r
	p.n++
}

func (p *part) rec(i int) *occRec { return &p.blocks[i/recBlock][i%recBlock] }

// release returns the part's blocks to the pool.
func (p *part) release() {
	for _, b := range p.blocks {
		blockPool.Put(b)
	}
	p.blocks = nil
}

// partEvents is how many events one part has. Parts are what workers
// take in turn, so they are small enough to share the work out evenly
// and big enough that taking one costs nothing in comparison.
const partEvents = 256

// expandParts expands the events into parts of partEvents events each,
// on up to GOMAXPROCS workers when there are several parts. What each
// part holds does not depend on which worker expanded it or when.
func expandParts(events []*Event, proto expander) []part {
	parts := make([]part, (len(events)+partEvents-1)/partEvents)
	run := func(x *expander, i int) {
		x.p = &parts[i]
		for _, e := range events[i*partEvents : min((i+1)*partEvents, len(events))] {
			if e != nil {
				x.event(e)
			}
		}
	}
	workers := min(runtime.GOMAXPROCS(0), len(parts))
	if workers <= 1 {
		x := proto
		x.cands = *candScratch.Get().(*[]candidate)
		for i := range parts {
			run(&x, i)
		}
		x.releaseCands()
		return parts
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		panicMu sync.Mutex
		panicV  any
	)
	for range workers {
		wg.Go(func() {
			x := proto
			x.cands = *candScratch.Get().(*[]candidate)
			defer func() {
				// A panic belongs to the caller of Expand, as it would
				// without workers, not to a goroutine nobody can recover.
				if r := recover(); r != nil {
					panicMu.Lock()
					if panicV == nil {
						panicV = r
					}
					panicMu.Unlock()
					next.Store(int64(len(parts)))
				}
			}()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(parts) {
					break
				}
				run(&x, i)
			}
			x.releaseCands()
		})
	}
	wg.Wait()
	if panicV != nil {
		for i := range parts {
			parts[i].release()
		}
		panic(fmt.Sprintf("calendar: Expand: %v", panicV))
	}
	return parts
}

// merge lays out the parts' occurrences sorted by start, UID, end,
// recurrence instant and the line of their event, times in loc, and
// collects the warnings in event order. Records equal in all of these
// keep the order of their events.
//
// The sort is of one uint64 per occurrence: the start (from the
// earliest), the UID's rank among the UIDs and the record's number, one
// after the other, when they fit in 64 bits (a window of a century and a
// million UIDs and records do); ties of start and UID, rare, are then
// sorted by the other keys. Sorting the records with a comparison
// function instead was a fifth of the time of a parse+expand.
func merge(parts []part, loc *time.Location) ([]Occurrence, []Warning) {
	return mergeSorted(parts, loc, true)
}

// mergeSorted is merge, with packed false sorting every record with the
// comparison function (as when the keys do not fit in 64 bits).
func mergeSorted(parts []part, loc *time.Location, packed bool) ([]Occurrence, []Warning) {
	var warnings []Warning
	n, ndets, maxPart := 0, 0, 0
	for i := range parts {
		warnings = append(warnings, parts[i].warnings...)
		n += parts[i].n
		ndets += len(parts[i].dets)
		maxPart = max(maxPart, parts[i].n)
	}
	out := make([]Occurrence, n)
	if n == 0 {
		return out, warnings
	}

	// The dense rank of each Details' UID; detBase[i] numbers part i's
	// first Details.
	detBase := make([]int, len(parts))
	all := make([]*Details, 0, ndets)
	for i := range parts {
		detBase[i] = len(all)
		all = append(all, parts[i].dets...)
	}
	byUID := make([]int32, ndets)
	for i := range byUID {
		byUID[i] = int32(i)
	}
	slices.SortFunc(byUID, func(a, b int32) int { return strings.Compare(all[a].UID, all[b].UID) })
	rank := make([]uint32, ndets)
	var r uint32
	for i, d := range byUID {
		if i > 0 && all[d].UID != all[byUID[i-1]].UID {
			r++
		}
		rank[d] = r
	}

	// Records are numbered through the parts, in order: partStart[i] is
	// part i's first.
	partStart := make([]int, len(parts)+1)
	for i := range parts {
		partStart[i+1] = partStart[i] + parts[i].n
	}
	indexBits := bits.Len(uint(n - 1))
	rec := func(k uint64) (*occRec, int) {
		idx := int(k & (1<<indexBits - 1))
		pi := sort.Search(len(parts), func(i int) bool { return partStart[i+1] > idx })
		return parts[pi].rec(idx - partStart[pi]), pi
	}
	minStart, maxStart := parts[0].rec(0).start, parts[0].rec(0).start
	for i := range parts {
		for j := range parts[i].n {
			s := parts[i].rec(j).start
			minStart, maxStart = min(minStart, s), max(maxStart, s)
		}
	}
	// The keys after start and UID, the record's number last.
	rest := func(a, b uint64) int {
		ra, pa := rec(a)
		rb, pb := rec(b)
		if c := cmp.Compare(ra.end, rb.end); c != 0 {
			return c
		}
		if c := cmp.Compare(ra.recID, rb.recID); c != 0 {
			return c
		}
		if c := cmp.Compare(parts[pa].lines[ra.det], parts[pb].lines[rb.det]); c != 0 {
			return c
		}
		return cmp.Compare(a&(1<<indexBits-1), b&(1<<indexBits-1))
	}
	keys, tmp := getKeys(n), getKeys(n)
	defer putKeys(keys[:0], tmp) // both, whichever ends up holding the result
	rankBits := bits.Len32(r)
	startBits := bits.Len64(uint64(maxStart) - uint64(minStart))
	if packed && startBits+rankBits+indexBits <= 64 {
		for i := range parts {
			p := &parts[i]
			for j := range p.n {
				rc := p.rec(j)
				keys = append(keys, (uint64(rc.start)-uint64(minStart))<<(rankBits+indexBits)|
					uint64(rank[detBase[i]+int(rc.det)])<<indexBits|uint64(partStart[i]+j))
			}
		}
		keys = radixSort(keys, tmp[:n], indexBits, indexBits+rankBits+startBits)
		for i := 0; i < len(keys); {
			j := i + 1
			for j < len(keys) && keys[j]>>indexBits == keys[i]>>indexBits {
				j++
			}
			if j-i > 1 {
				slices.SortFunc(keys[i:j], rest)
			}
			i = j
		}
	} else {
		for i := range n {
			keys = append(keys, uint64(i))
		}
		slices.SortFunc(keys, func(a, b uint64) int {
			ra, pa := rec(a)
			rb, pb := rec(b)
			if c := cmp.Compare(ra.start, rb.start); c != 0 {
				return c
			}
			if c := cmp.Compare(rank[detBase[pa]+int(ra.det)], rank[detBase[pb]+int(rb.det)]); c != 0 {
				return c
			}
			return rest(a, b)
		})
	}

	// Each record goes to its place: reading the records in their order
	// and writing the occurrences out of it, rather than the reverse,
	// spares a cache miss per record that the CPU must wait for (at
	// 50,000 events the records are 23 MB).
	place := tmp[:n] // tmp is free again; keys may be its array: then keys is not tmp
	if &place[0] == &keys[0] {
		place = getKeys(n)[:n]
		defer putKeys(place[:0])
	}
	for i, k := range keys {
		place[k&(1<<indexBits-1)] = uint64(i)
	}
	layout := func(pi int) {
		p := &parts[pi]
		g := partStart[pi]
		for j := range p.n {
			rc := p.rec(j)
			o := &out[place[g]]
			g++
			o.Details = p.dets[rc.det]
			o.Start = time.Unix(rc.start, 0).In(loc)
			o.End = time.Unix(rc.end, 0).In(loc)
			if rc.hasRecID {
				o.RecurrenceID = time.Unix(rc.recID, 0).In(loc)
			}
		}
	}
	// The parts write disjoint occurrences: on workers, as many as
	// there are for a big expansion, where this was a tenth of the time.
	if workers := min(runtime.GOMAXPROCS(0), len(parts)); workers > 1 && n >= layoutParallel {
		var (
			next atomic.Int64
			wg   sync.WaitGroup
		)
		for range workers {
			wg.Go(func() {
				for pi := int(next.Add(1) - 1); pi < len(parts); pi = int(next.Add(1) - 1) {
					layout(pi)
				}
			})
		}
		wg.Wait()
	} else {
		for pi := range parts {
			layout(pi)
		}
	}
	for i := range parts {
		parts[i].release()
	}
	return out, warnings
}

// layoutParallel is the fewest occurrences laid out on workers.
const layoutParallel = 8192

// radixSort sorts keys by their bits from lo to hi, least significant
// digit first; keys equal in those bits keep their order. It returns
// keys or tmp, a scratch list as long, whichever holds the result. On
// the keys of a year of a big calendar it takes a fifth of the time of
// slices.Sort, which cannot know that the lowest bits are in order.
func radixSort(keys, tmp []uint64, lo, hi int) []uint64 {
	const digit = 11
	const mask = 1<<digit - 1
	var count [1 << digit]int
	src, dst := keys, tmp
	for shift := lo; shift < hi; shift += digit {
		clear(count[:])
		for _, k := range src {
			count[(k>>shift)&mask]++
		}
		if count[(src[0]>>shift)&mask] == len(src) {
			continue // one digit for all: nothing moves
		}
		sum := 0
		for i, c := range count {
			count[i] = sum
			sum += c
		}
		for _, k := range src {
			d := (k >> shift) & mask
			dst[count[d]] = k
			count[d]++
		}
		src, dst = dst, src
	}
	return src
}

// keyPool keeps the sort keys of an expansion for the next one.
var keyPool sync.Pool

func getKeys(n int) []uint64 {
	if p, ok := keyPool.Get().(*[]uint64); ok && cap(*p) >= n {
		return (*p)[:0]
	}
	return make([]uint64, 0, n)
}

func putKeys(lists ...[]uint64) {
	for _, k := range lists {
		k = k[:0]
		keyPool.Put(&k)
	}
}
