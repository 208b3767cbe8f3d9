package energy

import (
	"math/rand/v2"
	"testing"
	"time"
)

var t0 = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

func readings(vals ...float64) []CounterReading {
	out := make([]CounterReading, len(vals))
	for i, v := range vals {
		out[i] = CounterReading{At: t0.Add(time.Duration(i) * time.Minute), KWh: v}
	}
	return out
}

func TestFromCounter(t *testing.T) {
	tests := []struct {
		name          string
		vals          []float64
		width         float64
		want          []float64
		wraps, resets int
	}{
		{"steady", []float64{10, 10.5, 11.25}, 0, []float64{0.5, 0.75}, 0, 0},
		// 99.8 → 0.3 with width 100: 0.3 − 99.8 + 100 = 0.5 (99.8 ≥ 90, the top 10 %).
		{"wrap", []float64{99.5, 99.8, 0.3}, 100, []float64{0.3, 0.5}, 1, 0},
		// 40 → 2 with width 100: 40 is far from the max, so the device restarted at 0: energy = 2.
		{"reset with width", []float64{40, 2}, 100, []float64{2}, 0, 1},
		// width unknown: every drop is a reset.
		{"reset without width", []float64{99.8, 0.3}, 0, []float64{0.3}, 0, 1},
		{"flat", []float64{5, 5}, 0, []float64{0}, 0, 0},
		{"single reading", []float64{5}, 0, nil, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromCounter(readings(tt.vals...), tt.width)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Intervals) != len(tt.want) {
				t.Fatalf("got %d intervals, want %d", len(got.Intervals), len(tt.want))
			}
			for i, w := range tt.want {
				if d := float64(got.Intervals[i].Energy) - w; d > 1e-9 || d < -1e-9 {
					t.Errorf("interval %d: got %v kWh, want %v", i, got.Intervals[i].Energy, w)
				}
			}
			if got.Wraps != tt.wraps || got.Resets != tt.resets {
				t.Errorf("wraps/resets = %d/%d, want %d/%d", got.Wraps, got.Resets, tt.wraps, tt.resets)
			}
		})
	}
}

func TestFromCounterRejects(t *testing.T) {
	tests := []struct {
		name  string
		rs    []CounterReading
		width float64
	}{
		{"negative reading", readings(1, -2), 0},
		{"time goes back", []CounterReading{{At: t0, KWh: 1}, {At: t0, KWh: 2}}, 0},
		{"negative width", readings(1, 2), -1},
	}
	for _, tt := range tests {
		if _, err := FromCounter(tt.rs, tt.width); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// Property: whatever the counter does, no interval has negative energy.
func TestFromCounterNeverNegative(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		width := 0.0
		if rng.IntN(2) == 0 {
			width = 1 + rng.Float64()*1000
		}
		n := 2 + rng.IntN(20)
		vals := make([]float64, n)
		for i := range vals {
			if width > 0 {
				vals[i] = rng.Float64() * width
			} else {
				vals[i] = rng.Float64() * 1000
			}
		}
		got, err := FromCounter(readings(vals...), width)
		if err != nil {
			t.Fatal(err)
		}
		for _, iv := range got.Intervals {
			if iv.Energy < 0 {
				t.Fatalf("negative energy %v from %v (width %v)", iv.Energy, vals, width)
			}
		}
	}
}
