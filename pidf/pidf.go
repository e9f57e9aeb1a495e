package pidf

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"time"
)

// XML namespaces of the documents this package reads and writes.
const (
	NSPIDF         = "urn:ietf:params:xml:ns:pidf"            // RFC 3863
	NSDataModel    = "urn:ietf:params:xml:ns:pidf:data-model" // RFC 4479
	NSRPID         = "urn:ietf:params:xml:ns:pidf:rpid"       // RFC 4480
	NSLocationType = "urn:ietf:params:xml:ns:location-type"   // RFC 4589, used by rpid:place-type
	NSXML          = "http://www.w3.org/XML/1998/namespace"   // xml:lang
	// NSFarewell is calpresence's own namespace, of the farewell marker
	// (see Document.Farewell); watchers ignore it as any unknown extension.
	NSFarewell  = "https://github.com/calpresence/calpresence/ns/farewell"
	ContentType = "application/pidf+xml" // RFC 3863 §7
)

// Basic status values (RFC 3863 §4.1.4).
const (
	Open   = "open"
	Closed = "closed"
)

// Document is a PIDF presence document (RFC 3863 §4.1) with the data model
// elements of RFC 4479: services (tuples), persons and devices.
type Document struct {
	// Entity is the presentity's URI, the <presence entity> attribute.
	Entity  string
	Tuples  []Tuple
	Persons []Person
	Devices []Device
	// Notes are <presence>-level notes (RFC 3863 §4.1.6).
	Notes []Note
	// Farewell adds <cp:farewell><cp:basic/></cp:farewell> in NSFarewell
	// after the persons and devices, a <presence>-level extension (RFC
	// 3863 §4.1: any element of another namespace) that says nothing to a
	// watcher. It is for the document published just before a removal:
	// Kamailio builds the NOTIFY of a removal only if the removed document
	// has an element named "basic" somewhere, whatever its namespace, and
	// turns the first one into "closed"; with this one as the only basic,
	// no tuple of the document is turned closed (internal/agent's
	// farewell.go tells the whole story).
	Farewell bool
}

// Tuple is a <tuple>, a service in RFC 4479's terms (RFC 3863 §4.1.2).
type Tuple struct {
	ID string
	// Basic is <status><basic>: Open, Closed or "" for none.
	Basic string
	// Contact is the <contact> URI, "" for none; Priority its priority
	// attribute ("" for none, else a decimal 0..1).
	Contact  string
	Priority string
	// DeviceID is <dm:deviceID> (RFC 4479 §4.2.4), "" for none.
	DeviceID  string
	Notes     []Note
	Timestamp time.Time // zero: none
}

// Person is a <dm:person> (RFC 4479 §4.1) with its RPID elements.
type Person struct {
	ID         string
	Activities *Activities
	Mood       *Mood
	PlaceType  *PlaceType
	Privacy    *Privacy
	Sphere     *Sphere
	Notes      []Note
	Timestamp  time.Time // zero: none
}

// Device is a <dm:device> (RFC 4479 §4.3).
type Device struct {
	ID        string
	DeviceID  string
	Notes     []Note
	Timestamp time.Time
}

// Note is a note with an optional language tag (xml:lang).
type Note struct {
	Lang string
	Text string
}

// Span is the validity of an RPID element: the from and until attributes
// of RFC 4480 §3.1. Zero times are left out.
type Span struct {
	From, Until time.Time
}

// Activities is <rpid:activities> (RFC 4480 §3.2). Values are published in
// their order: many softphones read only the first.
type Activities struct {
	Span
	Values []Activity
	Notes  []Note
}

// Activity is one activity: Name is one of [ActivityNames]; for "other",
// Text is the free-form description.
type Activity struct {
	Name string
	Text string
}

// activityNames are the activity values of RFC 4480 §3.2, "other" aside.
var activityNames = []string{
	"appointment", "away", "breakfast", "busy", "dinner", "holiday", "in-transit",
	"looking-for-work", "meal", "meeting", "on-the-phone", "performance",
	"permanent-absence", "playing", "presentation", "shopping", "sleeping",
	"spectator", "steering", "travel", "tv", "unknown", "vacation", "working",
	"worship",
}

// Mood is <rpid:mood> (RFC 4480 §3.6).
type Mood struct {
	Span
	Values []string // from MoodNames
	Other  string   // <rpid:other> text, "" for none
	Notes  []Note
}

// moodNames are the mood values of RFC 4480 §3.6, "other" aside.
var moodNames = []string{
	"afraid", "amazed", "angry", "annoyed", "anxious", "ashamed", "bored", "brave",
	"calm", "cold", "confused", "contented", "cranky", "curious", "depressed",
	"disappointed", "disgusted", "distracted", "embarrassed", "excited",
	"flirtatious", "frustrated", "grumpy", "guilty", "happy", "hot", "humbled",
	"humiliated", "hungry", "hurt", "impressed", "in_awe", "in_love", "indignant",
	"interested", "invincible", "jealous", "lonely", "mean", "moody", "nervous",
	"neutral", "offended", "playful", "proud", "relieved", "remorseful", "restless",
	"sad", "sarcastic", "serious", "shocked", "shy", "sick", "sleepy", "stressed",
	"surprised", "thirsty", "worried", "unknown",
}

// PlaceType is <rpid:place-type> (RFC 4480 §3.7), whose values are the
// location types of RFC 4589.
type PlaceType struct {
	Span
	Values []string // from PlaceTypeNames
	Other  string
	Notes  []Note
}

// placeTypeNames are the location types of RFC 4589 §3, "other" aside.
var placeTypeNames = []string{
	"aircraft", "airport", "arena", "automobile", "bank", "bar", "bicycle", "bus",
	"bus-station", "cafe", "classroom", "club", "construction", "convention-center",
	"government", "hospital", "hotel", "industrial", "library", "motorcycle",
	"office", "outdoors", "parking", "place-of-worship", "prison", "public",
	"public-transport", "residence", "restaurant", "school", "shopping-area",
	"stadium", "store", "street", "theater", "train", "train-station", "truck",
	"underway", "unknown", "warehouse", "water", "watercraft",
}

// Privacy is <rpid:privacy> (RFC 4480 §3.8): which media others may
// overhear.
type Privacy struct {
	Span
	Values []string // from PrivacyNames
	Notes  []Note
}

// privacyNames are the privacy values of RFC 4480 §3.8.
var privacyNames = []string{"audio", "text", "unknown", "video"}

// Sphere is <rpid:sphere> (RFC 4480 §3.9): "work", "home", "unknown", or
// any other text.
type Sphere struct {
	Span
	Value string
}

// sphereNames are the sphere values with an element of their own in RFC
// 4480 §3.9; any other value is published as text.
var sphereNames = []string{"home", "unknown", "work"}

// ActivityNames returns the activity values of RFC 4480 §3.2, "other"
// aside, in a new slice.
func ActivityNames() []string { return slices.Clone(activityNames) }

// IsActivity reports whether s is one of [ActivityNames].
func IsActivity(s string) bool { return known(activityNames, s) }

// MoodNames returns the mood values of RFC 4480 §3.6, "other" aside, in a
// new slice.
func MoodNames() []string { return slices.Clone(moodNames) }

// IsMood reports whether s is one of [MoodNames].
func IsMood(s string) bool { return known(moodNames, s) }

// PlaceTypeNames returns the location types of RFC 4589 §3, "other" aside,
// in a new slice.
func PlaceTypeNames() []string { return slices.Clone(placeTypeNames) }

// IsPlaceType reports whether s is one of [PlaceTypeNames].
func IsPlaceType(s string) bool { return known(placeTypeNames, s) }

// PrivacyNames returns the privacy values of RFC 4480 §3.8 in a new slice.
func PrivacyNames() []string { return slices.Clone(privacyNames) }

// IsPrivacy reports whether s is one of [PrivacyNames].
func IsPrivacy(s string) bool { return known(privacyNames, s) }

// SphereNames returns the sphere values with an element of their own in
// RFC 4480 §3.9, in a new slice; any other value is published as text.
func SphereNames() []string { return slices.Clone(sphereNames) }

// IsSphere reports whether s is one of [SphereNames].
func IsSphere(s string) bool { return known(sphereNames, s) }

func known(names []string, name string) bool { return slices.Contains(names, name) }

// IDBase returns the base of the tuple and person ids of aor's
// publication: stable for the AOR and distinct from what phones publish,
// because the presence server merges both.
func IDBase(aor string) string {
	sum := sha256.Sum256([]byte(aor))
	return "calpresence-" + hex.EncodeToString(sum[:4])
}
