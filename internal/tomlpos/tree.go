package tomlpos

import (
	"bytes"
	"errors"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The tree is built in two passes: go-toml checks that the document is
// valid TOML at all, then its AST (go-toml's unstable package) is walked
// once, keeping the position of every key and value.

// Kind is the TOML type of a [Value].
type Kind int

// The kinds of values. Floats and date-times keep only their kind: no
// user of the tree reads them.
const (
	KindTable Kind = iota
	KindArray
	KindString
	KindInteger
	KindFloat
	KindBool
	KindDateTime
)

// String names the kind with its article ("a table", "an integer"), so
// that messages read "lead must be a string, not an integer".
func (k Kind) String() string {
	names := [...]string{"a table", "an array", "a string", "an integer", "a float", "a boolean", "a date-time"}
	if k < 0 || int(k) >= len(names) {
		return "Kind(" + strconv.Itoa(int(k)) + ")"
	}
	return names[k]
}

// Pos is a 1-based line and column; the zero Pos means unknown.
type Pos struct{ Line, Col int }

func (p Pos) known() bool { return p.Line > 0 }

// Value is one value of a document and where it was written.
type Value struct {
	Kind Kind
	// Pos is where the value starts. Arrays, which go-toml gives no range
	// of their own, are placed at their key (or, nested, at their parent).
	Pos Pos
	// KeyPos is where the key naming the value starts: the last part of a
	// dotted key or table header. It is zero for the elements of an array
	// written inline; the elements of an array of tables are at their
	// [[header]].
	KeyPos Pos
	Table  *Table   // KindTable
	Array  []*Value // KindArray
	Str    string   // KindString
	Int    int64    // KindInteger
	Bool   bool     // KindBool
}

// at is where a mistake in the value as a whole is best reported: its key,
// or the value itself when nothing names it.
func (v *Value) at() Pos {
	if v.KeyPos.known() {
		return v.KeyPos
	}
	return v.Pos
}

// Table is a TOML table whose keys keep the order they were written in.
type Table struct {
	keys []string
	m    map[string]*Value
}

func newTable() *Table { return &Table{m: map[string]*Value{}} }

// Keys returns the table's keys in the order they were written. The slice
// is the table's own: do not modify it.
func (t *Table) Keys() []string { return t.keys }

// Get returns the value at key k, or nil.
func (t *Table) Get(k string) *Value { return t.m[k] }

func (t *Table) set(k string, v *Value) {
	if _, ok := t.m[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.m[k] = v
}

// Lookup returns where the value at a dotted path is named in the file:
// "sip.aor", "calendar.1.url" (elements of arrays and of arrays of tables
// numbered from 0), "me.0". A path the file does not spell out all the way
// falls back to its nearest ancestor that it does; a path with no such
// ancestor gives the zero Pos. Keys are split at every dot, so a quoted
// key containing one cannot be looked up.
func (t *Table) Lookup(path string) Pos {
	var found Pos
	if t == nil || path == "" {
		return found
	}
	v := &Value{Kind: KindTable, Table: t}
	for part := range strings.SplitSeq(path, ".") {
		if v = v.child(part); v == nil {
			break
		}
		if p := v.at(); p.known() {
			found = p
		}
	}
	return found
}

// child is the value at key k of a table, or at index k of an array.
func (v *Value) child(k string) *Value {
	switch v.Kind {
	case KindTable:
		return v.Table.Get(k)
	case KindArray:
		if i, err := strconv.Atoi(k); err == nil && i >= 0 && i < len(v.Array) {
			return v.Array[i]
		}
	}
	return nil
}

// Parse reads a TOML document into its tree of values. A syntax error is
// returned alone, as an *Error: nothing after it can be trusted. A leading
// byte-order mark is ignored, as [Decode] does.
func Parse(file string, data []byte) (*Table, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	var probe map[string]any
	if err := toml.Unmarshal(data, &probe); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &Error{File: file, Line: line, Col: col, Msg: "syntax error: " + de.Error()}
		}
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: "syntax error: " + err.Error()}
	}
	b := &treeBuilder{root: newTable()}
	b.p.Reset(data)
	cur := b.root
	for b.p.NextExpression() {
		e := b.p.Expression()
		switch e.Kind {
		case unstable.KeyValue:
			b.keyValue(cur, e)
		case unstable.Table:
			cur = b.header(e, false)
		case unstable.ArrayTable:
			cur = b.header(e, true)
		}
	}
	if err := b.p.Error(); err != nil { // go-toml accepted it, so this is unexpected
		return nil, &Error{File: file, Line: 1, Col: 1, Msg: "syntax error: " + err.Error()}
	}
	return b.root, nil
}

type treeBuilder struct {
	p    unstable.Parser
	root *Table
}

// pos is where n starts, or def for the nodes go-toml gives no range
// (arrays).
func (b *treeBuilder) pos(n *unstable.Node, def Pos) Pos {
	if n == nil || n.Raw.Length == 0 && n.Raw.Offset == 0 {
		return def
	}
	s := b.p.Shape(n.Raw)
	return Pos{s.Start.Line, s.Start.Column}
}

// descend returns the table at key k of t, creating it, or the last table
// of an array of tables there.
func (b *treeBuilder) descend(t *Table, k string, at Pos) *Table {
	v := t.Get(k)
	if v == nil {
		v = &Value{Kind: KindTable, Table: newTable(), Pos: at, KeyPos: at}
		t.set(k, v)
	}
	if v.Kind == KindArray && len(v.Array) > 0 && v.Array[len(v.Array)-1].Kind == KindTable {
		return v.Array[len(v.Array)-1].Table
	}
	if v.Kind != KindTable { // go-toml rejected such documents already
		v = &Value{Kind: KindTable, Table: newTable(), Pos: at, KeyPos: at}
		t.set(k, v)
	}
	return v.Table
}

func (b *treeBuilder) keyParts(e *unstable.Node) ([]string, []Pos) {
	var parts []string
	var ps []Pos
	it := e.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
		ps = append(ps, b.pos(it.Node(), Pos{1, 1}))
	}
	return parts, ps
}

func (b *treeBuilder) header(e *unstable.Node, array bool) *Table {
	parts, ps := b.keyParts(e)
	t := b.root
	for i := range len(parts) - 1 {
		t = b.descend(t, parts[i], ps[i])
	}
	last, at := parts[len(parts)-1], ps[len(ps)-1]
	if !array {
		return b.descend(t, last, at)
	}
	v := t.Get(last)
	if v == nil || v.Kind != KindArray {
		v = &Value{Kind: KindArray, Pos: at, KeyPos: at}
		t.set(last, v)
	}
	nt := &Value{Kind: KindTable, Table: newTable(), Pos: at, KeyPos: at}
	v.Array = append(v.Array, nt)
	return nt.Table
}

func (b *treeBuilder) keyValue(t *Table, e *unstable.Node) {
	parts, ps := b.keyParts(e)
	for i := range len(parts) - 1 {
		t = b.descend(t, parts[i], ps[i])
	}
	key := ps[len(ps)-1]
	v := b.value(e.Value(), key)
	v.KeyPos = key
	t.set(parts[len(parts)-1], v)
}

// value builds the value of n; def is where it is placed if n has no
// range of its own.
func (b *treeBuilder) value(n *unstable.Node, def Pos) *Value {
	v := &Value{Pos: b.pos(n, def)}
	switch n.Kind {
	case unstable.String:
		v.Kind, v.Str = KindString, string(n.Data)
	case unstable.Integer:
		v.Kind = KindInteger
		v.Int, _ = strconv.ParseInt(strings.TrimPrefix(string(n.Data), "+"), 0, 64)
	case unstable.Float:
		v.Kind = KindFloat
	case unstable.Bool:
		v.Kind, v.Bool = KindBool, string(n.Data) == "true"
	case unstable.Array:
		v.Kind = KindArray
		it := n.Children()
		for it.Next() {
			v.Array = append(v.Array, b.value(it.Node(), v.Pos))
		}
	case unstable.InlineTable:
		v.Kind, v.Table = KindTable, newTable()
		it := n.Children()
		for it.Next() {
			b.keyValue(v.Table, it.Node())
		}
	default:
		v.Kind = KindDateTime
	}
	return v
}
