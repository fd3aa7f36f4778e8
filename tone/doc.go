// Package tone produces every sound the agent puts on an analog line: tone
// plans in Asterisk's indications syntax with a table per country, normal and
// stutter (message-waiting) dial tone, PCM synthesis, the FSK modem (Bell 202
// and V.23) with SDMF, MDMF and ETSI visual-MWI messages, and WAV files.
// It uses only the standard library so it builds for every target.
package tone
