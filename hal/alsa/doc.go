// Package alsa is the FXS port's audio backend: a hal.TimedSink that writes
// 16-bit PCM straight to an ALSA kernel PCM device (/dev/snd/pcmC*D*p)
// through github.com/gen2brain/alsa (pure Go, no cgo, no alsa-lib), with a
// short, known buffer: 8 periods of 10 ms by default. Playback starts with
// the first sample written, Write blocks while the buffer is full, Drain
// returns once everything written has been played and Flush drops what
// has not. That puts the audio on the line's timeline: the FXS port drains
// before the GPIO step that follows a tone or FSK data, and flushes when the
// handset is lifted, so the skew between a line step and the audio is the
// buffer at most (docs/gpio.md has the figures measured in the qemu VM with
// the snd-aloop loopback card).
//
// It opens kernel devices only: "hw:CARD,DEV" where CARD is a number or a
// card id ("hw:Headphones,0", "hw:Loopback,0"; /proc/asound/cards lists
// them); "plughw:" is read as "hw:" and "default" as card 0, device 0.
// No ALSA plugin runs, so the card must take 16-bit samples; the rate is
// the lowest the card offers at or above the one asked for (Rate says
// which), and a card without mono gets both channels.
package alsa
