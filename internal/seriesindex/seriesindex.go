// Package seriesindex keeps one value per series for the series of many
// devices, compactly: a daemon holds tens of thousands of devices with a
// few dozen series each, for as long as it runs. Per device it keeps the
// device's tags once; per series its meter, a shared (measurement, source)
// pair and the value; a device's lookups are expected in the order of its
// previous ones (a device's polls produce their samples in the same
// order), so a lookup is one comparison in the common case.
//
// The /metrics readings and the embedded store's series-id cache use it.
// An Index is not safe for concurrent use.
package seriesindex

import (
	"github.com/ecometer/ecometer/models/sample"
)

// Index maps series to values of type V.
type Index[V any] struct {
	devices map[string]*device[V]
	kinds   map[kind]*kind
	grown   []*device[V] // devices whose series grew since the last Trim
}

// kind is what many series share: measurement and source.
type kind struct{ measurement, source string }

type device[V any] struct {
	site, room, rack, class string
	series                  []entry[V]
	next                    int // where the next lookup is expected
	grown                   bool
}

type entry[V any] struct {
	meter string
	kind  *kind
	v     V
}

// New returns an empty Index.
func New[V any]() *Index[V] {
	return &Index[V]{devices: map[string]*device[V]{}, kinds: map[kind]*kind{}}
}

// Get returns the value of ser, or nil. The pointer is valid until the
// next Add or Trim.
func (x *Index[V]) Get(ser *sample.Series) *V {
	d := x.devices[ser.Device]
	if d == nil || !d.is(ser) {
		return nil
	}
	if k := d.find(ser); k >= 0 {
		return &d.series[k].v
	}
	return nil
}

// Add returns the value of ser, adding it with the value v when ser is
// new (added reports that). A device seen with other tags than before
// (it moved, by a reload) starts anew: its series under the old tags are
// forgotten. The pointer is valid until the next Add or Trim.
func (x *Index[V]) Add(ser *sample.Series, v V) (p *V, added bool) {
	d := x.devices[ser.Device]
	if d == nil || !d.is(ser) {
		d = &device[V]{site: ser.Site, room: ser.Room, rack: ser.Rack, class: ser.Class}
		x.devices[ser.Device] = d
	}
	if k := d.find(ser); k >= 0 {
		return &d.series[k].v, false
	}
	kd := kind{ser.Measurement, ser.Source}
	kp := x.kinds[kd]
	if kp == nil {
		kp = &kd
		x.kinds[kd] = kp
	}
	if len(d.series) == cap(d.series) && !d.grown {
		d.grown = true
		x.grown = append(x.grown, d)
	}
	d.series = append(d.series, entry[V]{meter: ser.Meter, kind: kp, v: v})
	d.next = len(d.series)
	return &d.series[len(d.series)-1].v, true
}

// Trim gives the devices whose series grew since the last Trim exactly
// the memory they need (appending grows a slice by up to twice). Call it
// after a batch.
func (x *Index[V]) Trim() {
	for _, d := range x.grown {
		if cap(d.series) > len(d.series) {
			exact := make([]entry[V], len(d.series))
			copy(exact, d.series)
			d.series = exact
		}
		d.grown = false
	}
	clear(x.grown)
	x.grown = x.grown[:0]
}

// Forget drops every series of device.
func (x *Index[V]) Forget(device string) {
	delete(x.devices, device)
}

// Devices returns the number of devices held.
func (x *Index[V]) Devices() int { return len(x.devices) }

// Each calls fn for every series held, with its value; the device's
// series in the order they were added, devices in no order.
func (x *Index[V]) Each(fn func(ser *sample.Series, v *V)) {
	var ser sample.Series
	for name, d := range x.devices {
		ser = sample.Series{Site: d.site, Room: d.room, Rack: d.rack, Device: name, Class: d.class}
		for k := range d.series {
			e := &d.series[k]
			ser.Measurement, ser.Meter, ser.Source = e.kind.measurement, e.meter, e.kind.source
			fn(&ser, &e.v)
		}
	}
}

func (d *device[V]) is(ser *sample.Series) bool {
	return d.site == ser.Site && d.room == ser.Room && d.rack == ser.Rack && d.class == ser.Class
}

// find returns the position of ser in d, or -1.
func (d *device[V]) find(ser *sample.Series) int {
	is := func(k int) bool {
		e := &d.series[k]
		return e.meter == ser.Meter && e.kind.measurement == ser.Measurement && e.kind.source == ser.Source
	}
	if k := d.next; k < len(d.series) && is(k) {
		d.next = k + 1
		return k
	}
	for k := range d.series {
		if is(k) {
			d.next = k + 1
			return k
		}
	}
	return -1
}
