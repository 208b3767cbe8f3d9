package baseline

import (
	"errors"
	"math"
	"testing"
	"time"
)

func cph(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestHourOfWeek(t *testing.T) {
	loc := cph(t)
	tests := []struct {
		utc  string
		want int
	}{
		{"2025-01-05T23:00:00Z", 0},   // Monday 00:00 CET
		{"2025-01-06T22:59:00Z", 23},  // Monday 23:59 CET
		{"2025-01-12T22:00:00Z", 167}, // Sunday 23:00 CET
		{"2025-07-06T22:00:00Z", 0},   // Monday 00:00 CEST
		{"2025-03-30T00:00:00Z", 145}, // Sunday 01:00 CET, before the clocks go forward
		{"2025-03-30T01:00:00Z", 147}, // Sunday 03:00 CEST: 02:00 does not exist
		{"2025-10-26T00:00:00Z", 146}, // Sunday 02:00 CEST
		{"2025-10-26T01:00:00Z", 146}, // Sunday 02:00 CET, the repeated hour
	}
	for _, tt := range tests {
		at, _ := time.Parse(time.RFC3339, tt.utc)
		if got := HourOfWeek(at, loc); got != tt.want {
			t.Errorf("HourOfWeek(%s) = %d, want %d", tt.utc, got, tt.want)
		}
	}
}

// monday is a Monday 00:00 in Copenhagen (winter time).
var monday = time.Date(2025, 1, 5, 23, 0, 0, 0, time.UTC)

// weeks returns n weeks of hourly points from monday whose value in week w
// is vals[w % len(vals)] × (1 + the local hour of the day / 100).
func weeks(n int, vals []float64) []Point { return weeksFrom(monday, n, vals) }

func weeksFrom(start time.Time, n int, vals []float64) []Point {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		panic(err)
	}
	var out []Point
	for h := 0; h < n*HoursPerWeek; h++ {
		w := h / HoursPerWeek
		at := start.Add(time.Duration(h) * time.Hour)
		out = append(out, Point{Hour: at, W: vals[w%len(vals)] * (1 + float64(at.In(loc).Hour())/100)})
	}
	return out
}

func TestBuildAndScore(t *testing.T) {
	loc := cph(t)
	to := monday.Add(8 * 7 * 24 * time.Hour)
	tests := []struct {
		name       string
		vals       []float64
		wantScale0 float64 // of Monday 00:00, whose median is 100
		wantRel    float64
		x          float64 // at hour 0 of the week after: expected is median(vals)
		wantZ      float64
		wantScale5 float64 // of Monday 05:00, median 105
	}{
		// Relative deviations 0, 2, 2, 0, 1, 1, 0, 0 %: RelMAD 0.5 %, under
		// the floor of 1 % of the level (111.45, the median of 100 × 1.00…1.23).
		{"floored", []float64{100, 102, 98, 100, 101, 99, 100, 100}, 1.1145, 0.005, 110, ZConstant * 10 / 1.1145, 1.1145},
		// Deviations 0, 10, 10, 0, 5, 5, 0, 0 %: RelMAD 2.5 %, above the floor.
		{"spread", []float64{100, 110, 90, 100, 105, 95, 100, 100}, 2.5, 0.025, 110, ZConstant * 10 / 2.5, 2.625},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pts := weeks(8, tt.vals)
			bl, err := Build(pts, to, loc, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if bl.Weeks != 8 || math.Abs(bl.RelMAD-tt.wantRel) > 1e-9 || math.Abs(bl.Scale[0]-tt.wantScale0) > 1e-9 ||
				math.Abs(bl.Scale[5]-tt.wantScale5) > 1e-9 {
				t.Fatalf("weeks %d, RelMAD %v, scales %v %v; want 8, %v, %v %v", bl.Weeks, bl.RelMAD, bl.Scale[0], bl.Scale[5],
					tt.wantRel, tt.wantScale0, tt.wantScale5)
			}
			z, e, _, ok := bl.Score(to, tt.x)
			if !ok || e != 100 || math.Abs(z-tt.wantZ) > 1e-9 {
				t.Errorf("Score = %v, %v, %v; want %v, 100, true", z, e, ok, tt.wantZ)
			}
			// Hour 5 of the day: expected 105.
			if e, ok := bl.Expected(to.Add(5 * time.Hour)); !ok || math.Abs(e-105) > 1e-9 {
				t.Errorf("Expected(05:00) = %v, %v; want 105", e, ok)
			}
		})
	}
}

// TestOffHoursLeaveTheSpreadAlone: a meter that reads 0 W in the hours a
// power policy keeps its equipment off (here every hour but 08:00-16:00 on
// weekdays) has the spread of the hours it is on, not none: its ordinary
// variation in working hours is no deviation.
func TestOffHoursLeaveTheSpreadAlone(t *testing.T) {
	loc := cph(t)
	vals := []float64{100, 110, 90, 100, 105, 95, 100, 100} // deviations 0, 10, 10, 0, 5, 5, 0, 0 %: RelMAD 2.5 %
	pts := weeks(8, vals)
	for i := range pts {
		l := pts[i].Hour.In(loc)
		if l.Weekday() == time.Saturday || l.Weekday() == time.Sunday || l.Hour() < 8 || l.Hour() >= 16 {
			pts[i].W = 0
		}
	}
	to := monday.Add(8 * 7 * 24 * time.Hour)
	bl, err := Build(pts, to, loc, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(bl.RelMAD-0.025) > 1e-9 {
		t.Errorf("RelMAD %v, want 0.025, the spread of the hours it is on", bl.RelMAD)
	}
	// Monday 10:00, median 100 × 1.10: a reading 5 % up is well within it.
	if z, _, _, ok := bl.Score(to.Add(10*time.Hour), 115.5); !ok || math.Abs(z) > 2 {
		t.Errorf("z of a reading 5 %% above the median: %v (ok %v), want |z| < 2", z, ok)
	}
	// Monday 03:00, off: a reading of 0 is no deviation.
	if z, _, _, ok := bl.Score(to.Add(3*time.Hour), 0); !ok || z != 0 {
		t.Errorf("z of an off hour: %v (ok %v), want 0", z, ok)
	}
}

func TestBuildShortHistory(t *testing.T) {
	loc := cph(t)
	pts := weeks(3, []float64{100})
	to := monday.Add(8 * 7 * 24 * time.Hour)
	if _, err := Build(pts, monday.Add(3*7*24*time.Hour), loc, Options{}); !errors.Is(err, ErrShortHistory) {
		t.Errorf("3 weeks: err = %v, want ErrShortHistory", err)
	}
	// Four weeks of data out of the eight looked at are enough.
	pts = weeks(8, []float64{100})[4*HoursPerWeek:]
	if bl, err := Build(pts, to, loc, Options{}); err != nil || bl.Weeks != 4 {
		t.Errorf("4 of 8 weeks: %v, weeks %d", err, bl.Weeks)
	}
	// A week with fewer than half its hours does not count.
	pts = weeks(8, []float64{100})
	var thin []Point
	for i, p := range pts {
		if i < 4*HoursPerWeek && i%HoursPerWeek >= 80 {
			continue
		}
		thin = append(thin, p)
	}
	if _, err := Build(thin, to, loc, Options{MinWeeks: 5}); !errors.Is(err, ErrShortHistory) {
		t.Errorf("4 full weeks and 4 thin ones with MinWeeks 5: err = %v, want ErrShortHistory", err)
	}
}

func TestScoreKeepsItsBaseline(t *testing.T) {
	loc := cph(t)
	// 8 weeks at 100, then 6 weeks at 200: all 6 are far off, the last as
	// much as the first (a baseline rolling along would take the new level
	// for normal after 4 weeks).
	from := monday.Add(8 * 7 * 24 * time.Hour)
	pts := append(weeks(8, []float64{100}), weeksFrom(from, 6, []float64{200})...)
	var b Builder
	res, err := b.Score(pts, from, from.Add(6*7*24*time.Hour), loc, Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Short || len(res.Residuals) != 6*HoursPerWeek || res.Unscored != 0 || res.Baseline.Weeks != 8 || !res.Baseline.To.Equal(from) {
		t.Fatalf("short %v residuals %d unscored %d weeks %d to %s", res.Short, len(res.Residuals), res.Unscored, res.Baseline.Weeks, res.Baseline.To)
	}
	for _, r := range res.Residuals {
		if math.Abs(r.W-2*r.Expected) > 1e-9 {
			t.Fatalf("%s: %v against %v, want twice as much", r.Hour, r.W, r.Expected)
		}
	}
	// Without history: nothing scored, all counted.
	res, err = b.Score(pts[8*HoursPerWeek:], from, from.Add(7*24*time.Hour), loc, Options{}, nil)
	if err != nil || !res.Short || len(res.Residuals) != 0 || res.Unscored != HoursPerWeek {
		t.Fatalf("no history: %v, %+v", err, res)
	}
}

func TestPercentileMedian(t *testing.T) {
	tests := []struct {
		v    []float64
		p    float64
		want float64
	}{
		{[]float64{3, 1, 2}, 50, 2},
		{[]float64{4, 1, 3, 2}, 50, 2.5},
		{[]float64{1, 2, 3, 4, 5}, 0, 1},
		{[]float64{1, 2, 3, 4, 5}, 100, 5},
		{[]float64{1, 2, 3, 4, 5}, 25, 2},
		{[]float64{10, 20}, 95, 19.5},
	}
	for _, tt := range tests {
		if got := Percentile(append([]float64(nil), tt.v...), tt.p); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("Percentile(%v, %v) = %v, want %v", tt.v, tt.p, got, tt.want)
		}
	}
	if got := Median([]float64{5, 1, 4, 2}); got != 3 {
		t.Errorf("Median = %v, want 3", got)
	}
	if !math.IsNaN(Median(nil)) || !math.IsNaN(Percentile(nil, 50)) {
		t.Error("empty input: want NaN")
	}
}

func TestMedianWithout(t *testing.T) {
	v := []float64{1, 2, 3, 4, 10}
	for i, want := range []float64{3.5, 3.5, 3, 2.5, 2.5} {
		if got := medianWithout(v, i); got != want {
			t.Errorf("without %d: %v, want %v", i, got, want)
		}
	}
	v = []float64{1, 2, 3, 4}
	for i, want := range []float64{3, 3, 2, 2} {
		if got := medianWithout(v, i); got != want {
			t.Errorf("without %d of 4: %v, want %v", i, got, want)
		}
	}
}
