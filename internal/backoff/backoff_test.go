package backoff

import (
	"testing"
	"time"
)

func TestCeiling(t *testing.T) {
	p := Policy{Min: time.Second, Max: 5 * time.Minute}
	for _, tc := range []struct {
		failures int
		want     time.Duration
	}{
		{0, 0}, {-1, 0}, {1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second},
		{9, 256 * time.Second}, {10, 5 * time.Minute}, {1000, 5 * time.Minute},
	} {
		if got := p.Ceiling(tc.failures); got != tc.want {
			t.Errorf("Ceiling(%d) = %v, want %v", tc.failures, got, tc.want)
		}
	}
	if got := (Policy{Min: time.Minute, Max: time.Second}).Ceiling(3); got != time.Minute {
		t.Errorf("Ceiling with Max < Min = %v, want Min (1m)", got)
	}
}

func TestDelayWithinUpperHalf(t *testing.T) {
	p := Policy{Min: 100 * time.Millisecond, Max: 10 * time.Second}
	for failures := 1; failures < 12; failures++ {
		c := p.Ceiling(failures)
		seen := map[time.Duration]bool{}
		for range 200 {
			d := p.Delay(failures)
			if d < c/2 || d > c {
				t.Fatalf("Delay(%d) = %v, want within [%v, %v]", failures, d, c/2, c)
			}
			seen[d] = true
		}
		if len(seen) < 2 {
			t.Errorf("Delay(%d) gave one value in 200 draws: no jitter", failures)
		}
	}
}
