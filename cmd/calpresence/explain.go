package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the explain command.
func runExplain(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence explain: not built yet.")
	return 1
}
