package procurement

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/procure"
	"github.com/ecometer/ecometer/models/sample"
)

var t0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// samples writes 24 hours of 5-minute power: srv-1 on its total meter (idle
// 100 W at night, 500 W 08–18), srv-2 on two PSUs (60 + 60 W, busy 200 + 210
// W), and a PDU outlet feeding srv-3 (80 W flat).
func samples() []sample.Sample {
	var out []sample.Sample
	add := func(device, meter string, at time.Time, w float64) {
		out = append(out, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: device, Class: "server", Meter: meter, Source: "redfish"},
			Time: at, Fields: []sample.Field{sample.F("power_w", w)}})
	}
	for i := 0; i < 24*12; i++ {
		at := t0.Add(time.Duration(i) * 5 * time.Minute)
		busy := at.Hour() >= 8 && at.Hour() < 18
		w1, w2a, w2b := 100.0, 60.0, 60.0
		if busy {
			w1, w2a, w2b = 500, 200, 210
		}
		add("srv-1", "total", at, w1)
		add("srv-2", "psu/1", at, w2a)
		add("srv-2", "psu/2", at, w2b)
		add("pdu-a", "outlet/12", at, 80)
		add("pdu-a", "total", at, 9999) // the PDU's total must not be taken for its outlet
	}
	return out
}

func sheet(t *testing.T) []procure.Product {
	t.Helper()
	csv := "id,class,model,idle_w,max_w,asset_id,meter\n" +
		"srv-1,server,A,100,460,A-1,srv-1\n" + // idle at the declaration; max 500 ≤ 460 × 1.1 = 506: within
		"srv-2,server,B,100,400,A-2,srv-2\n" + // idle 120 > 110: above; max 410 ≤ 440: within
		"srv-3,server,C,80,,A-3,pdu-a/outlet/12\n" + // idle within, max not declared
		"srv-4,server,D,50,300,A-4,srv-9\n" + // no data
		"srv-5,server,E,50,300,,\n" // not mapped
	ps, err := procure.ParseCSV("delivered.csv", []byte(csv))
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func check(t *testing.T, r store.Reader) {
	ctx := context.Background()
	got, err := Verify(ctx, r, sheet(t), Params{From: t0, To: t0.Add(24 * time.Hour), TolerancePct: DefaultTolerancePct})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id            string
		hours         int
		idle, max     float64
		idleSt, maxSt string
		meters        int
	}{
		{"srv-1", 24, 100, 500, Within, Within, 1},
		{"srv-2", 24, 120, 410, AboveDecl, Within, 2},
		{"srv-3", 24, 80, 80, Within, NotDeclared, 1},
		{"srv-4", 0, 0, 0, NoData, NoData, 0},
		{"srv-5", 0, 0, 0, NotDelivered, NotDelivered, 0},
	}
	if len(got) != len(want) {
		t.Fatalf("%d findings, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.ID != w.id || g.Hours != w.hours || g.MeasuredIdleW != w.idle || g.MeasuredMaxW != w.max || g.Idle != w.idleSt || g.Max != w.maxSt || len(g.Meters) != w.meters {
			t.Errorf("%s: got %+v, want %+v", w.id, g, w)
		}
	}
	// At the tolerance boundary: srv-2's 120 W idle is exactly 20 % above 100 W.
	for _, tc := range []struct {
		tol  float64
		want string
	}{{20, Within}, {19.9, AboveDecl}} {
		got, err := Verify(ctx, r, sheet(t)[1:2], Params{From: t0, To: t0.Add(24 * time.Hour), TolerancePct: tc.tol})
		if err != nil || got[0].Idle != tc.want {
			t.Errorf("tolerance %v: %+v, %v; want %s", tc.tol, got, err, tc.want)
		}
	}
}

func TestVerifySQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), samples()); err != nil {
		t.Fatal(err)
	}
	check(t, st)
}

func TestVerifyInflux(t *testing.T) {
	srv := testenv.Influx(t)
	if _, err := srv.Query("CREATE DATABASE procure"); err != nil {
		t.Fatal(err)
	}
	st, err := influx.New(influx.Options{URL: srv.URL, Bucket: "procure/autogen", Timeout: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), samples()); err != nil {
		t.Fatal(err)
	}
	check(t, st)
}
