package influx

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

var _ store.Spanner = (*Store)(nil)

// PowerSpan returns the times of the first and the last power sample with
// power_w or energy_kwh: first() and last() without a GROUP BY time keep a
// point's own time (InfluxQL on 1.x; Flux's first and last on 2.x).
func (s *Store) PowerSpan(ctx context.Context) (store.Span, bool, error) {
	var (
		span store.Span
		ok   bool
	)
	add := func(t time.Time) {
		t = t.UTC()
		if !ok || t.Before(span.First) {
			span.First = t
		}
		if !ok || t.After(span.Last) {
			span.Last = t
		}
		ok = true
	}
	if s.influxQL {
		var stmts []string
		for _, sel := range []string{"first(power_w)", "last(power_w)", "first(energy_kwh)", "last(energy_kwh)"} {
			stmts = append(stmts, "SELECT "+sel+" FROM "+s.qlFrom(sample.Power)+" WHERE "+qlTimes(time.Time{}, time.Time{}))
		}
		res, err := s.qlQuery(ctx, "power span", strings.Join(stmts, "; "))
		if err != nil {
			return store.Span{}, false, err
		}
		for _, r := range res {
			for _, ser := range r.Series {
				for _, row := range ser.Values {
					ns, err := qlInt(row[0])
					if err != nil {
						return store.Span{}, false, fmt.Errorf("influxdb %s: power span: %w", s.url, err)
					}
					add(time.Unix(0, ns))
				}
			}
		}
		return span, ok, nil
	}
	data := source(s.bucket, store.Query{Measurement: sample.Power}, time.Time{}, time.Time{}, []string{"power_w", "energy_kwh"}, false)
	flux := `data = ` + data + `
union(tables: [data |> first() |> group(), data |> last() |> group()])
  |> keep(columns: ["_time"])`
	err := s.run(ctx, "power span", flux, func(r *query.FluxRecord) error {
		add(r.Time())
		return nil
	})
	if err != nil {
		return store.Span{}, false, err
	}
	return span, ok, nil
}
