package snmp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
)

// TestSharedPlans: collectors of one profile share its program; a row's
// meter is built once for all the fields that name it alike, even when one
// of their columns lacks the row, and polls after the first reuse it.
func TestSharedPlans(t *testing.T) {
	reg, f := sharedTestDevice(t)
	newCollector := func() *Collector { return sharedTestCollector(t, reg, f) }
	c1, c2 := newCollector(), newCollector()
	poll := func(c *Collector) map[string]string {
		t.Helper()
		rs, err := c.Readings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, r := range rs {
			got[r.Meter+" "+r.Field] = r.Meter
		}
		return got
	}
	first := poll(c1)
	want := []string{"outlet/1 current_a", "outlet/1 power_w", "outlet/1 energy_kwh", "outlet/2 current_a",
		"outlet/2 energy_kwh", "outlet/3 current_a", "outlet/3 power_w", "outlet/3 energy_kwh", "named/a_b power_w"}
	if len(first) != len(want) {
		t.Errorf("readings %v, want %v", first, want)
	}
	for _, k := range want {
		if _, ok := first[k]; !ok {
			t.Errorf("no reading %q in %v", k, first)
		}
	}
	poll(c2)
	if c1.plan.program != c2.plan.program {
		t.Error("two collectors of one profile have a program each")
	}
	if c1.plan.nMeters != 2 {
		t.Errorf("meter caches %d, want 2 (outlet/{index} shared by three metrics, named/{label})", c1.plan.nMeters)
	}
	if n := len(c1.plan.meters[c1.plan.meterOf[0]].entries); n != 3 {
		t.Errorf("outlet meters cached %d, want 3", n)
	}
	// The caches hold no spare room: they live as long as the device.
	for i, m := range c1.plan.meters {
		if len(m.entries) != cap(m.entries) {
			t.Errorf("meter cache %d: %d entries in room for %d", i, len(m.entries), cap(m.entries))
		}
	}
	// The fields of a row share one string, and the next poll reuses it.
	ptr := func(s string) *byte { return unsafe.StringData(s) }
	for _, row := range []string{"outlet/1", "outlet/3"} {
		if ptr(first[row+" current_a"]) != ptr(first[row+" power_w"]) || ptr(first[row+" power_w"]) != ptr(first[row+" energy_kwh"]) {
			t.Errorf("%s: a meter string per field", row)
		}
	}
	second := poll(c1)
	for k, m := range first {
		if ptr(second[k]) != ptr(m) {
			t.Errorf("%s: meter built again on the second poll", k)
		}
	}
	// A changed label makes a new meter.
	f.vars[9].Value = []byte("c")
	if third := poll(c1); third["named/c power_w"] == "" {
		t.Errorf("label change not seen: %v", third)
	}
}

// TestGroupingFollowsReadings: the samples of a poll are regrouped when
// the readings change (a row appears, a field goes), and are the same as
// those of a new collector each time.
func TestGroupingFollowsReadings(t *testing.T) {
	reg, f := sharedTestDevice(t)
	newCollector := func() *Collector { return sharedTestCollector(t, reg, f) }
	kept := newCollector()
	show := func(c *Collector) string {
		t.Helper()
		ss, err := c.Collect(t.Context(), time.Unix(0, 0))
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, s := range ss {
			fmt.Fprintf(&b, "%s %s:", s.Measurement, s.Meter)
			for _, fl := range s.Fields {
				if fl.Name != "poll_ms" {
					fmt.Fprintf(&b, " %s=%v", fl.Name, fl.Num)
				}
			}
			b.WriteString("\n")
		}
		return b.String()
	}
	base := slices.Clone(f.vars)
	steps := []struct {
		name string
		vars []gosnmp.SnmpPDU
		want string
	}{
		{"first", base, "power outlet/1: power_w=10 energy_kwh=100 current_a=1"},
		{"row 4 appears", append(slices.Clone(base), gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.4242.1.1.4", Type: gosnmp.Gauge32, Value: uint(4)}),
			"power outlet/4: current_a=4"},
		{"row 3's power goes", slices.Delete(slices.Clone(base), 5, 6), "power outlet/3: energy_kwh=300 current_a=3\n"},
		{"again", base, "power outlet/3: power_w=30 energy_kwh=300 current_a=3\n"},
	}
	for _, st := range steps {
		f.vars = st.vars
		got, fresh := show(kept), show(newCollector())
		if got != fresh {
			t.Errorf("%s: kept collector\n%s\nnew collector\n%s", st.name, got, fresh)
		}
		if !strings.Contains(got, st.want) {
			t.Errorf("%s: no %q in\n%s", st.name, st.want, got)
		}
	}
}

// sharedTestDevice returns a registry with the profile shared-test and a
// fake device it reads: outlets 1–3 with current, power (not row 2) and
// energy, and an outlet named by a label.
func sharedTestDevice(t *testing.T) (*Registry, *fakeTransport) {
	dir := t.TempDir()
	const prof = `name: shared-test
class: pdu
detect: {sys_object_id: [1.3.6.1.4.1.4242]}
metrics:
  - {object: outletCurrent, field: current_a, column: 1.3.6.1.4.1.4242.1.1, meter: "outlet/{index}", unit: A}
  - {object: outletPower, field: power_w, column: 1.3.6.1.4.1.4242.1.2, meter: "outlet/{index}", unit: W}
  - {object: outletEnergy, field: energy_kwh, column: 1.3.6.1.4.1.4242.1.3, meter: "outlet/{index}", unit: kWh, kind: counter, width: 32}
  - {object: outletName, field: power_w, column: 1.3.6.1.4.1.4242.1.9, meter: "named/{label}", label: [{column: 1.3.6.1.4.1.4242.1.8}], unit: W}
`
	if err := os.WriteFile(filepath.Join(dir, "shared.yaml"), []byte(prof), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	col := func(c, row string, v uint) gosnmp.SnmpPDU {
		return gosnmp.SnmpPDU{Name: ".1.3.6.1.4.1.4242.1." + c + "." + row, Type: gosnmp.Gauge32, Value: v}
	}
	f := &fakeTransport{vars: []gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(5)},
		col("1", "1", 1), col("1", "2", 2), col("1", "3", 3),
		col("2", "1", 10), col("2", "3", 30), // row 2 has no power
		col("3", "1", 100), col("3", "2", 200), col("3", "3", 300),
		{Name: ".1.3.6.1.4.1.4242.1.8.1", Type: gosnmp.OctetString, Value: []byte("a b")},
		col("9", "1", 7),
	}}
	return reg, f
}

// sharedTestCollector returns a collector of the profile shared-test on f.
func sharedTestCollector(t *testing.T, reg *Registry, f *fakeTransport) *Collector {
	t.Helper()
	c, err := New(Device{Target: collectors.Target{Device: "d", Class: "pdu"}, Conn: Conn{Addr: "192.0.2.1"}, Profile: "shared-test"},
		Options{Profiles: reg, Dial: func(Conn) (Transport, error) { return f, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}
