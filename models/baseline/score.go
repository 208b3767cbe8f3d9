package baseline

import (
	"errors"
	"slices"
	"time"
)

// Residual is one hour's reading against its baseline.
type Residual struct {
	Hour     time.Time
	W        float64 // the reading
	Expected float64 // the baseline's median for the hour of the week
	Z        float64 // modified z-score: ZConstant × (W − Expected) / Scale
	Scale    float64 // the baseline's spread for the hour
	// DaySpread is the baseline's spread of a day's mean score.
	DaySpread float64
}

// Scored is the result of Score.
type Scored struct {
	Residuals []Residual
	// Baseline is the one the period was scored against; Short reports
	// that there was too little history for one, and nothing was scored.
	Baseline Baseline
	Short    bool
	// Unscored counts readings in the period without a score: there was no
	// baseline, or their hour-of-week slot had too few readings.
	Unscored int
}

// Score scores the points (sorted by hour) in [from, to) against the
// baseline of the Options.Weeks weeks before from. The baseline stays the
// same for the whole period, so that a change inside it is measured against
// what came before it, however long it lasts (a step never becomes the new
// normal halfway through a month); a period of more than a few weeks meets
// the meter's seasons, so check long spans a month at a time. Residuals
// reuse out's storage.
func (b *Builder) Score(points []Point, from, to time.Time, loc *time.Location, o Options, out []Residual) (Scored, error) {
	res := Scored{Residuals: out[:0]}
	lo, _ := slices.BinarySearchFunc(points, from, func(p Point, t time.Time) int { return p.Hour.Compare(t) })
	bl, err := b.Build(points, from, loc, o)
	res.Baseline = bl
	if err != nil {
		if !errors.Is(err, ErrShortHistory) {
			return res, err
		}
		res.Short = true
	}
	for _, p := range points[lo:] {
		if !p.Hour.Before(to) {
			break
		}
		if res.Short {
			res.Unscored++
			continue
		}
		z, e, scale, ok := bl.Score(p.Hour, p.W)
		if !ok {
			res.Unscored++
			continue
		}
		res.Residuals = append(res.Residuals, Residual{Hour: p.Hour, W: p.W, Expected: e, Z: z, Scale: scale, DaySpread: bl.DaySpread})
	}
	return res, nil
}
