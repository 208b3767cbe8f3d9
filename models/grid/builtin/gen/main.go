// Command gen writes the built-in grid data (models/grid/builtin/data) from
// Energinet exports: run by hand, through go generate, when the source data
// changes. It reads the exports with grid.Parse, the importer every user's
// `ecometer grid import` uses, and leaves the arithmetic to derive.Derive.
//
//	go generate ./models/grid/builtin
//	go run ./models/grid/builtin/gen -corpus ../shared/corpus/grid -out models/grid/builtin/data
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ecometer/ecometer/models/grid/builtin/derive"
)

func main() {
	corpus := flag.String("corpus", "../shared/corpus/grid", "`DIR` holding the Energinet exports")
	out := flag.String("out", "data", "`DIR` to write the data files to")
	flag.Parse()
	if err := run(*corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(corpus, out string) error {
	inputs, err := derive.ReadInputs(func(name string) ([]byte, error) {
		return os.ReadFile(filepath.Join(corpus, name))
	})
	if err != nil {
		return err
	}
	files, err := derive.Derive(inputs, derive.HourlyYears)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(out, n), files[n], 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d bytes\n", filepath.Join(out, n), len(files[n]))
	}
	return nil
}
