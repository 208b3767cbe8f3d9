package store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/units"
)

// GridHour is the grid carbon intensity of one price area in one UTC hour, as
// imported from an Energinet dataset (models/grid.HourValue plus where it came
// from).
type GridHour struct {
	Area        string    // price area, e.g. DK1
	Hour        time.Time // start of the hour, UTC
	GramsPerKWh float64
	Intervals   int    // records behind the value (5-minute intervals, or 1 for hourly data)
	Dataset     string // e.g. CO2Emis, CO2EmisProg, DeclarationGridEmission
}

// GridWriter stores grid intensity. An area and hour written twice is stored
// once: the later write replaces the earlier one, whatever its dataset.
type GridWriter interface {
	WriteGrid(ctx context.Context, hours []GridHour) error
}

// GridReader reads grid intensity back.
type GridReader interface {
	// GridHours returns area's hours in [from, to), ordered by hour. A zero
	// bound is open.
	GridHours(ctx context.Context, area string, from, to time.Time) ([]GridHour, error)
}

// GridStore is a backend that stores grid intensity.
type GridStore interface {
	GridWriter
	GridReader
}

// ValidateGridHour checks a GridHour before it is written; every backend
// refuses a whole batch when one hour is invalid.
func ValidateGridHour(h GridHour) error {
	switch {
	case h.Area == "":
		return errors.New("grid hour: empty area")
	case !h.Hour.Equal(h.Hour.Truncate(time.Hour)) || h.Hour.IsZero():
		return fmt.Errorf("grid %s: %s is not the start of an hour", h.Area, h.Hour.Format(time.RFC3339Nano))
	case math.IsNaN(h.GramsPerKWh) || math.IsInf(h.GramsPerKWh, 0) || h.GramsPerKWh < 0:
		return fmt.Errorf("grid %s %s: intensity %v g/kWh", h.Area, h.Hour.UTC().Format(time.RFC3339), h.GramsPerKWh)
	case h.Intervals < 0:
		return fmt.Errorf("grid %s %s: negative interval count %d", h.Area, h.Hour.UTC().Format(time.RFC3339), h.Intervals)
	}
	return nil
}

// GridHoursOf converts parsed hourly values for storage, naming the dataset
// they came from.
func GridHoursOf(values []grid.HourValue, dataset string) []GridHour {
	out := make([]GridHour, len(values))
	for i, v := range values {
		out[i] = GridHour{Area: v.Area, Hour: v.Hour.UTC(), GramsPerKWh: float64(v.Intensity), Intervals: v.Intervals, Dataset: dataset}
	}
	return out
}

// HourValues converts stored hours for the grid model.
func HourValues(hours []GridHour) []grid.HourValue {
	out := make([]grid.HourValue, len(hours))
	for i, h := range hours {
		out[i] = grid.HourValue{Area: h.Area, Hour: h.Hour, Intensity: units.GramsPerKWh(h.GramsPerKWh), Intervals: h.Intervals}
	}
	return out
}
