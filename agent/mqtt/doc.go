// Package mqtt tells the house what the agent knows: it publishes every
// account's mailbox state to an MQTT broker as retained JSON, keeps an
// availability topic ("online", and "offline" as the connection's last
// will), announces a Home Assistant device through MQTT discovery (per
// account a binary sensor "messages waiting", a sensor "new messages" and
// a sensor "health") and, when enabled, takes manual set/clear commands.
//
// Topics, for prefix "mwi-agent" and device id "hotel-ata-017":
//
//	mwi-agent/hotel-ata-017/availability           online | offline (retained, last will)
//	mwi-agent/hotel-ata-017/account/room-101/state {"waiting":"yes",...} (retained)
//	mwi-agent/hotel-ata-017/command                {"action":"clear","account":"room-101"} (only if enabled)
//	homeassistant/binary_sensor/mwi-agent_hotel-ata-017_room-101_waiting/config (retained)
//
// Publishing never blocks the agent: the client reads snapshots from the
// agent's Watch (already latest-wins) and keeps one pending payload per
// topic (latest wins per topic), sent when the broker is reachable. The
// connection is re-established with exponential backoff and jitter, and
// every retained topic is published again after each reconnect, so a broker
// restarted without persistence learns the state again.
//
// The MQTT 3.1.1 client is this package's own (conn.go): CONNECT with
// will and credentials, PUBLISH and SUBSCRIBE at QoS 1, keep-alive,
// plain TCP or TLS. It replaced github.com/eclipse/paho.mqtt.golang
// v1.5.1, which links gorilla/websocket, compress/flate and
// golang.org/x/net/proxy for ws:// brokers and proxies whether or not
// one is configured: about 0.2 MB of the armv6 binary for features the
// agent does not offer (docs/memory.md "The binary"). Run reconnects with
// backoff and jitter.
package mqtt
