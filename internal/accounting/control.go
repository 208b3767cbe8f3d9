package accounting

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/grid"
)

// MeterHours returns the hourly energy of one meter in [from, to), derived
// exactly as every other figure (the device's counter, else integrated
// power), oldest first. The power controller measures its savings with it.
func (a *Accounting) MeterHours(ctx context.Context, ref energy.MeterRef, from, to time.Time) ([]energy.Hourly, error) {
	hours, err := a.read(ctx, store.Query{Site: ref.Site, Device: ref.Device, Meter: ref.Meter}, from, to,
		func(r energy.MeterRef) bool { return r == ref })
	if err != nil {
		return nil, fmt.Errorf("accounting %s: %w", ref, err)
	}
	return hours[ref], nil
}

// Intensities resolves the grid intensity of each hour for a price area
// with the fallbacks of Site (stored hours, the same hour of the nearest
// week with data, then grid.annual_factors).
func (a *Accounting) Intensities(ctx context.Context, area string, hours []time.Time) ([]grid.Intensity, error) {
	if len(hours) == 0 {
		return nil, nil
	}
	values, err := a.gridValues(ctx, area)
	if err != nil {
		return nil, err
	}
	return grid.ResolveHours(area, values, a.factors(area), hours)
}
