module github.com/mwi-agent/mwi-agent

go 1.24.0

require golang.org/x/image v0.23.0 // indirect
