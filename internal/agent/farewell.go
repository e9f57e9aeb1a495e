package agent

import (
	"strings"

	"github.com/calpresence/calpresence/pidf"
)

// On SIGTERM the agent removes its presence publication (PUBLISH with
// Expires: 0, CONTRACT.md). Between events it holds none (silent.go), so
// this matters for a stop during a segment that has one: a meeting
// (closed, busy) or an open segment with a note or activities (lunch).
//
// Kamailio 5.6 (presence_xml, notify_body.c) does not drop a removed
// publication from what it tells watchers: it NOTIFYs them the other
// publications merged with an "offline" version of the removed document,
// built from the first element named "basic" anywhere in it (namespace
// ignored), set to "closed", and a copy of the first <tuple> with the
// first <status>; without a basic, tuple or status the whole NOTIFY body
// is empty. A plain removal of the meeting's document thus leaves
// watchers with calpresence's tuple closed beside the phone's: DND or
// offline on their keys after the agent stopped, until they resubscribe.
//
// So the publisher first replaces the document, under its ETag, with the
// farewell (Options.Farewell): a tuple with a <status> that has no
// <basic> (RFC 3863 makes it optional), no person, note or activity,
// and pidf's Document.Farewell marker, an extension element of our own
// namespace whose <cp:basic/> is the only element named basic. Kamailio's
// offline version of it is our tuple with an empty status: the closed
// value lands on the marker, which the offline version leaves out. Both
// NOTIFYs, the farewell's and the removal's, therefore show the phone's
// tuples as they are and ours saying nothing; they are sent a few ms
// apart and may reach a watcher in either order (seen over UDP), which
// is why neither may say anything. A second tuple with <basic>open</basic>
// would serve Kamailio as well, but its NOTIFY, should it arrive last,
// would show the user available whatever the phone says.
//
// The farewell's tuple id is not the segment's: Kamailio merges only one
// of the publications whose first tuples share an id, and the last
// received wins. Another agent that already publishes the same user (a
// shard taking the user over, a new process started before the old one
// stops) publishes under the segment's id; a farewell under that id would
// hide its document from watchers, from the farewell's NOTIFY on, until
// its next PUBLISH.
//
// A server that drops a removed publication cleanly shows the farewell
// for those few ms and then the phone alone; with no other publication,
// Kamailio's last NOTIFY is our tuple alone, saying nothing: neither busy
// nor available (docs/reference.md, Shutdown).

// presenceFarewell is the presence publisher's Options.Farewell: the
// farewell for the published document, with its entity and a tuple id
// derived from its first tuple's (farewellID); nil (a plain removal) for
// a document that does not decode or has no tuple, which the agent never
// publishes.
func presenceFarewell(published []byte) []byte {
	d, err := pidf.Unmarshal(published)
	if err != nil || len(d.Tuples) == 0 {
		return nil
	}
	f := pidf.Document{Entity: d.Entity, Tuples: []pidf.Tuple{{ID: farewellID(d.Tuples[0].ID)}}, Farewell: true}
	b, err := f.Marshal()
	if err != nil {
		return nil
	}
	return b
}

// farewellID is the farewell's tuple id for a document whose first tuple
// is id: the agent's id base with "-farewell" in place of "-t", still
// distinct from the phone's; the farewell's own id stays as it is.
func farewellID(id string) string {
	if strings.HasSuffix(id, farewellSuffix) {
		return id
	}
	return strings.TrimSuffix(id, "-t") + farewellSuffix
}

const farewellSuffix = "-farewell"
