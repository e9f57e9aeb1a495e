package calendar

import (
	"fmt"
	"reflect"
	"testing"
)

// TestRuleCacheSameOptions reads rules through one cache, each twice and
// after rules that share its parts other than COUNT and UNTIL, and
// compares every result with a read without the cache.
func TestRuleCacheSameOptions(t *testing.T) {
	rules := []string{
		"FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=5", "FREQ=WEEKLY;COUNT=7", "COUNT=3;FREQ=WEEKLY",
		"FREQ=WEEKLY;UNTIL=20260101T000000Z", "FREQ=WEEKLY;UNTIL=20270101;COUNT=2",
		"COUNT=5", "COUNT=5;COUNT=6;FREQ=DAILY", "FREQ=DAILY;COUNT=abc", "FREQ=DAILY;COUNT=0",
		"FREQ=DAILY;COUNT=-2", "FREQ=DAILY;COUNT=+4", "FREQ=DAILY;COUNT=", "FREQ=BIWEEKLY;COUNT=3",
		"FREQ=MONTHLY;BYDAY=MO,MO,TU;COUNT=4", "FREQ=MONTHLY;BYDAY=MO,MO,TU", "FREQ=YEARLY;INTERVAL=-1;COUNT=2",
		"FREQ=DAILY;UNTL=20260101;COUNT=9", "freq=daily;count=9;x-foo=1", "FREQ=DAILY;BYHOUR=9,9;COUNT=9",
		"FREQ=DAILY;UNTIL=2026", ";;FREQ=DAILY;COUNT=1;;", "FREQ=DAILY;COUNT=2;BYDAY=MO", "FREQ=DAILY;BYDAY=MO;COUNT=4",
		"COUNT=6;FREQ=DAILY;BYDAY=MO", " count = 3 ; freq = daily ",
	}
	cache := ruleCache{}
	for round := range 2 {
		for _, v := range rules {
			wantOpt, wantUntil, wantNotes, wantErr := ruleOption(v)
			gotOpt, gotUntil, gotNotes, gotErr := ruleOptionIn(v, cache)
			want := fmt.Sprintf("%+v %v %q %v", wantOpt, wantUntil, wantNotes, wantErr)
			got := fmt.Sprintf("%+v %v %q %v", gotOpt, gotUntil, gotNotes, gotErr)
			if got != want || !reflect.DeepEqual(gotOpt, wantOpt) {
				t.Errorf("round %d, %q:\n got %s\nwant %s", round, v, got, want)
			}
			if gotOpt != nil {
				gotOpt.Byhour = append(gotOpt.Byhour, 23) // a caller's change must not reach the cache
			}
		}
	}
	if len(cache) >= len(rules) {
		t.Errorf("%d entries for %d rules: COUNT is part of the key", len(cache), len(rules))
	}
}
