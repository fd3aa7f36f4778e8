module github.com/mwi-agent/mwi-agent

go 1.24.0
