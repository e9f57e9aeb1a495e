package rules

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	toml "github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// The rules file is read in two passes: go-toml checks that it is valid
// TOML at all, then its AST is turned into a tree of values that remember
// where they were written, so that every later mistake — unknown keys,
// wrong types, bad regular expressions or templates — is reported at its
// line and column, all of them at once.

type kind int

const (
	kindTable kind = iota
	kindArray
	kindString
	kindInteger
	kindFloat
	kindBool
	kindDateTime
)

func (k kind) String() string {
	return [...]string{"a table", "an array", "a string", "an integer", "a float", "a boolean", "a date-time"}[k]
}

type pos struct{ line, col int }

type value struct {
	kind  kind
	pos   pos // where the value starts
	key   pos // where the key naming it starts
	table *table
	array []*value
	str   string
	num   int64
	b     bool
}

type table struct {
	keys []string // in the order they were written
	m    map[string]*value
}

func newTable() *table { return &table{m: map[string]*value{}} }

func (t *table) get(k string) *value { return t.m[k] }

func (t *table) set(k string, v *value) {
	if _, ok := t.m[k]; !ok {
		t.keys = append(t.keys, k)
	}
	t.m[k] = v
}

// Error is one mistake in a rules file, at a line and column.
type Error struct {
	File      string
	Line, Col int
	Msg       string
}

func (e *Error) Error() string { return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg) }

// parseTree reads data into a tree of values. A TOML syntax error is
// returned alone: nothing after it can be trusted.
func parseTree(name string, data []byte) (*table, error) {
	var probe map[string]any
	if err := toml.Unmarshal(data, &probe); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			line, col := de.Position()
			return nil, &Error{File: name, Line: line, Col: col, Msg: "syntax error: " + de.Error()}
		}
		return nil, &Error{File: name, Line: 1, Col: 1, Msg: "syntax error: " + err.Error()}
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
		return nil, &Error{File: name, Line: 1, Col: 1, Msg: "syntax error: " + err.Error()}
	}
	return b.root, nil
}

type treeBuilder struct {
	p    unstable.Parser
	root *table
}

func (b *treeBuilder) pos(n *unstable.Node) pos {
	if n == nil || n.Raw.Length == 0 && n.Raw.Offset == 0 {
		return pos{1, 1}
	}
	s := b.p.Shape(n.Raw)
	return pos{s.Start.Line, s.Start.Column}
}

// descend returns the table at key k of t, creating it, or the last table
// of an array of tables there.
func (b *treeBuilder) descend(t *table, k string, at pos) *table {
	v := t.get(k)
	if v == nil {
		v = &value{kind: kindTable, table: newTable(), pos: at, key: at}
		t.set(k, v)
	}
	if v.kind == kindArray && len(v.array) > 0 && v.array[len(v.array)-1].kind == kindTable {
		return v.array[len(v.array)-1].table
	}
	if v.kind != kindTable { // go-toml rejected such documents already
		v = &value{kind: kindTable, table: newTable(), pos: at, key: at}
		t.set(k, v)
	}
	return v.table
}

func (b *treeBuilder) keyParts(e *unstable.Node) ([]string, []pos) {
	var parts []string
	var ps []pos
	it := e.Key()
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
		ps = append(ps, b.pos(it.Node()))
	}
	return parts, ps
}

func (b *treeBuilder) header(e *unstable.Node, array bool) *table {
	parts, ps := b.keyParts(e)
	t := b.root
	for i := range len(parts) - 1 {
		t = b.descend(t, parts[i], ps[i])
	}
	last, at := parts[len(parts)-1], ps[len(ps)-1]
	if !array {
		return b.descend(t, last, at)
	}
	v := t.get(last)
	if v == nil || v.kind != kindArray {
		v = &value{kind: kindArray, pos: at, key: at}
		t.set(last, v)
	}
	nt := &value{kind: kindTable, table: newTable(), pos: at, key: at}
	v.array = append(v.array, nt)
	return nt.table
}

func (b *treeBuilder) keyValue(t *table, e *unstable.Node) {
	parts, ps := b.keyParts(e)
	for i := range len(parts) - 1 {
		t = b.descend(t, parts[i], ps[i])
	}
	v := b.value(e.Value())
	v.key = ps[len(ps)-1]
	t.set(parts[len(parts)-1], v)
}

func (b *treeBuilder) value(n *unstable.Node) *value {
	v := &value{pos: b.pos(n)}
	switch n.Kind {
	case unstable.String:
		v.kind, v.str = kindString, string(n.Data)
	case unstable.Integer:
		v.kind = kindInteger
		v.num, _ = strconv.ParseInt(strings.TrimPrefix(string(n.Data), "+"), 0, 64)
	case unstable.Float:
		v.kind = kindFloat
	case unstable.Bool:
		v.kind, v.b = kindBool, string(n.Data) == "true"
	case unstable.Array:
		v.kind = kindArray
		it := n.Children()
		for it.Next() {
			v.array = append(v.array, b.value(it.Node()))
		}
	case unstable.InlineTable:
		v.kind, v.table = kindTable, newTable()
		it := n.Children()
		for it.Next() {
			b.keyValue(v.table, it.Node())
		}
	default:
		v.kind = kindDateTime
	}
	return v
}
