package accounting_test

import (
	"context"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
)

// reads counts the hourly reads that reach the store.
type reads struct {
	accounting.Store
	n *atomic.Int64
}

func (r reads) HourlyEach(ctx context.Context, q store.Query, fn func(store.Hourly) error) error {
	r.n.Add(1)
	return r.Store.HourlyEach(ctx, q, fn)
}

// spanReads is reads of a store that bounds its samples.
type spanReads struct {
	reads
	sp store.Spanner
}

func (s spanReads) PowerSpan(ctx context.Context) (store.Span, bool, error) {
	return s.sp.PowerSpan(ctx)
}

// TestPeriodsWithoutDataAreNotRead: on both backends, a period that ends
// before the first sample or starts (less its hour before) after the last
// is not read, and every figure is what reading it gives; a period whose
// hour before holds the last sample is read.
func TestPeriodsWithoutDataAreNotRead(t *testing.T) {
	cfg := load(t)
	ctx := context.Background()
	cet := time.FixedZone("CET", 3600)
	for name, st := range stores(t) {
		t.Run(name, func(t *testing.T) {
			var skipping, plain atomic.Int64
			withSpan, err := accounting.New(cfg, spanReads{reads{st, &skipping}, st.(store.Spanner)})
			if err != nil {
				t.Fatal(err)
			}
			without, err := accounting.New(cfg, reads{st, &plain})
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				name     string
				from, to time.Time
				read     bool
			}{
				{"a month before", accounting.MonthOf(2025, time.September).From, accounting.MonthOf(2025, time.September).To, false},
				// The first sample is at day.from − 10 min.
				{"ends before the first sample", day.from.Add(-3 * time.Hour), day.from.Add(-time.Hour), false},
				{"ends after it", day.from.Add(-2 * time.Hour), day.from, true},
				{"the month", accounting.MonthOf(2025, time.October).From, accounting.MonthOf(2025, time.October).To, true},
				{"the hour before holds the last sample", day.to, day.to.Add(2 * time.Hour), true},
				{"an hour later", day.to.Add(time.Hour), day.to.Add(3 * time.Hour), false},
				{"a month after", accounting.MonthOf(2025, time.November).From, accounting.MonthOf(2025, time.November).To, false},
				{"years before", time.Date(2020, 1, 1, 0, 0, 0, 0, cet), time.Date(2021, 1, 1, 0, 0, 0, 0, cet), false},
			} {
				before := skipping.Load()
				got, gotErrs, err1 := withSpan.Sites(ctx, cfg.Sites, c.from, c.to)
				want, wantErrs, err2 := without.Sites(ctx, cfg.Sites, c.from, c.to)
				if err1 != nil || err2 != nil {
					t.Fatalf("%s: %v, %v", c.name, err1, err2)
				}
				if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gotErrs, wantErrs) {
					t.Errorf("%s: sites differ:\n%+v %v\n%+v %v", c.name, got, gotErrs, want, wantErrs)
				}
				gm, err1 := withSpan.Meters(ctx, "", c.from, c.to)
				wm, err2 := without.Meters(ctx, "", c.from, c.to)
				if err1 != nil || err2 != nil || !reflect.DeepEqual(gm, wm) {
					t.Errorf("%s: meters differ: %v %v\n%+v\n%+v", c.name, err1, err2, gm, wm)
				}
				if read := skipping.Load() > before; read != c.read {
					t.Errorf("%s: read %v, want %v", c.name, read, c.read)
				}
			}
			if plain.Load() != 16 {
				t.Errorf("the store without bounds was read %d times, want every time (16)", plain.Load())
			}
		})
	}
}
