// Package idle finds equipment that draws power without doing much, and
// what switching it off (or consolidating it) would save a year: servers
// that stay at their idle level, outlets that draw a few watts for weeks,
// PoE ports that draw power at night. Each finder looks at one meter's
// hourly power, is deterministic and reads no clock.
package idle

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/units"
)

// Kind says what kind of candidate it is, and so what action its saving
// assumes.
type Kind string

// Kinds of candidate.
const (
	Server      Kind = "server"       // switch off or consolidate the server
	ServerNight Kind = "server_night" // power the server down at night
	Outlet      Kind = "outlet"       // switch the outlet off
	PoENight    Kind = "poe_night"    // switch the PoE port off at night
)

// Kinds lists every kind of candidate.
var Kinds = []Kind{Server, ServerNight, Outlet, PoENight}

// Confidence says how sure a candidate is.
type Confidence string

// Confidence levels.
const (
	// High: judged against a datasheet idle figure.
	High Confidence = "high"
	// Medium: judged against its own history, which shows it working harder
	// before.
	Medium Confidence = "medium"
	// Low: its own history never shows more load, so a constant load cannot
	// be told from idleness by power alone.
	Low Confidence = "low"
)

// Candidate is one piece of equipment worth switching off, with the
// evidence.
type Candidate struct {
	Kind   Kind   `json:"kind"`
	Site   string `json:"site"`
	Device string `json:"device"`
	Meter  string `json:"meter"`
	// Load is the configured device an outlet feeds, when known.
	Load string `json:"load,omitempty"`
	// Action says what the saving assumes.
	Action     string     `json:"action"`
	Confidence Confidence `json:"confidence"`
	// From and To are the period looked at.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// MeanW is the mean power over the period; SavedW what the action
	// removes on average (for a night schedule, the mean night power).
	MeanW float64 `json:"mean_w"`
	// SavedKWhPerYear is what the action saves in a year, at the period's
	// power; SavedKgCO2ePerYear that at the intensity Rate applied (0 with
	// none, and IntensitySource says so).
	SavedKWhPerYear    float64 `json:"saved_kwh_per_year"`
	SavedKgCO2ePerYear float64 `json:"saved_kg_co2e_per_year"`
	IntensityGPerKWh   float64 `json:"intensity_g_per_kwh"`
	IntensitySource    string  `json:"intensity_source"`
	// Evidence says in plain language what was seen and what to check.
	Evidence string `json:"evidence"`
	// Facts are the figures behind it; keys carry their unit.
	Facts map[string]float64 `json:"facts"`
	// Protected marks equipment the power controller never touches
	// (patient-critical, or on the deny list); set by the caller.
	Protected bool `json:"protected,omitempty"`
}

// HoursPerYear is the hours of a (non-leap) year that savings are scaled to.
const HoursPerYear = 8760

// Rate fills in the CO2e a year from an intensity (g CO2e/kWh) and where it
// comes from; with intensity ≤ 0 the CO2e stays 0 and source should say why.
func (c *Candidate) Rate(intensity units.GramsPerKWh, source string) {
	c.IntensityGPerKWh = float64(intensity)
	c.IntensitySource = source
	c.SavedKgCO2ePerYear = 0
	if intensity > 0 {
		c.SavedKgCO2ePerYear = float64(units.KWh(c.SavedKWhPerYear).Times(intensity))
	}
}

// Rank orders candidates by energy saved a year, largest first (then by
// site, device and meter, so the order is stable).
func Rank(cs []Candidate) {
	slices.SortStableFunc(cs, func(a, b Candidate) int {
		return cmp.Or(cmp.Compare(b.SavedKWhPerYear, a.SavedKWhPerYear), cmp.Compare(a.Site, b.Site),
			cmp.Compare(a.Device, b.Device), cmp.Compare(a.Meter, b.Meter))
	})
}

// window returns the points in [from, to) and how many hours it spans.
func window(points []baseline.Point, from, to time.Time) ([]baseline.Point, int) {
	lo, _ := slices.BinarySearchFunc(points, from, func(p baseline.Point, t time.Time) int { return p.Hour.Compare(t) })
	hi, _ := slices.BinarySearchFunc(points, to, func(p baseline.Point, t time.Time) int { return p.Hour.Compare(t) })
	return points[lo:hi], int(to.Sub(from) / time.Hour)
}

func values(points []baseline.Point) []float64 {
	v := make([]float64, len(points))
	for i, p := range points {
		v[i] = p.W
	}
	return v
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

func newCandidate(k Kind, ref energy.MeterRef, from, to time.Time) Candidate {
	return Candidate{Kind: k, Site: ref.Site, Device: ref.Device, Meter: ref.Meter, From: from, To: to, Facts: map[string]float64{}}
}

func days(from, to time.Time) float64 { return to.Sub(from).Hours() / 24 }

func watts(w float64) string {
	switch a := math.Abs(w); {
	case a >= 1000:
		return fmt.Sprintf("%.2f kW", w/1000)
	case a >= 10:
		return fmt.Sprintf("%.0f W", w)
	default:
		return fmt.Sprintf("%.1f W", w)
	}
}
