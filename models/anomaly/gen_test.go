package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
)

// start is a Monday 00:00 in Copenhagen (winter time); the constructed
// series begin there.
var start = time.Date(2025, 1, 5, 23, 0, 0, 0, time.UTC)

const hoursPerWeek = baseline.HoursPerWeek

func cph(t testing.TB) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func hourAt(i int) time.Time { return start.Add(time.Duration(i) * time.Hour) }

// load is a normal weekly cycle: base by night and at weekends, 40 % more
// on working days 08–17 local time, a gentle daily wave, and noise: white
// noise of sd whiteSD and AR(1) noise (φ = 0.6) of stationary sd arSD, both
// as shares of the level. Deterministic for a seed.
type load struct {
	base, whiteSD, arSD float64
	office              bool
}

func (l load) points(seed uint64, hours int, loc *time.Location) []baseline.Point {
	r := rand.New(rand.NewPCG(seed, seed*7+1))
	const phi = 0.6
	ar := 0.0
	out := make([]baseline.Point, hours)
	for i := range out {
		at := hourAt(i)
		lt := at.In(loc)
		level := l.base * (1 + 0.05*math.Sin(2*math.Pi*float64(lt.Hour())/24))
		if l.office && lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday && lt.Hour() >= 8 && lt.Hour() < 17 {
			level *= 1.4
		}
		ar = phi*ar + math.Sqrt(1-phi*phi)*r.NormFloat64()
		level *= 1 + l.whiteSD*r.NormFloat64() + l.arSD*ar
		out[i] = baseline.Point{Hour: at, W: math.Max(0, level)}
	}
	return out
}

func meterOf(t testing.TB, device, meter string) Meter {
	return Meter{Ref: energy.MeterRef{Site: "s1", Device: device, Meter: meter}, Class: "pdu", Loc: cph(t)}
}

// levels scores pts over [from, to) with the default baseline and runs the
// level tests.
func levels(t testing.TB, m Meter, pts []baseline.Point, from, to time.Time) []Anomaly {
	t.Helper()
	var b baseline.Builder
	sc, err := b.Score(pts, from, to, m.Loc, baseline.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return Levels(m, sc.Residuals, to, LevelOptions{})
}
