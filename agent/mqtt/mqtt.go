package mqtt

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/config"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// Source is the part of *agent.Agent the client reads.
type Source interface {
	Snapshot() state.Snapshot
	Watch(ctx context.Context) <-chan state.Snapshot
}

// Options configure the client.
type Options struct {
	Broker          string      // tcp://host:1883, ssl://host:8883 (also mqtt://, mqtts://)
	ClientID        string      // default "mwi-agent-" + DeviceID
	DeviceID        string      // required: [A-Za-z0-9_-]+
	DeviceName      string      // Home Assistant device name; default "mwi-agent " + DeviceID
	TopicPrefix     string      // default "mwi-agent"
	DiscoveryPrefix string      // Home Assistant discovery prefix; "" = no discovery
	Username        string      //
	Password        string      //
	TLS             *tls.Config // for ssl:// brokers; nil: system roots
	Commands        bool        // subscribe to <prefix>/<device>/command
	KeepAlive       time.Duration
	Version         string // sw_version in discovery

	Source Source
	// Manual applies a command (agent.Agent.Manual); needed with Commands.
	Manual func(state.ManualRequest) ([]string, error)
	Logger *slog.Logger

	// Backoff between connection attempts: Base doubling up to Max, each
	// delay drawn from ±Jitter of its value. Zero values: 1 s, 2 min, 0.25.
	BackoffBase, BackoffMax time.Duration
	Jitter                  float64
}

// Client publishes the agent's state to a broker.
type Client struct {
	opt  Options
	log  *slog.Logger
	dial dialOptions

	mu      sync.Mutex
	want    map[string][]byte // every retained topic's latest payload ("" = delete)
	pending map[string]bool   // topics not yet sent since their last change or reconnect
	kick    chan struct{}
	accts   map[string]bool // accounts announced (to retract removed ones)

	stats Stats
}

// Stats count what the client did (for tests and metrics).
type Stats struct {
	Connects, Published, Commands, BadCommands uint64
}

// New checks the options and builds a client; Run connects.
func New(o Options) (*Client, error) {
	if o.Source == nil {
		return nil, errors.New("mqtt: Options.Source is required")
	}
	if !config.ValidDeviceID(o.DeviceID) {
		return nil, fmt.Errorf("mqtt: device_id: %q must be letters, digits, '_' or '-'", o.DeviceID)
	}
	if o.Commands && o.Manual == nil {
		return nil, errors.New("mqtt: commands enabled without a Manual function")
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = "mwi-agent"
	}
	if o.ClientID == "" {
		o.ClientID = "mwi-agent-" + o.DeviceID
	}
	if o.DeviceName == "" {
		o.DeviceName = "mwi-agent " + o.DeviceID
	}
	if o.KeepAlive <= 0 {
		o.KeepAlive = 30 * time.Second
	}
	if o.BackoffBase <= 0 {
		o.BackoffBase = time.Second
	}
	if o.BackoffMax <= 0 {
		o.BackoffMax = 2 * time.Minute
	}
	if o.Jitter <= 0 {
		o.Jitter = 0.25
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	broker := o.Broker
	switch {
	case strings.HasPrefix(broker, "mqtt://"):
		broker = "tcp://" + strings.TrimPrefix(broker, "mqtt://")
	case strings.HasPrefix(broker, "mqtts://"):
		broker = "ssl://" + strings.TrimPrefix(broker, "mqtts://")
	}
	if !strings.HasPrefix(broker, "tcp://") && !strings.HasPrefix(broker, "ssl://") {
		return nil, fmt.Errorf("mqtt: broker: %q: want tcp://, ssl://, mqtt:// or mqtts://HOST:PORT", o.Broker)
	}
	c := &Client{opt: o, log: o.Logger, want: map[string][]byte{}, pending: map[string]bool{},
		kick: make(chan struct{}, 1), accts: map[string]bool{}}
	c.dial = dialOptions{broker: broker, clientID: o.ClientID, username: o.Username, password: o.Password,
		keepAlive: o.KeepAlive, will: will{c.availTopic(), []byte("offline")}, timeout: 10 * time.Second,
		onMessage: c.onCommand}
	if strings.HasPrefix(broker, "ssl://") {
		c.dial.tls = o.TLS
	}
	return c, nil
}

func (c *Client) base() string         { return c.opt.TopicPrefix + "/" + c.opt.DeviceID }
func (c *Client) availTopic() string   { return c.base() + "/availability" }
func (c *Client) commandTopic() string { return c.base() + "/command" }

// StateTopic is an account's retained state topic.
func (c *Client) StateTopic(account string) string {
	return c.base() + "/account/" + topicSafe(account) + "/state"
}

// topicSafe keeps account names (config names: [A-Za-z0-9._-]+) usable
// in topics and discovery object ids.
func topicSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '+' || r == '#' || r < ' ' {
			return '_'
		}
		return r
	}, s)
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// Run connects and publishes until ctx ends; then it publishes "offline",
// disconnects and returns ctx.Err(). Connection failures are logged and
// retried with backoff; they never end Run.
func (c *Client) Run(ctx context.Context) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.follow(wctx)
	attempt := 0
	for {
		conn, err := dial(ctx, c.dial)
		if err == nil {
			attempt = 0
			c.mu.Lock()
			c.stats.Connects++
			c.mu.Unlock()
			c.log.Info("mqtt: connected", "broker", c.opt.Broker, "client_id", c.opt.ClientID)
			err = c.connected(ctx, conn)
			if ctx.Err() != nil {
				c.goodbye(conn)
				return ctx.Err()
			}
			conn.fail(err) // no DISCONNECT: the broker publishes the will
			c.log.Warn("mqtt: connection lost", "broker", c.opt.Broker, "err", err)
		} else {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c.log.Warn("mqtt: cannot connect", "broker", c.opt.Broker, "err", err)
		}
		d := c.backoff(attempt)
		attempt++
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// backoff is Base·2^attempt capped at Max, spread by ±Jitter.
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opt.BackoffBase
	for range attempt {
		d *= 2
		if d >= c.opt.BackoffMax {
			d = c.opt.BackoffMax
			break
		}
	}
	j := 1 + c.opt.Jitter*(2*rand.Float64()-1)
	return time.Duration(float64(d) * j)
}

// connected runs while the connection is up: announce, subscribe, then
// send pending topics as they change. It returns when the connection is lost
// or ctx ends.
func (c *Client) connected(ctx context.Context, conn *conn) error {
	c.mu.Lock()
	for t := range c.want { // everything again: the broker may have lost it
		c.pending[t] = true
	}
	c.mu.Unlock()
	if err := c.publish(ctx, conn, c.availTopic(), []byte("online")); err != nil {
		return err
	}
	if c.opt.Commands {
		if err := conn.subscribe(ctx, c.commandTopic()); err != nil {
			return err
		}
	}
	for {
		if err := c.flush(ctx, conn); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-conn.done:
			return conn.Err()
		case <-c.kick:
		}
	}
}

// flush sends every pending topic's latest payload.
func (c *Client) flush(ctx context.Context, conn *conn) error {
	for ctx.Err() == nil {
		c.mu.Lock()
		var topic string
		for t := range c.pending {
			if topic == "" || t < topic {
				topic = t
			}
		}
		if topic == "" {
			c.mu.Unlock()
			return nil
		}
		payload := c.want[topic]
		delete(c.pending, topic)
		c.mu.Unlock()
		if err := c.publish(ctx, conn, topic, payload); err != nil {
			c.mu.Lock()
			c.pending[topic] = true // latest wins: a newer payload replaced it anyway
			c.mu.Unlock()
			return err
		}
	}
	return ctx.Err()
}

func (c *Client) publish(ctx context.Context, conn *conn, topic string, payload []byte) error {
	if err := conn.publish(ctx, topic, payload); err != nil {
		return err
	}
	c.mu.Lock()
	c.stats.Published++
	c.mu.Unlock()
	return nil
}

// goodbye: "offline" (the will is not sent on a clean disconnect) and
// disconnect.
func (c *Client) goodbye(conn *conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = conn.publish(ctx, c.availTopic(), []byte("offline"))
	conn.close()
}

// follow turns the agent's snapshots into retained payloads. It never
// waits for the broker.
func (c *Client) follow(ctx context.Context) {
	for s := range c.opt.Source.Watch(ctx) {
		c.update(s)
	}
}

// set records a topic's latest payload and kicks the sender.
func (c *Client) set(topic string, payload []byte) {
	if old, ok := c.want[topic]; ok && string(old) == string(payload) {
		return
	}
	c.want[topic] = payload
	c.pending[topic] = true
}

func (c *Client) update(s state.Snapshot) {
	now := time.Now()
	c.mu.Lock()
	seen := map[string]bool{}
	for _, a := range s.Accounts {
		seen[a.Name] = true
		b, _ := json.Marshal(StateOf(a, now))
		c.set(c.StateTopic(a.Name), b)
		if c.opt.DiscoveryPrefix != "" && !c.accts[a.Name] {
			for topic, cfg := range c.discovery(a) {
				b, _ := json.Marshal(cfg)
				c.set(topic, b)
			}
		}
		c.accts[a.Name] = true
	}
	var gone []string
	for name := range c.accts {
		if !seen[name] {
			gone = append(gone, name)
		}
	}
	sort.Strings(gone)
	for _, name := range gone { // retract: an empty retained payload deletes
		delete(c.accts, name)
		c.set(c.StateTopic(name), nil)
		if c.opt.DiscoveryPrefix != "" {
			for topic := range c.discovery(state.Account{Name: name}) {
				c.set(topic, nil)
			}
		}
	}
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// State is the retained JSON of one account.
type State struct {
	Account     string   `json:"account"`
	Label       string   `json:"label,omitempty"`
	Waiting     string   `json:"waiting"` // yes|no|unknown
	Known       bool     `json:"known"`   // false: "cannot know" (stale, unknown, or unconfirmed)
	New         uint32   `json:"new"`
	Old         uint32   `json:"old"`
	Urgent      uint32   `json:"urgent"`
	Health      string   `json:"health"`
	Source      string   `json:"source"` // subscribed|unsolicited|manual|persisted|none
	Unconfirmed bool     `json:"unconfirmed,omitempty"`
	AgeS        *float64 `json:"age_s,omitempty"`   // with unconfirmed
	Updated     string   `json:"updated,omitempty"` // last mailbox update, RFC 3339
	Since       string   `json:"since,omitempty"`   // health since, RFC 3339
}

// StateOf is an account's retained state.
func StateOf(a state.Account, now time.Time) State {
	t := a.Total()
	if _, ok := a.Classes[state.ClassVoice]; ok {
		t = a.Voice()
	}
	s := State{Account: a.Name, Label: a.Label, Waiting: a.Waiting.String(), Known: a.Known(),
		New: t.New, Old: t.Old, Urgent: t.UrgentNew, Health: a.Health.String(), Source: a.Source.String(),
		Unconfirmed: a.Unconfirmed()}
	if !a.Updated.IsZero() {
		s.Updated = a.Updated.UTC().Format(time.RFC3339)
		if a.Unconfirmed() {
			age := now.Sub(a.Updated).Round(time.Second).Seconds()
			s.AgeS = &age
		}
	}
	if !a.Since.IsZero() {
		s.Since = a.Since.UTC().Format(time.RFC3339)
	}
	return s
}

// discovery returns an account's Home Assistant discovery messages by
// topic, following Home Assistant's MQTT discovery schema
// (<discovery_prefix>/<component>/<object_id>/config).
func (c *Client) discovery(a state.Account) map[string]map[string]any {
	label := a.Label
	if label == "" {
		label = a.Name
	}
	id := "mwi-agent_" + c.opt.DeviceID + "_" + topicSafe(a.Name)
	device := map[string]any{
		"identifiers":  []string{"mwi-agent_" + c.opt.DeviceID},
		"name":         c.opt.DeviceName,
		"manufacturer": "mwi-agent",
		"model":        "mwi-agent",
	}
	if c.opt.Version != "" {
		device["sw_version"] = c.opt.Version
	}
	common := func(component, name, uid string) map[string]any {
		return map[string]any{
			"name":      label + " " + name,
			"unique_id": uid,
			// default_entity_id replaced object_id (deprecated in Home
			// Assistant 2025.10, no longer read from 2026.4).
			"default_entity_id":     component + "." + entitySlug(uid),
			"state_topic":           c.StateTopic(a.Name),
			"availability_topic":    c.availTopic(),
			"payload_available":     "online",
			"payload_not_available": "offline",
			"json_attributes_topic": c.StateTopic(a.Name),
			"device":                device,
			"qos":                   1,
		}
	}
	waiting := common("binary_sensor", "messages waiting", id+"_waiting")
	// "None" sets the binary sensor to unknown (Home Assistant's MQTT
	// binary sensor: a payload matching payload_on, payload_off or None).
	waiting["value_template"] = "{% if not value_json.known %}None{% elif value_json.waiting == 'yes' %}ON{% else %}OFF{% endif %}"
	waiting["payload_on"], waiting["payload_off"] = "ON", "OFF"
	waiting["icon"] = "mdi:voicemail"
	newMsgs := common("sensor", "new messages", id+"_new")
	newMsgs["value_template"] = "{{ value_json.new if value_json.known else None }}"
	newMsgs["unit_of_measurement"] = "messages"
	newMsgs["state_class"] = "measurement"
	newMsgs["icon"] = "mdi:email-alert"
	health := common("sensor", "health", id+"_health")
	health["value_template"] = "{{ value_json.health }}"
	health["icon"] = "mdi:phone-check"
	health["entity_category"] = "diagnostic"
	p := c.opt.DiscoveryPrefix
	return map[string]map[string]any{
		p + "/binary_sensor/" + id + "_waiting/config": waiting,
		p + "/sensor/" + id + "_new/config":            newMsgs,
		p + "/sensor/" + id + "_health/config":         health,
	}
}

// entitySlug makes an entity id's object part: lower case letters, digits
// and '_'.
func entitySlug(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '_'
	}, s)
}

// onCommand runs on the connection's reader: parse, apply (the agent's
// loop answers quickly), log. A malformed command is logged and ignored.
func (c *Client) onCommand(m message) {
	if m.retained {
		c.log.Warn("mqtt: retained command ignored (publish commands without retain)", "topic", m.topic)
		c.count(false)
		return
	}
	req, err := state.ParseManualRequest(m.payload)
	if err == nil {
		var names []string
		names, err = c.opt.Manual(req)
		if err == nil {
			c.log.Info("mqtt: command applied", "action", req.Action, "accounts", names)
			c.count(true)
			return
		}
	}
	c.log.Warn("mqtt: command ignored", "topic", m.topic, "payload", truncate(m.payload, 200), "err", err)
	c.count(false)
}

func (c *Client) count(ok bool) {
	c.mu.Lock()
	if ok {
		c.stats.Commands++
	} else {
		c.stats.BadCommands++
	}
	c.mu.Unlock()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
