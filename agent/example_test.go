package agent_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
)

// A program that shows every mailbox change: load the configuration, run
// the agent, and read snapshots from Watch.
func Example() {
	cfg, err := config.LoadResolved("/etc/mwi-agent/mwi-agent.yaml")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	a, err := agent.New(cfg, agent.Options{Logger: slog.Default()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx) // registers, subscribes; un-subscribes and un-registers when ctx ends

	for s := range a.Watch(ctx) { // the current state first, then every change
		for _, acc := range s.Accounts {
			v := acc.Voice()
			fmt.Printf("%s: waiting=%v new=%d old=%d health=%v known=%v\n",
				acc.Name, acc.Waiting, v.New, v.Old, acc.Health, acc.Known())
		}
	}
}
