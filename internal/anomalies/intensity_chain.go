package anomalies

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/models/grid"
)

// ChainIntensities fills in, for every site that have (from SiteIntensities)
// lacks, the plain mean over the year before now of the hourly intensities
// the accounting resolves for its price area: its whole fallback chain,
// ecometer's built-in Energinet data included, so that a site without
// imported data or annual factors is rated like its `co2` figures. The
// source says which data the hours took. An area the chain has nothing
// for (DK2 without imported data or factors) is left out.
func ChainIntensities(ctx context.Context, acc *accounting.Accounting, cfg *config.Config, now time.Time, have map[string]Intensity) (map[string]Intensity, error) {
	out := map[string]Intensity{}
	for k, v := range have {
		out[k] = v
	}
	to := now.UTC().Truncate(time.Hour)
	from := to.AddDate(-1, 0, 0)
	var hours []time.Time
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	byArea := map[string]Intensity{}
	for _, s := range cfg.Sites {
		if _, ok := out[s.Name]; ok {
			continue
		}
		area := string(s.PriceArea)
		in, ok := byArea[area]
		if !ok {
			vals, err := acc.Intensities(ctx, area, hours)
			var none *grid.NoIntensityError
			switch {
			case errors.As(err, &none):
				vals = nil // nothing for the area: the site gets no CO2e
			case err != nil:
				return nil, fmt.Errorf("grid intensity %s: %w", area, err)
			}
			var sum float64
			count := map[grid.Source]int{}
			var bases []string
			for _, v := range vals {
				sum += float64(v.Value)
				count[v.Source]++
				if (v.Source == grid.BuiltInAnnual || v.Source == grid.AnnualFactor) && !slices.Contains(bases, v.Basis) {
					bases = append(bases, v.Basis)
				}
			}
			if len(vals) > 0 {
				var parts []string
				for _, src := range grid.SourceOrder {
					if n := count[src]; n > 0 {
						parts = append(parts, fmt.Sprintf("%d h %s", n, src))
					}
				}
				src := fmt.Sprintf("plain mean of %d hourly %s intensities %s – %s as `co2` resolves them: %s",
					len(vals), area, from.Format("2006-01-02"), to.Format("2006-01-02"), strings.Join(parts, ", "))
				if len(bases) > 0 {
					src += " (" + strings.Join(bases, "; ") + ")"
				}
				in = Intensity{GPerKWh: sum / float64(len(vals)), Source: src}
			}
			byArea[area] = in
		}
		if in.GPerKWh > 0 {
			out[s.Name] = in
		}
	}
	return out, nil
}
