package tone

import (
	"fmt"
	"sort"
	"strings"
)

// Tone names every Country has.
const (
	Dial       = "dial"
	Stutter    = "stutter" // message-waiting dial tone
	Busy       = "busy"
	Ring       = "ring" // ringback, heard by the caller
	Congestion = "congestion"
)

// ToneNames lists the tones of every country, in a fixed order.
func ToneNames() []string { return []string{Dial, Stutter, Busy, Ring, Congestion} }

// Country is one country's tones in indications syntax (see ParsePlan),
// and its on-hook data defaults.
type Country struct {
	Code  string // lower-case ISO 3166 alpha-2 ("uk" for the United Kingdom, as Asterisk)
	Name  string
	Tones map[string]string
	// OnHook is how the country's phones expect on-hook (visual MWI) data:
	// FSK standard, message format and the alert before the data.
	OnHook OnHookData
}

// OnHookData is a country's default for on-hook data, with the source of
// the choice (docs/tone.md has the table).
type OnHookData struct {
	Standard Standard
	Format   Format
	Alert    Alert
	Source   string
}

// On-hook data defaults. ETSI EN 300 659-1 (data not associated with
// ringing: an alert first) with V.23 FSK (EN 300 659-2) is what European
// phones expect; Telcordia GR-30-CORE VMWI is Bell 202 MDMF with no alert.
var (
	onHookBellcore = OnHookData{Bell202, MDMF, AlertNone,
		"Telcordia GR-30-CORE / SR-3004: Bell 202, MDMF (VMWI parameter 0x0B), no alert"}
	onHookETSI = OnHookData{V23, ETSI, AlertLineReversal,
		"ETSI EN 300 659-1/-2/-3: V.23 FSK, MWI message with parameter 0x13, alerted by line reversal then DT-AS"}
	onHookBT = OnHookData{V23, ETSI, AlertLineReversal,
		"BT SIN 227 (and SIN 242 for MWI): V.23 FSK after line reversal and DT-AS (the idle-state alert)"}
	onHookUnknown = OnHookData{Bell202, MDMF, AlertNone,
		"not researched: the Bellcore default; set fxs.fsk_standard and fxs.alert for the phone"}
)

// europe are the countries in table whose networks follow ETSI EN 300 659.
var europe = map[string]bool{"at": true, "be": true, "bg": true, "ch": true, "cz": true, "de": true,
	"dk": true, "ee": true, "es": true, "fi": true, "fr": true, "gr": true, "hu": true, "it": true,
	"lt": true, "nl": true, "no": true, "pl": true, "pt": true, "ru": true, "se": true}

func onHookFor(code string) OnHookData {
	switch {
	case code == "us" || code == "ca":
		return onHookBellcore
	case code == "uk":
		return onHookBT
	case europe[code]:
		return onHookETSI
	}
	return onHookUnknown
}

// StutterKind says what a message-waiting "stutter" plan really is:
// "stutter (interrupted dial tone)" when it has silent gaps, "alternating
// special dial tone" when it alternates tones without gaps (uk, it, no),
// or "continuous special dial tone" (br, at, cn, de, hu: a steady tone of
// other frequencies than the dial tone, not a stutter).
func StutterKind(p Plan) string {
	gaps, tones := false, 0
	for _, s := range p.Segments {
		if s.Silent() {
			gaps = true
		} else {
			tones++
		}
	}
	switch {
	case gaps:
		return "stutter (interrupted dial tone)"
	case tones > 1:
		return "alternating special dial tone"
	}
	return "continuous special dial tone"
}

// Plan parses the named tone.
func (c Country) Plan(name string) (Plan, error) {
	s, ok := c.Tones[name]
	if !ok {
		return Plan{}, fmt.Errorf("tone: country %q has no tone %q (have %s)", c.Code, name, strings.Join(c.names(), ", "))
	}
	p, err := ParsePlan(s)
	if err != nil {
		return Plan{}, fmt.Errorf("tone: %s %s: %w", c.Code, name, err)
	}
	return p, nil
}

func (c Country) names() []string {
	n := make([]string, 0, len(c.Tones))
	for k := range c.Tones {
		n = append(n, k)
	}
	sort.Strings(n)
	return n
}

// WithOverrides returns a copy of c whose tones are replaced or extended by
// over (tone name → indications string). Every override is parsed; the
// error names the first bad one.
func (c Country) WithOverrides(over map[string]string) (Country, error) {
	out := Country{Code: c.Code, Name: c.Name, OnHook: c.OnHook, Tones: make(map[string]string, len(c.Tones)+len(over))}
	for k, v := range c.Tones {
		out.Tones[k] = v
	}
	keys := make([]string, 0, len(over))
	for k := range over {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := ParsePlan(over[k]); err != nil {
			return Country{}, fmt.Errorf("tone: override %q: %w", k, err)
		}
		out.Tones[k] = over[k]
	}
	return out, nil
}

// LookupCountry returns the built-in tones of a country by its code
// (case-insensitive; "gb" is accepted for "uk"). The returned map is the
// caller's own copy.
func LookupCountry(code string) (Country, error) {
	c := strings.ToLower(strings.TrimSpace(code))
	if c == "gb" {
		c = "uk"
	}
	for _, r := range countryTable() {
		if r.code == c {
			return r.country(), nil
		}
	}
	return Country{}, fmt.Errorf("tone: unknown country %q (known: %s)", code, strings.Join(CountryCodes(), " "))
}

// CountryCodes lists the built-in country codes, sorted.
func CountryCodes() []string {
	t := countryTable()
	codes := make([]string, len(t))
	for i, r := range t {
		codes[i] = r.code
	}
	sort.Strings(codes)
	return codes
}

// Countries returns every built-in country, sorted by code.
func Countries() []Country {
	t := countryTable()
	out := make([]Country, len(t))
	for i, r := range t {
		out[i] = r.country()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

type countryRow struct {
	code, name                            string
	dial, stutter, busy, ring, congestion string
}

func (r countryRow) country() Country {
	return Country{Code: r.code, Name: r.name, OnHook: onHookFor(r.code), Tones: map[string]string{
		Dial: r.dial, Stutter: r.stutter, Busy: r.busy, Ring: r.ring, Congestion: r.congestion,
	}}
}

// bursts is n on/off bursts played once, then steady.
func bursts(n int, tone string, on, off int, steady string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "!%s/%d,!0/%d,", tone, on, off)
	}
	b.WriteString(steady)
	return b.String()
}

// countryTable is the built-in table. Source: Asterisk's
// configs/samples/indications.conf.sample (itself mostly from the ITU-T
// "Various tones used in national networks" list, Suppl. 2 to E.180), with
// the changes noted inline. It is built on each call: nothing here is
// shared mutable state.
func countryTable() []countryRow {
	// Asterisk's generic stutter: 6 bursts of 100/100 ms, then steady dial.
	six := func(tone, steady string) string { return bursts(6, tone, 100, 100, steady) }
	return []countryRow{
		{"at", "Austria", "420", "380+420", "420/400,0/400", "420/1000,0/5000", "420/200,0/200"},
		{"au", "Australia", "413+438", "413+438/100,0/40", "425/375,0/375", "413+438/400,0/200,413+438/400,0/2000", "425/375,0/375,420/375,0/375"},
		{"be", "Belgium", "425", "425/1000,0/250", "425/500,0/500", "425/1000,0/3000", "425/167,0/167"},
		{"bg", "Bulgaria", "425", "425/1500,0/100", "425/500,0/500", "425/1000,0/4000", "425/250,0/250"},
		{"br", "Brazil", "425", "350+440", "425/250,0/250", "425/1000,0/4000", "425/250,0/250,425/750,0/250"},
		// Canada shares the North American plan (see "us").
		{"ca", "Canada", "350+440", bursts(10, "350+440", 100, 100, "350+440"), "480+620/500,0/500", "440+480/2000,0/4000", "480+620/250,0/250"},
		{"ch", "Switzerland", "425", "425+340/1100,0/1100", "425/500,0/500", "425/1000,0/4000", "425/200,0/200"},
		{"cl", "Chile", "400", six("400", "400"), "400/500,0/500", "400/1000,0/3000", "400/200,0/200"},
		{"cn", "China", "450", "450+425", "450/350,0/350", "450/1000,0/4000", "450/700,0/700"},
		{"cz", "Czech Republic", "425/330,0/330,425/660,0/660", "425/450,0/50", "425/330,0/330", "425/1000,0/4000", "425/165,0/165"},
		{"de", "Germany", "425", "425+400", "425/480,0/480", "425/1000,0/4000", "425/240,0/240"},
		{"dk", "Denmark", "425", "425/450,0/50", "425/500,0/500", "425/1000,0/4000", "425/200,0/200"},
		{"ee", "Estonia", "425", six("425", "425"), "425/300,0/300", "425/1000,0/4000", "425/200,0/200"},
		{"es", "Spain", "425", six("425", "425"), "425/200,0/200", "425/1500,0/3000", "425/200,0/200,425/200,0/200,425/200,0/600"},
		{"fi", "Finland", "425", "425/650,0/25", "425/300,0/300", "425/1000,0/4000", "425/200,0/200"},
		{"fr", "France", "440", six("440", "440"), "440/500,0/500", "440/1500,0/3500", "440/250,0/250"},
		{"gr", "Greece", "425/200,0/300,425/700,0/800", "425/650,0/25", "425/300,0/300", "425/1000,0/4000", "425/200,0/200"},
		// Asterisk's sample has "350+375+400"; its parser reads that as 350+375.
		{"hu", "Hungary", "425", "350+375", "425/300,0/300", "425/1250,0/3750", "425/300,0/300"},
		{"il", "Israel", "414", bursts(10, "414", 160, 160, "414"), "414/500,0/500", "414/1000,0/3000", "414/250,0/250"},
		{"in", "India", "400*25", six("350+440", "400*25"), "400/750,0/750", "400*25/400,0/200,400*25/400,0/2000", "400/250,0/250"},
		{"it", "Italy", "425/200,0/200,425/600,0/1000", "470/400,425/400", "425/500,0/500", "425/1000,0/4000", "425/200,0/200"},
		// Asterisk writes the ringback as "400+15/1000,0/2000": a 15 Hz
		// component a line does not carry. NTT's ringback is 400 Hz
		// modulated by 16 Hz, which is what this is.
		{"jp", "Japan", "400", six("400", "400"), "400/500,0/500", "400*16/1000,0/2000", "400/500,0/500"},
		{"lt", "Lithuania", "425", six("425", "425"), "425/350,0/350", "425/1000,0/4000", "425/200,0/200"},
		{"mx", "Mexico", "425", six("350+440", "425"), "425/250,0/250", "425/1000,0/4000", "425/250,0/250"},
		{"my", "Malaysia", "425", six("425", "425"), "425/500,0/500", "425/400,0/200,425/400,0/2000", "425/500,0/500"},
		{"nl", "Netherlands", "425", "425/500,0/50", "425/500,0/500", "425/1000,0/4000", "425/250,0/250"},
		{"no", "Norway", "425", "470/400,425/400", "425/500,0/500", "425/1000,0/4000", "425/200,0/200"},
		{"nz", "New Zealand", "400", six("400", "400"), "400/500,0/500", "400+450/400,0/200,400+450/400,0/2000", "400/250,0/250"},
		{"ph", "Philippines", "425", six("350+440", "425"), "480+620/500,0/500", "425+480/1000,0/4000", "480+620/250,0/250"},
		{"pl", "Poland", "425", six("425", "425"), "425/500,0/500", "425/1000,0/4000", "425/500,0/500"},
		{"pt", "Portugal", "425", six("425", "425"), "425/500,0/500", "425/1000,0/5000", "425/200,0/200"},
		{"ru", "Russian Federation", "425", six("425", "425"), "425/350,0/350", "425/1000,0/4000", "425/175,0/175"},
		// Asterisk's sample ships the generic six bursts but notes the real
		// Swedish message-waiting tone, 425 Hz 320 ms on, 20 ms off.
		{"se", "Sweden", "425", "425/320,0/20", "425/250,0/250", "425/1000,0/5000", "425/250,0/750"},
		{"sg", "Singapore", "425", "!425/200,!0/200,!425/600,!0/200,!425/200,!0/200,!425/600,!0/200,!425/200,!0/200,!425/600,!0/200,!425/200,!0/200,!425/600,!0/200,425", "425/750,0/750", "425*24/400,0/200,425*24/400,0/2000", "425/250,0/250"},
		{"th", "Thailand", "400*50", "!400/200,!0/200,!400/600,!0/200,!400/200,!0/200,!400/600,!0/200,!400/200,!0/200,!400/600,!0/200,!400/200,!0/200,!400/600,!0/200,400", "400/500,0/500", "420/1000,0/5000", "400/300,0/300"},
		{"tw", "Taiwan", "350+440", six("350+440", "350+440"), "480+620/500,0/500", "440+480/1000,0/2000", "480+620/250,0/250"},
		{"uk", "United Kingdom", "350+440", "350+440/750,440/750", "400/375,0/375", "400+450/400,0/200,400+450/400,0/2000", "400/400,0/350,400/225,0/525"},
		// North America. The stutter is 10 bursts of 100 ms on / 100 ms off
		// (2 s) then steady dial tone: what Cisco, Poly and Panasonic phones
		// and ATAs play (Cisco ATA: "2(.1/.1/1+2);10(*/0/1+2)" at -19 dBm0).
		// Asterisk's sample plays only 6 bursts:
		//   bursts(6, "350+440", 100, 100, "350+440")
		{"us", "United States", "350+440", bursts(10, "350+440", 100, 100, "350+440"), "480+620/500,0/500", "440+480/2000,0/4000", "480+620/250,0/250"},
		{"ve", "Venezuela", "425", six("425", "425"), "425/500,0/500", "425/1000,0/4000", "425/250,0/250"},
		{"za", "South Africa", "400*33", six("400*33", "400*33"), "400/500,0/500", "400*33/400,0/200,400*33/400,0/2000", "400/250,0/250"},
	}
}
