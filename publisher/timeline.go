package publisher

import "time"

// Entry is one document of a timeline: Body is what to publish during
// [Start, End). A nil Body means "no publication" for that span.
type Entry struct {
	Start, End time.Time
	Body       []byte
}
