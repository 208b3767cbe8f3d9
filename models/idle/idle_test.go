package idle

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
)

// start is a Monday 00:00 in Copenhagen (winter time).
var start = time.Date(2025, 1, 5, 23, 0, 0, 0, time.UTC)

func cph(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// series returns days × 24 hourly points from start, w(i, local hour) W
// with 1 % noise.
func series(t *testing.T, days int, w func(i, hour int) float64) []baseline.Point {
	loc := cph(t)
	r := rand.New(rand.NewPCG(1, 2))
	out := make([]baseline.Point, days*24)
	for i := range out {
		at := start.Add(time.Duration(i) * time.Hour)
		out[i] = baseline.Point{Hour: at, W: w(i, at.In(loc).Hour()) * (1 + 0.01*r.NormFloat64())}
	}
	return out
}

func TestServerIdle(t *testing.T) {
	ref := energy.MeterRef{Site: "s1", Device: "srv-7", Meter: "total"}
	const days = 90
	from, to := start.Add(60*24*time.Hour), start.Add(days*24*time.Hour)
	busy := func(_, h int) float64 {
		if h >= 8 && h < 18 {
			return 320
		}
		return 180
	}
	tests := []struct {
		name      string
		w         func(i, h int) float64
		datasheet float64
		want      Confidence // "": not a candidate
		wantMean  float64
	}{
		{"idle for the last 30 days after working before", func(i, h int) float64 {
			if i < 60*24 {
				return busy(i, h)
			}
			return 120
		}, 0, Medium, 120},
		{"flat for 90 days: cannot tell idle from a constant load", func(int, int) float64 { return 150 }, 0, Low, 150},
		{"at its datasheet idle", func(int, int) float64 { return 102 }, 100, High, 102},
		{"well above its datasheet idle", func(int, int) float64 { return 150 }, 100, "", 0},
		{"busy every day", busy, 0, "", 0},
		{"off: standby draw only", func(int, int) float64 { return 8 }, 0, "", 0},
		{"idle, but only a week of data in the period", func(i, h int) float64 {
			if i < 83*24 {
				return math.NaN() // dropped below
			}
			return 120
		}, 0, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := series(t, days, tt.w)
			kept := pts[:0]
			for _, p := range pts {
				if !math.IsNaN(p.W) {
					kept = append(kept, p)
				}
			}
			c, ok := ServerIdle(ref, kept, from, to, tt.datasheet, ServerOptions{})
			if tt.want == "" {
				if ok {
					t.Fatalf("candidate: %+v", c)
				}
				return
			}
			if !ok || c.Confidence != tt.want || c.Kind != Server || math.Abs(c.MeanW-tt.wantMean) > 0.02*tt.wantMean {
				t.Fatalf("got %v %+v, want %s at %v W", ok, c, tt.want, tt.wantMean)
			}
			if want := c.MeanW * 8.76; math.Abs(c.SavedKWhPerYear-want) > 1e-9 {
				t.Errorf("saved %v kWh/yr, want %v", c.SavedKWhPerYear, want)
			}
			if !strings.Contains(c.Evidence, "srv-7") || !strings.Contains(c.Evidence, "idle level") {
				t.Errorf("evidence %q", c.Evidence)
			}
		})
	}
}

func TestServerNightIdle(t *testing.T) {
	loc := cph(t)
	ref := energy.MeterRef{Site: "s1", Device: "srv-8", Meter: "total"}
	const days = 60
	from, to := start.Add(30*24*time.Hour), start.Add(days*24*time.Hour)
	// Busy 07–21, at its idle level 120 W from 22 to 06.
	nightIdle := func(_, h int) float64 {
		if h >= 7 && h < 21 {
			return 300
		}
		return 120
	}
	pts := series(t, days, nightIdle)
	c, ok := ServerNightIdle(ref, pts, from, to, loc, 0, ServerOptions{})
	if !ok || c.Kind != ServerNight || c.Confidence != Medium {
		t.Fatalf("night-idle server: %v %+v", ok, c)
	}
	// 8 night hours a day at 120 W, all year.
	if want := 120.0 * 8 * 365 / 1000; math.Abs(c.SavedKWhPerYear-want) > 0.01*want {
		t.Errorf("saved %v kWh/yr, want ≈ %v", c.SavedKWhPerYear, want)
	}
	if !strings.Contains(c.Evidence, "22:00–06:00") || !strings.Contains(c.Action, "power down at night") {
		t.Errorf("evidence %q, action %q", c.Evidence, c.Action)
	}
	// It is not idle all the time.
	if _, ok := ServerIdle(ref, pts, from, to, 0, ServerOptions{}); ok {
		t.Error("night-idle server also idle all day")
	}
	// Idle all day and night: ServerIdle's, not this one's.
	flat := series(t, days, func(int, int) float64 { return 120 })
	if _, ok := ServerNightIdle(ref, flat, from, to, loc, 0, ServerOptions{}); ok {
		t.Error("server idle all the time is a night candidate")
	}
	// Busy at night too (a batch job from 01 to 04): no.
	batch := series(t, days, func(i, h int) float64 {
		if h >= 1 && h < 4 {
			return 300
		}
		return nightIdle(i, h)
	})
	if c, ok := ServerNightIdle(ref, batch, from, to, loc, 0, ServerOptions{}); ok {
		t.Errorf("server with a night batch job: %+v", c)
	}
}

func TestOutletLow(t *testing.T) {
	ref := energy.MeterRef{Site: "s1", Device: "pdu-a", Meter: "outlet/12"}
	const days = 30
	from, to := start, start.Add(days*24*time.Hour)
	tests := []struct {
		name string
		w    float64
		from time.Time
		want bool
	}{
		{"standby draw", 4, from, true},
		{"empty outlet", 0, from, false},
		{"real load", 15, from, false},
		{"ten days only", 4, to.Add(-10 * 24 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := series(t, days, func(int, int) float64 { return tt.w })
			c, ok := OutletLow(ref, pts, tt.from, to, "srv-9", OutletOptions{})
			if ok != tt.want {
				t.Fatalf("got %v %+v", ok, c)
			}
			if ok && (c.Load != "srv-9" || math.Abs(c.SavedKWhPerYear-4*8.76) > 0.5 || !strings.Contains(c.Evidence, "It feeds srv-9")) {
				t.Errorf("got %+v", c)
			}
		})
	}
}

func TestPoENightDraw(t *testing.T) {
	loc := cph(t)
	ref := energy.MeterRef{Site: "s1", Device: "sw-1", Meter: "poe/Gi1/0/5"}
	const days = 30
	from, to := start, start.Add(days*24*time.Hour)
	tests := []struct {
		name string
		w    func(i, h int) float64
		want bool
		same bool
	}{
		{"phone drawing day and night", func(int, int) float64 { return 6 }, true, true},
		{"access point busier by day", func(_, h int) float64 {
			if h >= 8 && h < 17 {
				return 12
			}
			return 8
		}, true, false},
		{"off at night already", func(_, h int) float64 {
			if h >= 22 || h < 6 {
				return 0
			}
			return 6
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, ok := PoENightDraw(ref, series(t, days, tt.w), from, to, loc, PoEOptions{})
			if ok != tt.want {
				t.Fatalf("got %v %+v", ok, c)
			}
			if !ok {
				return
			}
			if !strings.Contains(c.Evidence, "Link activity is not collected") || strings.Contains(c.Evidence, "same by night") != tt.same {
				t.Errorf("evidence %q", c.Evidence)
			}
			if want := c.Facts["night_mean_w"] * 8 * 365 / 1000; math.Abs(c.SavedKWhPerYear-want) > 1e-9 {
				t.Errorf("saved %v, want %v", c.SavedKWhPerYear, want)
			}
		})
	}
}

func TestRankAndRate(t *testing.T) {
	cs := []Candidate{
		{Device: "b", SavedKWhPerYear: 10},
		{Device: "a", SavedKWhPerYear: 300},
		{Device: "c", SavedKWhPerYear: 10},
	}
	Rank(cs)
	if cs[0].Device != "a" || cs[1].Device != "b" || cs[2].Device != "c" {
		t.Errorf("order %v", cs)
	}
	cs[0].Rate(150, "test")
	if cs[0].SavedKgCO2ePerYear != 45 || cs[0].IntensitySource != "test" {
		t.Errorf("rate: %+v", cs[0])
	}
	cs[0].Rate(0, "no intensity")
	if cs[0].SavedKgCO2ePerYear != 0 {
		t.Errorf("no intensity: %+v", cs[0])
	}
}

func TestOrdinal(t *testing.T) {
	for p, want := range map[float64]string{1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 11: "11th", 12: "12th", 21: "21st", 2.5: "2.5th"} {
		if got := ordinal(p); got != want {
			t.Errorf("ordinal(%v) = %q, want %q", p, got, want)
		}
	}
}
