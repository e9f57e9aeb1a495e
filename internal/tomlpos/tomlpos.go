// Package tomlpos reads TOML files so that every mistake in them can be
// reported as FILE:LINE:COL: message, the form CONTRACT.md gives errors in
// files.
//
// [Decode] decodes strictly into a struct, reporting unknown keys, wrong
// types and syntax errors with go-toml/v2's positions. [Parse] reads a
// document into a tree of [Value]s that remember where they were written,
// for the mistakes only validation finds (a bad zone, a regular expression
// that does not compile): the rules compiler walks the tree, the config
// validator finds keys in it by dotted path with [Table.Lookup]. Both
// report with [Errorf].
package tomlpos

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pelletier/go-toml/v2"
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

// Errorf returns an Error at p in file; at the zero Pos it has no line
// and column.
func Errorf(file string, p Pos, format string, args ...any) *Error {
	return &Error{File: file, Line: p.Line, Col: p.Col, Msg: fmt.Sprintf(format, args...)}
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
