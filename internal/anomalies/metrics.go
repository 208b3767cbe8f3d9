package anomalies

import (
	"context"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/anomaly"
)

// OpenWindow is how far back OpenMetric looks for anomalies still open.
const OpenWindow = 7 * 24 * time.Hour

// OpenMetric exposes the open anomalies found by the last Update as the
// gauge ecometer_anomalies_open{kind}, every kind present (0 included), so
// that an alert can fire on a rise. Before the first Update it exports
// nothing: no figure is not "no anomalies".
type OpenMetric struct {
	desc *prometheus.Desc

	mu     sync.Mutex
	counts map[anomaly.Kind]int
	at     time.Time
}

// NewOpenMetric returns an empty OpenMetric.
func NewOpenMetric() *OpenMetric {
	return &OpenMetric{desc: prometheus.NewDesc("ecometer_anomalies_open",
		"Anomalies still open at the last check (the "+OpenWindow.String()+" before it), by kind.", []string{"kind"}, nil)}
}

// Update runs the detection over the OpenWindow before now and keeps the
// counts of the open anomalies.
func (m *OpenMetric) Update(ctx context.Context, rd store.Reader, cfg *config.Config, now time.Time) error {
	rep, err := Detect(ctx, rd, cfg, Options{From: now.Add(-OpenWindow), To: now})
	if err != nil {
		return err
	}
	counts := rep.CountOpen()
	m.mu.Lock()
	m.counts, m.at = counts, now
	m.mu.Unlock()
	return nil
}

// Describe implements prometheus.Collector.
func (m *OpenMetric) Describe(ch chan<- *prometheus.Desc) { ch <- m.desc }

// Collect implements prometheus.Collector.
func (m *OpenMetric) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, n := range m.counts {
		ch <- prometheus.MustNewConstMetric(m.desc, prometheus.GaugeValue, float64(n), string(k))
	}
}
