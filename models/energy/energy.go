// Package energy derives energy per meter from what meters report: their own
// cumulative counters (preferred) or their power readings. Every figure says how
// it was obtained and how much of its period it covers (DESIGN.md, energy rules).
package energy

import (
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// MeterRef names one meter: a device's meter (`total`, `outlet/12`, ...) at a site.
type MeterRef struct {
	Site   string
	Device string
	Meter  string
}

func (m MeterRef) String() string { return m.Site + "/" + m.Device + "/" + m.Meter }

// Method says how an energy figure was obtained.
type Method string

const (
	// Counter: the delta of the device's own cumulative energy counter.
	Counter Method = "counter"
	// Integrated: power readings integrated over time.
	Integrated Method = "integrated"
)

// Hourly is one meter's energy in one clock hour (UTC).
type Hourly struct {
	Meter       MeterRef
	Hour        time.Time // start of the hour, UTC
	Energy      units.KWh
	CoveragePct float64 // share of the hour the figure is based on, 0..100
	Method      Method
}
