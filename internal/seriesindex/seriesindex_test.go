package seriesindex

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ecometer/ecometer/models/sample"
)

func ser(device, rack, meas, meter, source string) sample.Series {
	return sample.Series{Measurement: meas, Site: "s", Rack: rack, Device: device, Class: "pdu", Meter: meter, Source: source}
}

// TestIndex: every series added is found with its own value, whatever the
// order of lookups; another series of the device (other meter,
// measurement or source), or the device with other tags, is not found; a
// moved device's series are found by their new tags only.
func TestIndex(t *testing.T) {
	x := New[int64]()
	all := []sample.Series{
		ser("a", "r1", sample.Power, "inlet/1", "snmp"), ser("a", "r1", sample.Power, "outlet/1", "snmp"),
		ser("a", "r1", sample.Device, "", "snmp"), ser("b", "r1", sample.Power, "inlet/1", "snmp"),
		ser("a", "r1", sample.UPS, "inlet/1", "snmp"), ser("a", "r1", sample.Power, "inlet/1", "redfish"),
	}
	for i := range all {
		if _, added := x.Add(&all[i], int64(i+1)); !added {
			t.Fatalf("%v not added", all[i])
		}
	}
	if p, added := x.Add(&all[0], 99); added || *p != 1 {
		t.Errorf("Add of a held series = %d, %v; want its value 1, not added", *p, added)
	}
	x.Trim()
	for _, order := range [][]int{{0, 1, 2, 3, 4, 5}, {5, 4, 3, 2, 1, 0}, {2, 2, 0, 4, 1, 5}} {
		for _, i := range order {
			if v := x.Get(&all[i]); v == nil || *v != int64(i+1) {
				t.Errorf("Get %v = %v; want %d", all[i], v, i+1)
			}
		}
	}
	for _, s := range []sample.Series{ser("a", "r1", sample.Power, "outlet/2", "snmp"), ser("a", "r2", sample.Power, "inlet/1", "snmp"),
		ser("c", "r1", sample.Power, "inlet/1", "snmp"), ser("a", "r1", sample.Device, "", "redfish")} {
		if v := x.Get(&s); v != nil {
			t.Errorf("Get %v = %d, want none", s, *v)
		}
	}
	// A value is changed through its pointer.
	*x.Get(&all[1]) = 42
	if v := x.Get(&all[1]); *v != 42 {
		t.Errorf("after a change: %d", *v)
	}
	moved := ser("a", "r2", sample.Power, "inlet/1", "snmp")
	x.Add(&moved, 9)
	if v := x.Get(&moved); v == nil || *v != 9 {
		t.Errorf("moved: %v", v)
	}
	if v := x.Get(&all[0]); v != nil {
		t.Error("the old rack's series still found")
	}
	if v := x.Get(&all[3]); v == nil || *v != 4 {
		t.Errorf("another device: %v", v)
	}
	x.Forget("b")
	if v := x.Get(&all[3]); v != nil || x.Devices() != 1 {
		t.Errorf("forgotten device: %v, %d devices", v, x.Devices())
	}
}

// TestEach: Each gives back every series with all its tags and value.
func TestEach(t *testing.T) {
	x := New[string]()
	var want []string
	for d := range 3 {
		for _, m := range []string{"total", "inlet/1", "outlet/7"} {
			s := ser(fmt.Sprintf("pdu-%d", d), "r9", sample.Power, m, "snmp")
			s.Room, s.Class = "b1", "ups"
			x.Add(&s, s.Key())
			want = append(want, s.Key())
		}
	}
	var got []string
	x.Each(func(s *sample.Series, v *string) {
		if s.Key() != *v {
			t.Errorf("Each: series %s with the value of %s", s.Key(), *v)
		}
		got = append(got, *v)
	})
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("Each gave %v, want %v", got, want)
	}
}

// TestTrim: after Trim a device's series take no more room than they
// need, and are still found.
func TestTrim(t *testing.T) {
	x := New[int64]()
	var all []sample.Series
	for i := range 37 {
		all = append(all, ser("a", "r", sample.Power, fmt.Sprintf("outlet/%d", i), "snmp"))
		x.Add(&all[i], int64(i))
	}
	d := x.devices["a"]
	if cap(d.series) == len(d.series) {
		t.Fatalf("37 appends left no spare room (cap %d): the test shows nothing", cap(d.series))
	}
	x.Trim()
	if cap(d.series) != len(d.series) || len(x.grown) != 0 {
		t.Errorf("after Trim: len %d cap %d, %d devices pending", len(d.series), cap(d.series), len(x.grown))
	}
	for i := range all {
		if v := x.Get(&all[i]); v == nil || *v != int64(i) {
			t.Errorf("after Trim: %v = %v", all[i].Meter, v)
		}
	}
}

// The common case, a device's series looked up in the order they were
// added, costs no allocation.
func BenchmarkGetInOrder(b *testing.B) {
	x := New[int64]()
	var all []sample.Series
	for d := range 100 {
		for m := range 20 {
			s := ser(fmt.Sprintf("pdu-%03d", d), "r", sample.Power, fmt.Sprintf("outlet/%d", m), "snmp")
			all = append(all, s)
			x.Add(&s, int64(m))
		}
	}
	x.Trim()
	b.ReportAllocs()
	for b.Loop() {
		for i := range all {
			if x.Get(&all[i]) == nil {
				b.Fatal("not found")
			}
		}
	}
}
