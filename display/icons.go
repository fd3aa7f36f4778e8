package display

// Icons as pixel patterns: '#' is lit. They are drawn at 1x in rows and 2x
// in the single-account layout.

// Envelope icons, 15x11.
var (
	envelopeOutline = []string{
		"###############",
		"##...........##",
		"#.#.........#.#",
		"#..#.......#..#",
		"#...#.....#...#",
		"#....#...#....#",
		"#.....#.#.....#",
		"#......#......#",
		"#.............#",
		"#.............#",
		"###############",
	}
	envelopeFilled = []string{
		"###############",
		"#.###########.#",
		"##.#########.##",
		"###.#######.###",
		"####.#####.####",
		"#####.###.#####",
		"######.#.######",
		"#######.#######",
		"###############",
		"###############",
		"###############",
	}
	envelopeUnknown = []string{
		"#.#.#.#.#.#.#.#",
		"...............",
		"#.....###.....#",
		"#....##.##....#",
		".........##....",
		"#.......##....#",
		"#......##.....#",
		"...............",
		"#......##.....#",
		"...............",
		"#.#.#.#.#.#.#.#",
	}
)

const envW, envH = 15, 11

// urgentMark is a boxed "!", 7x11.
var urgentMark = []string{
	".#####.",
	"###.###",
	"###.###",
	"###.###",
	"###.###",
	"###.###",
	"#######",
	"###.###",
	"###.###",
	"#######",
	".#####.",
}

const urgentW = 7

// Health glyphs, 9x9, indexed by Health (HealthOK has none).
var healthGlyphs = [...][]string{
	HealthRegistering: { // hourglass
		"#########",
		".#.....#.",
		"..#...#..",
		"...#.#...",
		"....#....",
		"...#.#...",
		"..#.#.#..",
		".#.###.#.",
		"#########",
	},
	HealthAuthFailed: { // padlock
		"..#####..",
		".##...##.",
		".#.....#.",
		".#.....#.",
		"#########",
		"####.####",
		"###...###",
		"####.####",
		"#########",
	},
	HealthUnreachable: { // bold cross
		"##.....##",
		"###...###",
		".###.###.",
		"..#####..",
		"...###...",
		"..#####..",
		".###.###.",
		"###...###",
		"##.....##",
	},
	HealthStale: { // clock
		"..#####..",
		".#..#..#.",
		"#...#...#",
		"#...#...#",
		"#...###.#",
		"#.......#",
		"#.......#",
		".#.....#.",
		"..#####..",
	},
	HealthRejected: { // no-entry sign
		"..#####..",
		".#######.",
		"#########",
		"#########",
		"#.......#",
		"#########",
		"#########",
		".#######.",
		"..#####..",
	},
}

const healthW = 9

func healthGlyph(h Health) []string {
	if h > HealthOK && int(h) < len(healthGlyphs) {
		return healthGlyphs[h]
	}
	return nil
}

// envelope returns the envelope icon for an account: "?" when its state
// cannot be vouched for, filled when messages wait (outline when Flash
// selects the alternate phase), outline when none wait.
func envelope(a AccountView) []string {
	switch {
	case !a.Known():
		return envelopeUnknown
	case a.Waiting == WaitingYes && !a.Flash:
		return envelopeFilled
	}
	return envelopeOutline
}
