package sqlite

import (
	"testing"

	"github.com/ecometer/ecometer/models/sample"
)

// TestSeriesCache: every series put is found with its own id, whatever
// the order of lookups; another series of the device, or the device with
// other tags, is not found; a moved device's series are found by their
// new tags only.
func TestSeriesCache(t *testing.T) {
	c := seriesCache{}
	ser := func(device, rack, meas, meter string) sample.Series {
		return sample.Series{Measurement: meas, Site: "s", Rack: rack, Device: device, Class: "pdu", Meter: meter, Source: "snmp"}
	}
	all := []sample.Series{
		ser("a", "r1", sample.Power, "inlet/1"), ser("a", "r1", sample.Power, "outlet/1"),
		ser("a", "r1", sample.Device, ""), ser("b", "r1", sample.Power, "inlet/1"), ser("a", "r1", sample.UPS, "inlet/1"),
	}
	for i, s := range all {
		c.put(s, int64(i+1))
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 2, 0, 4, 1}} {
		for _, i := range order {
			if id, ok := c.get(&all[i]); !ok || id != int64(i+1) {
				t.Errorf("get %v = %d, %v; want %d", all[i], id, ok, i+1)
			}
		}
	}
	for _, s := range []sample.Series{ser("a", "r1", sample.Power, "outlet/2"), ser("a", "r2", sample.Power, "inlet/1"), ser("c", "r1", sample.Power, "inlet/1")} {
		if id, ok := c.get(&s); ok {
			t.Errorf("get %v = %d, want none", s, id)
		}
	}
	moved := ser("a", "r2", sample.Power, "inlet/1")
	c.put(moved, 9)
	if id, ok := c.get(&moved); !ok || id != 9 {
		t.Errorf("moved: %d, %v", id, ok)
	}
	if _, ok := c.get(&all[0]); ok {
		t.Error("the old rack's series still found")
	}
	if id, ok := c.get(&all[3]); !ok || id != 4 {
		t.Errorf("another device: %d, %v", id, ok)
	}
}
