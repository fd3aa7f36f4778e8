package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// StatusSocket is the name of the local status socket in the state
// directory: `mwi-agent run` serves it, `mwi-agent status` reads it.
const StatusSocket = "mwi-agent.sock"

// ServeStatus serves the current snapshot as JSON (GET /) on a unix socket
// at path until ctx ends. The socket is created mode 0600: local only.
func (a *Agent) ServeStatus(ctx context.Context, path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path) // left over from a previous run
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("agent: status socket: %w", err)
	}
	_ = os.Chmod(path, 0o600)
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			enc := json.NewEncoder(w)
			enc.SetIndent("", "  ")
			_ = enc.Encode(a.Snapshot())
		}),
		ReadHeaderTimeout: 5 * time.Second,
	}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	err = srv.Serve(l)
	_ = os.Remove(path)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ReadStatus fetches a snapshot from a running agent's status socket.
func ReadStatus(ctx context.Context, path string) (state.Snapshot, error) {
	c := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://mwi-agent/", nil)
	if err != nil {
		return state.Snapshot{}, err
	}
	res, err := c.Do(req)
	if err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: is mwi-agent running? %w", err)
	}
	defer res.Body.Close()
	var s state.Snapshot
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	return s, nil
}
