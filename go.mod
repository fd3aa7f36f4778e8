module github.com/mwi-agent/mwi-agent

go 1.25.0

require (
	github.com/goccy/go-yaml v1.18.0
	golang.org/x/image v0.23.0
	periph.io/x/conn/v3 v3.7.3
	periph.io/x/devices/v3 v3.7.4
)
