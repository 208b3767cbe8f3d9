package anomaly

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
)

// The level tests use 12 weeks: 8 of history, then 4 checked.
const (
	histWeeks  = 8
	checkWeeks = 4
)

func TestLevels(t *testing.T) {
	m := meterOf(t, "pdu-a", "total")
	from, to := hourAt(histWeeks*hoursPerWeek), hourAt((histWeeks+checkWeeks)*hoursPerWeek)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	normal := load{base: 3000, whiteSD: 0.03, arSD: 0.03, office: true}
	// change applies f to every checked hour h ≥ first (h counted from from).
	change := func(first int, f func(h int, w float64) float64) func([]baseline.Point) {
		return func(pts []baseline.Point) {
			for i := histWeeks*hoursPerWeek + first; i < len(pts); i++ {
				pts[i].W = f(i-histWeeks*hoursPerWeek, pts[i].W)
			}
		}
	}
	only := func(hs ...int) func([]baseline.Point) {
		return func(pts []baseline.Point) {
			for _, h := range hs {
				pts[histWeeks*hoursPerWeek+h].W *= 3
			}
		}
	}
	type want struct {
		kind       Kind
		dir        string
		start, end time.Time // end zero: any
		startSlack time.Duration
		// endSlack: the end may come later by this much, when noise happens
		// to keep the hours just after above the continue threshold.
		endSlack time.Duration
		open     bool
	}
	tests := []struct {
		name   string
		modify func([]baseline.Point)
		want   []want
	}{
		{"normal weekly cycle", nil, nil},
		{"one odd reading", only(50), nil},
		{"two odd readings in a row", only(50, 51), nil},
		{"odd readings apart", only(50, 52, 54, 300), nil},
		{"step up", change(100, func(_ int, w float64) float64 { return w * 1.3 }),
			[]want{{kind: Deviation, dir: "up", start: at(100), open: true}}},
		{"step down", change(100, func(_ int, w float64) float64 { return w * 0.7 }),
			[]want{{kind: Deviation, dir: "down", start: at(100), open: true}}},
		{"six hours up", change(200, func(h int, w float64) float64 {
			if h < 206 {
				return w * 1.5
			}
			return w
		}), []want{{kind: Deviation, dir: "up", start: at(200), end: at(206), endSlack: 2 * time.Hour}}},
		// Too small for the hourly test (z ≈ 2), found by the CUSUM as a
		// level shift: a deviation from about the day it started.
		{"small step up", change(100, func(_ int, w float64) float64 { return w * 1.1 }),
			[]want{{kind: Deviation, dir: "up", start: at(100), startSlack: 30 * time.Hour, open: true}}},
		{"slow drift up", change(24, func(h int, w float64) float64 { return w * (1 + 0.001*float64(h-24)) }),
			[]want{{kind: Drift, dir: "up", start: at(24), startSlack: 48 * time.Hour, open: true}}},
		{"slow drift down", change(24, func(h int, w float64) float64 { return w * (1 - 0.001*float64(h-24)) }),
			[]want{{kind: Drift, dir: "down", start: at(24), startSlack: 48 * time.Hour, open: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Ten differently seeded meters each, so that a pass is not luck.
			for seed := uint64(1); seed <= 10; seed++ {
				pts := normal.points(seed, (histWeeks+checkWeeks)*hoursPerWeek, m.Loc)
				if tt.modify != nil {
					tt.modify(pts)
				}
				got := levels(t, m, pts, from, to)
				if len(got) != len(tt.want) {
					t.Fatalf("seed %d: got %d anomalies, want %d:\n%s", seed, len(got), len(tt.want), describe(got))
				}
				for i, w := range tt.want {
					g := got[i]
					d := g.Start.Sub(w.start)
					if g.Kind != w.kind || g.Direction != w.dir || d < -w.startSlack || d > w.startSlack ||
						(!w.end.IsZero() && (g.End.Before(w.end) || g.End.After(w.end.Add(w.endSlack)))) || g.Open != w.open {
						t.Errorf("seed %d: got %s, want %+v", seed, describe(got[i:i+1]), w)
					}
					if g.Explanation == "" || !strings.Contains(g.Explanation, "pdu-a/total") {
						t.Errorf("seed %d: explanation %q does not name the meter", seed, g.Explanation)
					}
				}
			}
		})
	}
}

// TestLevelsFlatMeter: a meter that draws exactly the same every hour has a
// MAD of 0; the floor keeps its noise-free history from making any tiny
// change an anomaly, while a real step still is one.
func TestLevelsFlatMeter(t *testing.T) {
	m := meterOf(t, "srv-1", "total")
	from, to := hourAt(histWeeks*hoursPerWeek), hourAt((histWeeks+checkWeeks)*hoursPerWeek)
	pts := make([]baseline.Point, (histWeeks+checkWeeks)*hoursPerWeek)
	for i := range pts {
		pts[i] = baseline.Point{Hour: hourAt(i), W: 200}
		if i >= histWeeks*hoursPerWeek {
			pts[i].W = 202 // +1 %: within the floor (z = 1.35)
		}
	}
	if got := levels(t, m, pts, from, to); len(got) != 0 {
		t.Errorf("+1 %% on a flat meter: %s", describe(got))
	}
	for i := histWeeks*hoursPerWeek + 10; i < len(pts); i++ {
		pts[i].W = 260
	}
	got := levels(t, m, pts, from, to)
	if len(got) != 1 || got[0].Kind != Deviation || !got[0].Start.Equal(from.Add(10*time.Hour)) {
		t.Errorf("+30 %% on a flat meter: %s", describe(got))
	}
}

func describe(list []Anomaly) string {
	var b strings.Builder
	for _, a := range list {
		fmt.Fprintf(&b, "  %s %s %s/%s %s %s–%s open=%v %v\n    %s\n", a.Kind, a.Direction, a.Device, a.Meter, a.Detail,
			a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339), a.Open, a.Evidence, a.Explanation)
	}
	return b.String()
}

func TestGrowing(t *testing.T) {
	mk := func(c ...float64) []day {
		out := make([]day, len(c))
		for i, v := range c {
			out[i].median = v
		}
		return out
	}
	tests := []struct {
		name  string
		days  []day
		sign  float64
		wants bool
	}{
		{"ramp from zero", mk(0.01, 0.03, 0.05, 0.07, 0.09), 1, true},
		{"ramp down", mk(-0.01, -0.03, -0.05, -0.07), -1, true},
		{"level", mk(0.08, 0.09, 0.08, 0.085, 0.08), 1, false},
		{"step after two quiet days", mk(0.005, 0, 0.1, 0.1, 0.1, 0.1), 1, false},
		{"step after two quiet days, with noise", mk(0.015, -0.01, 0.09, 0.11, 0.1, 0.095), 1, false},
		{"too short to tell", mk(0.01, 0.05), 1, false},
		{"shrinking", mk(0.09, 0.07, 0.05, 0.03), 1, false},
	}
	for _, tt := range tests {
		if got, _ := growing(tt.days, tt.sign); got != tt.wants {
			t.Errorf("%s: growing = %v, want %v", tt.name, got, tt.wants)
		}
	}
}

func TestGrowingFindsTheStep(t *testing.T) {
	ds := make([]day, 8)
	for i := 3; i < 8; i++ {
		ds[i].median = 0.1
	}
	if grows, tau := growing(ds, 1); grows || tau != 3 {
		t.Errorf("growing = %v, step on day %d; want false, 3", grows, tau)
	}
}
