package main

import (
	"context"
	"fmt"
)

// TODO(issue): replaced by the issue that builds the preview command.
func runPreview(ctx context.Context, e *env, args []string) int {
	fmt.Fprintln(e.stderr, "calpresence preview: not built yet.")
	return 1
}
