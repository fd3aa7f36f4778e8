package i2cbus

import (
	"strings"
	"testing"

	"github.com/mwi-agent/mwi-agent/hal/internal/i2cbus/i2cbustest"
)

func TestOpenByName(t *testing.T) {
	fake := i2cbustest.Register(t, "mwi-test-i2cbus")
	bus, err := Open("ssd1306", "mwi-test-i2cbus")
	if err != nil {
		t.Fatal(err)
	}
	if err := bus.Close(); err != nil || !fake.Closed {
		t.Fatalf("Close: %v, fake closed %v", err, fake.Closed)
	}
	_, err = Open("hd44780", "no-such-bus")
	if err == nil || !strings.HasPrefix(err.Error(), `hd44780: i2c bus "no-such-bus": `) {
		t.Fatalf("missing bus: %v, want an error naming the driver and the bus", err)
	}
}
