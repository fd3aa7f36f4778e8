package rig

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/metrics"
	"github.com/mwi-agent/mwi-agent/agent/mqtt"
	"github.com/mwi-agent/mwi-agent/agent/persist"
)

// The parts of issue 13: the last known state kept in state_dir, MQTT
// with Home Assistant discovery, and /metrics.

// newMetrics: the SIP counters exist when http.metrics is on (they are
// served on the status page's listener).
func newMetrics(r *Rig) *metrics.Metrics {
	if !r.Config.HTTP.Metrics {
		return nil
	}
	return metrics.New()
}

// addPersist restores the last known state into the agent (before it
// runs) and adds the saver as the first part: it starts before the agent
// and stops after it, so the state at shutdown is the last one written.
func (r *Rig) addPersist() {
	dir := r.Config.StateDir
	persist.RestoreInto(r.Agent, dir, r.log.With("part", "persist"))
	s := &persist.Saver{Dir: dir, Source: r.Agent, Logger: r.log.With("part", "persist")}
	r.AddFirst(Part{Name: "persist", Optional: true, Run: func(ctx context.Context) error {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("state directory: %w", err)
		}
		return s.Run(ctx)
	}})
}

// addMQTT adds the MQTT client when mqtt.broker is set. A broker that
// cannot be reached is retried (logged); it never stops the device.
func (r *Rig) addMQTT() error {
	o, on, err := mqtt.FromConfig(r.Config.MQTT, strings.TrimPrefix(r.Config.UserAgent, "mwi-agent/"))
	if err != nil || !on {
		return err
	}
	o.Source, o.Logger = r.Agent, r.log.With("part", "mqtt")
	if o.Commands {
		o.Manual = r.Agent.Manual
	}
	c, err := mqtt.New(o)
	if err != nil {
		return err
	}
	r.MQTT = c
	r.Add(Part{Name: "mqtt", Optional: true, Run: c.Run})
	return nil
}
