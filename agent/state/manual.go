package state

import (
	"errors"
	"fmt"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/internal/jsonv"
)

// ManualRequest is one set or clear by hand: from `mwi-agent mwi`, the
// HTTP API or an MQTT command. Its JSON form is the same everywhere:
//
//	{"action":"set","account":"office","new":2,"old":1,"urgent":0}
//	{"action":"clear","account":"office"}
//	{"action":"clear","all":true}
type ManualRequest struct {
	Action  string `json:"action"`            // set|clear
	Account string `json:"account,omitempty"` // config name; "" with All
	All     bool   `json:"all,omitempty"`     // clear only: every account
	New     uint32 `json:"new,omitempty"`
	Old     uint32 `json:"old,omitempty"`
	Urgent  uint32 `json:"urgent,omitempty"` // urgent new messages, at most New
}

// Validate checks the request's shape (not whether the account exists).
func (r ManualRequest) Validate() error {
	switch r.Action {
	case "set":
		if r.All {
			return errors.New("state: manual set: all: set takes one account")
		}
		if r.Urgent > r.New {
			return fmt.Errorf("state: manual set: urgent: %d is more than new (%d)", r.Urgent, r.New)
		}
	case "clear":
		if r.New != 0 || r.Old != 0 || r.Urgent != 0 {
			return errors.New("state: manual clear: new/old/urgent: clear takes no counts")
		}
	default:
		return fmt.Errorf("state: manual: action: %q is not set or clear", r.Action)
	}
	if r.All == (r.Account != "") {
		return errors.New("state: manual: account: give one account or all")
	}
	return nil
}

// ParseManualRequest decodes and validates a request's JSON (at most 4 KiB;
// unknown fields are errors, so a typo is not silently ignored).
func ParseManualRequest(b []byte) (ManualRequest, error) {
	var r ManualRequest
	if len(b) > 4096 {
		return r, fmt.Errorf("state: manual: request of %d bytes is too long", len(b))
	}
	dec := jsonv.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return r, fmt.Errorf("state: manual: %w", err)
	}
	if dec.More() {
		return r, errors.New("state: manual: trailing data after the request")
	}
	return r, r.Validate()
}

// Mailbox returns the mailbox a valid request sets: waiting yes with the
// voice-message counts (no counts when all are zero, like a server that
// sends only the status line), or waiting no with no counts for a clear.
func (r ManualRequest) Mailbox() (Waiting, map[string]Counts) {
	if r.Action == "clear" {
		return WaitingNo, nil
	}
	if r.New == 0 && r.Old == 0 {
		return WaitingYes, nil
	}
	return WaitingYes, map[string]Counts{ClassVoice: {New: r.New, Old: r.Old, UrgentNew: r.Urgent}}
}
