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

func TestNumber(t *testing.T) {
	for name, want := range map[string]int{"1": 1, "/dev/i2c-1": 1, "I2C1": 1, "0": 0, "/dev/i2c-22": 22} {
		if n, ok := Number(name); !ok || n != want {
			t.Errorf("Number(%q) = %d, %v; want %d", name, n, ok, want)
		}
	}
	for _, name := range []string{"", "-1", "+1", "01", "i2c-1", "/dev/i2c-", "I2C", "1a", "/dev/i2c-1/x"} {
		if n, ok := Number(name); ok {
			t.Errorf("Number(%q) = %d, true; want not a bus number", name, n)
		}
	}
}

func TestOpenMissingNumberedBus(t *testing.T) {
	// A bus number no machine has: the sysfs driver's error, prefixed.
	_, err := Open("ssd1306", "/dev/i2c-987654")
	if err == nil || !strings.HasPrefix(err.Error(), `ssd1306: i2c bus "/dev/i2c-987654": `) {
		t.Fatalf("got %v, want an error naming the driver and the bus", err)
	}
}
