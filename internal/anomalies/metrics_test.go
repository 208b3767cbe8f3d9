package anomalies

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// The gauge counts the open anomalies of the last week by kind, every kind
// present, and exports nothing before its first update.
func TestOpenMetric(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("site.yaml", []byte(`allow_inline_secrets: true
sites: [{name: dc1}]
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: c}, interval: 15m}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir(), RawRetention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)
	stuck := now.Add(-30 * time.Hour) // stuck ever since: still open
	var batch []sample.Sample
	for ts := now.AddDate(0, 0, -70); ts.Before(now); ts = ts.Add(15 * time.Minute) {
		w := 400 + 80*math.Sin(float64(ts.Unix()%86400)/86400*2*math.Pi) + float64(ts.Unix()/900%11)
		if !ts.Before(stuck) {
			w = 431.5
		}
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu-a", Class: "pdu", Meter: "total", Source: "snmp"},
			Time: ts, Fields: []sample.Field{sample.F("power_w", w)}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	m := NewOpenMetric()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	if n, err := testutil.GatherAndCount(reg, "ecometer_anomalies_open"); err != nil || n != 0 {
		t.Errorf("before the first update: %d series, %v", n, err)
	}
	if err := m.Update(ctx, st, cfg, now); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, mt := range mf.Metric {
			got[mt.Label[0].GetValue()] = mt.Gauge.GetValue()
		}
	}
	if got["flatline"] != 1 || len(got) < 8 {
		t.Errorf("open anomalies %v, want flatline 1 and every kind", got)
	}
}
