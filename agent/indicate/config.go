package indicate

import (
	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/boards"
)

// PolicyFromConfig builds the policy from the configuration (indicator.*,
// accounts[].lamp and .led) and the resolved board (its LEDs and FXS port).
func PolicyFromConfig(cfg *config.Config, b boards.Board) Policy {
	p := Policy{
		UnknownPattern: cfg.Indicator.UnknownPattern,
		UrgentPattern:  cfg.Indicator.UrgentPattern,
		LEDs:           len(b.LEDs),
		Title:          "mwi-agent",
	}
	if b.FXS != nil {
		p.FXSPorts = 1
	}
	for _, a := range cfg.Accounts {
		p.Accounts = append(p.Accounts, AccountPolicy{Name: a.Name, Lamp: a.Lamp, LED: a.LED})
	}
	return p
}
