package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the run command.
func runAgent(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence run: not built yet.")
	return 1
}
