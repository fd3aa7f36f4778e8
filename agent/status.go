package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
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

// statusClient talks HTTP over the unix socket at path.
func statusClient(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
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
	res, err := statusClient(path).Do(req)
	if err != nil {
		return nil, fmt.Errorf("agent: status socket: is mwi-agent running? %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 8192))
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("agent: %s", strings.TrimSpace(string(body)))
	}
	var out struct {
		Changed []string `json:"changed"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
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
	res, err := statusClient(path).Do(req)
	if err != nil {
		return d, fmt.Errorf("agent: status: is mwi-agent running? %w", err)
	}
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(&d); err != nil {
		return d, fmt.Errorf("agent: status: diagnostics: %w", err)
	}
	return d, nil
}

// ReadStatus fetches a snapshot from a running agent's status socket.
func ReadStatus(ctx context.Context, path string) (state.Snapshot, error) {
	c := statusClient(path)
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
