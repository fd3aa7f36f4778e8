module github.com/mwi-agent/mwi-agent

go 1.24.0

require github.com/goccy/go-yaml v1.18.0
