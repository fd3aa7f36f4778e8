package rig_test

import (
	"context"
	"fmt"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/rig"
)

// Build the device of a configuration on its board, add a part of your
// own, and run it until the context ends.
func Example() {
	cfg := config.Default()         // the sim board, no accounts
	cfg.HTTP.Listen = ""            // no status page
	res, err := config.Resolve(cfg) // typed once: board, accounts, policy, tones
	if err != nil {
		fmt.Println(err)
		return
	}
	board, err := rig.Open(res, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	r, err := rig.New(res, board, rig.Options{})
	if err != nil {
		board.Devices.Close()
		fmt.Println(err)
		return
	}
	r.Add(rig.Part{Name: "metrics", Optional: true, Run: func(ctx context.Context) error {
		<-ctx.Done() // serve something until the device stops
		return ctx.Err()
	}})
	fmt.Println(r.Parts())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	fmt.Println(r.Run(ctx))
	// Output:
	// [agent fxs port fxs feed indicators metrics]
	// context deadline exceeded
}
