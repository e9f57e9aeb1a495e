// Package tomlpos decodes TOML strictly and reports every mistake as
// FILE:LINE:COL: message, the form CONTRACT.md gives errors in files.
//
// go-toml/v2 positions its own syntax and type errors; for the mistakes that
// only validation finds (a bad zone, a regular expression that does not
// compile), an [Index] maps the dotted path of a key ("user.0.sip.aor") to
// where it stands in the file. Config and rules files both use it.
package tomlpos

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is a mistake at a place in a file.
type Error struct {
	File      string
	Line, Col int // 1-based; 0 when unknown
	Msg       string
	// UnknownKey marks an unknown key: the rest of the document was still
	// decoded, so validation can go on and report its own mistakes too.
	UnknownKey bool
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Position is a 1-based line and column.
type Position struct{ Line, Col int }

// Index maps the dotted paths of a document's keys to their positions.
// Elements of arrays of tables and of arrays are numbered from 0:
// "calendar.1.url", "me.0".
type Index struct {
	m map[string]Position
}

// NewIndex indexes data. It never fails: a document that does not parse is
// indexed up to its first syntax error.
func NewIndex(data []byte) *Index {
	ix := &Index{m: map[string]Position{}}
	p := &unstable.Parser{}
	p.Reset(data)
	var table []string
	counts := map[string]int{}
	for p.NextExpression() {
		e := p.Expression()
		switch e.Kind {
		case unstable.Table, unstable.ArrayTable:
			key := keyParts(e.Key())
			if e.Kind == unstable.Table {
				table = resolveArrays(key, counts)
			} else {
				// The array itself is not resolved: [[a]] twice is a.0, a.1.
				table = append(resolveArrays(key[:len(key)-1], counts), key[len(key)-1])
				base := strings.Join(table, ".")
				n := counts[base]
				counts[base] = n + 1
				table = append(table, strconv.Itoa(n))
			}
			ix.put(p, table, e.Child())
		case unstable.KeyValue:
			ix.keyValue(p, table, e)
		}
	}
	return ix
}

// resolveArrays maps a table header's key onto the current elements of the
// arrays of tables it passes through: after [[user]] twice, [user.sip]
// means user.1.sip.
func resolveArrays(key []string, counts map[string]int) []string {
	var out []string
	for _, k := range key {
		out = append(out, k)
		if n, ok := counts[strings.Join(out, ".")]; ok && n > 0 {
			out = append(out, strconv.Itoa(n-1))
		}
	}
	return out
}

func (ix *Index) keyValue(p *unstable.Parser, table []string, kv *unstable.Node) {
	it := kv.Key()
	path := append([]string(nil), table...)
	var first *unstable.Node
	for it.Next() {
		if first == nil {
			first = it.Node()
		}
		path = append(path, string(it.Node().Data))
	}
	ix.put(p, path, first)
	ix.value(p, path, kv.Value())
}

func (ix *Index) value(p *unstable.Parser, path []string, v *unstable.Node) {
	switch v.Kind {
	case unstable.Array:
		it := v.Children()
		for i := 0; it.Next(); i++ {
			elem := append(append([]string(nil), path...), strconv.Itoa(i))
			ix.put(p, elem, it.Node())
			ix.value(p, elem, it.Node())
		}
	case unstable.InlineTable:
		it := v.Children()
		for it.Next() {
			if it.Node().Kind == unstable.KeyValue {
				ix.keyValue(p, path, it.Node())
			}
		}
	}
}

func (ix *Index) put(p *unstable.Parser, path []string, n *unstable.Node) {
	if n == nil || len(path) == 0 {
		return
	}
	if n.Raw.Length == 0 {
		return // containers carry no range of their own
	}
	s := p.Shape(n.Raw)
	key := strings.Join(path, ".")
	if _, ok := ix.m[key]; !ok {
		ix.m[key] = Position{s.Start.Line, s.Start.Column}
	}
}

func keyParts(it unstable.Iterator) []string {
	var parts []string
	for it.Next() {
		parts = append(parts, string(it.Node().Data))
	}
	return parts
}

// Lookup returns the position of the key at path, or of its nearest
// ancestor that the document spells out, or the zero Position.
func (ix *Index) Lookup(path string) Position {
	for path != "" {
		if pos, ok := ix.m[path]; ok {
			return pos
		}
		i := strings.LastIndexByte(path, '.')
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return Position{}
}

// Errorf returns an Error at the key path of file.
func (ix *Index) Errorf(file, path, format string, args ...any) *Error {
	pos := ix.Lookup(path)
	return &Error{File: file, Line: pos.Line, Col: pos.Col, Msg: fmt.Sprintf(format, args...)}
}

// Decode decodes data strictly into v: unknown keys, wrong types and syntax
// errors are all reported, each as an *Error. It returns nil when v was
// decoded cleanly.
func Decode(file string, data []byte, v any) []error {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		return nil
	}
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) {
		var errs []error
		for i := range strict.Errors {
			de := &strict.Errors[i]
			line, col := de.Position()
			errs = append(errs, &Error{File: file, Line: line, Col: col, UnknownKey: true,
				Msg: fmt.Sprintf("unknown key %q", strings.Join(de.Key(), "."))})
		}
		sortErrors(errs)
		return errs
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, col := de.Position()
		msg := strings.TrimPrefix(de.Error(), "toml: ")
		if k := de.Key(); len(k) > 0 {
			msg = fmt.Sprintf("%s: %s", strings.Join(k, "."), msg)
		}
		return []error{&Error{File: file, Line: line, Col: col, Msg: msg}}
	}
	return []error{&Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}}
}

func sortErrors(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, b := errs[i].(*Error), errs[j].(*Error)
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// OnlyUnknownKeys reports whether every error of errs is an unknown key.
func OnlyUnknownKeys(errs []error) bool {
	for _, err := range errs {
		if e, ok := err.(*Error); !ok || !e.UnknownKey {
			return false
		}
	}
	return true
}

// Sort orders errs by file position; errors that are not *Error keep their
// place at the end.
func Sort(errs []error) {
	sort.SliceStable(errs, func(i, j int) bool {
		a, aok := errs[i].(*Error)
		b, bok := errs[j].(*Error)
		if !aok || !bok {
			return aok && !bok
		}
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}
