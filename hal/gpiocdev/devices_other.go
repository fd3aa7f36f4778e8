//go:build !linux

package gpiocdev

import (
	"fmt"
	"runtime"
	"time"

	"github.com/mwi-agent/mwi-agent/boards"
	"github.com/mwi-agent/mwi-agent/hal"
)

func unsupported() error { return fmt.Errorf("%w (this is %s)", ErrUnsupported, runtime.GOOS) }

// Resolve needs Linux.
func Resolve(ref boards.LineRef) (string, int, error) { return "", 0, unsupported() }

// OpenLamp needs Linux.
func OpenLamp(ref boards.LineRef, opt Options) (*Lamp, error) { return nil, unsupported() }

// OpenHook needs Linux.
func OpenHook(ref boards.LineRef, debounce time.Duration, button bool, opt Options) (*Hook, error) {
	return nil, unsupported()
}

// OpenLine needs Linux.
func OpenLine(def boards.FXSDef, hook *Hook, opt Options) (*Line, error) { return nil, unsupported() }

// Open needs Linux.
func Open(b boards.Board, opt Options) (hal.Devices, error) { return hal.Devices{}, unsupported() }
