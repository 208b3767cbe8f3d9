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
	q := store.Query{Site: ref.Site, Device: ref.Device, Meter: ref.Meter}
	if ref.Meter == TotalMeter {
		q.Meter = "" // a device without a total is totalled from its inlets
	}
	hours, err := a.read(ctx, q, from, to, func(r energy.MeterRef) bool { return r == ref })
	if err != nil {
		return nil, fmt.Errorf("accounting %s: %w", ref, err)
	}
	return hours[ref], nil
}

// Intensities resolves the grid intensity of each hour for a price area
// with the fallbacks of Site (stored hours, the same hour of the nearest
// week with data, the built-in hourly data, grid.annual_factors, the
// built-in annual means).
func (a *Accounting) Intensities(ctx context.Context, area string, hours []time.Time) ([]grid.Intensity, error) {
	if len(hours) == 0 {
		return nil, nil
	}
	values, err := a.gridValues(ctx, area)
	if err != nil {
		return nil, err
	}
	return a.resolve(area, values, hours)
}
