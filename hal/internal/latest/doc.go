// Package latest runs a slow device's drawing on its own goroutine, keeping
// only the newest pending job: a caller hands a job off and returns at once,
// and jobs superseded before the device got to them are dropped. The
// display backends (hal/ssd1306, hal/hd44780) use it so that a slow I2C bus
// never blocks the agent's loop.
package latest
