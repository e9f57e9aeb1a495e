package clock

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestScaledRunsFaster(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
		c := NewScaled(start, 60)
		if got := c.Now(); !got.Equal(start) {
			t.Fatalf("Now() = %v, want %v", got, start)
		}
		time.Sleep(time.Second)
		if got, want := c.Now(), start.Add(time.Minute); !got.Equal(want) {
			t.Errorf("after 1s real: Now() = %v, want %v", got, want)
		}
		tm := c.NewTimer(time.Hour)
		began := time.Now()
		<-tm.C()
		if got := time.Since(began); got != time.Minute {
			t.Errorf("an hour's timer at speed 60 took %v real, want 1m", got)
		}
		fired := make(chan time.Time, 1)
		c.AfterFunc(30*time.Minute, func() { fired <- c.Now() })
		tm.Reset(2 * time.Hour)
		at := <-fired
		// 61 s of real time so far is 61 min; 30 min more fire at 1h31m.
		if want := start.Add(91 * time.Minute); !at.Equal(want) {
			t.Errorf("AfterFunc(30m) fired at %v, want %v", at, want)
		}
		<-tm.C()
		if got, want := c.Now(), start.Add(61*time.Minute+2*time.Hour); !got.Equal(want) {
			t.Errorf("after Reset(2h): Now() = %v, want %v", got, want)
		}
	})
}

func TestRealIsTimePackage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Or(nil)
		before := time.Now()
		tm := c.NewTimer(time.Minute)
		<-tm.C()
		if got := c.Now().Sub(before); got != time.Minute {
			t.Errorf("real timer of 1m took %v", got)
		}
		if tm.Stop() {
			t.Error("Stop() after firing = true, want false")
		}
		if c.AfterFunc(time.Second, func() {}).C() != nil {
			t.Error("AfterFunc timer has a channel, want nil")
		}
	})
}
