package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/hal/sim"
)

type simBoard = sim.Board

// demoConfig is the agent configuration for the demo server's mailboxes:
// what a user would write for a real PBX, pointed at loopback, with short
// expiries so the demo shows a stopped server within a minute. It has no
// status page (the caller sets http.listen).
func demoConfig(srv *demo.Server) (*config.Config, error) {
	cfg := config.Default()
	cfg.UserAgent = "mwi-agent-demo"
	cfg.Listen.UDP = "127.0.0.1:0"
	cfg.Keepalive = 0
	cfg.Board = "sim"
	cfg.HTTP.Listen = ""
	for _, u := range srv.Users() {
		d, _ := srv.Def(u)
		cfg.Accounts = append(cfg.Accounts, config.Account{
			Name: strings.ToLower(d.Label) + "-" + u, Label: d.Label,
			AOR: fmt.Sprintf("sip:%s@%s", u, srv.Addr()), Username: u, Password: d.Password,
			Server: srv.Addr(), Transport: "udp",
			Register: true, RegisterExpiry: demoExpiry,
			Subscribe: true, SubscribeExpiry: demoExpiry,
			Unsolicited: "accept", UnsolicitedHorizon: config.DefaultUnsolicitedHorizon, Lamp: true,
		})
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("demo configuration: %w", err)
	}
	return cfg, nil
}

// demoExpiry is the demo accounts' REGISTER and SUBSCRIBE expiry.
const demoExpiry = 30 * time.Second
