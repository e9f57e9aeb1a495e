// Command docgen writes the man page calpresence(1) from docs/reference.md,
// so that the two never disagree:
//
//	go generate ./internal/docgen
//
// It understands the Markdown that the reference uses: ## and ### headings,
// paragraphs, fenced code blocks, "- " lists, tables (a row becomes a tagged
// paragraph: the first cell is the tag) and `code` spans, which it sets in
// bold. Everything before the first ## heading is the document's own
// preface and is left out. The output is man(7) for groff and mandoc.
package main

//go:generate go run . -o ../../docs/calpresence.1 ../../docs/reference.md

import (
	"flag"
	"fmt"
	"os"
)

func main() {
	out := flag.String("o", "", "write the man page to `FILE` (default stdout)")
	flag.Usage = func() {
		fmt.Fprintln(flag.CommandLine.Output(), "usage: docgen [-o FILE] REFERENCE.md")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	src, err := os.ReadFile(flag.Arg(0))
	if err != nil {
		fmt.Fprintf(os.Stderr, "docgen: %v\n", err)
		os.Exit(1)
	}
	page := Render(src)
	if *out == "" {
		os.Stdout.Write(page)
		return
	}
	if err := os.WriteFile(*out, page, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "docgen: %v\n", err)
		os.Exit(1)
	}
}
