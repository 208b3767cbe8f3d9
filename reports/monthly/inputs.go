package monthly

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/savings"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
)

// The report's optional inputs (Params.PowerDown, Params.Anomalies) as the
// controller and the anomaly detection supply them, each reading the
// configured store itself.

// PowerDownOf returns section 7 of cfg: the savings the power controller
// measured in the month (internal/control/savings, from the audit log
// control.audit_log, the same figures as `ecometer power savings`). A month
// in which no policy kept anything off gives nil: "no policy applied".
func PowerDownOf(cfg *config.Config) func(ctx context.Context, p accounting.Period) (*PowerDown, error) {
	return func(ctx context.Context, p accounting.Period) (*PowerDown, error) {
		st, _, err := backend.Open(ctx, cfg, backend.ReadOnly)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		acc, err := accounting.New(cfg, st)
		if err != nil {
			return nil, err
		}
		rep, err := savings.Month(ctx, acc, audit.Open(apply.AuditPath(cfg)), p)
		if err != nil {
			return nil, err
		}
		return PowerDownFrom(rep), nil
	}
}

// PowerDownFrom is section 7 of a month's savings: per policy the windows,
// the targets and what they saved; nil when no policy window fell in the
// month.
func PowerDownFrom(rep savings.Report) *PowerDown {
	if len(rep.Windows) == 0 {
		return nil
	}
	pd := &PowerDown{KWhAvoided: rep.SavedKWh, KgCO2eAvoided: rep.KgCO2e, Method: rep.Method}
	targets := map[string]map[string]bool{}
	for _, w := range rep.Windows {
		i := slices.IndexFunc(pd.Policies, func(x PowerDownPolicy) bool { return x.Name == w.Policy })
		if i < 0 {
			pd.Policies = append(pd.Policies, PowerDownPolicy{Name: w.Policy})
			targets[w.Policy] = map[string]bool{}
			i = len(pd.Policies) - 1
		}
		x := &pd.Policies[i]
		x.Windows++
		x.KWhAvoided += w.SavedKWh
		x.KgCO2eAvoided += w.KgCO2e
		targets[w.Policy][w.Target] = true
	}
	for i := range pd.Policies {
		pd.Policies[i].Devices = len(targets[pd.Policies[i].Name])
	}
	return pd
}

// AnomaliesOf returns the unusual consumption of cfg's sites in the month:
// the anomalies internal/anomalies detects in it (against the weeks before)
// and the idle equipment it finds over the month, as `ecometer anomalies`
// and `ecometer idle` show them.
func AnomaliesOf(cfg *config.Config) func(ctx context.Context, p accounting.Period) (*Anomalies, error) {
	return func(ctx context.Context, p accounting.Period) (*Anomalies, error) {
		st, _, err := backend.Open(ctx, cfg, backend.ReadOnly)
		if err != nil {
			return nil, err
		}
		defer st.Close()
		an, err := anomalies.Detect(ctx, st, cfg, anomalies.Options{From: p.From, To: p.To})
		if err != nil {
			return nil, err
		}
		id, err := anomalies.FindIdle(ctx, st, cfg, anomalies.IdleOptions{Now: p.To, Days: MonthDays(p)})
		if err != nil {
			return nil, err
		}
		return AnomaliesFrom(p, an, id), nil
	}
}

// MonthDays is the number of days of a month, the idle finder's period for
// it.
func MonthDays(p accounting.Period) int {
	return int(p.To.Sub(p.From).Round(24*time.Hour) / (24 * time.Hour))
}

// Idle kinds as the report names them (reports/i18n anomaly.kind.*).
var idleKinds = map[idle.Kind]string{idle.Server: "idle", idle.ServerNight: "idle-night", idle.Outlet: "idle-outlet", idle.PoENight: "poe-night"}

// AnomaliesFrom lists the month's findings: every anomaly with the energy
// it concerns (kWh above or, negative, below the baseline for a deviation
// or drift; the extra loss of a UPS efficiency drop; the extra facility
// energy of a PUE step; what was drawn while off; 0 where energy does not
// apply), then every idle candidate the controller may act on with what
// switching it off would have saved in the month.
func AnomaliesFrom(p accounting.Period, an *anomalies.Report, id *anomalies.IdleReport) *Anomalies {
	out := &Anomalies{Items: []Anomaly{}}
	for _, a := range an.Anomalies {
		dev := a.Device
		if dev == "" {
			dev = a.Site
		}
		if a.Meter != "" {
			dev += "/" + a.Meter
		}
		e := a.Evidence
		var kwh float64
		switch a.Kind {
		case anomaly.Deviation, anomaly.Drift:
			kwh = (e["observed_w"] - e["expected_w"]) * e["hours"] / 1000
		case anomaly.UPSEfficiency:
			kwh = e["extra_loss_w"] * e["hours"] / 1000
		case anomaly.PUEStep:
			kwh = e["extra_facility_kwh"]
		case anomaly.PowerWhileOff:
			kwh = e["mean_w"] * e["hours"] / 1000
		}
		out.Items = append(out.Items, Anomaly{Device: dev, Site: a.Site, Kind: string(a.Kind), Detail: a.Explanation, KWh: kwh})
	}
	hours := p.To.Sub(p.From).Hours()
	for _, c := range id.Candidates {
		if c.Protected {
			continue
		}
		dev := c.Device
		if c.Kind == idle.Outlet || c.Kind == idle.PoENight {
			dev += "/" + c.Meter
		}
		kind, ok := idleKinds[c.Kind]
		if !ok {
			kind = string(c.Kind)
		}
		out.Items = append(out.Items, Anomaly{Device: dev, Site: c.Site, Kind: kind,
			Detail: fmt.Sprintf("%s (%s confidence): %s", c.Action, c.Confidence, c.Evidence),
			KWh:    c.SavedKWhPerYear * hours / idle.HoursPerYear})
	}
	return out
}
