package target

import (
	"math"
	"math/rand/v2"
	"testing"
	"testing/quick"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

func TestGlidePath(t *testing.T) {
	tg := Default(1200) // 1200 kg in 2020; goal 1200 × 0.65 = 780 in 2030
	if err := tg.Validate(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		got  units.KgCO2e
		want float64
	}{
		{"goal", tg.Goal(), 780},
		{"annual 2020", tg.Annual(2020), 1200},
		// 2025 is halfway: 1200 − 420/2 = 990.
		{"annual 2025", tg.Annual(2025), 990},
		{"annual 2030", tg.Annual(2030), 780},
		{"annual 2035 stays at the goal", tg.Annual(2035), 780},
		// January 2025: rate at 2025 − 5.5/12 years = 4.5417 years after mid-2020:
		// 1200 − 42 × 4.541667 = 1009.25; / 12 = 84.104167.
		{"January 2025", tg.Monthly(2025, time.January), (1200 - 42*(5-5.5/12)) / 12},
	}
	for _, tt := range tests {
		if !near(float64(tt.got), tt.want, 1e-12) {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// A year's months sum to its annual value.
	for y := 2021; y <= 2029; y++ {
		var sum units.KgCO2e
		for m := time.January; m <= time.December; m++ {
			sum += tg.Monthly(y, m)
		}
		if !near(float64(sum), float64(tg.Annual(y)), 1e-12) {
			t.Errorf("%d: months sum to %v, annual is %v", y, sum, tg.Annual(y))
		}
	}
	for _, bad := range []Target{{2020, 1, 2020, 0.35}, {2020, 1, 2030, 1.2}, {2020, 0, 2030, 0.35}} {
		if bad.Validate() == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestPositionAndRequiredReduction(t *testing.T) {
	tg := Default(1200)
	// 2025: path months sum, Jan–Mar; actual 80 each.
	want := tg.Monthly(2025, 1) + tg.Monthly(2025, 2) + tg.Monthly(2025, 3)
	p, err := tg.PositionOf(2025, []units.KgCO2e{80, 80, 80})
	if err != nil {
		t.Fatal(err)
	}
	if p.Actual != 240 || p.Path != want || !p.Ahead || !near(p.Deviation, float64(240-want)/float64(want), 1e-12) {
		t.Errorf("got %+v", p)
	}
	// From 1000 in 2026 to 780 by 2030: 1 − (0.78)^(1/4) = 0.060234...
	r, err := tg.RequiredAnnualReduction(1000, 2026)
	if err != nil || !near(r, 1-math.Pow(0.78, 0.25), 1e-12) {
		t.Errorf("required = %v, %v", r, err)
	}
	// Check: 1000 × (1 − r)^4 = 780.
	if !near(1000*math.Pow(1-r, 4), 780, 1e-12) {
		t.Errorf("compounding %v for 4 years does not reach 780", r)
	}
	if r, _ := tg.RequiredAnnualReduction(700, 2026); r != 0 {
		t.Errorf("below goal: required %v, want 0", r)
	}
	// Past the target year the whole gap is due: 1 − 780/1000 = 0.22.
	if r, _ := tg.RequiredAnnualReduction(1000, 2031); !near(r, 0.22, 1e-12) {
		t.Errorf("after target year: %v", r)
	}
}

func TestDecompose(t *testing.T) {
	// 1000 kWh at 200 g → 800 kWh at 150 g: 200 kg → 120 kg, −80 kg.
	// Usage: −200 × (200 + 150)/2 = −35000 g = −35 kg.
	// Grid:  −50 × (1000 + 800)/2 = −45000 g = −45 kg. −35 − 45 = −80.
	c := Decompose(Period{1000, 200}, Period{800, 150})
	if c.Total != -80 || c.Usage != -35 || c.Grid != -45 {
		t.Errorf("got %+v", c)
	}
}

// Property: the parts sum to the total, and Grid is the Shapley ΔI·(E0+E1)/2.
func TestDecomposeSumsToTotal(t *testing.T) {
	f := func(e0, e1, i0, i1 uint32) bool {
		a := Period{units.KWh(e0) / 7, units.GramsPerKWh(i0%1000) / 3}
		b := Period{units.KWh(e1) / 7, units.GramsPerKWh(i1%1000) / 3}
		c := Decompose(a, b)
		shapley := float64(b.Intensity-a.Intensity) * float64(a.Energy+b.Energy) / 2 / 1000
		scale := math.Max(1, math.Abs(float64(a.Energy)*float64(a.Intensity)+float64(b.Energy)*float64(b.Intensity))/1000)
		return math.Abs(float64(c.Usage+c.Grid-c.Total)) <= 1e-12*scale && math.Abs(float64(c.Grid)-shapley) <= 1e-9*scale
	}
	if err := quick.Check(f, &quick.Config{MaxCount: 5000}); err != nil {
		t.Error(err)
	}
}

func TestForecastDampedHolt(t *testing.T) {
	// A straight line is forecast almost exactly and fits well.
	var y []float64
	for i := range 18 {
		y = append(y, 1000+10*float64(i))
	}
	f, err := MonthlyForecast(y, 3)
	if err != nil {
		t.Fatal(err)
	}
	if f.Model != DampedHolt || !f.GoodEnough || f.CVRMSE > 1 || len(f.Values) != 3 {
		t.Errorf("got %+v", f)
	}
	// Next value of the line is 1180; damping bends it a little below.
	if f.Values[0] < 1170 || f.Values[0] > 1181 {
		t.Errorf("forecast %v, want about 1180", f.Values[0])
	}
	if _, err := MonthlyForecast(y[:5], 1); err == nil {
		t.Error("5 months accepted")
	}
}

func TestForecastHoltWintersAndQualityFlag(t *testing.T) {
	// 3 years of a clean seasonal pattern around 1000: seasonal model, good fit.
	var y []float64
	for i := range 36 {
		y = append(y, 1000+200*math.Sin(2*math.Pi*float64(i)/12))
	}
	f, err := MonthlyForecast(y, 12)
	if err != nil {
		t.Fatal(err)
	}
	if f.Model != HoltWinters || !f.GoodEnough {
		t.Errorf("seasonal: got model %s, CV(RMSE) %.2f %%, NMBE %.2f %%", f.Model, f.CVRMSE, f.NMBE)
	}
	// The forecast repeats the season: month 36 is like month 0 (1000), month 39 like month 3 (1200).
	if math.Abs(f.Values[0]-1000) > 20 || math.Abs(f.Values[3]-1200) > 20 {
		t.Errorf("seasonal forecast %v", f.Values[:4])
	}
	// Noise as large as the signal: the flag says the forecast is not good enough.
	rng := rand.New(rand.NewPCG(7, 8))
	var noisy []float64
	for range 18 {
		noisy = append(noisy, 1000*(0.5+rng.Float64()))
	}
	f, err = MonthlyForecast(noisy, 1)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("noisy: CV(RMSE) %.1f %%, NMBE %.1f %%", f.CVRMSE, f.NMBE)
	if f.GoodEnough || f.CVRMSE <= MaxCVRMSE {
		t.Errorf("noisy data judged good enough: CV(RMSE) %.1f %%", f.CVRMSE)
	}
}

func TestASHRAE(t *testing.T) {
	// y = 10, 20, 30; fitted 12, 18, 30; residuals −2, 2, 0; ȳ = 20; p = 1, n − p = 2.
	// CV = 100 × √(8/2) / 20 = 10 %; NMBE = 100 × 0 / (2 × 20) = 0.
	cv, nmbe, err := ashrae([]float64{10, 20, 30}, []float64{12, 18, 30}, 1)
	if err != nil || !near(cv, 10, 1e-12) || nmbe != 0 {
		t.Errorf("got %v, %v, %v", cv, nmbe, err)
	}
	// Residuals 1, 1, 1 around ȳ 20: NMBE = 100 × 3 / (2 × 20) = 7.5 %.
	_, nmbe, _ = ashrae([]float64{10, 20, 30}, []float64{9, 19, 29}, 1)
	if !near(nmbe, 7.5, 1e-12) {
		t.Errorf("NMBE %v, want 7.5", nmbe)
	}
}
