package agent

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mwi-agent/mwi-agent/agent/internal/jsonv"
	"github.com/mwi-agent/mwi-agent/agent/state"
)

// StatusSocket is the name of the local status socket in the state
// directory: `mwi-agent run` serves it, `mwi-agent status` reads it.
const StatusSocket = "mwi-agent.sock"

// ServeStatus serves the current snapshot as JSON (GET /) on a unix socket
// at path until ctx ends. The socket is mode 0660: the agent's user and its
// group (the packaged service: group mwi-agent, whose members may run
// "mwi-agent status" and "mwi-agent mwi"; the state directory is 0750).
// The snapshot holds no secrets.
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
		Handler:           a.statusHandler(),
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

// statusHandler: GET / is the snapshot, POST /mwi a manual set or clear
// (state.ManualRequest as JSON), GET /diag the troubleshooting view.
func (a *Agent) statusHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.Snapshot())
	})
	mux.HandleFunc("POST /mwi", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(io.LimitReader(r.Body, 8192))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req, err := state.ParseManualRequest(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		names, err := a.Manual(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, map[string]any{"changed": names})
	})
	mux.HandleFunc("GET /diag", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, a.Diagnostics())
	})
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// doSocket sends one HTTP/1.1 request over the unix socket at path and
// returns the response (the caller closes its body). It speaks HTTP on the
// connection itself: an http.Client would link the whole client transport
// (proxies, connection pools) into the binary for a few local requests.
// A socket the user may not open is reported as such, not as "is
// mwi-agent running?".
func doSocket(ctx context.Context, path string, req *http.Request) (*http.Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("agent: status socket: %w", err)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: status socket: is mwi-agent running? %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	req.Close = true
	if err := req.Write(conn); err != nil {
		stop()
		conn.Close()
		return nil, fmt.Errorf("agent: status socket: %w", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		stop()
		conn.Close()
		return nil, fmt.Errorf("agent: status socket: %w", err)
	}
	res.Body = &connBody{ReadCloser: res.Body, conn: conn, stop: stop}
	return res, nil
}

// connBody closes the connection with the response body.
type connBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	err := b.ReadCloser.Close()
	return errors.Join(err, b.conn.Close())
}

// SendManual sends a manual set or clear to a running agent's status
// socket and returns the accounts it changed.
func SendManual(ctx context.Context, path string, r state.ManualRequest) ([]string, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	b, _ := json.Marshal(r)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://mwi-agent/mwi", bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := doSocket(ctx, path, req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 8192))
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("agent: %s", strings.TrimSpace(string(body)))
	}
	var out struct {
		Changed []string `json:"changed"`
	}
	if err := jsonv.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("agent: status socket: %w", err)
	}
	return out.Changed, nil
}

// ReadDiagnostics fetches the troubleshooting view from a running agent's
// status socket.
func ReadDiagnostics(ctx context.Context, path string) (Diagnostics, error) {
	var d Diagnostics
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://mwi-agent/diag", nil)
	if err != nil {
		return d, err
	}
	res, err := doSocket(ctx, path, req)
	if err != nil {
		return d, err
	}
	defer res.Body.Close()
	if err := jsonv.NewDecoder(res.Body).Decode(&d); err != nil {
		return d, fmt.Errorf("agent: status: diagnostics: %w", err)
	}
	return d, nil
}

// ReadStatus fetches a snapshot from a running agent's status socket.
func ReadStatus(ctx context.Context, path string) (state.Snapshot, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://mwi-agent/", nil)
	if err != nil {
		return state.Snapshot{}, err
	}
	res, err := doSocket(ctx, path, req)
	if err != nil {
		return state.Snapshot{}, err
	}
	defer res.Body.Close()
	var s state.Snapshot
	if err := jsonv.NewDecoder(res.Body).Decode(&s); err != nil {
		return state.Snapshot{}, fmt.Errorf("agent: status: %w", err)
	}
	return s, nil
}
