package monthly

import (
	"cmp"
	"context"
	"errors"
	"io/fs"
	"os"
	"slices"

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
	if len(rep.Windows) == 0 {
		return nil, nil
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
	return out, nil
}

// DetectedAnomalies is the anomalies section: what the anomaly detection
// (`ecometer anomalies`) finds in the month, and the top idle-equipment
// candidates (`ecometer idle`) at its end.
func DetectedAnomalies(ctx context.Context, cfg *config.Config, st accounting.Store, p accounting.Period) (*Anomalies, error) {
	rep, err := anomalies.Detect(ctx, st, cfg, anomalies.Options{From: p.From, To: p.To})
	if err != nil {
		return nil, err
	}
	out := &Anomalies{Items: []Anomaly{}}
	for _, a := range rep.Anomalies {
		out.Items = append(out.Items, Anomaly{Device: a.Device, Site: a.Site, Meter: a.Meter, Kind: string(a.Kind),
			Detail: a.Explanation, Start: a.Start, Open: a.Open, KWh: a.Evidence["excess_kwh"]})
	}
	ints, err := anomalies.SiteIntensities(ctx, st, cfg, p.To)
	if err != nil {
		return nil, err
	}
	idleRep, err := anomalies.FindIdle(ctx, st, cfg, anomalies.IdleOptions{Now: p.To, Intensities: ints})
	if err != nil {
		return nil, err
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
	return out, nil
}
