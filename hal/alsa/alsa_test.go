package alsa

import (
	"strings"
	"testing"
)

func TestParseDevice(t *testing.T) {
	for in, want := range map[string]Device{
		"default":              {Card: "0"},
		"":                     {Card: "0"},
		"hw:0,0":               {Card: "0"},
		"hw:1":                 {Card: "1"},
		"hw:Loopback,1":        {Card: "Loopback", Device: 1},
		"plughw:Headphones,0":  {Card: "Headphones"},
		"hw:CARD=Device,DEV=0": {Card: "Device"},
	} {
		got, err := ParseDevice(in)
		if err != nil || got != want {
			t.Errorf("ParseDevice(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"dmix", "hw:", "hw:0,x", "hw:0,-1", "pulse"} {
		if _, err := ParseDevice(bad); err == nil || !strings.HasPrefix(err.Error(), "alsa: device") {
			t.Errorf("ParseDevice(%q): err = %v, want an error naming the device", bad, err)
		}
	}
}
