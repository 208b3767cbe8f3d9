package redfish

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecometer/ecometer/internal/testenv"
)

func TestConvertTable(t *testing.T) {
	tests := []struct {
		name  string
		k     kind
		body  string
		want  map[string]float64 // "meter field" -> value
		state string
		err   bool
	}{
		{name: "environment metrics", k: kindEnvironmentMetrics,
			body: `{"PowerWatts":{"Reading":374,"ApparentVA":380},"EnergykWh":{"Reading":12.5},"PowerLimitWatts":{"SetPoint":500}}`,
			want: map[string]float64{"total power_w": 374, "total energy_kwh": 12.5, "total apparent_va": 380}},
		{name: "null reading is skipped", k: kindEnvironmentMetrics, body: `{"PowerWatts":{"Reading":null}}`,
			want: map[string]float64{}},
		{name: "legacy power, absent PSU skipped", k: kindLegacyPower,
			body: `{"PowerControl":[{"PowerConsumedWatts":344}],"PowerSupplies":[{"Status":{"State":"Absent"},"PowerInputWatts":1},{"PowerInputWatts":120.5,"LineInputVoltage":230}]}`,
			want: map[string]float64{"total power_w": 344, "psu/2 power_w": 120.5, "psu/2 voltage_v": 230}},
		{name: "psu metrics", k: kindPSUMetrics, body: `{"InputPowerWatts":{"Reading":937.4},"EnergykWh":{"Reading":7855}}`,
			want: map[string]float64{"total power_w": 937.4, "total energy_kwh": 7855}},
		{name: "energy sensor", k: kindSensor, body: `{"ReadingType":"EnergykWh","Reading":325675}`,
			want: map[string]float64{"total energy_kwh": 325675}},
		{name: "temperature sensor gives nothing", k: kindSensor, body: `{"ReadingType":"Temperature","Reading":39}`,
			want: map[string]float64{}},
		{name: "outlets", k: kindOutlets, body: `{"Members":[{"Id":"A1","PowerWatts":{"Reading":197.4},"PowerState":"On"}]}`,
			want: map[string]float64{"outlet/A1 power_w": 197.4}},
		{name: "collection not expanded", k: kindOutlets, body: `{"Members":[{"@odata.id":"/redfish/v1/x"}]}`, err: true},
		{name: "system", k: kindSystem, body: `{"PowerState":"PoweringOff"}`, state: "PoweringOff", want: map[string]float64{}},
		{name: "not JSON", k: kindEnvironmentMetrics, body: `{"PowerWatts":`, err: true},
		{name: "wrong type", k: kindEnvironmentMetrics, body: `{"PowerWatts":{"Reading":"many"}}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conv, err := convert(tt.k, "/redfish/v1/x", "total", []byte(tt.body))
			if (err != nil) != tt.err {
				t.Fatalf("err %v, want error %v", err, tt.err)
			}
			if tt.err {
				return
			}
			got := map[string]float64{}
			for _, r := range conv.Readings {
				got[r.Meter+" "+r.Field] = r.Value
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v (all: %v)", k, got[k], v, got)
				}
			}
			if len(tt.want) == 0 && len(got) != 0 {
				t.Errorf("want no readings, got %v", got)
			}
			if conv.PowerState != tt.state {
				t.Errorf("power state %q, want %q", conv.PowerState, tt.state)
			}
		})
	}
}

// FuzzConvert feeds arbitrary JSON to every resource kind: no panic, and
// every reading is finite and names a schema field.
func FuzzConvert(f *testing.F) {
	seeds := []string{
		"Chassis/1U/EnvironmentMetrics", "Chassis/1U/Power", "Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics",
		"Chassis/1U/Sensors/TotalPower", "Systems/437XR1138R2",
	}
	if dir, err := testenv.CorpusDir(); err == nil {
		for i, s := range seeds {
			if b, err := os.ReadFile(filepath.Join(dir, "redfish", "public-rackmount1", s, "index.json")); err == nil {
				f.Add(uint8(i), b)
			}
		}
		for _, s := range []string{"PowerEquipment/RackPDUs/1/Metrics", "PowerEquipment/RackPDUs/1/Outlets/A1", "PowerEquipment/RackPDUs/1/Mains/AC1"} {
			if b, err := os.ReadFile(filepath.Join(dir, "redfish", "public-pdu", s, "index.json")); err == nil {
				f.Add(uint8(kindPDUMetrics), b)
				f.Add(uint8(kindOutlets), append(append([]byte(`{"Members":[`), b...), ']', '}'))
				f.Add(uint8(kindMains), append(append([]byte(`{"Members":[`), b...), ']', '}'))
				f.Add(uint8(kindRackPDU), append(append([]byte(`{"Metrics":`), b...), '}'))
			}
		}
	}
	f.Add(uint8(kindLegacyPower), []byte(`{"PowerControl":[{"PowerConsumedWatts":1e39}]}`))
	f.Add(uint8(kindEnvironmentMetrics), []byte(`{"PowerWatts":{"Reading":-0}}`))
	fields := map[string]bool{"power_w": true, "energy_kwh": true, "voltage_v": true, "current_a": true, "apparent_va": true, "load_pct": true, "frequency_hz": true}
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		conv, err := convert(kind(k%uint8(kindCount)), "/redfish/v1/x", "total", body)
		if err != nil {
			return
		}
		for _, r := range conv.Readings {
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				t.Fatalf("non-finite reading %+v", r)
			}
			if !fields[r.Field] || r.Meter == "" {
				t.Fatalf("bad reading %+v", r)
			}
		}
	})
}
