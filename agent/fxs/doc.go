// Package fxs is the line controller of one FXS (analog phone) port: it
// turns "messages waiting" into the port's configured signalling and plays
// dial tone when the handset is lifted.
//
// The logic is one pure transition function, next(cfg, status, event) →
// (status, actions), over five states:
//
//	idle       on-hook; signalling waits until the line has been on-hook and
//	           quiet for Config.Quiet (default 3 s)
//	sending    on-hook data in progress: HV off, optional ETSI alert, FSK MWI
//	           (SDMF, MDMF or ETSI; Bell 202 or V.23), then the polarity
//	           (the line-reversal alert's own reversal, or 200 ms after the
//	           data) and HV the MWI state wants
//	off-hook   handset lifted: stutter dial tone when messages wait (and the
//	           port does stutter), else normal dial tone, until on-hook or
//	           Config.DialTimeout
//	flash      on-hook: lifted again before Config.FlashMin (100 ms) is a
//	           glitch, before Config.FlashMax (900 ms) a hook flash, else a
//	           hang-up
//	ringing    ringing on request (selftest)
//
// Rules the table enforces: lifting the handset aborts a transmission at
// once and it is retried after the line is on-hook and quiet again; no data,
// HV or ringing is ever started off-hook (the HV relay is switched off and the
// polarity returned to forward the moment the handset lifts); VMWI FSK is
// repeated every Config.Refresh when set ("VMWI refresh", default off).
//
// Port runs the table against hal.Line, hal.Hook and hal.AudioSink with an
// injected clock. With a hal.TimedSink (hal/alsa) the audio is drained to
// its last sample before the next line step and flushed on off-hook. Its
// tests use hal/sim and a fake clock, and the real SLIC backend on the
// pins of hal/haltest's Ag1171 model (the ETSI EN 300 659-1 window table).
package fxs
