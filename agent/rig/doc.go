// Package rig builds the whole device — the agent, the board's indicators,
// the FXS port, the status socket, the status page and the service-manager
// notifications — from a configuration and the opened board devices, as an
// explicit ordered list of parts run by one Run(ctx).
//
// `mwi-agent run`, `mwi-agent demo` and the tests build their device here;
// `mwi-agent selftest` opens its board with the same Open.
//
// A part is a name and a Run(ctx) error. Parts start in list order and stop
// in reverse order (each one's context is cancelled, and the rig waits for
// it, before the part before it is stopped), so the page and the
// notifications stop first, the FXS port leaves the line forward before the
// agent un-REGISTERs, and the devices close last. A required part that fails
// stops the device and Run returns its error; an optional part that fails is
// logged and listed in Problems (shown by systemd's STATUS= and the page).
//
// To add a part (persistence, MQTT, metrics): build the rig with New, then
// call Add (starts after the built-in parts, stops before them) or AddFirst
// (starts before the agent, stops after it), using the rig's exported
// fields (Agent, Applier, Config, ...), and call Run.
package rig
