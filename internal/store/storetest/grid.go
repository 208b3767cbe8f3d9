package storetest

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
)

// GridHours returns the grid suite's data: n hours of area from Base, with
// intensity 100 + hour index / 4 (exact in binary) and 12 intervals.
func GridHours(area string, n int, dataset string) []store.GridHour {
	out := make([]store.GridHour, n)
	for i := range out {
		out[i] = store.GridHour{Area: area, Hour: Base.Add(time.Duration(i) * time.Hour),
			GramsPerKWh: 100 + float64(i)/4, Intervals: 12, Dataset: dataset}
	}
	return out
}

// RunGrid runs the conformance suite for grid intensity. open must return a
// fresh, empty store.
func RunGrid(t *testing.T, open func(t *testing.T) store.GridStore) {
	t.Run("RoundTrip", func(t *testing.T) { gridRoundTrip(t, open(t)) })
	t.Run("Idempotent", func(t *testing.T) { gridIdempotent(t, open(t)) })
	t.Run("InvalidBatchIsAtomic", func(t *testing.T) { gridInvalid(t, open(t)) })
}

func gridHours(t *testing.T, s store.GridStore, area string, from, to time.Time) []store.GridHour {
	t.Helper()
	got, err := s.GridHours(ctx(t), area, from, to)
	if err != nil {
		t.Fatalf("grid hours %s [%s, %s): %v", area, from, to, err)
	}
	return got
}

func gridRoundTrip(t *testing.T, s store.GridStore) {
	dk1 := GridHours("DK1", 48, "CO2Emis")
	dk2 := GridHours("DK2", 5, "DeclarationGridEmission")
	for i := range dk2 {
		dk2[i].Intervals = 1
	}
	// Written in reverse order and in two batches: the store orders by hour.
	rev := make([]store.GridHour, 0, len(dk1))
	for i := len(dk1) - 1; i >= 0; i-- {
		rev = append(rev, dk1[i])
	}
	for _, b := range [][]store.GridHour{rev[:30], append(rev[30:], dk2...)} {
		if err := s.WriteGrid(ctx(t), b); err != nil {
			t.Fatalf("write grid: %v", err)
		}
	}

	// Open bounds: everything of the area, in hour order, exact values.
	got := gridHours(t, s, "DK1", time.Time{}, time.Time{})
	if len(got) != len(dk1) {
		t.Fatalf("DK1: %d hours, want %d", len(got), len(dk1))
	}
	for i, h := range got {
		w := dk1[i]
		if h.Area != w.Area || !h.Hour.Equal(w.Hour) || h.Hour.Location() != time.UTC ||
			h.GramsPerKWh != w.GramsPerKWh || h.Intervals != w.Intervals || h.Dataset != w.Dataset {
			t.Fatalf("DK1 hour %d: got %+v, want %+v", i, h, w)
		}
	}
	// Half-open range: [Base+10h, Base+20h) is 10 hours, 10..19.
	got = gridHours(t, s, "DK1", Base.Add(10*time.Hour), Base.Add(20*time.Hour))
	if len(got) != 10 || !got[0].Hour.Equal(Base.Add(10*time.Hour)) || !got[9].Hour.Equal(Base.Add(19*time.Hour)) {
		t.Fatalf("DK1 [10h, 20h): %d hours %+v, want hours 10..19", len(got), got)
	}
	// Σ of hours 10..19: 10 × 100 + (10 + … + 19) / 4 = 1000 + 145/4 = 1036.25.
	var sum float64
	for _, h := range got {
		sum += h.GramsPerKWh
	}
	if sum != 1036.25 {
		t.Errorf("Σ g/kWh over [10h, 20h) = %v, want 1036.25", sum)
	}
	// Areas are separate.
	got = gridHours(t, s, "DK2", time.Time{}, time.Time{})
	if len(got) != 5 || got[4].Intervals != 1 || got[4].Dataset != "DeclarationGridEmission" {
		t.Fatalf("DK2: %+v, want 5 declaration hours", got)
	}
	if got := gridHours(t, s, "SE3", time.Time{}, time.Time{}); len(got) != 0 {
		t.Fatalf("unknown area: %d hours, want 0", len(got))
	}
}

func gridIdempotent(t *testing.T, s store.GridStore) {
	in := GridHours("DK1", 24, "CO2Emis")
	for range 2 {
		if err := s.WriteGrid(ctx(t), in); err != nil {
			t.Fatalf("write grid: %v", err)
		}
	}
	if got := gridHours(t, s, "DK1", time.Time{}, time.Time{}); len(got) != 24 {
		t.Fatalf("24 hours written twice: %d stored, want 24", len(got))
	}
	// A later import of the same hour from another dataset replaces it.
	again := store.GridHour{Area: "DK1", Hour: Base.Add(5 * time.Hour), GramsPerKWh: 77.5, Intervals: 1, Dataset: "DeclarationGridEmission"}
	if err := s.WriteGrid(ctx(t), []store.GridHour{again}); err != nil {
		t.Fatalf("write grid: %v", err)
	}
	got := gridHours(t, s, "DK1", Base.Add(5*time.Hour), Base.Add(6*time.Hour))
	if len(got) != 1 || got[0] != again {
		t.Fatalf("hour rewritten from another dataset: %+v, want only %+v", got, again)
	}
	if got := gridHours(t, s, "DK1", time.Time{}, time.Time{}); len(got) != 24 {
		t.Fatalf("after the rewrite: %d hours, want 24", len(got))
	}
}

func gridInvalid(t *testing.T, s store.GridStore) {
	for name, bad := range map[string]store.GridHour{
		"NaN":         {Area: "DK1", Hour: Base.Add(3 * time.Hour), GramsPerKWh: math.NaN()},
		"negative":    {Area: "DK1", Hour: Base.Add(3 * time.Hour), GramsPerKWh: -1},
		"not on hour": {Area: "DK1", Hour: Base.Add(3*time.Hour + time.Minute), GramsPerKWh: 1},
		"no area":     {Hour: Base.Add(3 * time.Hour), GramsPerKWh: 1},
	} {
		batch := GridHours("DK1", 6, "CO2Emis")
		batch[3] = bad
		err := s.WriteGrid(ctx(t), batch)
		var rej *store.RejectedError
		if !errors.As(err, &rej) {
			t.Errorf("%s: write grid returned %v, want a RejectedError", name, err)
		}
		if got := gridHours(t, s, "DK1", time.Time{}, time.Time{}); len(got) != 0 {
			t.Fatalf("%s: %d hours of a rejected batch were stored, want 0", name, len(got))
		}
	}
}
