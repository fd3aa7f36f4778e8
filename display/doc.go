// Package display turns a view model of the accounts (label, counts, urgent,
// waiting, health) into what a device shows: 1-bit pixels for graphic
// modules (128x64, 128x32 and other sizes), text and custom glyphs for
// character LCDs (16x2, 20x4), and text or ANSI for terminals. Rendering is
// pure: the same view gives the same pixels.
package display
