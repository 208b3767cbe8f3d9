package server

import (
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecometer/ecometer/internal/seriesindex"
	"github.com/ecometer/ecometer/models/sample"
)

// Readings holds the latest stored value of every series and exposes them
// as Prometheus gauges, so that a Prometheus and Grafana can watch power
// and UPS state without InfluxDB. Names follow Prometheus conventions:
// base units (watts, joules, volts, amperes, seconds, ratios 0..1), the unit
// in the name, _total for counters. Values older than StaleAfter are not
// exported: a device that stopped answering must not look steady.
type Readings struct {
	mu sync.Mutex
	// latest holds the latest value of each series.
	latest *seriesindex.Index[seriesReading]
	// layouts are the field lists seen, interned: most series of a
	// measurement share one.
	layouts map[string]*layout
	// StaleAfter (default 15 min) drops values not refreshed since.
	StaleAfter time.Duration
	now        func() time.Time
}

// seriesReading is a series' latest value: its own copy of the values,
// reused from poll to poll, so that the polls' batches are not kept alive.
type seriesReading struct {
	t    int64 // Unix nanoseconds
	lay  *layout
	nums []float64 // by lay.names: Float and Bool (0 or 1) fields
	text *[]string // by lay.names, when lay has Text fields
}

// layout is a list of field names and kinds.
type layout struct {
	names   []string
	kinds   []sample.Kind
	hasText bool
}

func (l *layout) fits(fields []sample.Field) bool {
	if len(fields) != len(l.names) {
		return false
	}
	for i := range fields {
		if fields[i].Name != l.names[i] || fields[i].Kind != l.kinds[i] {
			return false
		}
	}
	return true
}

// NewReadings returns an empty Readings.
func NewReadings() *Readings {
	return &Readings{latest: seriesindex.New[seriesReading](), layouts: map[string]*layout{},
		StaleAfter: 15 * time.Minute, now: time.Now}
}

// layoutOf returns the interned layout of fields.
func (r *Readings) layoutOf(fields []sample.Field) *layout {
	var key strings.Builder
	for _, f := range fields {
		key.WriteString(f.Name)
		key.WriteByte(byte('0' + f.Kind))
	}
	if l, ok := r.layouts[key.String()]; ok {
		return l
	}
	l := &layout{names: make([]string, len(fields)), kinds: make([]sample.Kind, len(fields))}
	for i, f := range fields {
		l.names[i], l.kinds[i] = f.Name, f.Kind
		l.hasText = l.hasText || f.Kind == sample.Text
	}
	r.layouts[key.String()] = l
	return l
}

// Observe records a stored batch.
func (r *Readings) Observe(batch []sample.Sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range batch {
		s := &batch[i]
		sr, _ := r.latest.Add(&s.Series, seriesReading{t: -1 << 63})
		r.observe(sr, s)
	}
	r.latest.Trim()
}

func (r *Readings) observe(sr *seriesReading, s *sample.Sample) {
	t := s.Time.UnixNano()
	if sr.t > t {
		return
	}
	sr.t = t
	if sr.lay == nil || !sr.lay.fits(s.Fields) {
		sr.lay = r.layoutOf(s.Fields)
		sr.nums, sr.text = make([]float64, len(s.Fields)), nil
		if sr.lay.hasText {
			sr.text = &[]string{}
		}
	}
	for i, f := range s.Fields {
		sr.nums[i] = f.Num
	}
	if sr.text != nil {
		text := (*sr.text)[:0]
		for _, f := range s.Fields {
			text = append(text, f.Text)
		}
		*sr.text = text
	}
}

// Forget drops every series of a device (it left the configuration).
func (r *Readings) Forget(device string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latest.Forget(device)
}

var readingLabels = []string{"site", "room", "rack", "device", "class", "meter", "source"}

// metric is how one field is exported.
type metric struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	scale float64
}

func newMetric(name, help string, kind prometheus.ValueType, scale float64, extra ...string) metric {
	return metric{desc: prometheus.NewDesc(name, help, append(append([]string{}, readingLabels...), extra...), nil), kind: kind, scale: scale}
}

// readingMetrics maps measurement/field to its metric.
var readingMetrics = map[string]metric{
	"power/power_w":          newMetric("ecometer_power_watts", "Latest active power of a meter.", prometheus.GaugeValue, 1),
	"power/energy_kwh":       newMetric("ecometer_energy_joules_total", "Latest reading of a meter's own cumulative energy counter (device-reported; resets when the device's counter does).", prometheus.CounterValue, 3.6e6),
	"power/voltage_v":        newMetric("ecometer_voltage_volts", "Latest voltage of a meter.", prometheus.GaugeValue, 1),
	"power/current_a":        newMetric("ecometer_current_amperes", "Latest current of a meter.", prometheus.GaugeValue, 1),
	"power/apparent_va":      newMetric("ecometer_apparent_power_voltamperes", "Latest apparent power of a meter.", prometheus.GaugeValue, 1),
	"power/load_pct":         newMetric("ecometer_load_ratio", "Latest load of a meter as a share of its rating (0..1).", prometheus.GaugeValue, 0.01),
	"power/frequency_hz":     newMetric("ecometer_frequency_hertz", "Latest frequency of a meter.", prometheus.GaugeValue, 1),
	"ups/battery_charge_pct": newMetric("ecometer_ups_battery_charge_ratio", "Latest UPS battery charge (0..1).", prometheus.GaugeValue, 0.01),
	"ups/runtime_min":        newMetric("ecometer_ups_runtime_seconds", "Latest estimated UPS runtime on battery.", prometheus.GaugeValue, 60),
	"ups/on_battery":         newMetric("ecometer_ups_on_battery", "1 while the UPS runs on battery.", prometheus.GaugeValue, 1),
	"ups/input_w":            newMetric("ecometer_ups_input_watts", "Latest UPS input power.", prometheus.GaugeValue, 1),
	"ups/output_w":           newMetric("ecometer_ups_output_watts", "Latest UPS output power.", prometheus.GaugeValue, 1),
	"device/reachable":       newMetric("ecometer_device_reachable", "1 when the device's latest poll reached it.", prometheus.GaugeValue, 1),
	"device/poll_ms":         newMetric("ecometer_device_poll_seconds", "Duration of the device's latest successful poll.", prometheus.GaugeValue, 0.001),
}

var powerStateDesc = prometheus.NewDesc("ecometer_device_power_state", "1 for the power state the device (Redfish) reports.",
	append(append([]string{}, readingLabels...), "state"), nil)

// Describe implements prometheus.Collector.
func (r *Readings) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range readingMetrics {
		ch <- m.desc
	}
	ch <- powerStateDesc
}

// Collect implements prometheus.Collector.
func (r *Readings) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cutoff := r.now().Add(-r.StaleAfter).UnixNano()
	r.latest.Each(func(ser *sample.Series, s *seriesReading) {
		if s.t < cutoff {
			return
		}
		labels := []string{ser.Site, ser.Room, ser.Rack, ser.Device, ser.Class, ser.Meter, ser.Source}
		for i, name := range s.lay.names {
			if s.lay.kinds[i] == sample.Text {
				if text := *s.text; ser.Measurement == sample.Device && name == "power_state" && text[i] != "" {
					ch <- prometheus.MustNewConstMetric(powerStateDesc, prometheus.GaugeValue, 1, append(labels, strings.ToLower(text[i]))...)
				}
				continue
			}
			m, ok := readingMetrics[ser.Measurement+"/"+name]
			if !ok {
				continue
			}
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, s.nums[i]*m.scale, labels...)
		}
	})
}
