// Package builtin is the grid CO2 intensity data shipped with ecometer,
// derived from Energinet's published datasets (Energi Data Service, CC BY 4.0;
// every output that uses it carries Credit):
//
//   - hourly DK1 intensity of 2025 (Danish calendar year): the hourly means
//     of Energinet's CO2EmisProg dataset, its five-minute forecast of the CO2
//     emission per kWh;
//   - annual means of DK1 for 2022 and 2023 (DeclarationGridEmission, the
//     hourly environmental declaration, 125 % method) and for 2024 and 2025
//     (CO2EmisProg).
//
// There is no DK2 data and no data before 2022: a DK2 site without imported
// data gets its factors from the config (grid.annual_factors), and so does any
// year before 2022, such as a 2020 target baseline (or the baseline's
// emissions as target.baseline_kg_co2e with target.baseline_source).
//
// The files in data/ are written by the generator in gen/ from the Energinet
// exports in ../shared/corpus/grid (go generate ./models/grid/builtin); they
// are embedded, so the package reads no disk at run time.
package builtin

//go:generate go run ./gen -corpus ../../../../shared/corpus/grid -out data

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin/derive"
	"github.com/ecometer/ecometer/models/units"
)

// Credit is the attribution Energinet's licence (CC BY 4.0) asks for.
const Credit = derive.Credit

//go:embed data/*.csv data/*.txt
var files embed.FS

var (
	once   sync.Once
	loaded grid.BuiltIn
	errs   error
)

// Data returns the built-in data, read from the embedded files once.
func Data() (grid.BuiltIn, error) {
	once.Do(func() { loaded, errs = Parse(readFile) })
	return loaded, errs
}

func readFile(name string) ([]byte, error) { return files.ReadFile(path.Join("data", name)) }

// Label names the data of one area and year in every result that uses it:
// "built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset)".
func Label(dataset, method, area string, year int) string {
	l := fmt.Sprintf("built-in Energinet %s %s %d", dataset, area, year)
	switch {
	case dataset == grid.NameCO2EmisProg:
		l += " (Energinet's forecast dataset)"
	case method != "":
		l += " (" + method + " method)"
	}
	return l
}

// Parse reads the data files (annual.csv, hourly.csv and the files it
// names) through read. Any problem names the file and line.
func Parse(read func(name string) ([]byte, error)) (grid.BuiltIn, error) {
	var out grid.BuiltIn
	rows, err := readCSV(read, "annual.csv", derive.AnnualColumns)
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		year, err1 := strconv.Atoi(r.get("year"))
		v, err2 := strconv.ParseFloat(r.get("g_per_kwh"), 64)
		if err := firstErr(err1, err2); err != nil {
			return out, r.errorf("%v", err)
		}
		if !(v > 0 && v < 2000) {
			return out, r.errorf("g_per_kwh %v is not a plausible grid intensity", v)
		}
		out.Annual = append(out.Annual, grid.BuiltInMean{Area: r.get("area"), Year: year, Intensity: units.GramsPerKWh(v),
			Label: Label(r.get("dataset"), r.get("method"), r.get("area"), year)})
	}
	rows, err = readCSV(read, "hourly.csv", derive.HourlyColumns)
	if err != nil {
		return out, err
	}
	for _, r := range rows {
		year, err1 := strconv.Atoi(r.get("year"))
		n, err2 := strconv.Atoi(r.get("hours"))
		first, err3 := time.Parse(time.RFC3339, r.get("first_hour_utc"))
		if err := firstErr(err1, err2, err3); err != nil {
			return out, r.errorf("%v", err)
		}
		y := grid.BuiltInYear{Area: r.get("area"), Year: year, First: first.UTC(),
			Label: Label(r.get("dataset"), r.get("method"), r.get("area"), year)}
		name := r.get("file")
		data, err := read(name)
		if err != nil {
			return out, r.errorf("%v", err)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		line := 0
		for sc.Scan() {
			line++
			t := sc.Text()
			if strings.HasPrefix(t, "#") {
				continue
			}
			if t == "" {
				y.Values = append(y.Values, units.GramsPerKWh(math.NaN()))
				continue
			}
			v, err := strconv.ParseFloat(t, 64)
			if err != nil || !(v >= 0 && v < 2000) {
				return out, fmt.Errorf("grid built-in %s:%d: %q is not a grid intensity in g/kWh", name, line, t)
			}
			y.Values = append(y.Values, units.GramsPerKWh(v))
		}
		if len(y.Values) != n {
			return out, fmt.Errorf("grid built-in %s: %d hours, hourly.csv says %d", name, len(y.Values), n)
		}
		out.Hourly = append(out.Hourly, y)
	}
	return out, nil
}

type row struct {
	file string
	line int
	cols []string
	rec  []string
}

func (r row) get(col string) string { return r.rec[slices.Index(r.cols, col)] }

func (r row) errorf(format string, a ...any) error {
	return fmt.Errorf("grid built-in %s:%d: %s", r.file, r.line, fmt.Sprintf(format, a...))
}

// readCSV reads a data CSV whose header must be exactly cols; lines
// starting with # are comments.
func readCSV(read func(string) ([]byte, error), name string, cols []string) ([]row, error) {
	data, err := read(name)
	if err != nil {
		return nil, fmt.Errorf("grid built-in: %w", err)
	}
	cr := csv.NewReader(bytes.NewReader(data))
	cr.Comment = '#'
	cr.FieldsPerRecord = len(cols)
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("grid built-in %s: %w", name, err)
	}
	if !slices.Equal(header, cols) {
		return nil, fmt.Errorf("grid built-in %s: columns %v, want %v", name, header, cols)
	}
	var out []row
	for {
		rec, err := cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("grid built-in %s: %w", name, err)
		}
		line, _ := cr.FieldPos(0)
		out = append(out, row{file: name, line: line, cols: cols, rec: rec})
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
