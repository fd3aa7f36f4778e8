// Package service connects mwi-agent to its supervisor, systemd, through
// the sd_notify protocol (github.com/coreos/go-systemd/v22/daemon):
//
//   - Ready sends READY=1 once the agent has started its accounts
//     (the unit is Type=notify, so "systemctl start" waits for it);
//   - RunWatchdog sends WATCHDOG=1 at half the unit's WatchdogSec, but only
//     while a probe of the agent's loop answers, so a wedged loop gets the
//     process restarted (Restart=on-failure) instead of a lamp frozen in
//     whatever state it last showed;
//   - Reload brackets a configuration reload (SIGHUP, "systemctl reload")
//     with RELOADING=1 and READY=1, and reports a failed reload in STATUS=.
//
// Outside systemd (NOTIFY_SOCKET unset) every call is a cheap no-op, so the
// same code runs on a desktop, in tests and under the service manager.
package service
