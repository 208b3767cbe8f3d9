package energy

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

func ps(minute int, w float64) PowerSample {
	return PowerSample{At: t0.Add(time.Duration(minute) * time.Minute), W: units.Watts(w)}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestIntegrate(t *testing.T) {
	maxGap := 30 * time.Minute
	tests := []struct {
		name     string
		samples  []PowerSample
		from, to int // minutes after t0
		wantKWh  float64
		covered  time.Duration
		invalid  int
	}{
		// 1000 W flat for 60 min: 1 kWh.
		{"flat", []PowerSample{ps(0, 1000), ps(30, 1000), ps(60, 1000)}, 0, 60, 1, time.Hour, 0},
		// Ramp 0 → 600 W over 30 min: (0+600)/2 × 0.5 h = 150 Wh.
		{"ramp", []PowerSample{ps(0, 0), ps(30, 600)}, 0, 30, 0.15, 30 * time.Minute, 0},
		// Same ramp, cut at 15 min: power there is 300 W, (0+300)/2 × 0.25 h = 37.5 Wh.
		{"ramp cut", []PowerSample{ps(0, 0), ps(30, 600)}, 0, 15, 0.0375, 15 * time.Minute, 0},
		// Gap of 40 min > max gap 30: only 0–10 (1000 W × 1/6 h) and 50–60 count: 2 × 166.67 Wh.
		{"gap", []PowerSample{ps(0, 1000), ps(10, 1000), ps(50, 1000), ps(60, 1000)}, 0, 60, 2.0 / 6, 20 * time.Minute, 0},
		// The NaN sample makes 0–10 and 10–20 missing: only 20–30 counts, 100 W × 1/6 h.
		{"invalid", []PowerSample{ps(0, 100), ps(10, math.NaN()), ps(20, 100), ps(30, 100)}, 0, 60, 100.0 / 6 / 1000, 10 * time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid, err := Integrate(tt.samples, maxGap, t0.Add(time.Duration(tt.from)*time.Minute), t0.Add(time.Duration(tt.to)*time.Minute))
			if err != nil {
				t.Fatal(err)
			}
			if !near(float64(got.Energy), tt.wantKWh) || got.Covered != tt.covered || invalid != tt.invalid {
				t.Errorf("got %v kWh over %s (%d invalid), want %v kWh over %s (%d invalid)",
					got.Energy, got.Covered, invalid, tt.wantKWh, tt.covered, tt.invalid)
			}
		})
	}
}

func TestHourlyFromPower(t *testing.T) {
	m := MeterRef{Site: "s", Device: "pdu1", Meter: "total"}
	// 1200 W every 10 min from 00:00 to 01:30, then nothing until 03:00.
	var samples []PowerSample
	for min := 0; min <= 90; min += 10 {
		samples = append(samples, ps(min, 1200))
	}
	got, _, err := HourlyFromPower(m, samples, 30*time.Minute, t0, t0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Hour 0: 1.2 kWh, 100 %. Hour 1: 30 min × 1200 W = 0.6 kWh, 50 %. Hour 2: nothing, 0 %.
	want := []struct{ kwh, cov float64 }{{1.2, 100}, {0.6, 50}, {0, 0}}
	if len(got) != len(want) {
		t.Fatalf("got %d hours, want %d", len(got), len(want))
	}
	for i, w := range want {
		if !near(float64(got[i].Energy), w.kwh) || !near(got[i].CoveragePct, w.cov) || got[i].Method != Integrated {
			t.Errorf("hour %d: got %+v, want %v kWh at %v %%", i, got[i], w.kwh, w.cov)
		}
	}
}

func randomSamples(rng *rand.Rand) []PowerSample {
	var out []PowerSample
	at := t0
	for range 1 + rng.IntN(200) {
		at = at.Add(time.Duration(1+rng.IntN(600)) * time.Second)
		out = append(out, PowerSample{At: at, W: units.Watts(rng.Float64() * 5000)})
	}
	return out
}

// Property: splitting any period in two and summing the halves gives the whole,
// and the hourly figures sum to the whole; energy is never negative.
func TestIntegrateSplitSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	maxGap := 5 * time.Minute
	for range 500 {
		s := randomSamples(rng)
		from := t0.Add(-time.Duration(rng.IntN(3600)) * time.Second)
		to := s[len(s)-1].At.Add(time.Duration(rng.IntN(3600)) * time.Second)
		mid := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)) + 1)))
		whole, _, err := Integrate(s, maxGap, from, to)
		if err != nil {
			t.Fatal(err)
		}
		a, _, _ := Integrate(s, maxGap, from, mid)
		b, _, _ := Integrate(s, maxGap, mid, to)
		if !near(float64(a.Energy+b.Energy), float64(whole.Energy)) || a.Covered+b.Covered != whole.Covered {
			t.Fatalf("split at %s: %v + %v != %v", mid, a, b, whole)
		}
		if a.Energy < 0 || b.Energy < 0 {
			t.Fatalf("negative energy: %v, %v", a, b)
		}
		hf, ht := from.Truncate(time.Hour), to.Truncate(time.Hour).Add(time.Hour)
		hours, _, err := HourlyFromPower(MeterRef{}, s, maxGap, hf, ht)
		if err != nil {
			t.Fatal(err)
		}
		all, _, _ := Integrate(s, maxGap, hf, ht)
		var sum units.KWh
		for _, h := range hours {
			sum += h.Energy
		}
		if !near(float64(sum), float64(all.Energy)) {
			t.Fatalf("hours sum to %v, whole is %v", sum, all.Energy)
		}
	}
}
