// Package readings reads back what was collected: per series (device and
// meter) the latest sample, and over a recent window the number of samples
// and the least, mean and greatest power, from whichever store is
// configured. It is what an operator looks at first to trust the data.
package readings

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Filter selects devices; empty fields match all.
type Filter struct {
	Site   string
	Device string
}

// Row is one series: its latest sample and its recent power.
type Row struct {
	Measurement string    `json:"measurement"`
	Site        string    `json:"site"`
	Room        string    `json:"room,omitempty"`
	Rack        string    `json:"rack,omitempty"`
	Device      string    `json:"device"`
	Class       string    `json:"class"`
	Meter       string    `json:"meter,omitempty"`
	Source      string    `json:"source"`
	Latest      time.Time `json:"latest"`
	// Values are the latest sample's numeric fields (booleans as 0/1),
	// Text its text fields.
	Values map[string]float64 `json:"values"`
	Text   map[string]string  `json:"text,omitempty"`
	// Recent is the power over the window (power measurement only; nil
	// without power samples in it).
	Recent *Recent `json:"recent,omitempty"`
	// Stale: the latest sample is older than the window.
	Stale bool `json:"stale"`
}

// Recent summarises a series' power_w over the window.
type Recent struct {
	Samples int     `json:"samples"`
	MinW    float64 `json:"min_w"`
	MeanW   float64 `json:"mean_w"`
	MaxW    float64 `json:"max_w"`
}

// Read returns a row per series that f selects, over the window
// [now − since, now), ordered by site, device, measurement and meter.
func Read(ctx context.Context, st store.Reader, f Filter, since time.Duration, now time.Time) ([]Row, error) {
	from := now.Add(-since)
	var rows []Row
	idx := map[sample.Series]int{}
	for _, m := range []string{sample.Power, sample.UPS, sample.Device} {
		latest, err := st.Latest(ctx, store.Query{Measurement: m, Site: f.Site, Device: f.Device})
		if err != nil {
			return nil, fmt.Errorf("readings: latest %s: %w", m, err)
		}
		for _, s := range latest {
			r := Row{Measurement: s.Measurement, Site: s.Site, Room: s.Room, Rack: s.Rack, Device: s.Device,
				Class: s.Class, Meter: s.Meter, Source: s.Source, Latest: s.Time.UTC(), Values: map[string]float64{},
				Stale: s.Time.Before(from)}
			for _, fl := range s.Fields {
				if fl.Kind == sample.Text {
					if r.Text == nil {
						r.Text = map[string]string{}
					}
					r.Text[fl.Name] = fl.Text
					continue
				}
				r.Values[fl.Name] = fl.Num
			}
			idx[s.Series] = len(rows)
			rows = append(rows, r)
		}
	}
	err := st.Range(ctx, store.Query{Measurement: sample.Power, Site: f.Site, Device: f.Device, From: from, To: now},
		func(s sample.Sample) error {
			p, ok := s.Get("power_w")
			if !ok {
				return nil
			}
			i, ok := idx[s.Series]
			if !ok {
				return nil // newer than Latest saw: the next call shows it
			}
			r := &rows[i]
			if r.Recent == nil {
				r.Recent = &Recent{MinW: p.Num, MaxW: p.Num}
			}
			rc := r.Recent
			rc.Samples++
			rc.MinW, rc.MaxW = min(rc.MinW, p.Num), max(rc.MaxW, p.Num)
			rc.MeanW += (p.Num - rc.MeanW) / float64(rc.Samples)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("readings: recent power: %w", err)
	}
	slices.SortFunc(rows, func(a, b Row) int {
		return cmp.Or(cmp.Compare(a.Site, b.Site), cmp.Compare(a.Device, b.Device), cmp.Compare(order(a.Measurement), order(b.Measurement)),
			sample.CompareMeters(a.Meter, b.Meter), cmp.Compare(a.Source, b.Source))
	})
	return rows, nil
}

func order(m string) int {
	switch m {
	case sample.Device:
		return 0
	case sample.Power:
		return 1
	}
	return 2
}
