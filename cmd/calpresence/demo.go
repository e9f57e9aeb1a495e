package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the demo command.
func runDemo(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence demo: not built yet.")
	return 1
}
