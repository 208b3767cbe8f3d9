package sqlite

import "github.com/ecometer/ecometer/models/sample"

// seriesCache maps series to their ids. A writer holds one entry per
// series of thousands of devices, so it is kept compact: per device its
// tags once, and per series only what differs. Not safe for concurrent
// use (the store's writes hold s.mu).
type seriesCache map[string]*deviceSeries

type deviceSeries struct {
	site, room, rack, class string
	series                  []cachedSeries
	next                    int // where the next lookup is expected: a device's samples come in the same order
}

type cachedSeries struct {
	measurement, meter, source string
	id                         int64
}

func (c seriesCache) get(ser *sample.Series) (int64, bool) {
	d := c[ser.Device]
	if d == nil || d.site != ser.Site || d.room != ser.Room || d.rack != ser.Rack || d.class != ser.Class {
		return 0, false
	}
	is := func(k int) bool {
		e := &d.series[k]
		return e.meter == ser.Meter && e.measurement == ser.Measurement && e.source == ser.Source
	}
	if k := d.next; k < len(d.series) && is(k) {
		d.next = k + 1
		return d.series[k].id, true
	}
	for k := range d.series {
		if is(k) {
			d.next = k + 1
			return d.series[k].id, true
		}
	}
	return 0, false
}

// put adds a series. A device seen with other tags (it moved) has its
// series of the old tags forgotten here; they stay in the database.
func (c seriesCache) put(ser sample.Series, id int64) {
	d := c[ser.Device]
	if d == nil || d.site != ser.Site || d.room != ser.Room || d.rack != ser.Rack || d.class != ser.Class {
		d = &deviceSeries{site: ser.Site, room: ser.Room, rack: ser.Rack, class: ser.Class}
		c[ser.Device] = d
	}
	d.series = append(d.series, cachedSeries{measurement: ser.Measurement, meter: ser.Meter, source: ser.Source, id: id})
}
