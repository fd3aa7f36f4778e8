package piconf_test

import (
	"fmt"

	"github.com/mwi-agent/mwi-agent/agent/piconf"
	"github.com/mwi-agent/mwi-agent/boards"
)

func ExampleConfigTxt() {
	b, _ := boards.Lookup("devboard-leds")
	lines, _ := piconf.ConfigTxt(b)
	for _, l := range lines[:4] {
		fmt.Println(l)
	}
	// Output:
	// # mwi-agent: board devboard-leds (added by scripts/flash.sh)
	// [all]
	// # ssd1306 display on I2C bus 1 (GPIO2 SDA, GPIO3 SCL), address 0x3C
	// dtparam=i2c_arm=on
}
