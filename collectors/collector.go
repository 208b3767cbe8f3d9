// Package collectors polls devices: one Collector per device (SNMP in
// collectors/snmp, Redfish in collectors/redfish), run on a schedule.
package collectors

import (
	"context"
	"time"

	"github.com/ecometer/ecometer/models/sample"
)

// Collector polls one device. It is used by one goroutine at a time (the
// device's job), so implementations need not be safe for concurrent use.
type Collector interface {
	// Collect polls the device once. at is the poll's scheduled time rounded
	// down to the interval; every returned sample carries it as its Time, so a
	// repeated poll overwrites instead of double counting.
	Collect(ctx context.Context, at time.Time) ([]sample.Sample, error)
	// Close releases the device's connection or session.
	Close() error
}

// Target says which device a collector polls and how its samples are tagged.
type Target struct {
	Site, Room, Rack, Device, Class string
}

// Series returns the tags of one meter of the target.
func (t Target) Series(measurement, meter, source string) sample.Series {
	return sample.Series{Measurement: measurement, Site: t.Site, Room: t.Room, Rack: t.Rack,
		Device: t.Device, Class: t.Class, Meter: meter, Source: source}
}
