package demo

import (
	"fmt"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
)

// Planted is something the history put in on purpose, for the anomaly
// detection or the idle finder to find.
type Planted struct {
	// Kind is an anomaly kind (anomaly.Kind) or an idle kind (idle.Kind).
	Kind   string    `json:"kind"`
	Idle   bool      `json:"idle,omitempty"`
	Device string    `json:"device"`
	Meter  string    `json:"meter,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	What   string    `json:"what"`
	// Found says whether the detection found it; As how (its kind,
	// meter and start as reported).
	Found bool   `json:"found"`
	As    string `json:"found_as,omitempty"`
}

// planted lists what the scenario put in the report month.
func (s *scenario) planted() []Planted {
	f := func(t time.Time) string { return t.In(s.loc).Format("Jan 2 15:04") }
	out := []Planted{
		{Kind: string(anomaly.Deviation), Device: stepPDU, Meter: "total", From: s.step.from, To: s.step.to,
			What: fmt.Sprintf("%s draws 35 %% more from %s (equipment added without a ticket)", stepPDU, f(s.step.from))},
		{Kind: string(anomaly.Flatline), Device: flatPDU, Meter: "inlet/AA", From: s.flat.from, To: s.flat.to,
			What: fmt.Sprintf("%s's inlet reading froze %s – %s (a hung SNMP agent)", flatPDU, f(s.flat.from), f(s.flat.to))},
		{Kind: string(anomaly.UPSEfficiency), Device: upsDevice, From: s.eff.from, To: s.eff.to,
			What: fmt.Sprintf("%s converts 4.5 points less of its input %s – %s (a failing fan or capacitor)", upsDevice, f(s.eff.from), f(s.eff.to))},
		{Kind: string(idle.Server), Idle: true, Device: legacyServer, From: s.legacyIdle, To: s.period.To,
			What: fmt.Sprintf("%s has idled since %s, when its application moved away", legacyServer, s.legacyIdle.In(s.loc).Format("Jan 2"))},
		{Kind: string(idle.ServerNight), Idle: true, Device: vdiServer, From: s.from, To: s.period.To,
			What: fmt.Sprintf("%s (virtual desktops) idles every night, 22:00-06:00", vdiServer)},
	}
	return out
}

// findPlanted marks each planted item the reports found: an anomaly of its
// kind on its device (and meter) that overlaps its time, an idle candidate
// of its kind for its device.
func findPlanted(planted []Planted, an *anomalies.Report, id *anomalies.IdleReport) []Planted {
	out := make([]Planted, len(planted))
	copy(out, planted)
	for i := range out {
		p := &out[i]
		if p.Idle {
			for _, c := range id.Candidates {
				if string(c.Kind) == p.Kind && c.Device == p.Device {
					p.Found, p.As = true, fmt.Sprintf("%s %s (%s confidence)", c.Kind, c.Device, c.Confidence)
					break
				}
			}
			continue
		}
		for _, a := range an.Anomalies {
			if string(a.Kind) != p.Kind || a.Device != p.Device || (p.Meter != "" && a.Meter != p.Meter) {
				continue
			}
			if a.Start.Before(p.To) && p.From.Before(a.End) {
				what := a.Device
				if a.Meter != "" {
					what += "/" + a.Meter
				}
				p.Found, p.As = true, fmt.Sprintf("%s %s from %s", a.Kind, what, a.Start.UTC().Format(time.RFC3339))
				break
			}
		}
	}
	return out
}

// PlantedError is a planted anomaly or idle server that the detection did
// not find: the demo fails loudly rather than show a product that misses
// what it was built to find.
type PlantedError struct{ Missed []Planted }

func (e *PlantedError) Error() string {
	var parts []string
	for _, p := range e.Missed {
		parts = append(parts, fmt.Sprintf("%s on %s (%s)", p.Kind, p.Device, p.What))
	}
	return "demo: not found by the detection, though planted in the history: " + strings.Join(parts, "; ")
}
