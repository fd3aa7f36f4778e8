// Package mosquittotest runs a real Mosquitto broker for integration
// tests: on a free loopback port, with optional TLS and a password file,
// stopped by PID when the test ends; and reads topics with mosquitto_sub.
package mosquittotest
