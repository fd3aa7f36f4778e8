package web

import (
	"encoding/json"
	"io"
	"mime"
	"net/http"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

// postManual is POST /api/mwi with a state.ManualRequest as JSON:
// {"action":"clear","account":"room-101"}. The body must be
// application/json: a browser cannot send that cross-site without a CORS
// preflight this server never grants, so a page elsewhere cannot clear a
// lamp through a loopback listener without a token. Off loopback the token
// is required anyway (ListenAndServe).
func (s *Server) postManual(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		http.Error(w, "web: POST /api/mwi: Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, 8192))
	if err != nil {
		http.Error(w, "web: "+err.Error(), http.StatusBadRequest)
		return
	}
	req, err := state.ParseManualRequest(b)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	names, err := s.opt.Manual(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict) // unknown account, agent not running
		return
	}
	s.log.Info("web: manual mailbox state", "action", req.Action, "account", req.Account, "all", req.All, "remote", r.RemoteAddr)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"changed": names})
}

func (s *Server) getDiag(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(s.opt.Diag())
}
