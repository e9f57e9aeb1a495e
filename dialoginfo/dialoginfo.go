package dialoginfo

import (
	"crypto/sha256"
	"encoding/hex"
)

// NS is the XML namespace of dialog-info documents, and ContentType their
// media type, both registered by RFC 4235.
const (
	NS          = "urn:ietf:params:xml:ns:dialog-info"
	ContentType = "application/dialog-info+xml"
	// Event is the SIP event package name, the Event header of PUBLISH and
	// SUBSCRIBE (RFC 4235 §3.1).
	Event = "dialog"
)

// Values of Document.State (RFC 4235 §4.1): a full document replaces what
// the recipient knows; a partial one changes only the dialogs it lists.
const (
	Full    = "full"
	Partial = "partial"
)

// Dialog states (RFC 4235, its dialog state machine). A BLF lamp is
// typically red for confirmed, blinking for early, dark for terminated.
const (
	Trying     = "trying"
	Proceeding = "proceeding"
	Early      = "early"
	Confirmed  = "confirmed"
	Terminated = "terminated"
)

// Directions of a dialog, its direction attribute:
// whether the observed user sent the INVITE (initiator) or received it.
const (
	Initiator = "initiator"
	Recipient = "recipient"
)

// States and Directions are the values the schema allows for Dialog.State
// and Dialog.Direction (Direction may also be "").
var (
	States     = []string{Trying, Proceeding, Early, Confirmed, Terminated}
	Directions = []string{Initiator, Recipient}
	// Events are the values of Dialog.Event: why a dialog terminated.
	Events = []string{"cancelled", "rejected", "replaced", "local-bye", "remote-bye", "error", "timeout"}
)

// Document is a <dialog-info> document (RFC 4235 §4.1): the dialogs of the
// observed user Entity.
type Document struct {
	// Entity is the observed user's URI, the entity attribute.
	Entity string
	// Version orders the documents a watcher receives within one
	// subscription (RFC 4235 §4.1): the notifier increases it with every
	// document it sends.
	Version uint64
	// State is Full or Partial.
	State   string
	Dialogs []Dialog
}

// Dialog is one <dialog> element of RFC 4235 §4.1. Only ID and State
// are required.
type Dialog struct {
	// ID identifies the dialog within the document; calpresence uses
	// IDFor(aor), stable per user and distinct from a phone's own dialogs.
	ID string
	// CallID, LocalTag and RemoteTag identify the SIP dialog, "" for none.
	CallID, LocalTag, RemoteTag string
	// Direction is Initiator, Recipient or "" for none.
	Direction string
	// State is one of States; Event and Code are its optional event and
	// code attributes, "" and 0 for none.
	State string
	Event string
	Code  int
	// Duration is the <duration> element in seconds, nil for none.
	Duration *uint64
	// Local and Remote are the <local> and <remote> participants, nil
	// for none.
	Local, Remote *Participant
}

// Participant is a <local> or <remote> element.
type Participant struct {
	// Identity is the participant's URI and Display its display name
	// (<identity display="…">), "" for none.
	Identity, Display string
	// Target is the <target uri="…"> URI, "" for none.
	Target string
}

// IDFor returns the id of the dialog calpresence publishes for aor:
// "calpresence-" and a hash of the AOR, stable across restarts and
// distinct from the dialog ids phones publish (derived from Call-IDs).
func IDFor(aor string) string {
	sum := sha256.Sum256([]byte(aor))
	return "calpresence-" + hex.EncodeToString(sum[:4])
}
