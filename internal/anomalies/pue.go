package anomalies

import (
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/models/anomaly"
)

// minPUECoverage is the share of an hour an accounting meter's energy must
// cover for the hour to count towards a site's PUE.
const minPUECoverage = 90.0

// siteEnergy is a site's hourly energy per accounting level, with the
// number of accounting meters behind each hour: a site's hours, not its
// meters', so it stays small however many meters there are.
type siteEnergy struct {
	from      time.Time
	it, fac   []float64
	nIT, nFac []int
	seen      map[string]bool // accounting meters already added
}

// addSiteEnergy adds an accounting meter's hours in [from, to) to its site.
func addSiteEnergy(sites map[string]*siteEnergy, p *plant, mh *meterHours, from, to time.Time, note func(string, ...any)) {
	role := p.role(mh.Ref.Device, mh.Ref.Meter)
	if role != config.RoleIT && role != config.RoleFacility {
		return
	}
	se := sites[mh.Ref.Site]
	if se == nil {
		n := int(to.Sub(from) / time.Hour)
		se = &siteEnergy{from: from, it: make([]float64, n), fac: make([]float64, n), nIT: make([]int, n), nFac: make([]int, n),
			seen: map[string]bool{}}
		sites[mh.Ref.Site] = se
	}
	if se.seen[mh.Ref.Device] {
		note("%s: samples from more than one source (%s); only the first is counted in the PUE", mh.Ref, mh.Series.Source)
		return
	}
	se.seen[mh.Ref.Device] = true
	for _, h := range mh.Energy.Hours {
		i := int(h.Hour.Sub(se.from) / time.Hour)
		if h.Hour.Before(se.from) || i >= len(se.it) || h.CoveragePct < minPUECoverage {
			continue
		}
		if role == config.RoleIT {
			se.it[i] += float64(h.Energy)
			se.nIT[i]++
		} else {
			se.fac[i] += float64(h.Energy)
			se.nFac[i]++
		}
	}
}

// complete returns the site's hours in which every accounting meter of
// both levels reported, or nil when the site lacks a level.
func (se *siteEnergy) complete(p *plant, site string) []anomaly.SiteHour {
	wantIT, wantFac := p.accounting[site][config.RoleIT], p.accounting[site][config.RoleFacility]
	if wantIT == 0 || wantFac == 0 {
		return nil
	}
	out := []anomaly.SiteHour{}
	for i := range se.it {
		if se.nIT[i] == wantIT && se.nFac[i] == wantFac {
			out = append(out, anomaly.SiteHour{Hour: se.from.Add(time.Duration(i) * time.Hour), ITKWh: se.it[i], FacilityKWh: se.fac[i]})
		}
	}
	return out
}
