// Package clock is the one source of time for the agent, the poll
// scheduler and the publisher, so that a whole pipeline can run on the real
// clock, on a clock that runs N times faster (calpresence demo -speed N),
// or inside a testing/synctest bubble, without any of them knowing which.
package clock

import "time"

// Clock tells the time and makes timers that fire by it.
type Clock interface {
	// Now is the clock's wall time. On the real clock it carries a
	// monotonic reading, as time.Now does.
	Now() time.Time
	// AfterFunc calls f in its own goroutine once d of the clock's time
	// has passed.
	AfterFunc(d time.Duration, f func()) Timer
	// NewTimer returns a timer whose channel receives once d of the
	// clock's time has passed.
	NewTimer(d time.Duration) Timer
}

// Timer is a time.Timer on some Clock.
type Timer interface {
	// C is the channel the timer sends on; nil for AfterFunc timers.
	C() <-chan time.Time
	// Stop and Reset behave as time.Timer's, with d in the clock's time.
	Stop() bool
	Reset(d time.Duration) bool
}

// Real is the machine's clock: time.Now and the time package's timers.
// Inside a testing/synctest bubble it is the bubble's fake clock.
var Real Clock = realClock{}

// Or returns c, or Real when c is nil, so that a zero options struct
// means the real clock.
func Or(c Clock) Clock {
	if c == nil {
		return Real
	}
	return c
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer {
	return &timer{t: time.AfterFunc(d, f)}
}

func (realClock) NewTimer(d time.Duration) Timer {
	t := time.NewTimer(d)
	return &timer{t: t, c: t.C}
}

// timer adapts a time.Timer, scaling durations by div (0 or 1: none).
type timer struct {
	t   *time.Timer
	c   <-chan time.Time
	div float64
}

func (t *timer) C() <-chan time.Time { return t.c }
func (t *timer) Stop() bool          { return t.t.Stop() }
func (t *timer) Reset(d time.Duration) bool {
	return t.t.Reset(scale(d, t.div))
}

func scale(d time.Duration, div float64) time.Duration {
	if div <= 1 {
		return d
	}
	return time.Duration(float64(d) / div)
}

// Scaled is a clock that reads start at the moment it is made and then
// runs speed times faster than the real clock: a timer for an hour fires
// after an hour / speed of real time. A speed of 1 or less is real speed.
type Scaled struct {
	start  time.Time // the scaled clock's reading at origin
	origin time.Time // time.Now() when the clock was made; Since reads its monotonic part
	speed  float64
}

// NewScaled returns a clock that reads start now and runs speed times
// faster than real time.
func NewScaled(start time.Time, speed float64) *Scaled {
	if speed < 1 {
		speed = 1
	}
	return &Scaled{start: start.Round(0), origin: time.Now(), speed: speed}
}

// Now is start plus the real time elapsed since the clock was made, times
// speed.
func (s *Scaled) Now() time.Time {
	return s.start.Add(time.Duration(float64(time.Since(s.origin)) * s.speed))
}

// Speed is how many times faster than real time the clock runs.
func (s *Scaled) Speed() float64 { return s.speed }

// AfterFunc calls f after d of scaled time.
func (s *Scaled) AfterFunc(d time.Duration, f func()) Timer {
	return &timer{t: time.AfterFunc(scale(d, s.speed), f), div: s.speed}
}

// NewTimer fires after d of scaled time.
func (s *Scaled) NewTimer(d time.Duration) Timer {
	t := time.NewTimer(scale(d, s.speed))
	return &timer{t: t, c: t.C, div: s.speed}
}
