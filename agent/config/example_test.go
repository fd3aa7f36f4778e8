package config_test

import (
	"errors"
	"fmt"

	"github.com/mwi-agent/mwi-agent/agent/config"
)

func ExampleParse() {
	cfg, err := config.Parse([]byte(`
accounts:
  - aor: sip:1001@pbx.example.com
    password: secret
  - asterisk: "1002:secret:auth1002@pbx.example.com:5060/1002"
    label: Front desk
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, a := range cfg.Accounts {
		fmt.Printf("%s: user %s, server %s:%d, subscribe to %s, register %v\n",
			a, a.Username, a.Host(), a.Port(), a.MailboxURI(), a.Register)
	}
	// Output:
	// 1001-pbx.example.com (sip:1001@pbx.example.com): user 1001, server pbx.example.com:5060, subscribe to sip:1001@pbx.example.com, register true
	// 1002-pbx.example.com (sip:1002@pbx.example.com): user auth1002, server pbx.example.com:5060, subscribe to sip:1002@pbx.example.com, register false
}

func ExampleConfig_Validate() {
	_, err := config.Parse([]byte(`
log_level: loud
accounts:
  - aor: sip:1001@pbx.example.com
    server: "pbx:"
    password: secret
    regster: false
`))
	fmt.Println(err)

	var fe *config.FieldError
	if errors.As(err, &fe) {
		fmt.Printf("first: field %s, value %q\n", fe.Field, fe.Value)
	}
	// Output:
	// accounts[0].regster: unknown key (line 7)
	// log_level: want debug, info, warn or error, not "loud"
	// accounts[0].server: missing port number in "pbx:"
	// first: field accounts[0].regster, value ""
}
