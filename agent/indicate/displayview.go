package indicate

import "github.com/mwi-agent/mwi-agent/display"

// The display's view model (CONTRACTS.md §5): Compute fills a display.View
// so display.Render can draw it directly.
type (
	View           = display.View
	AccountView    = display.AccountView
	DisplayWaiting = display.Waiting
	DisplayHealth  = display.Health
)

// Names for display's constants as Compute uses them.
const (
	DisplayWaitingUnknown = display.WaitingUnknown
	DisplayWaitingNo      = display.WaitingNo
	DisplayWaitingYes     = display.WaitingYes

	DisplayHealthOK          = display.HealthOK
	DisplayHealthRegistering = display.HealthRegistering
	DisplayHealthAuthFailed  = display.HealthAuthFailed
	DisplayHealthUnreachable = display.HealthUnreachable
	DisplayHealthStale       = display.HealthStale
	DisplayHealthRejected    = display.HealthRejected
)
