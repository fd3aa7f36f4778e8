module github.com/mwi-agent/mwi-agent

go 1.24.0

require github.com/warthog618/go-gpiocdev v0.9.1

require golang.org/x/sys v0.18.0 // indirect
