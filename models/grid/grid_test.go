package grid

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/units"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDanishTime(t *testing.T) {
	from, to := DanishMonth(2025, time.October)
	// 1 Oct 00:00 CEST = 30 Sep 22:00 UTC; 1 Nov 00:00 CET = 31 Oct 23:00 UTC; 31 × 24 + 1 = 745 hours.
	if !from.Equal(utc("2025-09-30T22:00:00Z")) || !to.Equal(utc("2025-10-31T23:00:00Z")) || to.Sub(from) != 745*time.Hour {
		t.Errorf("DanishMonth(2025-10) = %s – %s", from, to)
	}
	tests := []struct {
		wall string
		want []string
	}{
		{"2025-07-01T12:00:00Z", []string{"2025-07-01T10:00:00Z"}},
		{"2025-01-01T12:00:00Z", []string{"2025-01-01T11:00:00Z"}},
		// Repeated hour: 02:30 is 00:30 UTC (CEST) and again 01:30 UTC (CET).
		{"2025-10-26T02:30:00Z", []string{"2025-10-26T00:30:00Z", "2025-10-26T01:30:00Z"}},
		{"2025-10-26T03:00:00Z", []string{"2025-10-26T02:00:00Z"}},
		// Skipped hour: 02:00–02:59 on 30 March 2025 does not exist.
		{"2025-03-30T02:00:00Z", nil},
		{"2025-03-30T03:00:00Z", []string{"2025-03-30T01:00:00Z"}},
	}
	for _, tt := range tests {
		got := fromDanishWall(utc(tt.wall))
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.wall, got, tt.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(utc(tt.want[i])) {
				t.Errorf("%s: got %v, want %v", tt.wall, got, tt.want)
			}
		}
	}
	if h := Danish(utc("2025-10-26T00:30:00Z")).Hour(); h != 2 {
		t.Errorf("Danish hour = %d, want 2", h)
	}
}

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		dataset   Dataset
		want      []HourValue
		repeated  int
		localOnly bool
		missing   int
		skipped   int
	}{
		{
			name: "5-minute CSV, UTC column",
			in: "Minutes5UTC,Minutes5DK,PriceArea,CO2Emission\n" +
				"2024-01-01T00:00:00,2024-01-01T01:00:00,DK1,171\n" +
				"2024-01-01T00:05:00,2024-01-01T01:05:00,DK1,174\n" +
				"2024-01-01T00:10:00,2024-01-01T01:10:00,DK1,\n" + // gap
				"2024-01-01T01:00:00,2024-01-01T02:00:00,DK1,100\n",
			dataset: FiveMinute,
			// 00:00 hour: (171 + 174) / 2 = 172.5 from 2 intervals.
			want:    []HourValue{{"DK1", utc("2024-01-01T00:00:00Z"), 172.5, 2}, {"DK1", utc("2024-01-01T01:00:00Z"), 100, 1}},
			missing: 1,
		},
		{
			name: "semicolons and decimal commas",
			in: "Minutes5UTC;Minutes5DK;PriceArea;CO2Emission\r\n" +
				"2024-01-01T00:00:00;2024-01-01T01:00:00;DK1;171,5\r\n" +
				"2024-01-01T00:05:00;2024-01-01T01:05:00;DK1;172,5\r\n",
			dataset: FiveMinute,
			want:    []HourValue{{"DK1", utc("2024-01-01T00:00:00Z"), 172, 2}},
		},
		{
			name: "declaration, Danish time only, repeated October hour in order",
			in: "HourDK,PriceArea,FuelAllocationMethod,CO2PerkWh\n" +
				"2022-10-30T01:00:00,DK1,125%,43\n" + // CEST: 23:00 UTC the day before
				"2022-10-30T02:00:00,DK1,125%,44\n" + // first 02:00: CEST, 00:00 UTC
				"2022-10-30T02:00:00,DK1,125%,47\n" + // second 02:00: CET, 01:00 UTC
				"2022-10-30T02:00:00,DK1,200%,99\n" + // other method: skipped
				"2022-10-30T03:00:00,DK1,125%,32\n", // CET: 02:00 UTC
			dataset: Declaration,
			want: []HourValue{
				{"DK1", utc("2022-10-29T23:00:00Z"), 43, 1}, {"DK1", utc("2022-10-30T00:00:00Z"), 44, 1},
				{"DK1", utc("2022-10-30T01:00:00Z"), 47, 1}, {"DK1", utc("2022-10-30T02:00:00Z"), 32, 1},
			},
			repeated: 2, localOnly: true, skipped: 1,
		},
		{
			name: "newest first: the first repeated hour is the later (CET) one",
			in: "HourDK;PriceArea;CO2PerkWh\n" +
				"2022-10-30T03:00:00;DK1;32\n2022-10-30T02:00:00;DK1;47\n2022-10-30T02:00:00;DK1;44\n2022-10-30T01:00:00;DK1;43\n",
			dataset: Declaration,
			want: []HourValue{
				{"DK1", utc("2022-10-29T23:00:00Z"), 43, 1}, {"DK1", utc("2022-10-30T00:00:00Z"), 44, 1},
				{"DK1", utc("2022-10-30T01:00:00Z"), 47, 1}, {"DK1", utc("2022-10-30T02:00:00Z"), 32, 1},
			},
			repeated: 2, localOnly: true,
		},
		{
			name: "UTC preferred over Danish time",
			in: "HourUTC,HourDK,PriceArea,FuelAllocationMethod,CO2PerkWh\n" +
				"2022-10-30T00:00:00,2022-10-30T02:00:00,DK1,125%,44\n2022-10-30T01:00:00,2022-10-30T02:00:00,DK1,125%,47\n",
			dataset: Declaration,
			want:    []HourValue{{"DK1", utc("2022-10-30T00:00:00Z"), 44, 1}, {"DK1", utc("2022-10-30T01:00:00Z"), 47, 1}},
		},
		{
			name: "JSON as the API returns it",
			in: `{"total": 3, "limit": 100, "dataset": "CO2Emis", "records": [
				{"Minutes5UTC": "2024-01-01T00:05:00", "Minutes5DK": "2024-01-01T01:05:00", "PriceArea": "DK2", "CO2Emission": 80},
				{"Minutes5UTC": "2024-01-01T00:00:00", "Minutes5DK": "2024-01-01T01:00:00", "PriceArea": "DK2", "CO2Emission": 90.5},
				{"Minutes5UTC": "2024-01-01T00:00:00", "Minutes5DK": "2024-01-01T01:00:00", "PriceArea": "DK1", "CO2Emission": null}]}`,
			dataset: FiveMinute,
			// (80 + 90.5) / 2 = 85.25.
			want:    []HourValue{{"DK2", utc("2024-01-01T00:00:00Z"), 85.25, 2}},
			missing: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("test.csv", strings.NewReader(tt.in), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Dataset != tt.dataset || got.Repeated != tt.repeated || got.LocalTimeOnly != tt.localOnly ||
				got.Missing != tt.missing || got.Skipped != tt.skipped {
				t.Errorf("got %+v", got)
			}
			if len(got.Hours) != len(tt.want) {
				t.Fatalf("got hours %+v, want %+v", got.Hours, tt.want)
			}
			for i, w := range tt.want {
				g := got.Hours[i]
				if g.Area != w.Area || !g.Hour.Equal(w.Hour) || g.Intensity != w.Intensity || g.Intervals != w.Intervals {
					t.Errorf("hour %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"negative", "HourUTC,PriceArea,CO2PerkWh\n2022-01-01T00:00:00,DK1,12\n2022-01-01T01:00:00,DK1,-3\n",
			"bad.csv:3:25: CO2PerkWh: negative intensity"},
		{"not a number", "HourUTC;PriceArea;CO2PerkWh\n2022-01-01T00:00:00;DK1;abc\n", `bad.csv:2:25: CO2PerkWh: invalid number "abc"`},
		{"NaN", "HourUTC,PriceArea,CO2PerkWh\n2022-01-01T00:00:00,DK1,NaN\n", "invalid number"},
		{"bad time", "HourUTC,PriceArea,CO2PerkWh\n2022-13-01T00:00:00,DK1,1\n", "bad.csv:2:1: HourUTC: invalid time"},
		{"off the hour", "HourUTC,PriceArea,CO2PerkWh\n2022-01-01T00:30:00,DK1,1\n", "not on a 1h0m0s boundary"},
		{"duplicate", "HourUTC,PriceArea,CO2PerkWh\n2022-01-01T00:00:00,DK1,1\n2022-01-01T00:00:00,DK1,2\n", "bad.csv:3:1: HourUTC: DK1 2022-01-01T00:00:00Z appears twice (also at line 2)"},
		{"skipped hour", "HourDK,PriceArea,CO2PerkWh\n2023-03-26T02:00:00,DK1,1\n", "does not exist in Danish time"},
		{"three times", "HourDK,PriceArea,CO2PerkWh\n2022-10-30T02:00:00,DK1,1\n2022-10-30T02:00:00,DK1,1\n2022-10-30T02:00:00,DK1,1\n", "bad.csv:4:1: HourDK: local time 2022-10-30T02:00:00 appears more than twice"},
		{"field count", "HourUTC,PriceArea,CO2PerkWh\n2022-01-01T00:00:00,DK1\n", "bad.csv:2:1: wrong number of fields"},
		{"unknown dataset", "a,b\n1,2\n", "bad.csv:1:1: no CO2Emission or CO2PerkWh column"},
		{"no area", "HourUTC,CO2PerkWh\n2022-01-01T00:00:00,1\n", "no PriceArea column"},
		{"empty", "  \n", "bad.csv: empty file"},
		{"ambiguous decimal", "HourUTC;PriceArea;CO2PerkWh\n2022-01-01T00:00:00;DK1;1.234,5\n", "ambiguous decimal mark"},
		{"other method only", "HourUTC,PriceArea,FuelAllocationMethod,CO2PerkWh\n2022-01-01T00:00:00,DK1,200%,1\n", `no records with fuel allocation method "125%" (found 200%)`},
		{"JSON syntax", "{\"records\": [\n  {\"HourUTC\": \"2022-01-01T00:00:00\",, }]}", "bad.csv:2:37: invalid character ','"},
		{"JSON negative", "{\"records\": [\n {\"HourUTC\": \"2022-01-01T00:00:00\", \"PriceArea\": \"DK1\", \"CO2PerkWh\": 1},\n {\"HourUTC\": \"2022-01-01T01:00:00\", \"PriceArea\": \"DK1\", \"CO2PerkWh\": -1}]}",
			"bad.csv:3:2: record 2 CO2PerkWh: negative intensity"},
		{"JSON missing field", "{\"records\": [{\"HourUTC\": \"2022-01-01T00:00:00\", \"PriceArea\": \"DK1\", \"CO2PerkWh\": 1}, {\"HourUTC\": \"2022-01-01T01:00:00\", \"CO2PerkWh\": 1}]}",
			"record 2: no field PriceArea"},
		{"JSON no records", `{"total": 0}`, `no "records" array`},
		{"JSON bool value", `{"records": [{"HourUTC": true, "PriceArea": "DK1", "CO2PerkWh": 1}]}`, "is not a string, number or null"},
		{"JSON trailing", `{"records": []} x`, "data after the JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("bad.csv", strings.NewReader(tt.in), Options{})
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if len(got.Hours) != 0 {
				t.Errorf("partial result returned with the error")
			}
		})
	}
	var pe *ParseError
	_, err := Parse("x.csv", strings.NewReader("HourUTC,PriceArea,CO2PerkWh\nx,DK1,1\n"), Options{})
	if !errors.As(err, &pe) || pe.File != "x.csv" || pe.Line != 2 || pe.Column != 1 || pe.Field != "HourUTC" {
		t.Errorf("ParseError = %+v", pe)
	}
}

func TestResolve(t *testing.T) {
	h0 := utc("2025-10-06T10:00:00Z") // a Monday
	values := []HourValue{
		{"DK1", h0, 100, 12},
		{"DK1", h0.Add(time.Hour), 110, 12},
		{"DK1", h0.Add(week + 2*time.Hour), 130, 12}, // one week later, hour 12
		{"DK2", h0.Add(2 * time.Hour), 999, 12},      // another area: ignored
	}
	factors := []Factor{
		{"DK1", 2023, 150, "Energinet declaration 2023"},
		{"DK1", 2024, 140, "Energinet declaration 2024"},
	}
	got, err := Resolve("DK1", values, factors, h0, h0.Add(3*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []Intensity{
		{h0, 100, Measured, ""},
		{h0.Add(time.Hour), 110, Measured, ""},
		// Hour 12 has no data: the same hour a week later has 130.
		{h0.Add(2 * time.Hour), 130, SameHourOfWeek, "2025-10-13T12:00:00Z"},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("hour %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	// Hour 13 has no data in any week: the nearest year's factor (2024 for 2025).
	got, err = Resolve("DK1", values, factors, h0.Add(3*time.Hour), h0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if w := (Intensity{h0.Add(3 * time.Hour), 140, AnnualFactor, "2024 (no factor for 2025; the nearest year's stands in): Energinet declaration 2024"}); got[0] != w {
		t.Errorf("got %+v, want %+v", got[0], w)
	}
	if _, err := Resolve("DK1", values, nil, h0.Add(3*time.Hour), h0.Add(4*time.Hour)); err == nil {
		t.Error("hour without data or factor accepted")
	}
}

func TestPeriodStats(t *testing.T) {
	h0 := utc("2025-10-01T00:00:00Z")
	values := []HourValue{{"DK1", h0, 100, 12}, {"DK1", h0.Add(time.Hour), 50, 10}, {"DK1", h0.Add(2 * time.Hour), 90, 12}, {"DK1", h0.Add(10 * time.Hour), 1, 1}}
	s, err := PeriodStats("DK1", values, h0, h0.Add(4*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Mean (100 + 50 + 90) / 3 = 80; 3 of 4 hours; 12 + 10 + 12 = 34 intervals.
	if s.Mean != 80 || s.Min != 50 || s.Max != 100 || s.Hours != 3 || s.HoursInPeriod != 4 || s.Intervals != 34 {
		t.Errorf("got %+v", s)
	}
	if _, err := PeriodStats("DK2", values, h0, h0.Add(4*time.Hour)); err == nil {
		t.Error("no error for a period without data")
	}
}

func TestCorpusFiles(t *testing.T) {
	t.Run("CO2EmisProg", func(t *testing.T) {
		f := testenv.OpenCorpus(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
		imp, err := Parse(f.Name(), f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if imp.Dataset != FiveMinute || imp.LocalTimeOnly || imp.Records != 209952 {
			t.Errorf("got dataset %s, local only %v, %d records", imp.Dataset, imp.LocalTimeOnly, imp.Records)
		}
		from, to := DanishMonth(2025, time.October)
		s, err := PeriodStats("DK1", imp.Hours, from, to)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("DK1 October 2025 (Danish month): mean %.3f g/kWh, min %.3f, max %.3f, %d/%d hours, %d intervals",
			s.Mean, s.Min, s.Max, s.Hours, s.HoursInPeriod, s.Intervals)
		if s.Hours != 745 || s.Intervals != 745*12 {
			t.Errorf("October 2025 coverage: %d hours, %d intervals; want 745 and %d", s.Hours, s.Intervals, 745*12)
		}
		// The corpus has real gaps: November 2025 lacks days.
		nf, nt := DanishMonth(2025, time.November)
		ns, err := PeriodStats("DK1", imp.Hours, nf, nt)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("DK1 November 2025: %d/%d hours with data", ns.Hours, ns.HoursInPeriod)
		if ns.Hours >= ns.HoursInPeriod {
			t.Errorf("expected gaps in November 2025, got %d/%d hours", ns.Hours, ns.HoursInPeriod)
		}
	})
	t.Run("DeclarationGridEmission", func(t *testing.T) {
		f := testenv.OpenCorpus(t, "grid", "DeclarationGridEmission_DK1_2022-2023.csv")
		imp, err := Parse(f.Name(), f, Options{})
		if err != nil {
			t.Fatal(err)
		}
		// 2022 and 2023 each have one repeated October hour (2 rows each).
		if imp.Dataset != Declaration || !imp.LocalTimeOnly || imp.Repeated != 4 || len(imp.Hours) != 17520 {
			t.Errorf("got dataset %s, local only %v, %d repeated, %d hours", imp.Dataset, imp.LocalTimeOnly, imp.Repeated, len(imp.Hours))
		}
		t.Log(imp.TimeNote())
		if !strings.Contains(imp.TimeNote(), "4 records in the repeated October hour") {
			t.Errorf("time note %q", imp.TimeNote())
		}
		for i := 1; i < len(imp.Hours); i++ {
			if imp.Hours[i].Hour.Sub(imp.Hours[i-1].Hour) != time.Hour {
				t.Fatalf("hours not contiguous at %s", imp.Hours[i].Hour)
			}
		}
	})
}

func FuzzParse(f *testing.F) {
	f.Add("Minutes5UTC,Minutes5DK,PriceArea,CO2Emission\n2024-01-01T00:00:00,2024-01-01T01:00:00,DK1,171\n")
	f.Add("HourDK;PriceArea;FuelAllocationMethod;CO2PerkWh\n2022-10-30T02:00:00;DK1;125%;44,5\n2022-10-30T02:00:00;DK1;125%;47\n")
	f.Add(`{"records": [{"HourUTC": "2022-01-01T00:00:00", "PriceArea": "DK1", "CO2PerkWh": 1.5}]}`)
	f.Add(`{"records": [{"Minutes5DK": "2022-10-30T02:05:00", "PriceArea": "DK1", "CO2Emission": null}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		imp, err := Parse("fuzz", strings.NewReader(in), Options{})
		if err != nil {
			if len(imp.Hours) != 0 {
				t.Fatal("partial result with an error")
			}
			return
		}
		for _, h := range imp.Hours {
			v := float64(h.Intensity)
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || h.Intervals < 1 || h.Hour.Location() != time.UTC {
				t.Fatalf("accepted bad hour %+v", h)
			}
		}
	})
}

func TestLineCounterMatchesLineCol(t *testing.T) {
	data := []byte("{\n  \"a\": 1,\n\n  \"records\": [{\"x\": 1}, {\"y\": 2}\n]}")
	var c lineCounter
	for off := int64(0); off <= int64(len(data)); off++ {
		l1, c1 := lineCol(data, off)
		l2, c2 := c.at(data, off)
		if l1 != l2 || c1 != c2 {
			t.Fatalf("offset %d: lineCounter %d:%d, lineCol %d:%d", off, l2, c2, l1, c1)
		}
	}
}

// TestResolveOrder walks the fallback order: imported hour, same hour of the
// nearest imported week, built-in hour, configured factor of the year,
// built-in mean of the year, then the nearest year (a built-in mean only for
// a later year).
func TestResolveOrder(t *testing.T) {
	first := utc("2024-12-31T23:00:00Z") // 2025-01-01 00:00 Danish time
	vals := make([]units.GramsPerKWh, 8760)
	for i := range vals {
		vals[i] = units.GramsPerKWh(50 + i%24)
	}
	gap := utc("2025-06-01T12:00:00Z")
	vals[int(gap.Sub(first)/time.Hour)] = units.GramsPerKWh(math.NaN())
	b := BuiltIn{
		Hourly: []BuiltInYear{{Area: "DK1", Year: 2025, First: first, Values: vals, Label: "built-in X DK1 2025"}},
		Annual: []BuiltInMean{
			{Area: "DK1", Year: 2022, Intensity: 146, Label: "built-in D DK1 2022"},
			{Area: "DK1", Year: 2024, Intensity: 96, Label: "built-in X DK1 2024"},
			{Area: "DK1", Year: 2025, Intensity: 80, Label: "built-in X DK1 2025"},
		},
	}
	imported := utc("2025-03-03T10:00:00Z")
	tests := []struct {
		name     string
		hour     string
		imported []HourValue
		factors  []Factor
		area     string
		want     Intensity
		err      string
	}{
		{name: "imported", hour: "2025-03-03T10:00:00Z", imported: []HourValue{{"DK1", imported, 33, 12}},
			want: Intensity{Value: 33, Source: Measured}},
		{name: "same hour of an imported week before the built-in hour", hour: "2025-03-10T10:00:00Z", imported: []HourValue{{"DK1", imported, 33, 12}},
			want: Intensity{Value: 33, Source: SameHourOfWeek, Basis: "2025-03-03T10:00:00Z"}},
		{name: "another area's import does not count", hour: "2025-03-10T10:00:00Z", imported: []HourValue{{"DK2", imported, 33, 12}},
			want: Intensity{Value: 50 + 11, Source: BuiltInHourly, Basis: "built-in X DK1 2025, hourly"}},
		{name: "built-in hour before a configured factor", hour: "2025-03-10T10:00:00Z", factors: []Factor{{"DK1", 2025, 99, "cfg"}},
			want: Intensity{Value: 50 + 11, Source: BuiltInHourly, Basis: "built-in X DK1 2025, hourly"}},
		{name: "built-in gap: configured factor of the year", hour: "2025-06-01T12:00:00Z", factors: []Factor{{"DK1", 2025, 99, "cfg"}},
			want: Intensity{Value: 99, Source: AnnualFactor, Basis: "2025: cfg"}},
		{name: "built-in gap: built-in mean of the year", hour: "2025-06-01T12:00:00Z",
			want: Intensity{Value: 80, Source: BuiltInAnnual, Basis: "built-in X DK1 2025, annual mean"}},
		{name: "built-in mean of the year before a configured neighbour", hour: "2024-05-01T12:00:00Z", factors: []Factor{{"DK1", 2023, 99, "cfg"}},
			want: Intensity{Value: 96, Source: BuiltInAnnual, Basis: "built-in X DK1 2024, annual mean"}},
		{name: "configured factor of a later year", hour: "2026-05-01T12:00:00Z", factors: []Factor{{"DK1", 2026, 77, "cfg 2026"}},
			want: Intensity{Value: 77, Source: AnnualFactor, Basis: "2026: cfg 2026"}},
		{name: "nearest year: built-in 2025 for 2026, not a configured 2020", hour: "2026-05-01T12:00:00Z", factors: []Factor{{"DK1", 2020, 130, "cfg 2020"}},
			want: Intensity{Value: 80, Source: BuiltInAnnual, Basis: "built-in X DK1 2025, annual mean (no imported data or factor for 2026; the nearest year's stands in)"}},
		{name: "nearest year: a tie goes to the configured factor", hour: "2026-05-01T12:00:00Z", factors: []Factor{{"DK1", 2027, 60, "cfg 2027"}},
			want: Intensity{Value: 60, Source: AnnualFactor, Basis: "2027 (no factor for 2026; the nearest year's stands in): cfg 2027"}},
		{name: "a built-in year stands in for a year between", hour: "2023-05-01T12:00:00Z",
			want: Intensity{Value: 146, Source: BuiltInAnnual, Basis: "built-in D DK1 2022, annual mean (no imported data or factor for 2023; the nearest year's stands in)"}},
		{name: "a configured year stands in before the built-in data", hour: "2021-05-01T12:00:00Z", factors: []Factor{{"DK1", 2020, 130, "cfg 2020"}},
			want: Intensity{Value: 130, Source: AnnualFactor, Basis: "2020 (no factor for 2021; the nearest year's stands in): cfg 2020"}},
		{name: "the baseline year is not filled from later built-in data", hour: "2020-05-01T12:00:00Z",
			err: "grid DK1: no intensity for 2020-05-01T12:00:00Z: no imported data, no annual factor, and no built-in data for 2020 (built-in DK1 data: 2022–2025"},
		{name: "DK2 has no built-in data", hour: "2025-05-01T12:00:00Z", area: "DK2",
			err: "grid DK2: no intensity for 2025-05-01T12:00:00Z: no imported data, no annual factor, and no built-in data for DK2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			area := tt.area
			if area == "" {
				area = "DK1"
			}
			h := utc(tt.hour)
			got, err := Sources{Imported: tt.imported, Factors: tt.factors, BuiltIn: b}.Resolve(area, []time.Time{h})
			if tt.err != "" {
				var ne *NoIntensityError
				if !errors.As(err, &ne) || !strings.Contains(err.Error(), tt.err) || ne.Year != Danish(h).Year() {
					t.Errorf("got %v, want a *NoIntensityError containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Hour = h
			if got[0] != tt.want {
				t.Errorf("got  %+v\nwant %+v", got[0], tt.want)
			}
		})
	}
}
