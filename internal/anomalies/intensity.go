package anomalies

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
)

// Intensity is the grid intensity a site's savings are rated at, and where
// it comes from.
type Intensity struct {
	GPerKWh float64 `json:"g_per_kwh"`
	Source  string  `json:"source"`
}

// minGridHours is the fewest stored hours of a year that make a mean.
const minGridHours = 30 * 24

// SiteIntensities returns, for every configured site, the intensity to rate
// a year's savings at: the plain mean of its price area's stored hourly
// intensities over the year before now (what a flat load sees, and idle
// equipment draws flat), else the config's annual factor of now's year (or
// the nearest year) when the area is grid.area; sites with neither are left
// out.
func SiteIntensities(ctx context.Context, g store.GridReader, cfg *config.Config, now time.Time) (map[string]Intensity, error) {
	from := now.UTC().AddDate(-1, 0, 0).Truncate(time.Hour)
	to := now.UTC().Truncate(time.Hour)
	byArea := map[string]Intensity{}
	out := map[string]Intensity{}
	for _, s := range cfg.Sites {
		area := string(s.PriceArea)
		in, ok := byArea[area]
		if !ok {
			hours, err := g.GridHours(ctx, area, from, to)
			if err != nil {
				return nil, fmt.Errorf("grid intensity %s: %w", area, err)
			}
			if len(hours) >= minGridHours {
				var sum float64
				for _, h := range hours {
					sum += h.GramsPerKWh
				}
				in = Intensity{GPerKWh: sum / float64(len(hours)), Source: fmt.Sprintf(
					"plain mean of %d stored hourly %s intensities, %s – %s (Energinet)", len(hours), area,
					hours[0].Hour.Format("2006-01-02"), hours[len(hours)-1].Hour.Format("2006-01-02"))}
			} else if f, ok := annualFactor(cfg, area, now.Year()); ok {
				in = Intensity{GPerKWh: f.GPerKWh, Source: fmt.Sprintf("annual factor %d for %s: %s", f.Year, area, f.Source)}
			}
			byArea[area] = in
		}
		if in.GPerKWh > 0 {
			out[s.Name] = in
		}
	}
	return out, nil
}

// annualFactor returns the config's annual factor for year, else the one of
// the nearest year (the earlier on a tie); factors are given for grid.area.
func annualFactor(cfg *config.Config, area string, year int) (config.AnnualFactor, bool) {
	if area != string(cfg.Grid.Area) {
		return config.AnnualFactor{}, false
	}
	var best config.AnnualFactor
	found := false
	dist := func(y int) int {
		if y > year {
			return y - year
		}
		return year - y
	}
	for _, f := range cfg.Grid.AnnualFactors {
		if !found || dist(f.Year) < dist(best.Year) || (dist(f.Year) == dist(best.Year) && f.Year < best.Year) {
			best, found = f, true
		}
	}
	return best, found
}
