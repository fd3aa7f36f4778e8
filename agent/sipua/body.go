package sipua

import (
	"github.com/mwi-agent/mwi-agent/agent/summary"
)

// ParseBody is the default BodyParser: the RFC 3842 parser. An empty body
// is "no information" (waiting unknown), not "no messages".
func ParseBody(body []byte) (Mailbox, error) {
	s, warns, err := summary.Parse(body)
	if err != nil {
		return Mailbox{}, err
	}
	mb := Mailbox{Waiting: s.Waiting.State(), Classes: s.Classes, MessageAccount: s.Account}
	for _, w := range warns {
		mb.Warnings = append(mb.Warnings, w.String())
	}
	return mb, nil
}
