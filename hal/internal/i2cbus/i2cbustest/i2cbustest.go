// Package i2cbustest registers a recording fake I²C bus in periph's bus
// registry, so a display backend's Open can be tested by bus name.
package i2cbustest

import (
	"testing"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// Bus records every transaction (Ops) and whether it was closed.
type Bus struct {
	i2ctest.Record
	Closed bool
}

// Close marks the bus closed.
func (b *Bus) Close() error { b.Closed = true; return nil }

// Register adds a fake bus under name for the duration of the test.
func Register(t testing.TB, name string) *Bus {
	t.Helper()
	b := &Bus{}
	if err := i2creg.Register(name, nil, -1, func() (i2c.BusCloser, error) { return b, nil }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { i2creg.Unregister(name) })
	return b
}
