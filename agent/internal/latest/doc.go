// Package latest is the one "keep only the latest" primitive of the agent:
// a Signal tells any number of watchers that something changed, each
// watcher holding at most one pending notice, and Watch turns a Signal and
// a getter into a channel that always holds the newest value (an unread
// value is replaced, at most once per gap, so a slow reader costs one copy
// per gap, not one per change).
//
// agent.Watch (snapshots), the applier's Changes (the status page), the
// demo server's Changes and the page's event stream use it.
package latest
