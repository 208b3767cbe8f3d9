package energy

import (
	"testing"
	"time"
)

func TestHourlyFromAggregates(t *testing.T) {
	m := MeterRef{Site: "s", Device: "pdu1", Meter: "total"}
	h := func(i int) time.Time { return t0.Add(time.Duration(i) * time.Hour) }
	at := func(i, min int) time.Time { return h(i).Add(time.Duration(min) * time.Minute) }
	rows := []HourlyAggregate{
		// Hour 0, first with a counter: last − first = 101.0 − 100.2 = 0.8 kWh over 00:00–00:50 (83.3 %).
		{Meter: m, Hour: h(0), CounterSamples: 6, CounterFirstKWh: 100.2, CounterLastKWh: 101.0, CounterFirstAt: at(0, 0), CounterLastAt: at(0, 50),
			PowerSamples: 6, PowerMeanW: 999},
		// Hour 1: from hour 0's last (101.0 at 00:50) to 102.5 at 01:50 = 1.5 kWh over 60 min (100 %).
		{Meter: m, Hour: h(1), CounterSamples: 6, CounterFirstKWh: 101.2, CounterLastKWh: 102.5, CounterFirstAt: at(1, 0), CounterLastAt: at(1, 50)},
		// Hour 2: counter wrapped at width 103: 0.5 − 102.5 + 103 = 1.0 kWh.
		{Meter: m, Hour: h(2), CounterSamples: 6, CounterFirstKWh: 102.9, CounterLastKWh: 0.5, CounterFirstAt: at(2, 0), CounterLastAt: at(2, 50)},
		// Hour 3: no counter; 3 samples × 10 min = 50 % coverage; 1200 W × 0.5 h = 0.6 kWh.
		{Meter: m, Hour: h(3), PowerSamples: 3, PowerMeanW: 1200},
		// Hour 4: counter again, but hour 3 had none: last − first = 3.0 − 1.0 = 2 kWh over 40 min (66.7 %).
		{Meter: m, Hour: h(4), CounterSamples: 5, CounterFirstKWh: 1.0, CounterLastKWh: 3.0, CounterFirstAt: at(4, 10), CounterLastAt: at(4, 50)},
		// Hour 6 (hour 5 absent): counter reset: 40 → 0.2, far from the width, so 0.2 kWh.
		{Meter: m, Hour: h(6), CounterSamples: 2, CounterFirstKWh: 40, CounterLastKWh: 0.2, CounterFirstAt: at(6, 0), CounterLastAt: at(6, 30)},
		// Hour 7: nothing at all: left out.
		{Meter: m, Hour: h(7)},
	}
	got, err := HourlyFromAggregates(rows, 10*time.Minute, 103)
	if err != nil {
		t.Fatal(err)
	}
	want := []Hourly{
		{m, h(0), 0.8, 100 * 50.0 / 60, Counter},
		{m, h(1), 1.5, 100, Counter},
		{m, h(2), 1.0, 100, Counter},
		{m, h(3), 0.6, 50, Integrated},
		{m, h(4), 2, 100 * 40.0 / 60, Counter},
		{m, h(6), 0.2, 50, Counter},
	}
	if len(got.Hours) != len(want) {
		t.Fatalf("got %d hours, want %d: %+v", len(got.Hours), len(want), got.Hours)
	}
	for i, w := range want {
		g := got.Hours[i]
		if g.Meter != w.Meter || !g.Hour.Equal(w.Hour) || !near(float64(g.Energy), float64(w.Energy)) || !near(g.CoveragePct, w.CoveragePct) || g.Method != w.Method {
			t.Errorf("hour %d: got %+v, want %+v", i, g, w)
		}
	}
	if got.Wraps != 1 || got.Resets != 1 {
		t.Errorf("wraps/resets = %d/%d, want 1/1", got.Wraps, got.Resets)
	}
	wantEv := []HourEvent{
		{Hour: h(2), Event: Wrap, FromKWh: 102.5, ToKWh: 0.5, FromAt: at(1, 50), ToAt: at(2, 50), Energy: 1.0},
		{Hour: h(6), Event: Reset, FromKWh: 40, ToKWh: 0.2, FromAt: at(6, 0), ToAt: at(6, 30), Energy: 0.2},
	}
	if len(got.Events) != len(wantEv) {
		t.Fatalf("events: got %+v, want %+v", got.Events, wantEv)
	}
	for i, w := range wantEv {
		g := got.Events[i]
		if !g.Hour.Equal(w.Hour) || g.Event != w.Event || g.FromKWh != w.FromKWh || g.ToKWh != w.ToKWh ||
			!g.FromAt.Equal(w.FromAt) || !g.ToAt.Equal(w.ToAt) || !near(float64(g.Energy), float64(w.Energy)) {
			t.Errorf("event %d: got %+v, want %+v", i, g, w)
		}
	}
}

func TestHourlyFromAggregatesRejects(t *testing.T) {
	a := MeterRef{Device: "a"}
	b := MeterRef{Device: "b"}
	tests := []struct {
		name string
		rows []HourlyAggregate
	}{
		{"two meters", []HourlyAggregate{{Meter: a, Hour: t0}, {Meter: b, Hour: t0.Add(time.Hour)}}},
		{"unsorted", []HourlyAggregate{{Meter: a, Hour: t0.Add(time.Hour)}, {Meter: a, Hour: t0}}},
		{"negative power", []HourlyAggregate{{Meter: a, Hour: t0, PowerSamples: 1, PowerMeanW: -1}}},
		{"negative counter", []HourlyAggregate{{Meter: a, Hour: t0, CounterSamples: 1, CounterLastKWh: -1}}},
	}
	for _, tt := range tests {
		if _, err := HourlyFromAggregates(tt.rows, time.Minute, 0); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}
