package monthly

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/savings"
	"github.com/ecometer/ecometer/models/idle"
)

// SectionSource supplies an optional section from the store the report reads.
type SectionSource[T any] func(ctx context.Context, cfg *config.Config, st accounting.Store, p accounting.Period) (*T, error)

// IdleTop is how many idle-equipment candidates the report lists.
const IdleTop = 10

// ControllerSavings is section 7 from the power controller: the savings
// of the policies its audit log shows applied in the month, measured as
// `ecometer power savings` measures them. Without an audit log no policy
// has been applied: nil.
func ControllerSavings(ctx context.Context, cfg *config.Config, st accounting.Store, p accounting.Period) (*PowerDown, error) {
	path := apply.AuditPath(cfg)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		return nil, err
	}
	rep, err := savings.Month(ctx, acc, audit.Open(path), p)
	if err != nil {
		return nil, err
	}
	return PowerDownFrom(rep), nil
}

// PowerDownFrom is section 7 of a month's measured savings: per policy its
// windows, the targets it switched and what they saved, largest first; nil
// when no policy window fell in the month ("no policy applied").
func PowerDownFrom(rep savings.Report) *PowerDown {
	if len(rep.Windows) == 0 {
		return nil
	}
	out := &PowerDown{KWhAvoided: rep.SavedKWh, KgCO2eAvoided: rep.KgCO2e, Method: rep.Method}
	byPolicy := map[string]*PowerDownPolicy{}
	targets := map[string]map[string]bool{}
	for _, w := range rep.Windows {
		pp := byPolicy[w.Policy]
		if pp == nil {
			pp = &PowerDownPolicy{Name: w.Policy}
			byPolicy[w.Policy] = pp
			targets[w.Policy] = map[string]bool{}
		}
		pp.Windows++
		pp.KWhAvoided += w.SavedKWh
		pp.KgCO2eAvoided += w.KgCO2e
		if !targets[w.Policy][w.Target] {
			targets[w.Policy][w.Target] = true
			pp.Devices++
		}
	}
	for _, pp := range byPolicy {
		out.Policies = append(out.Policies, *pp)
	}
	slices.SortFunc(out.Policies, func(a, b PowerDownPolicy) int {
		return cmp.Or(cmp.Compare(b.KWhAvoided, a.KWhAvoided), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// MonthDays is the number of days of a period, the idle finder's window
// for a month.
func MonthDays(p accounting.Period) int {
	return int(p.To.Sub(p.From).Round(24*time.Hour) / (24 * time.Hour))
}

// DetectedAnomalies is the anomalies section: what the anomaly detection
// (`ecometer anomalies`) finds in the month, and the top idle-equipment
// candidates (`ecometer idle`) at its end.
func DetectedAnomalies(ctx context.Context, cfg *config.Config, st accounting.Store, p accounting.Period) (*Anomalies, error) {
	rep, err := anomalies.Detect(ctx, st, cfg, anomalies.Options{From: p.From, To: p.To})
	if err != nil {
		return nil, err
	}
	ints, err := anomalies.SiteIntensities(ctx, st, cfg, p.To)
	if err != nil {
		return nil, err
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		return nil, err
	}
	// Sites without stored grid data are rated as the accounting rates
	// them (the built-in Energinet data), as co2 and idle do.
	if ints, err = anomalies.ChainIntensities(ctx, acc, cfg, p.To, ints); err != nil {
		return nil, err
	}
	idleRep, err := anomalies.FindIdle(ctx, st, cfg, anomalies.IdleOptions{Now: p.To, Days: MonthDays(p), Intensities: ints})
	if err != nil {
		return nil, err
	}
	return AnomaliesFrom(rep, idleRep), nil
}

// AnomaliesFrom is the anomalies section of what the detection found in
// the month and the idle finder at its end: every anomaly, then the top
// IdleTop candidates the controller may act on (not protected, not of low
// confidence).
func AnomaliesFrom(rep *anomalies.Report, idleRep *anomalies.IdleReport) *Anomalies {
	out := &Anomalies{Items: []Anomaly{}}
	for _, a := range rep.Anomalies {
		out.Items = append(out.Items, Anomaly{Device: a.Device, Site: a.Site, Meter: a.Meter, Kind: string(a.Kind),
			Detail: a.Explanation, Start: a.Start, Open: a.Open, KWh: a.Evidence["excess_kwh"]})
	}
	for _, c := range idleRep.Candidates {
		if c.Protected || c.Confidence == idle.Low {
			continue
		}
		out.Idle = append(out.Idle, IdleCandidate{Device: c.Device, Site: c.Site, Meter: c.Meter, Kind: string(c.Kind), MeanW: c.MeanW,
			SavedKWhPerYear: c.SavedKWhPerYear, SavedKgCO2ePerYear: c.SavedKgCO2ePerYear, Evidence: c.Evidence})
		if len(out.Idle) == IdleTop {
			break
		}
	}
	return out
}
