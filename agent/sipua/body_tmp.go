package sipua

// TEMPORARY until agent/summary lands in main: a minimal RFC 3842 reader so
// the SIP side can be built and tested. Replaced by summary.Parse.

import (
	"errors"
	"strconv"
	"strings"

	"github.com/mwi-agent/mwi-agent/agent/state"
)

func parseBodyTmp(body []byte) (Mailbox, error) {
	var m Mailbox
	if len(strings.TrimSpace(string(body))) == 0 {
		return m, nil
	}
	seen := false
	for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		k, v = strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(v)
		switch {
		case k == "messages-waiting":
			switch strings.ToLower(v) {
			case "yes":
				m.Waiting, seen = state.WaitingYes, true
			case "no":
				m.Waiting, seen = state.WaitingNo, true
			}
		case k == "message-account":
			m.MessageAccount = v
		default:
			n, o, ok := strings.Cut(v, "/")
			if !ok {
				continue
			}
			o, urg, _ := strings.Cut(o, "(")
			nn, e1 := strconv.ParseUint(strings.TrimSpace(n), 10, 32)
			on, e2 := strconv.ParseUint(strings.TrimSpace(o), 10, 32)
			if e1 != nil || e2 != nil {
				continue
			}
			if m.Classes == nil {
				m.Classes = map[string]state.Counts{}
			}
			c := state.Counts{New: uint32(nn), Old: uint32(on)}
			un, uo, _ := strings.Cut(strings.TrimSuffix(strings.TrimSpace(urg), ")"), "/")
			if x, err := strconv.ParseUint(strings.TrimSpace(un), 10, 32); err == nil {
				c.UrgentNew = uint32(x)
			}
			if x, err := strconv.ParseUint(strings.TrimSpace(uo), 10, 32); err == nil {
				c.UrgentOld = uint32(x)
			}
			m.Classes[k] = c
		}
	}
	if !seen {
		return m, errors.New("sipua: no Messages-Waiting line")
	}
	return m, nil
}

// ParseBody is the default BodyParser.
func ParseBody(body []byte) (Mailbox, error) { return parseBodyTmp(body) }
