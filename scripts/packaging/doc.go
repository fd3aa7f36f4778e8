// Package packaging holds the files of the mwi-agent .deb (nfpm.yaml, the
// systemd unit, udev rules, maintainer scripts, the example config) that
// scripts/package.sh turns into packages. Its Go tests check that those
// files agree with the code: the example config loads, the unit runs the
// command that exists with the flags it has.
package packaging
