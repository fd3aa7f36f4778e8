// Package tone produces every sound the agent puts on an analog line: tone
// plans in Asterisk's indications syntax with a table per country, normal and
// stutter (message-waiting) dial tone, PCM synthesis, the FSK modem (Bell 202
// and V.23) with SDMF, MDMF and ETSI visual-MWI messages, and WAV files.
// It uses only the standard library so it builds for every target.
//
// Where to start:
//
//   - Tones: LookupCountry, Country.Plan (or ParsePlan for a user's string),
//     then NewGenerator and Generator.Read, which never allocates; Play
//     streams it to a Sink such as NewAplay.
//   - Visual MWI: MWIMessage builds the message, ModulateFSK turns it into
//     PCM, NewAlertSequence wraps it in the ETSI alerting steps an FXS port
//     executes (polarity, ring burst, silence, DT-AS, data).
//   - Checking audio: ReadWAV, DecodeMWI.
//
// Levels are dBm0 per frequency; 0 dBm0 is a sine 3.14 dB below a
// full-scale 16-bit sine (ITU-T G.711), see Amplitude.
package tone
