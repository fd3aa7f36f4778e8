// Package config reads and checks mwi-agent's YAML configuration file.
//
// Load (or Parse) reads the file, applies defaults, expands the Asterisk
// chan_sip shorthand ("asterisk: user[:secret[:authuser]]@host[:port]/mailbox"),
// reads password_file and validates the result. Every problem is reported
// at once: the returned error is an errors.Join of *FieldError values, each
// naming the field path and the bad value, for example
//
//	accounts[2].server: missing port number in "pbx:"
//
// Resolve (or LoadResolved) turns a valid Config into typed values once
// (*Resolved: account URIs and transports, the board, the indicator
// policy, the tone country and the FXS port's fxs.Config), so that no
// consumer parses a string of the file again.
//
// Unknown keys are errors that name the key. Secrets (account passwords,
// the HTTP token) never appear in an error message, in String, GoString or
// LogValue output, or in JSON.
//
// The YAML is parsed with github.com/goccy/go-yaml's parser and decoded by
// this package from the syntax tree, so that every decoding problem (wrong
// type, unknown key) carries its field path and line, and so that keys
// present in the file can be told from defaults.
package config
