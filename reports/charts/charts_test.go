package charts

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"gonum.org/v1/plot"
)

func format(v float64) string { return fmt.Sprintf("%.0f", v) }

// Every chart kind renders to a PNG of the asked size at DPI, the same
// bytes each time, with ink on it (not a blank canvas).
func TestCharts(t *testing.T) {
	size := Size{W: 170, H: 70}
	for _, c := range []struct {
		name string
		draw func() ([]byte, error)
	}{
		{"bars", func() ([]byte, error) {
			return Bars(Text{Title: "Energi pr. rum (kWh) – CO₂e, æøå", YLabel: "kWh", Format: format},
				[]string{"s1", "s2", "sr2"}, []Series{{Name: "i alt", Values: []float64{3000, 2000, 1500}}, {Name: "tab", Values: []float64{300, 0, 0}}}, false, size)
		}},
		{"hbars", func() ([]byte, error) {
			return Bars(Text{Title: "Største forbrugere", XLabel: "kWh", Format: format},
				[]string{"pdu-a1", "pdu-a2", "srv-1"}, []Series{{Values: []float64{2400, 1800, -200}}}, true, size)
		}},
		{"lines", func() ([]byte, error) {
			x := []float64{2020, 2021, 2022, 2023}
			return Lines(Text{Title: "Vej mod 2030 (kg CO₂e)", YLabel: "kg CO₂e", Format: format},
				[]Columns{{Name: "faktisk", X: x, Y: []float64{100, 95, 90, 80}, Color: Teal, Width: 0.6}},
				[]Band{{Name: "prognose 95 %", X: x, Low: []float64{90, 85, 80, 75}, High: []float64{110, 105, 100, 90}}},
				[]Line{{Name: "sti", X: x, Y: []float64{100, 96.5, 93, 89.5}, Dashed: true, Points: true}},
				[]plot.Tick{{Value: 2020, Label: "2020"}, {Value: 2023, Label: "2023"}}, size)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			b1, err := c.draw()
			if err != nil {
				t.Fatal(err)
			}
			b2, err := c.draw()
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b1, b2) {
				t.Error("two renders differ")
			}
			img, err := png.Decode(bytes.NewReader(b1))
			if err != nil {
				t.Fatal(err)
			}
			wantW := int(size.W / 25.4 * DPI)
			if w := img.Bounds().Dx(); w < wantW-2 || w > wantW+2 {
				t.Errorf("width %d px, want %d", w, wantW)
			}
			if dark := darkPixels(img); dark < 2000 {
				t.Errorf("only %d dark pixels: nothing drawn?", dark)
			}
			if dir := os.Getenv("ECOMETER_CHARTS_OUT"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, c.name+".png"), b1, 0o644)
			}
		})
	}
}

func darkPixels(img image.Image) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if r+g+bl < 3*0x8000 {
				n++
			}
		}
	}
	return n
}
