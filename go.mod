module github.com/mwi-agent/mwi-agent

go 1.24.0

require github.com/coreos/go-systemd/v22 v22.5.0
