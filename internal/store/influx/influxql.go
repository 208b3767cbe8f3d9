package influx

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// InfluxQL is how hourly aggregates are read from InfluxDB 1.x (see
// hourlyQL): its /query endpoint, JSON answers (the CSV answer drops a
// statement's own error without a trace), times in nanoseconds.

// dbRP splits a 1.x bucket name "database/retention-policy" as InfluxDB 1.8
// does (services/httpd bucket2dbrp): at the first slash; without one the
// retention policy is the database's default.
func dbRP(bucket string) (db, rp string) {
	if i := strings.IndexByte(bucket, '/'); i >= 0 {
		return bucket[:i], bucket[i+1:]
	}
	return bucket, ""
}

// qlIdent quotes an InfluxQL identifier.
func qlIdent(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// qlString quotes an InfluxQL string literal. Tag values cannot hold line
// breaks (checkLine), but a value written by another client might.
func qlString(s string) string {
	return `'` + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + `'`
}

// qlFrom is the fully qualified measurement m of the store's bucket.
func (s *Store) qlFrom(m string) string {
	db, rp := dbRP(s.bucket)
	return qlIdent(db) + "." + qlIdent(rp) + "." + qlIdent(m)
}

// qlTimes is the InfluxQL condition for [from, to), open ends replaced as in
// source.
func qlTimes(from, to time.Time) string {
	if from.IsZero() {
		from = openStart
	}
	if to.IsZero() {
		to = openStop
	}
	return "time >= " + strconv.FormatInt(from.UnixNano(), 10) + " AND time < " + strconv.FormatInt(to.UnixNano(), 10)
}

// qlSeriesCond selects exactly one series by all seven tags (an empty value
// matches a series without the tag, as InfluxDB stores an empty tag).
func qlSeriesCond(ser sample.Series) string {
	var b strings.Builder
	for i, p := range [...][2]string{
		{"class", ser.Class}, {"device", ser.Device}, {"meter", ser.Meter}, {"rack", ser.Rack},
		{"room", ser.Room}, {"site", ser.Site}, {"source", ser.Source},
	} {
		if i > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(qlIdent(p[0]) + " = " + qlString(p[1]))
	}
	return b.String()
}

// qlResponse is the JSON answer of /query.
type qlResponse struct {
	Results []qlResult `json:"results"`
	Err     string     `json:"error"`
}

type qlResult struct {
	StatementID int        `json:"statement_id"`
	Series      []qlSeries `json:"series"`
	Err         string     `json:"error"`
	Partial     bool       `json:"partial"`
}

type qlSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]qlCell        `json:"values"`
	Partial bool              `json:"partial"`
}

// qlCell is one value of an answer as written: numbers keep their digits
// (times in nanoseconds and counts are integers that a float64 would
// round), strings are unquoted, null is "".
type qlCell string

func (c *qlCell) UnmarshalJSON(b []byte) error {
	switch {
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*c = qlCell(s)
	case string(b) == "null":
		*c = ""
	default:
		*c = qlCell(b)
	}
	return nil
}

// qlQuery runs InfluxQL statements (separated by ";") against the store's
// database and returns one result per statement, in order. A statement's
// error, or a result InfluxDB cut short, is an error.
func (s *Store) qlQuery(ctx context.Context, op, q string) ([]qlResult, error) {
	db, _ := dbRP(s.bucket)
	u := s.http.ServerURL() + "query?" + // ServerURL ends with "/"
		url.Values{"db": {db}, "epoch": {"ns"}}.Encode()
	body := url.Values{"q": {q}}.Encode()
	var resp qlResponse
	herr := s.http.DoPostRequest(ctx, u, strings.NewReader(body), func(req *http.Request) {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		// Answers are small and mostly local: compressing them costs
		// InfluxDB more CPU than the network saves.
		req.Header.Set("Accept-Encoding", "identity")
	}, func(r *http.Response) error {
		defer r.Body.Close()
		dec := json.NewDecoder(r.Body)
		if err := dec.Decode(&resp); err != nil {
			return fmt.Errorf("decode answer: %w", err)
		}
		_, _ = io.Copy(io.Discard, r.Body)
		return nil
	})
	if herr != nil {
		err := httpError(herr)
		if ctxErr := context.Cause(ctx); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w (%v)", ctxErr, err)
		}
		return nil, fmt.Errorf("influxdb %s: %s: %w", s.url, op, err)
	}
	if resp.Err != "" {
		return nil, fmt.Errorf("influxdb %s: %s: %s", s.url, op, resp.Err)
	}
	for _, r := range resp.Results {
		if r.Err != "" {
			return nil, fmt.Errorf("influxdb %s: %s: statement %d: %s", s.url, op, r.StatementID, r.Err)
		}
		if r.Partial {
			return nil, fmt.Errorf("influxdb %s: %s: statement %d: the answer was cut short (max-row-limit)", s.url, op, r.StatementID)
		}
		for _, ser := range r.Series {
			if ser.Partial {
				return nil, fmt.Errorf("influxdb %s: %s: statement %d: the answer was cut short (max-row-limit)", s.url, op, r.StatementID)
			}
		}
	}
	return resp.Results, nil
}

// qlSeriesList returns the power series that match q's tags in shards that
// overlap [from, to) (InfluxDB keeps its series index per shard, so series
// without data near the range are not listed), each once by its seven tags,
// in compareSeries order.
func (s *Store) qlSeriesList(ctx context.Context, q store.Query, from, to time.Time) ([]sample.Series, error) {
	stmt := "SHOW SERIES FROM " + s.qlFrom(sample.Power) + " WHERE " + qlTimes(from, to)
	for _, c := range [...]struct{ tag, v string }{{"site", q.Site}, {"device", q.Device}, {"meter", q.Meter}} {
		if c.v != "" {
			stmt += " AND " + qlIdent(c.tag) + " = " + qlString(c.v)
		}
	}
	res, err := s.qlQuery(ctx, "list series", stmt)
	if err != nil {
		return nil, err
	}
	seen := map[sample.Series]bool{}
	var out []sample.Series
	for _, r := range res {
		for _, ser := range r.Series {
			for _, row := range ser.Values {
				if len(row) == 0 {
					continue
				}
				key := string(row[0])
				sr, err := parseSeriesKey(key)
				if err != nil {
					return nil, fmt.Errorf("influxdb %s: list series: %w", s.url, err)
				}
				if sr.Measurement != sample.Power || seen[sr] {
					continue
				}
				seen[sr] = true
				out = append(out, sr)
			}
		}
	}
	slices.SortFunc(out, compareSeries)
	return out, nil
}

// parseSeriesKey reads a series key as SHOW SERIES prints it: the
// measurement and tags in line protocol, with ",", "=" and " " escaped by
// a backslash. Tags other than the seven of the data model are ignored.
func parseSeriesKey(key string) (sample.Series, error) {
	parts := splitUnescaped(key, ',')
	ser := sample.Series{Measurement: unescapeKey(parts[0])}
	for _, p := range parts[1:] {
		kv := splitUnescaped(p, '=')
		if len(kv) != 2 {
			return ser, fmt.Errorf("series key %q: tag %q is not key=value", key, p)
		}
		v := unescapeKey(kv[1])
		switch unescapeKey(kv[0]) {
		case "site":
			ser.Site = v
		case "room":
			ser.Room = v
		case "rack":
			ser.Rack = v
		case "device":
			ser.Device = v
		case "class":
			ser.Class = v
		case "meter":
			ser.Meter = v
		case "source":
			ser.Source = v
		}
	}
	return ser, nil
}

// splitUnescaped splits s at every sep not preceded by a backslash.
func splitUnescaped(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case sep:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// unescapeKey removes the backslashes line protocol puts before ",", "="
// and " " in a series key.
func unescapeKey(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == ',' || s[i+1] == '=' || s[i+1] == ' ') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// qlColumns maps a series' column names to their indexes.
func qlColumns(ser qlSeries) map[string]int {
	m := make(map[string]int, len(ser.Columns))
	for i, c := range ser.Columns {
		m[c] = i
	}
	return m
}

// qlInt reads an integer cell ("" is 0).
func qlInt(v qlCell) (int64, error) {
	if v == "" {
		return 0, nil
	}
	return strconv.ParseInt(string(v), 10, 64)
}

// qlFloat reads a float cell exactly: InfluxDB prints floats in their
// shortest form that reads back to the same value.
func qlFloat(v qlCell) (float64, error) {
	if v == "" {
		return 0, nil
	}
	return strconv.ParseFloat(string(v), 64)
}
