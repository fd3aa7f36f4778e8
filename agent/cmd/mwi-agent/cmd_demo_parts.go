package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/agent"
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/demo"
	"github.com/mwi-agent/mwi-agent/agent/web"
	"github.com/mwi-agent/mwi-agent/display"
	"github.com/mwi-agent/mwi-agent/hal/sim"
	"github.com/mwi-agent/mwi-agent/tone"
)

type simBoard = sim.Board

// renderer draws the display exactly as a device does.
var renderer = display.Render

// toneWAV renders the board country's dial or stutter tone (20 s) as WAV.
func toneWAV(country string) func(name string) ([]byte, error) {
	return func(name string) ([]byte, error) {
		c, err := tone.LookupCountry(country)
		if err != nil {
			return nil, err
		}
		p, err := c.Plan(name)
		if err != nil {
			return nil, err
		}
		opt := tone.Options{Rate: 8000, LevelDBm0: -13}
		pcm := tone.Render(p, opt, 20*time.Second)
		var b bytes.Buffer
		if err := tone.WriteWAV(&b, 8000, pcm); err != nil {
			return nil, err
		}
		return b.Bytes(), nil
	}
}

// demoConfig is the agent configuration for the demo server's mailboxes:
// what a user would write for a real PBX, pointed at loopback.
func demoConfig(srv *demo.Server) string {
	var b strings.Builder
	b.WriteString("log_level: info\nuser_agent: mwi-agent-demo\nlisten: {udp: \"127.0.0.1:0\"}\nkeepalive: 0s\nboard: sim\naccounts:\n")
	for _, u := range srv.Users() {
		d, _ := srv.Def(u)
		fmt.Fprintf(&b, "  - name: %s-%s\n    label: %s\n    aor: sip:%s@%s\n    password: %s\n    transport: udp\n    register_expiry: 30s\n    subscribe_expiry: 30s\n",
			strings.ToLower(d.Label), u, d.Label, u, srv.Addr(), d.Password)
	}
	return b.String()
}

// demoAgent builds the real agent loop, registered and subscribed to the
// demo server over SIP on loopback.
func demoAgent(srv *demo.Server, log *slog.Logger) (web.Source, func(context.Context) error, error) {
	cfg, err := config.Parse([]byte(demoConfig(srv)))
	if err != nil {
		return nil, nil, fmt.Errorf("demo configuration: %w", err)
	}
	a, err := agent.New(cfg, agent.Options{Logger: log.With("part", "agent")})
	if err != nil {
		return nil, nil, err
	}
	return a, a.Run, nil
}
