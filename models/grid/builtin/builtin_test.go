package builtin

import (
	"bytes"
	"io/fs"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/energinet"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin/derive"
)

// TestIntegrity checks the shipped data as a whole: one full Danish year of
// DK1 hours, plausible values, and annual means that are the mean of the
// hours wherever both exist.
func TestIntegrity(t *testing.T) {
	d, err := Data()
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Hourly) != 1 {
		t.Fatalf("%d hourly series, want 1 (DK1 2025)", len(d.Hourly))
	}
	y := d.Hourly[0]
	from, _ := grid.DanishMonth(2025, time.January)
	to, _ := grid.DanishMonth(2026, time.January)
	if y.Area != "DK1" || y.Year != 2025 || !y.First.Equal(from) || len(y.Values) != 8760 || int(to.Sub(from)/time.Hour) != 8760 {
		t.Fatalf("hourly series %s %d from %s, %d hours; want DK1 2025 from %s, 8760 hours", y.Area, y.Year, y.First, len(y.Values), from)
	}
	if want := "built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset)"; y.Label != want {
		t.Errorf("label %q, want %q", y.Label, want)
	}
	var sum float64
	n := 0
	for i, v := range y.Values {
		if math.IsNaN(float64(v)) {
			continue
		}
		// DK1's intensity ranges from near 0 (wind) to a few hundred g/kWh.
		if v < 0 || v > 800 {
			t.Errorf("hour %d (%s): %v g/kWh is implausible", i, y.First.Add(time.Duration(i)*time.Hour), v)
		}
		sum += float64(v)
		n++
	}
	if n < 8760*99/100 {
		t.Errorf("only %d of 8760 hours have data", n)
	}
	years := map[int]grid.BuiltInMean{}
	for _, m := range d.Annual {
		if m.Area != "DK1" {
			t.Errorf("annual mean of %s: there is no data for it", m.Area)
		}
		if _, dup := years[m.Year]; dup {
			t.Errorf("DK1 %d given twice", m.Year)
		}
		years[m.Year] = m
		if m.Intensity < 20 || m.Intensity > 400 {
			t.Errorf("DK1 %d annual mean %v g/kWh is implausible", m.Year, m.Intensity)
		}
	}
	if got := d.Years("DK1"); len(got) != 4 || got[0] != 2022 || got[3] != 2025 {
		t.Errorf("annual means for %v, want 2022–2025", got)
	}
	if len(d.Years("DK2")) != 0 {
		t.Error("DK2 has built-in means, but no DK2 data exists here")
	}
	// The annual mean is the mean of the shipped hours (both rounded to 0.01).
	if m := years[2025]; math.Abs(float64(m.Intensity)-sum/float64(n)) > 0.005 {
		t.Errorf("2025 annual mean %v, mean of the hours %v", m.Intensity, sum/float64(n))
	}
	for year, label := range map[int]string{2022: "built-in Energinet DeclarationGridEmission DK1 2022 (125% method)",
		2024: "built-in Energinet CO2EmisProg DK1 2024 (Energinet's forecast dataset)"} {
		if years[year].Label != label {
			t.Errorf("%d label %q, want %q", year, years[year].Label, label)
		}
	}
	if Credit != energinet.Attribution {
		t.Errorf("credit %q differs from the Energinet client's %q", Credit, energinet.Attribution)
	}
	for _, name := range []string{"annual.csv", "hourly.csv", "DK1-2025.txt"} {
		b, _ := readFile(name)
		if !bytes.Contains(b, []byte(Credit)) || !bytes.Contains(b, []byte("CC BY 4.0")) {
			t.Errorf("%s lacks the credit line and licence", name)
		}
	}
}

// TestUpToDate regenerates the data from the Energinet exports in the corpus
// and compares it byte for byte with what is shipped.
func TestUpToDate(t *testing.T) {
	dir := testenv.CorpusPath(t, "grid")
	inputs, err := derive.ReadInputs(func(name string) ([]byte, error) {
		f := testenv.OpenCorpus(t, "grid", name)
		defer f.Close()
		var b bytes.Buffer
		_, err := b.ReadFrom(f)
		return b.Bytes(), err
	})
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	got, err := derive.Derive(inputs, derive.HourlyYears)
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := fs.Glob(files, "data/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(shipped) != len(got) {
		t.Errorf("%d files shipped, the generator writes %d", len(shipped), len(got))
	}
	for name, b := range got {
		have, err := readFile(name)
		if err != nil || !bytes.Equal(have, b) {
			t.Errorf("data/%s is not what the generator writes from %s (err %v): run go generate ./models/grid/builtin", name, dir, err)
		}
	}
}

// TestParseRejects: every kind of damage is an error naming the file.
func TestParseRejects(t *testing.T) {
	good := map[string]string{}
	for _, n := range []string{"annual.csv", "hourly.csv", "DK1-2025.txt"} {
		b, err := readFile(n)
		if err != nil {
			t.Fatal(err)
		}
		good[n] = string(b)
	}
	tests := []struct {
		name, file, old, new, want string
	}{
		{"annual column", "annual.csv", "g_per_kwh,hours", "gperkwh,hours", "annual.csv: columns"},
		{"annual value", "annual.csv", "DK1,2022,DeclarationGridEmission,125%,", "DK1,2022,DeclarationGridEmission,125%,x", "annual.csv:12"},
		{"annual implausible", "annual.csv", "DK1,2023,DeclarationGridEmission,125%,", "DK1,2023,DeclarationGridEmission,125%,9", "not a plausible"},
		{"hour count", "hourly.csv", ",8760,", ",8761,", "8760 hours, hourly.csv says 8761"},
		{"hour value", "DK1-2025.txt", "\n69.25\n", "\n69,25\n", `DK1-2025.txt:8: "69,25"`},
		{"missing file", "hourly.csv", "DK1-2025.txt", "DK1-2026.txt", "hourly.csv:8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good[tt.file], tt.old) {
				t.Fatalf("%s lacks %q", tt.file, tt.old)
			}
			_, err := Parse(func(n string) ([]byte, error) {
				s, ok := good[n]
				if !ok {
					return nil, fs.ErrNotExist
				}
				if n == tt.file {
					s = strings.Replace(s, tt.old, tt.new, 1)
				}
				return []byte(s), nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	annual, _ := readFile("annual.csv")
	hourly, _ := readFile("hourly.csv")
	f.Add(annual, hourly, []byte("1.5\n\n2\n"))
	f.Fuzz(func(t *testing.T, a, h, v []byte) {
		d, err := Parse(func(n string) ([]byte, error) {
			switch n {
			case "annual.csv":
				return a, nil
			case "hourly.csv":
				return h, nil
			}
			return v, nil
		})
		if err != nil {
			return
		}
		for _, m := range d.Annual {
			if !(m.Intensity > 0) {
				t.Errorf("accepted annual mean %v", m.Intensity)
			}
		}
		for _, y := range d.Hourly {
			for _, x := range y.Values {
				if x < 0 {
					t.Errorf("accepted hourly value %v", x)
				}
			}
		}
	})
}
