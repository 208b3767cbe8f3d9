package units

import (
	"testing"
	"time"
)

func TestConversions(t *testing.T) {
	tests := []struct {
		name string
		got  float64
		want float64
	}{
		// 1000 W for 1 h = 1 kWh.
		{"1kW for 1h", float64(Watts(1000).Over(time.Hour)), 1},
		// 250 W for 30 min = 250 × 0.5 / 1000 = 0.125 kWh.
		{"250W for 30m", float64(Watts(250).Over(30 * time.Minute)), 0.125},
		// 10 kWh × 150 g/kWh = 1500 g = 1.5 kg.
		{"10kWh at 150g", float64(KWh(10).Times(150)), 1.5},
		// 1.5 kg over 10 kWh = 1500 g / 10 kWh = 150 g/kWh.
		{"1.5kg per 10kWh", float64(KgCO2e(1.5).Per(10)), 150},
		{"per zero energy", float64(KgCO2e(1).Per(0)), 0},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}
