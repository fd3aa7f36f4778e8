package display_test

import (
	"fmt"

	"github.com/mwi-agent/mwi-agent/display"
)

// A view is built from the agent's state by the caller; the renderers turn it
// into pixels, LCD text or terminal text.
func Example() {
	v := display.View{Accounts: []display.AccountView{
		{Label: "Desk", New: 3, Old: 12, UrgentNew: 1, Waiting: display.WaitingYes},
		{Label: "Home", Waiting: display.WaitingUnknown, Health: display.HealthAuthFailed},
	}}
	img := display.RenderMono(v, 128, 64) // for an SSD1306: hal.Frame{Image: img}
	fmt.Println(img.Bounds())
	lcd := display.RenderText(v, 16, 2) // for an HD44780: the frame itself
	fmt.Printf("%q\n", lcd.Text)
	fmt.Print(display.RenderTerminal(v, false))
	// Output:
	// (0,0)-(128,64)
	// ["\x00 Desk       3\x02 " "? Home         \x04"]
	// [*] Desk   3 new, 12 old, 1 urgent
	// [?] Home   mailbox unknown            auth failed
}
