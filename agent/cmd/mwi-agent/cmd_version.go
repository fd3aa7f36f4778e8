package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." by scripts/build.sh.
var (
	version = "dev"
	commit  = "none"
)

func init() {
	register(command{name: "version", summary: "print version, commit and platform", run: func(_ context.Context, _ []string, stdout, _ io.Writer) error {
		fmt.Fprintf(stdout, "mwi-agent %s (commit %s, %s/%s, %s)\n", version, commit, runtime.GOOS, runtime.GOARCH, runtime.Version())
		return nil
	}})
}
