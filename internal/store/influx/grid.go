package influx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/influxdata/influxdb-client-go/v2/api/query"

	"github.com/ecometer/ecometer/internal/store"
)

// GridMeasurement is the measurement of grid intensity: tag area, fields
// g_per_kwh (float), intervals (integer) and dataset (string), time = the
// start of the UTC hour. The dataset is a field, not a tag, so that an hour
// imported again from another dataset replaces the earlier value instead of
// standing beside it as a second series.
const GridMeasurement = "grid"

var _ store.GridStore = (*Store)(nil)

// WriteGrid writes grid hours as points of GridMeasurement, BatchSize per
// request. Every hour is checked before anything is sent. Points with the
// same area and hour overwrite, so writing a period twice stores it once.
func (s *Store) WriteGrid(ctx context.Context, hours []store.GridHour) error {
	for i, h := range hours {
		err := store.ValidateGridHour(h)
		if err == nil && strings.ContainsAny(h.Area, "\\\n\r") {
			err = fmt.Errorf("grid area %q cannot be stored in InfluxDB", h.Area)
		}
		if err == nil && (h.Hour.Before(minTime) || h.Hour.After(maxTime)) {
			err = fmt.Errorf("grid %s: time %s is outside InfluxDB's range", h.Area, h.Hour)
		}
		if err != nil {
			return &store.RejectedError{Err: fmt.Errorf("influxdb %s: write grid: hour %d of %d: %w", s.url, i, len(hours), err)}
		}
	}
	for off := 0; off < len(hours); off += s.batchSize {
		chunk := hours[off:min(off+s.batchSize, len(hours))]
		var b []byte
		for _, h := range chunk {
			b = appendGridLine(b, h)
		}
		if err := s.post(ctx, s.writeS, b, len(chunk)); err != nil {
			return err
		}
	}
	return nil
}

// appendGridLine appends one grid point, time in seconds.
func appendGridLine(b []byte, h store.GridHour) []byte {
	b = append(b, GridMeasurement+",area="...)
	b = appendEscaped(b, h.Area, tagEscapes)
	b = append(b, " g_per_kwh="...)
	b = appendFloat(b, h.GramsPerKWh)
	b = append(b, ",intervals="...)
	b = strconv.AppendInt(b, int64(h.Intervals), 10)
	b = append(b, "i,dataset=\""...)
	b = appendEscaped(b, h.Dataset, stringEscapes)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, h.Hour.Unix(), 10)
	return append(b, '\n')
}

// post sends uncompressed line protocol (grid batches are small).
func (s *Store) post(ctx context.Context, u string, body []byte, points int) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	herr := s.http.DoPostRequest(ctx, u, bytes.NewReader(body), func(req *http.Request) {
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
	}, func(resp *http.Response) error {
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.Body.Close()
	})
	if herr != nil {
		return classify(fmt.Errorf("influxdb %s: write grid, %d points: %w", s.url, points, httpError(herr)))
	}
	return nil
}

// GridHours returns area's hours in [from, to), ordered by hour.
func (s *Store) GridHours(ctx context.Context, area string, from, to time.Time) ([]store.GridHour, error) {
	start, stop := from, to
	if start.IsZero() {
		start = openStart
	}
	if stop.IsZero() {
		stop = openStop
	}
	flux := `from(bucket: ` + fluxString(s.bucket) + `)
  |> range(start: ` + fluxTime(start) + `, stop: ` + fluxTime(stop) + `)
  |> filter(fn: (r) => r._measurement == ` + fluxString(GridMeasurement) + ` and r.area == ` + fluxString(area) + `)
  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")`
	var out []store.GridHour
	err := s.run(ctx, "grid hours "+area, flux, func(r *query.FluxRecord) error {
		t := r.Time().UTC()
		if !to.IsZero() && !t.Before(to) {
			return nil // 1.8's range includes its stop
		}
		h := store.GridHour{Area: area, Hour: t}
		switch v := r.ValueByKey("g_per_kwh").(type) {
		case float64:
			h.GramsPerKWh = v
		case int64:
			h.GramsPerKWh = float64(v)
		default:
			return fmt.Errorf("grid %s %s: g_per_kwh has type %T", area, t.Format(time.RFC3339), v)
		}
		switch v := r.ValueByKey("intervals").(type) {
		case int64:
			h.Intervals = int(v)
		case float64:
			h.Intervals = int(v)
		}
		h.Dataset, _ = r.ValueByKey("dataset").(string)
		out = append(out, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b store.GridHour) int { return a.Hour.Compare(b.Hour) })
	return out, nil
}
