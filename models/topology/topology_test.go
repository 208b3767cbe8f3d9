package topology

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/units"
)

func ref(dev, meter string) energy.MeterRef {
	return energy.MeterRef{Site: "odense", Device: dev, Meter: meter}
}

var (
	mains  = ref("mains", "total")
	ups    = ref("ups1", "output")
	pduA   = ref("pdu-a", "total")
	pduB   = ref("pdu-b", "total")
	outA1  = ref("pdu-a", "outlet/1")
	outA2  = ref("pdu-a", "outlet/2")
	outB1  = ref("pdu-b", "outlet/1")
	nobody = energy.MeterRef{}
)

// site: mains (facility) → ups (IT) → pdu-a → 2 outlets, pdu-b → 1 outlet.
func site() Chain {
	return Chain{
		{Ref: mains, Accounting: Facility},
		{Ref: ups, FedBy: mains, Accounting: IT},
		{Ref: pduA, FedBy: ups},
		{Ref: pduB, FedBy: ups},
		{Ref: outA1, FedBy: pduA},
		{Ref: outA2, FedBy: pduA},
		{Ref: outB1, FedBy: pduB},
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		chain Chain
		want  []string // substrings of the error; none means valid
	}{
		{"valid", site(), nil},
		{"unknown parent", Chain{{Ref: pduA, FedBy: ups}}, []string{"pdu-a/total: fed by unknown meter odense/ups1/output"}},
		{"cycle", Chain{{Ref: pduA, FedBy: pduB}, {Ref: pduB, FedBy: pduA}}, []string{"loops back"}},
		{"double counting names both", Chain{
			{Ref: ups, Accounting: IT},
			{Ref: pduA, FedBy: ups},
			{Ref: outA1, FedBy: pduA, Accounting: IT},
		}, []string{"odense/ups1/output and odense/pdu-a/outlet/1", "counted twice"}},
		{"facility under IT", Chain{{Ref: ups, Accounting: IT}, {Ref: mains, FedBy: ups, Accounting: Facility}}, []string{"IT accounting meter odense/ups1/output feeds facility meter odense/mains/total"}},
		{"unknown level", Chain{{Ref: ups, Accounting: "rack"}}, []string{`unknown accounting level "rack"`}},
		{"duplicate", Chain{{Ref: ups}, {Ref: ups}}, []string{"listed twice"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.chain.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestBalancesAndPUE(t *testing.T) {
	e := map[energy.MeterRef]units.KWh{
		mains: 150, ups: 100, pduA: 60, pduB: 35,
		outA1: 30, outA2: 25, outB1: 34,
	}
	got, err := site().Balances(e)
	if err != nil {
		t.Fatal(err)
	}
	// mains: leaves 30 + 25 + 34 = 89; unmetered 150 − 89 = 61.
	// ups:   leaves 89 as well; unmetered 100 − 89 = 11 (PDU and UPS losses, unmetered outlets).
	want := []Balance{
		{Meter: mains, Level: Facility, Measured: 150, Attributed: 89, Unmetered: 61, Leaves: 3},
		{Meter: ups, Level: IT, Measured: 100, Attributed: 89, Unmetered: 11, Leaves: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d balances, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Meter != w.Meter || g.Level != w.Level || g.Measured != w.Measured || g.Attributed != w.Attributed ||
			g.Unmetered != w.Unmetered || g.Leaves != w.Leaves || g.OverAttributed || len(g.MissingLeaves) != 0 {
			t.Errorf("balance %d: got %+v, want %+v", i, g, w)
		}
	}

	// Leaves add up to more than the meter: flagged, not dropped.
	e[outB1] = 50 // 30 + 25 + 50 = 105 > 100
	got, _ = site().Balances(e)
	if !got[1].OverAttributed || got[1].Unmetered != -5 {
		t.Errorf("over-attribution: got %+v, want unmetered −5 and flagged", got[1])
	}
	delete(e, outB1)
	got, _ = site().Balances(e)
	if len(got[1].MissingLeaves) != 1 || got[1].MissingLeaves[0] != outB1 {
		t.Errorf("missing leaf not reported: %+v", got[1])
	}

	// PUE measured: 150 / 100 = 1.5.
	pue, err := site().ComputePUE(map[energy.MeterRef]units.KWh{mains: 150, ups: 100}, 1.8)
	if err != nil || pue.Value != 1.5 || pue.Assumed {
		t.Errorf("measured PUE: got %+v, %v; want 1.5 measured", pue, err)
	}
	// No facility meter: the assumed 1.8, labelled; facility energy 100 × 1.8 = 180.
	noFac := site()[1:]
	noFac[0].FedBy = nobody
	pue, err = noFac.ComputePUE(map[energy.MeterRef]units.KWh{ups: 100}, 1.8)
	if err != nil || pue.Value != 1.8 || !pue.Assumed || pue.Facility != 180 {
		t.Errorf("assumed PUE: got %+v, %v; want 1.8 assumed", pue, err)
	}
	if _, err := noFac.ComputePUE(map[energy.MeterRef]units.KWh{ups: 100}, 0); err == nil {
		t.Error("assumed PUE 0 accepted")
	}
}

// Property: in a random tree where every meter measures its children plus its
// own losses, a chain that passes validation never counts a meter and the meter
// that feeds it at the same level, so a level's total never exceeds the energy
// that entered the roots. Chains that would double count are rejected.
func TestChainNeverSumsFeederAndFed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	rejected := 0
	for trial := range 3000 {
		n := 2 + rng.IntN(12)
		c := make(Chain, n)
		for i := range c {
			c[i].Ref = ref("d", string(rune('a'+i)))
			if i > 0 && rng.IntN(5) > 0 {
				c[i].FedBy = c[rng.IntN(i)].Ref
			}
			if rng.IntN(3) == 0 {
				c[i].Accounting = IT
			}
		}
		// Energy: leaves random, parents = children + losses, computed bottom-up
		// (children always have higher indexes).
		e := make(map[energy.MeterRef]units.KWh, n)
		for i := n - 1; i >= 0; i-- {
			e[c[i].Ref] += units.KWh(rng.Float64() * 10)
			if c[i].FedBy != nobody {
				e[c[i].FedBy] += e[c[i].Ref]
			}
		}
		var roots units.KWh
		for _, m := range c {
			if m.FedBy == nobody {
				roots += e[m.Ref]
			}
		}
		total, err := c.Total(IT, e)
		feederAndFed := false
		for _, m := range c {
			for p := m.FedBy; p != nobody; p = c[indexOf(c, p)].FedBy {
				if m.Accounting == IT && c[indexOf(c, p)].Accounting == IT {
					feederAndFed = true
				}
			}
		}
		if feederAndFed != (err != nil) {
			t.Fatalf("trial %d: feeder and fed both IT = %v, but validation error = %v", trial, feederAndFed, err)
		}
		if err != nil {
			rejected++
			continue
		}
		if total > roots*(1+1e-12) {
			t.Fatalf("trial %d: IT total %v exceeds the energy into the roots %v", trial, total, roots)
		}
	}
	if rejected == 0 {
		t.Fatal("no chain was rejected: the property was not exercised")
	}
}

func indexOf(c Chain, r energy.MeterRef) int {
	for i, m := range c {
		if m.Ref == r {
			return i
		}
	}
	return -1
}
