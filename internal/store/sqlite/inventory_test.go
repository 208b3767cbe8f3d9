package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/carbon"
)

func TestInventoryIsIdempotent(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	day := time.Date(2023, 4, 1, 0, 0, 0, 0, time.UTC)
	in := []carbon.Asset{
		{ID: "srv-2", Class: "Server", Model: "R750", InService: day, LifetimeYears: 5, Footprint: 1234.5, HasFootprint: true},
		{ID: "lap-1", Class: "Laptop", Model: "X1", InService: day, LifetimeYears: 4},
	}
	res, err := s.WriteAssets(ctx, in)
	if err != nil || res != (InventoryResult{Added: 2}) {
		t.Fatalf("first import: %+v, %v; want 2 added", res, err)
	}
	res, err = s.WriteAssets(ctx, in)
	if err != nil || res != (InventoryResult{Unchanged: 2}) {
		t.Fatalf("same import again: %+v, %v; want 2 unchanged", res, err)
	}
	in[1].LifetimeYears = 6
	res, err = s.WriteAssets(ctx, in)
	if err != nil || res != (InventoryResult{Updated: 1, Unchanged: 1}) {
		t.Fatalf("changed import: %+v, %v; want 1 updated, 1 unchanged", res, err)
	}
	got, err := s.Assets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by id; the footprint is NULL (class default) for the laptop.
	want := []carbon.Asset{in[1], in[0]}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("assets:\n%+v\nwant\n%+v", got, want)
	}
}
