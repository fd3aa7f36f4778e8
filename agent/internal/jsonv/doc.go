// Package jsonv decodes JSON into the agent's own types (the status
// socket's answers, the persisted state, manual requests, the status
// page's POST bodies) as encoding/json does: the same struct tags (name,
// "-"), case-insensitive field matching, optionally no unknown fields,
// time.Time from RFC 3339 strings, the generic types for any.
//
// It exists for size: encoding/json's decoder was about 64 KB of the
// armv6 binary (docs/memory.md "The binary"), most of it generality the
// agent does not use (json.Unmarshaler and encoding.TextUnmarshaler other
// than time.Time's, Number, RawMessage, Token streams, ",string", base64
// byte slices, embedded structs). Encoding
// stays with encoding/json: log/slog links its encoder in any case (its
// text and JSON handlers share one code path), so a second encoder would
// only add bytes. The tests check jsonv against encoding/json on the
// agent's real types and on fuzzed input.
//
// Not supported, and an error if met: embedded (anonymous) struct
// fields, ",string", maps with non-string keys, targets of other kinds
// than JSON's (channels, functions, complex numbers).
package jsonv
