package examples_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/influxdata/influxql"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

const dashboardFile = "grafana/ecometer-dashboard.json"

// schema is what ecometer writes to InfluxDB, per measurement: the fields
// of models/sample.Schema with the tags of sample.Series, and the grid
// measurement of internal/store/influx (tag area; fields g_per_kwh,
// intervals, dataset), as the README's "Where data goes" lists them.
type measurement struct{ fields, tags map[string]bool }

func influxSchema() map[string]measurement {
	tags := map[string]bool{}
	all := sample.Series{Site: "s", Room: "r", Rack: "k", Device: "d", Class: "c", Meter: "m", Source: "x"}
	for _, p := range all.TagPairs() {
		tags[p[0]] = true
	}
	out := map[string]measurement{}
	for m, fields := range sample.Schema {
		f := map[string]bool{}
		for name := range fields {
			f[name] = true
		}
		out[m] = measurement{fields: f, tags: tags}
	}
	out[influx.GridMeasurement] = measurement{fields: map[string]bool{"g_per_kwh": true, "intervals": true, "dataset": true},
		tags: map[string]bool{"area": true}}
	return out
}

type target struct {
	RefID      string `json:"refId"`
	Datasource struct {
		Type string `json:"type"`
		UID  string `json:"uid"`
	} `json:"datasource"`
	RawQuery   bool   `json:"rawQuery"`
	Query      string `json:"query"`
	Type       string `json:"type"`
	Expression string `json:"expression"`
	Hide       bool   `json:"hide"`
}

type panel struct {
	ID      int      `json:"id"`
	Title   string   `json:"title"`
	Type    string   `json:"type"`
	Targets []target `json:"targets"`
	Panels  []panel  `json:"panels"` // rows
}

type dashboard struct {
	Inputs []struct {
		Name     string `json:"name"`
		PluginID string `json:"pluginId"`
	} `json:"__inputs"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      string `json:"query"`
			Datasource *struct {
				Type string `json:"type"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

func loadDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// query is an InfluxQL query of the dashboard with where it is.
type query struct {
	where, text string
}

// queries returns every InfluxQL query of the dashboard (panel targets and
// query variables) and checks the Grafana expressions' references.
func queries(t *testing.T, d dashboard) []query {
	t.Helper()
	var out []query
	for _, v := range d.Templating.List {
		if v.Type == "query" {
			if v.Datasource == nil || v.Datasource.Type != "influxdb" {
				t.Errorf("variable %s: query variable without the InfluxDB data source", v.Name)
			}
			out = append(out, query{"variable " + v.Name, v.Query})
		}
	}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			refs := map[string]bool{}
			for _, tg := range p.Targets {
				if refs[tg.RefID] {
					t.Errorf("panel %q: refId %s twice", p.Title, tg.RefID)
				}
				refs[tg.RefID] = true
			}
			visible := 0
			for _, tg := range p.Targets {
				where := fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)
				if !tg.Hide {
					visible++
				}
				switch tg.Datasource.Type {
				case "influxdb":
					if !tg.RawQuery || tg.Query == "" || tg.Datasource.UID != "${DS_INFLUXDB}" {
						t.Errorf("%s: want a raw InfluxQL query on ${DS_INFLUXDB}", where)
					}
					out = append(out, query{where, tg.Query})
				case "__expr__":
					if tg.Type != "math" {
						t.Errorf("%s: expression type %q, want math", where, tg.Type)
					}
					for _, m := range regexp.MustCompile(`\$([A-Za-z_]\w*)`).FindAllStringSubmatch(tg.Expression, -1) {
						if !refs[m[1]] || m[1] == tg.RefID {
							t.Errorf("%s: expression %q refers to $%s, not another query of the panel", where, tg.Expression, m[1])
						}
					}
				default:
					t.Errorf("%s: data source type %q", where, tg.Datasource.Type)
				}
			}
			if visible == 0 {
				t.Errorf("panel %q shows nothing (every target hidden)", p.Title)
			}
		}
	}
	walk(d.Panels)
	return out
}

// expand substitutes Grafana's variables as Grafana does before sending a
// query: $timeFilter, $__interval and the dashboard's own variables (regex
// variables as alternations, for =~ /^$v$/). A variable the dashboard does
// not define is an error.
func expand(q string, d dashboard, timeFilter string) (string, error) {
	vars := map[string]string{"timeFilter": timeFilter, "__interval": "1m"}
	for _, v := range d.Templating.List {
		switch v.Name {
		case "site":
			vars[v.Name] = "(odense-dc1|demo-dc)"
		default:
			first, _, _ := strings.Cut(v.Query, ",")
			vars[v.Name] = first // custom variables: their first option
		}
	}
	var bad []string
	out := regexp.MustCompile(`\$\{?([A-Za-z_]\w*)\}?`).ReplaceAllStringFunc(q, func(m string) string {
		name := strings.Trim(m, "${}")
		if v, ok := vars[name]; ok {
			return v
		}
		if strings.HasPrefix(name, "tag_") {
			return m // an alias pattern, not a query variable
		}
		bad = append(bad, m)
		return m
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("undefined variables %v", bad)
	}
	return out, nil
}

// checkSelect checks that a SELECT names only real measurements, fields and
// tags, and returns what it yields: its output fields and the tags it
// groups by (for a query on top of it).
func checkSelect(s *influxql.SelectStatement, schema map[string]measurement) (fields, tags map[string]bool, errs []string) {
	if len(s.Sources) != 1 {
		return nil, nil, []string{fmt.Sprintf("%d sources, want one", len(s.Sources))}
	}
	var in measurement
	switch src := s.Sources[0].(type) {
	case *influxql.Measurement:
		m, ok := schema[src.Name]
		if !ok || src.Regex != nil {
			return nil, nil, []string{fmt.Sprintf("measurement %q is not one ecometer writes", src.String())}
		}
		in = m
	case *influxql.SubQuery:
		f, tg, e := checkSelect(src.Statement, schema)
		if len(e) > 0 {
			return nil, nil, e
		}
		in = measurement{fields: f, tags: tg}
	default:
		return nil, nil, []string{fmt.Sprintf("source %T", src)}
	}
	refs := func(n influxql.Node, ok func(string) bool, what string) {
		influxql.WalkFunc(n, func(n influxql.Node) {
			if r, isRef := n.(*influxql.VarRef); isRef && !ok(r.Val) {
				errs = append(errs, fmt.Sprintf("%s %q is not in the source (fields %v, tags %v)", what, r.Val, keys(in.fields), keys(in.tags)))
			}
			if _, isWild := n.(*influxql.Wildcard); isWild {
				errs = append(errs, "a wildcard does not name what it reads")
			}
		})
	}
	fields, tags = map[string]bool{}, map[string]bool{}
	for _, f := range s.Fields {
		refs(f.Expr, func(n string) bool { return in.fields[n] }, "field")
		fields[f.Name()] = true
	}
	if s.Condition != nil {
		refs(s.Condition, func(n string) bool { return n == "time" || in.tags[n] || in.fields[n] }, "condition on")
	}
	for _, dim := range s.Dimensions {
		switch e := dim.Expr.(type) {
		case *influxql.VarRef:
			if !in.tags[e.Val] {
				errs = append(errs, fmt.Sprintf("GROUP BY %q is not a tag of the source (tags %v)", e.Val, keys(in.tags)))
			}
			tags[e.Val] = true
		case *influxql.Call:
			if e.Name != "time" {
				errs = append(errs, "GROUP BY "+e.String())
			}
		default:
			errs = append(errs, "GROUP BY "+dim.String())
		}
	}
	return fields, tags, errs
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkQuery parses an expanded query with InfluxDB's own InfluxQL parser
// (the version influxd 1.8.10 is built with) and checks every name in it.
func checkQuery(text string, schema map[string]measurement) []string {
	q, err := influxql.ParseQuery(text)
	if err != nil {
		return []string{err.Error()}
	}
	var errs []string
	for _, st := range q.Statements {
		switch s := st.(type) {
		case *influxql.SelectStatement:
			_, _, e := checkSelect(s, schema)
			errs = append(errs, e...)
		case *influxql.ShowTagValuesStatement:
			for _, src := range s.Sources {
				if m, ok := src.(*influxql.Measurement); !ok || schema[m.Name].tags == nil {
					errs = append(errs, fmt.Sprintf("SHOW TAG VALUES from %s", src))
				} else if lit, ok := s.TagKeyExpr.(*influxql.StringLiteral); !ok || !schema[m.Name].tags[lit.Val] {
					errs = append(errs, fmt.Sprintf("SHOW TAG VALUES key %s is not a tag of %s", s.TagKeyExpr, m.Name))
				}
			}
		default:
			errs = append(errs, fmt.Sprintf("statement %T", st))
		}
	}
	return errs
}

// TestDashboardQueries: every query of the Grafana dashboard parses as
// InfluxQL and names only measurements, fields and tags that ecometer
// writes; the checker itself rejects queries that do not.
func TestDashboardQueries(t *testing.T) {
	d := loadDashboard(t)
	if len(d.Inputs) != 1 || d.Inputs[0].Name != "DS_INFLUXDB" || d.Inputs[0].PluginID != "influxdb" {
		t.Errorf("inputs %+v, want the one InfluxDB data source DS_INFLUXDB", d.Inputs)
	}
	schema := influxSchema()
	qs := queries(t, d)
	covered := map[string]bool{}
	for _, q := range qs {
		text, err := expand(q.text, d, "time >= now() - 1h")
		if err != nil {
			t.Errorf("%s: %v", q.where, err)
			continue
		}
		for _, e := range checkQuery(text, schema) {
			t.Errorf("%s: %s\n  %s", q.where, e, text)
		}
		for m := range schema {
			if strings.Contains(q.text, `FROM "`+m+`"`) {
				covered[m] = true
			}
		}
	}
	// Energy, power by class, PUE and CO2e need power and grid.
	for _, m := range []string{sample.Power, influx.GridMeasurement} {
		if !covered[m] {
			t.Errorf("no query reads %s", m)
		}
	}
	// The checker fails what it must.
	for _, bad := range []string{
		`SELECT mean("power_watts") FROM "power" WHERE time >= now() - 1h`,
		`SELECT mean("power_w") FROM "pwr" WHERE time >= now() - 1h`,
		`SELECT mean("power_w") FROM "power" WHERE "host" = 'a' AND time >= now() - 1h`,
		`SELECT mean("power_w") FROM "power" WHERE time >= now() - 1h GROUP BY "rackname"`,
		`SELECT sum("kwh") FROM (SELECT mean("power_w") AS "kw" FROM "power" GROUP BY "device") GROUP BY "device"`,
		`SELECT sum("kw") FROM (SELECT mean("power_w") AS "kw" FROM "power") GROUP BY "device"`,
		`SELECT * FROM "power"`,
		`SELECT mean("g_per_kwh") FROM "grid" WHERE "site" = 'x'`,
		`SELECT mean("power_w" FROM "power"`,
	} {
		if len(checkQuery(bad, schema)) == 0 {
			t.Errorf("checker accepted %s", bad)
		}
	}
	if _, err := expand(`SELECT mean("power_w") FROM "power" WHERE "site" =~ /^$sites$/`, d, "true"); err == nil {
		t.Error("an undefined variable was accepted")
	}
}

// TestDashboardOnInfluxDB writes an hour of a small site and its grid
// intensity through ecometer's InfluxDB store, checks that the store's
// measurements, fields and tags are the schema the names were checked
// against, and runs every query on the real InfluxDB: each answers with
// data.
func TestDashboardOnInfluxDB(t *testing.T) {
	srv := testenv.Influx(t)
	cfg := config.DefaultConfig()
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = srv.URL, srv.Bucket
	st, err := backend.OpenInflux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	from := time.Date(2025, 10, 2, 8, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	series := func(m, dev, class string) sample.Series {
		return sample.Series{Measurement: m, Site: "odense-dc1", Room: "s1", Rack: "R01", Device: dev, Class: class, Meter: "total", Source: "snmp"}
	}
	for at := from; at.Before(from.Add(2 * time.Hour)); at = at.Add(time.Minute) {
		batch = append(batch,
			sample.Sample{Series: series(sample.Power, "facility-main", "facility"), Time: at, Fields: []sample.Field{sample.F("power_w", 1500), sample.F("energy_kwh", 10)}},
			sample.Sample{Series: series(sample.Power, "ups-a", "ups"), Time: at, Fields: []sample.Field{sample.F("power_w", 1000)}},
			sample.Sample{Series: series(sample.Power, "pdu-r01-a", "pdu"), Time: at, Fields: []sample.Field{sample.F("power_w", 600), sample.F("voltage_v", 230),
				sample.F("current_a", 2.6), sample.F("apparent_va", 620), sample.F("load_pct", 20), sample.F("frequency_hz", 50)}},
			sample.Sample{Series: series(sample.UPS, "ups-a", "ups"), Time: at, Fields: []sample.Field{sample.F("battery_charge_pct", 100), sample.F("runtime_min", 30),
				sample.B("on_battery", false), sample.F("input_w", 1100), sample.F("output_w", 1000)}},
			sample.Sample{Series: series(sample.Device, "ups-a", "ups"), Time: at, Fields: []sample.Field{sample.F("poll_ms", 12), sample.B("reachable", true), sample.T("power_state", "On")}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if err := st.WriteGrid(ctx, []store.GridHour{{Area: "DK1", Hour: from, GramsPerKWh: 80, Intervals: 12, Dataset: "CO2Emis"},
		{Area: "DK1", Hour: from.Add(time.Hour), GramsPerKWh: 90, Intervals: 12, Dataset: "CO2Emis"}}); err != nil {
		t.Fatal(err)
	}

	// The schema the names were checked against is what the store wrote.
	type result struct {
		Results []struct {
			Series []struct {
				Name    string   `json:"name"`
				Columns []string `json:"columns"`
				Values  [][]any  `json:"values"`
			} `json:"series"`
		} `json:"results"`
	}
	run := func(q string) result {
		t.Helper()
		b, err := srv.Query(q)
		if err != nil {
			t.Fatalf("%v\n%s", err, srv.Log(2000))
		}
		var r result
		if err := json.Unmarshal(b, &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	schema := influxSchema()
	for what, q := range map[string]string{"fields": "SHOW FIELD KEYS", "tags": "SHOW TAG KEYS"} {
		got := map[string][]string{}
		for _, s := range run(q).Results[0].Series {
			for _, v := range s.Values {
				got[s.Name] = append(got[s.Name], v[0].(string))
			}
		}
		for m, want := range schema {
			w := keys(want.fields)
			if what == "tags" {
				w = keys(want.tags)
			}
			g := got[m]
			sort.Strings(g)
			if !slices.Equal(g, w) {
				t.Errorf("%s of %s in InfluxDB: %v; the dashboard is checked against %v", what, m, g, w)
			}
		}
	}

	d := loadDashboard(t)
	window := fmt.Sprintf("time >= '%s' AND time < '%s'", from.Format(time.RFC3339), from.Add(2*time.Hour).Format(time.RFC3339))
	for _, q := range queries(t, d) {
		text, err := expand(q.text, d, window)
		if err != nil {
			t.Fatalf("%s: %v", q.where, err)
		}
		n := 0
		for _, r := range run(text).Results {
			for _, s := range r.Series {
				n += len(s.Values)
			}
		}
		if n == 0 {
			t.Errorf("%s: no data from the real InfluxDB\n  %s", q.where, text)
		}
	}
}
