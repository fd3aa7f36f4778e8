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
// The client is github.com/eclipse/paho.mqtt.golang v1.5.1 (MQTT 3.1.1):
// every broker and Home Assistant speak 3.1.1, and it cost less than the
// MQTT 5 client github.com/eclipse/paho.golang v0.23.0 in a measured test
// (docs/mqtt.md). Its own reconnect (no jitter) is off; Run reconnects.
package mqtt
