package indicate

import (
	"testing"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/state"
	"github.com/mwi-agent/mwi-agent/boards"
)

func TestPolicyFromConfig(t *testing.T) {
	cfg, err := config.Parse([]byte(`
board: sim
indicator: {unknown_pattern: false}
accounts:
  - {name: desk, aor: "sip:1001@pbx.example.com", password: x}
  - {name: fax, aor: "sip:1002@pbx.example.com", password: x, lamp: false, led: 3}
`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := boards.Lookup("sim")
	p := PolicyFromConfig(cfg, b)
	if p.UnknownPattern || !p.UrgentPattern || p.LEDs != 4 || p.FXSPorts != 1 || len(p.Accounts) != 2 {
		t.Fatalf("policy %+v", p)
	}
	out := Compute(state.Snapshot{Accounts: []state.Account{
		acct("desk", no, ok, 0, 0, 0), acct("fax", yes, ok, 1, 0, 0)}}, p)
	if out.Lamp.Name != "off" || out.LEDFor[0] != "desk" || out.LEDFor[2] != "fax" || out.LEDs[2].Name != "steady" {
		t.Fatalf("fax (lamp: false, led: 3) → lamp %s, leds %v %v", out.Lamp.Name, out.LEDFor, out.LEDs)
	}
}
