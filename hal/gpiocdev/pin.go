package gpiocdev

// Pin is one GPIO line as the backend drives it. Values are logical:
// true = active, after the line's active-low inversion. The Open functions
// request kernel lines; NewLine takes any Pin (hal/haltest's Ag1171 model
// pins in tests).
type Pin interface {
	Set(on bool) error
	Get() (bool, error)
	Close() error
}

type pin = Pin
