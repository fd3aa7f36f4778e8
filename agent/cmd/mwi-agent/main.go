// Command mwi-agent makes a phone's message-waiting indication real.
//
// With no arguments it starts the desktop demo on the simulated HAL.
// Run "mwi-agent help" for the list of commands.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand. Each lives in its own cmd_*.go file and adds
// itself to the table in an init function.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(c command) {
	if _, dup := commands[c.name]; dup {
		panic("mwi-agent: command registered twice: " + c.name)
	}
	commands[c.name] = c
}

// exitError carries a specific exit status (e.g. check-config's 1).
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// exConfig is the exit status of "run" when the configuration cannot be
// loaded (EX_CONFIG, sysexits.h). The systemd unit does not restart on it
// (RestartPreventExitStatus=78): restarting cannot fix a file, and
// automatic restarts would use up the start limit the admin needs for
// "systemctl restart" while editing it.
const exConfig = 78

// configError is an error loading the configuration: printed as usual,
// exit status exConfig.
type configError struct{ err error }

func (e configError) Error() string { return e.err.Error() }
func (e configError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	name := "demo"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	switch name {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return 0
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "mwi-agent: unknown command %q (run \"mwi-agent help\")\n", name)
		return 2
	}
	if err := c.run(ctx, args, stdout, stderr); err != nil {
		if e, ok := err.(exitError); ok {
			return e.code
		}
		if _, ok := err.(configError); ok {
			fmt.Fprintf(stderr, "mwi-agent %s: %v\n", name, err)
			return exConfig
		}
		if ctx.Err() != nil && err == ctx.Err() {
			return 0
		}
		fmt.Fprintf(stderr, "mwi-agent %s: %v\n", name, err)
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: mwi-agent [command] [flags]")
	fmt.Fprintln(w, "\nWith no command, runs the desktop demo (same as \"mwi-agent demo\").\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
}
