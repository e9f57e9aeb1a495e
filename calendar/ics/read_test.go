package ics

import (
	"errors"
	"strings"
	"testing"
	"testing/iotest"
)

// TestReadLimitedSizeHint reads bodies with size hints that are right,
// short (the file grew), long (it shrank) or missing, within and over the
// limit, in small reads.
func TestReadLimitedSizeHint(t *testing.T) {
	body := strings.Repeat("BEGIN:VEVENT\r\n", 300) // 4,200 bytes
	n := int64(len(body))
	for _, tc := range []struct {
		name      string
		max, size int64
		tooLarge  bool
	}{
		{"exact", n, n, false},
		{"no hint", n, 0, false},
		{"unknown", n, -1, false},
		{"short hint", n, n / 3, false},
		{"long hint", 2 * n, n + 1000, false},
		{"hint over the limit", n + 10, n + 11, false},
		{"over the limit, exact hint", n - 1, n - 1, true},
		{"over the limit, short hint", n - 1, 10, true},
		{"over the limit, no hint", n - 1, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readLimited(iotest.HalfReader(strings.NewReader(body)), tc.max, tc.size)
			if tc.tooLarge {
				if !errors.Is(err, errTooLarge) {
					t.Fatalf("err = %v, want errTooLarge", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != body {
				t.Fatalf("read %d bytes, want the %d of the body", len(got), n)
			}
		})
	}
	if _, err := readLimited(iotest.TimeoutReader(strings.NewReader(body)), n, n); !errors.Is(err, iotest.ErrTimeout) {
		t.Errorf("a failing read: err = %v, want %v", err, iotest.ErrTimeout)
	}
}
