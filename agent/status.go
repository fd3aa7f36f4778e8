package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
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
// at path until ctx ends. The socket is mode 0660: the agent's user and
// its group (the packaged service: group mwi-agent, whose members may run
// "mwi-agent status"; the state directory is 0750). The snapshot holds no
// secrets.
func (a *Agent) ServeStatus(ctx context.Context, path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSocket != 0 {
		_ = os.Remove(path) // left over from a previous run
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return fmt.Errorf("agent: status socket: %w", err)
	}
	_ = os.Chmod(path, 0o660)
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

// ReadStatus fetches a snapshot from a running agent's status socket. It
// speaks one HTTP/1.1 request on the socket itself: an http.Client would
// link the whole client transport (proxies, connection pools) into the
// binary for one local GET.
func ReadStatus(ctx context.Context, path string) (state.Snapshot, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrPermission) {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	if err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: is mwi-agent running? %w", err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://mwi-agent/", nil)
	if err != nil {
		return state.Snapshot{}, err
	}
	req.Close = true
	if err := req.Write(conn); err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return state.Snapshot{}, fmt.Errorf("agent: status: %s", res.Status)
	}
	var s state.Snapshot
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	return s, nil
}
