// Package boards holds board definitions as data: which GPIO line, bus and
// address does what on each supported board, which FXS signalling it can do,
// and its default tone country. Logic never branches on a board's name; it
// reads these values. See boards/README.md for wiring tables.
package boards
