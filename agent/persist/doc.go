// Package persist keeps each account's last known mailbox state in
// state_dir so that a reboot or power cut never leaves a falsely dark lamp.
//
// The file (state.json in state_dir) is written atomically: a temporary
// file in the same directory is written, fsynced and renamed over the old
// one, and the directory is fsynced. A crash at any moment leaves either
// the previous file or the new one, never a mix. The first line carries the
// format name, version, the body's length and CRC-32, so a truncated,
// damaged or foreign file is recognised, reported and ignored: never fatal.
//
// Saver.Run writes at most once per second while the state changes and
// once more at shutdown. Load reads the file back; the agent shows what it
// read as "last known, unconfirmed" (state.SourcePersisted) until the
// server confirms or corrects it.
package persist
