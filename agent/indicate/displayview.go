package indicate

// The display package's view model (CONTRACTS.md §5). Until that package is
// in main these mirror display.View field for field; then this file
// becomes type aliases.

// DisplayWaiting mirrors display.Waiting.
type DisplayWaiting int

// Mirrors of display's constants.
const (
	DisplayWaitingUnknown DisplayWaiting = iota
	DisplayWaitingNo
	DisplayWaitingYes
)

// DisplayHealth mirrors display.Health.
type DisplayHealth int

// Mirrors of display's constants.
const (
	DisplayHealthOK DisplayHealth = iota
	DisplayHealthRegistering
	DisplayHealthAuthFailed
	DisplayHealthUnreachable
	DisplayHealthStale
	DisplayHealthRejected
)

// AccountView mirrors display.AccountView.
type AccountView struct {
	Label     string
	New, Old  uint32
	UrgentNew uint32
	Fax, Text uint32
	Waiting   DisplayWaiting
	Health    DisplayHealth
	Flash     bool
}

// View mirrors display.View.
type View struct {
	Accounts []AccountView
	Page     int
	Title    string
}
