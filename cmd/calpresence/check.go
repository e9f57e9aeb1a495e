package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the check command.
func runCheck(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence check: not built yet.")
	return 1
}
