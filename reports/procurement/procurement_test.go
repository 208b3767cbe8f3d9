package procurement

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/procure"
	"github.com/ecometer/ecometer/models/units"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// exampleReport checks the example sheets against all shipped catalogs on a
// fixed date, with fixed cost assumptions.
func exampleReport(t *testing.T) *Report {
	t.Helper()
	dir := filepath.Join("..", "..", "examples", "procurement")
	var products []procure.Product
	for _, n := range []string{"tender.csv", "server-r760.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := procure.ParseSheet(n, data)
		if err != nil {
			t.Fatal(err)
		}
		products = append(products, ps...)
	}
	reg, err := procure.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	costs := procure.CostParams{KWhPriceDKK: 1.9, CO2PriceDKKPerTonne: procure.DefaultCO2PriceDKKPerTonne, GridGPerKWh: 120, Load: 0.3, DefaultYears: 5,
		EmbodiedDefaults: map[string]units.KgCO2e{"monitor": 357.445}, EmbodiedSource: "Boavizta median (test)"}
	cats := reg.Catalogs()
	return &Report{Date: date, Catalogs: cats, Assessments: procure.Evaluate(products, cats, date), Lifetimes: procure.LifetimeCosts(products, costs), Costs: costs}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update to accept):\n%s", name, got)
	}
}

func TestGolden(t *testing.T) {
	r := exampleReport(t)
	for _, tt := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"check.txt", func(b *bytes.Buffer) error { return r.WriteTable(b) }},
		{"check.md", func(b *bytes.Buffer) error { return r.WriteMarkdown(b) }},
		{"check.json", func(b *bytes.Buffer) error { return r.WriteJSON(b) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tt.name, b.Bytes())
		})
	}
}

// TestPDF renders the PDF twice (the bytes must be equal: fixed creation
// date), extracts its text with pdftotext and renders page 1 with pdftoppm.
func TestPDF(t *testing.T) {
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.RequireOrSkip(t, tool+" not found: apt-get install -y poppler-utils")
		}
	}
	r := exampleReport(t)
	var a, b bytes.Buffer
	if err := r.WritePDF(&a); err != nil {
		t.Fatal(err)
	}
	if err := r.WritePDF(&b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Error("two renderings of the same report differ")
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "check.pdf")
	if err := os.WriteFile(pdf, a.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	for _, want := range []string{"Procurement check: green requirements", "Checked on 2026-12-04", "6 products: 2 fail, 4 incomplete",
		"mon-b", "FAIL", "Nørre Lysgård Skærme", "CO₂e", "point 1.1.2, Table 2",
		"psu_eff_50 95.9 % >= 96 %", "Lifetime cost", "101,921", "page 1 of"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if err := exec.Command("pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", pdf, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatal(err)
	}
	// pdftoppm pads the page number to the digits of the page count.
	pngs, _ := filepath.Glob(filepath.Join(dir, "page-*1.png"))
	if len(pngs) != 1 {
		t.Fatalf("page 1 PNG: %v", pngs)
	}
	if fi, err := os.Stat(pngs[0]); err != nil || fi.Size() < 5000 {
		t.Errorf("page 1 PNG: %v, %v", fi, err)
	}
}
