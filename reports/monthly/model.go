// Package monthly is the monthly sustainability report: one data model
// (Report) assembled from the accounting, the target view and the embodied
// view, written as JSON, as CSV and as a PDF in Danish or English. The
// three outputs are rendered from the same Report value, so they agree by
// construction; the report adds layout, charts and delivery, never its own
// arithmetic.
package monthly

import (
	"time"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/embodied"
	"github.com/ecometer/ecometer/internal/targetview"
)

// Report is one month's report: every figure of the PDF, the CSV and the
// JSON.
type Report struct {
	Month     string    `json:"month"` // YYYY-MM, Danish calendar month
	From      time.Time `json:"from"`
	To        time.Time `json:"to"`
	Generated time.Time `json:"generated"`
	Sites     []string  `json:"sites"`
	Store     string    `json:"store"`
	// MinCoveragePct is the coverage below which the month is called
	// incomplete; Complete says whether every site reached it.
	MinCoveragePct float64 `json:"min_coverage_pct"`
	Complete       bool    `json:"coverage_complete"`

	Summary Summary         `json:"summary"` // 1
	Target  targetview.View `json:"target"`  // 2 and 3 (Target.Change)
	// History are the sites' figures of the 24 months ending with the
	// report's month (section 2's monthly chart).
	History   []targetview.MonthFigure `json:"history"`
	Breakdown Breakdown                `json:"breakdown"`  // 4
	PUE       []PUEMonth               `json:"pue_trend"`  // 5
	EED       []EEDItem                `json:"eed"`        // 5
	Grid      Grid                     `json:"grid"`       // 6
	PowerDown *PowerDown               `json:"power_down"` // 7; null: no power-down policy applied
	Anomalies *Anomalies               `json:"anomalies,omitempty"`
	Embodied  *embodied.View           `json:"embodied"` // 8; null: no asset inventory stored
	Quality   Quality                  `json:"data_quality"`
	Sources   []string                 `json:"sources"`
}

// Summary is page 1: the month against the previous month and the same
// month a year earlier, per site and in total.
type Summary struct {
	Total accounting.Totals `json:"total"`
	Sites []accounting.Site `json:"sites"`
	// Previous and YearBefore are the totals of the same sites in the
	// month before and the same month a year earlier; their changes are
	// nil when that month has no metered energy.
	Previous   Compared `json:"previous_month"`
	YearBefore Compared `json:"same_month_last_year"`
}

// Compared is the month against an earlier one.
type Compared struct {
	Month  string            `json:"month"`
	Totals accounting.Totals `json:"totals"`
	// Available is false when the earlier month has no metered energy:
	// then there is nothing to compare with.
	Available bool               `json:"available"`
	Energy    *accounting.Change `json:"energy_kwh,omitempty"`
	Location  *accounting.Change `json:"location_based_kg_co2e,omitempty"`
	Market    *accounting.Change `json:"market_based_kg_co2e,omitempty"`
}

// Breakdown is section 4: where the energy went.
type Breakdown struct {
	BySite  []accounting.Group `json:"by_site"`
	ByRoom  []accounting.Group `json:"by_room"`
	ByClass []accounting.Group `json:"by_class"`
	// Top are the devices with the most energy (at most TopN), of Devices.
	Top     []accounting.Group `json:"top_devices"`
	Devices int                `json:"devices"`
	// Balances: what each accounting meter measured, what the meters below
	// it attribute, and the rest (losses and unmetered loads).
	Balances []Balance `json:"balances"`
}

// TopN is how many devices the breakdown lists.
const TopN = 10

// Balance is an accounting meter's balance (topology.Balance for output).
type Balance struct {
	Site           string  `json:"site"`
	Meter          string  `json:"meter"`
	Level          string  `json:"level"`
	MeasuredKWh    float64 `json:"measured_kwh"`
	AttributedKWh  float64 `json:"attributed_kwh"`
	UnmeteredKWh   float64 `json:"losses_unmetered_kwh"`
	OverAttributed bool    `json:"over_attributed"`
	Leaves         int     `json:"leaves"`
	MissingLeaves  int     `json:"leaves_without_data"`
}

// PUEMonth is one site's PUE in one month of the trend (the twelve months
// ending with the report's month).
type PUEMonth struct {
	Month       string   `json:"month"`
	Site        string   `json:"site"`
	PUE         *float64 `json:"pue,omitempty"`
	Assumed     bool     `json:"assumed"`
	ITKWh       float64  `json:"it_kwh"`
	FacilityKWh float64  `json:"facility_kwh"`
}

// Grid is section 6: the intensity the sites' energy met, and when.
type Grid struct {
	Sites []GridSite `json:"sites"`
	// HourOfDay is the month's use and intensity by hour of the Danish day.
	HourOfDay []accounting.HourOfDay `json:"hour_of_day"`
	// FallbackSharePct is the share of the energy whose intensity was not
	// measured for its hour (nearest week's same hour, or annual factor).
	FallbackSharePct float64  `json:"fallback_share_pct"`
	EnergyBySource   []Source `json:"energy_by_intensity_source"`
	Energinet        bool     `json:"energinet_data_used"`
}

// GridSite is one site's intensities.
type GridSite struct {
	Site            string  `json:"site"`
	Area            string  `json:"price_area"`
	WeightedGPerKWh float64 `json:"consumption_weighted_g_per_kwh"`
	PlainGPerKWh    float64 `json:"plain_average_g_per_kwh"`
	AreaMonthGPerKW float64 `json:"area_month_plain_mean_g_per_kwh"`
}

// Source is the energy whose intensity came from one source.
type Source struct {
	Source    string  `json:"source"` // measured, same-hour-of-week, annual-factor
	EnergyKWh float64 `json:"energy_kwh"`
}

// PowerDown is section 7: what the power-down controller saved in the
// month, as it measured it (metered kWh during its windows against the same
// hours without the policy). The controller supplies it; nil means no
// policy was applied.
type PowerDown struct {
	Policies []PowerDownPolicy `json:"policies"`
	// KWhAvoided and KgCO2eAvoided are the totals over the policies.
	KWhAvoided    float64 `json:"kwh_avoided"`
	KgCO2eAvoided float64 `json:"kg_co2e_avoided"`
	Method        string  `json:"method,omitempty"`
}

// PowerDownPolicy is one policy's savings.
type PowerDownPolicy struct {
	Name          string  `json:"name"`
	Windows       int     `json:"windows"`
	Devices       int     `json:"devices"`
	KWhAvoided    float64 `json:"kwh_avoided"`
	KgCO2eAvoided float64 `json:"kg_co2e_avoided"`
}

// Anomalies are unusual consumption the anomaly detection found (idle
// servers, devices drawing at night what they draw by day); nil: no
// detection ran.
type Anomalies struct {
	Items []Anomaly `json:"items"`
	// Idle are the top idle-equipment candidates at the month's end,
	// ranked by the energy switching them off would save a year.
	Idle []IdleCandidate `json:"idle,omitempty"`
}

// Anomaly is one finding.
type Anomaly struct {
	Device string `json:"device"`
	Site   string `json:"site"`
	Meter  string `json:"meter,omitempty"`
	Kind   string `json:"kind"` // deviation, drift, flatline, counter_reset, …
	// Detail is the detector's plain-language explanation (English; the
	// PDF shows the translated kind instead, the JSON both).
	Detail string    `json:"detail"`
	Start  time.Time `json:"start"`
	Open   bool      `json:"open"`
	KWh    float64   `json:"kwh"`
}

// IdleCandidate is equipment that could be switched off or consolidated.
type IdleCandidate struct {
	Device             string  `json:"device"`
	Site               string  `json:"site"`
	Meter              string  `json:"meter,omitempty"`
	Kind               string  `json:"kind"` // server, server_night, outlet, poe_night
	MeanW              float64 `json:"mean_w"`
	SavedKWhPerYear    float64 `json:"saved_kwh_per_year"`
	SavedKgCO2ePerYear float64 `json:"saved_kg_co2e_per_year"`
	Evidence           string  `json:"evidence"`
}

// Quality is section 9: how much of the figures rests on measurement.
type Quality struct {
	Sites []SiteQuality `json:"sites"`
	// Devices are the devices whose metering covers less than the
	// threshold of the month, lowest first; NoData those with nothing.
	Devices []DeviceQuality `json:"devices_below_threshold"`
	// Problems are the accounting's own words, for the JSON reader.
	Problems []string `json:"problems,omitempty"`
}

// SiteQuality is one site's coverage and fallbacks.
type SiteQuality struct {
	Site             string   `json:"site"`
	CoveragePct      float64  `json:"coverage_pct"`
	HoursWithEnergy  int      `json:"hours_with_energy"`
	HoursInMonth     int      `json:"hours_in_month"`
	FallbackSharePct float64  `json:"fallback_share_pct"`
	FallbackBases    []string `json:"fallback_bases,omitempty"`
	PUEAssumed       bool     `json:"pue_assumed"`
	MarketConfigured bool     `json:"market_configured"`
	NoAccountingMtr  bool     `json:"no_accounting_meter"`
}

// DeviceQuality is a device with too little metering.
type DeviceQuality struct {
	Site        string  `json:"site"`
	Device      string  `json:"device"`
	CoveragePct float64 `json:"coverage_pct"`
	NoData      bool    `json:"no_data"`
}

// EED status of an item.
const (
	Supplied    = "supplied"
	Partial     = "partial"
	NotSupplied = "not_supplied"
)

// EEDItem is one item the EU Energy Efficiency Directive's data centre
// reporting asks for (Directive (EU) 2023/1791 Art. 12 and Annex VII;
// Delegated Regulation (EU) 2024/1364 Art. 3 and its annexes), and what
// ecometer supplies for it this month.
type EEDItem struct {
	Key       string   `json:"key"`       // edc, eit, pue, …
	Reference string   `json:"reference"` // where the regulation asks for it
	Status    string   `json:"status"`    // supplied, partial, not_supplied
	Value     *float64 `json:"value,omitempty"`
	Unit      string   `json:"unit,omitempty"`
	// Basis says how the value was obtained, or why there is none (a key
	// the PDF translates): measured, assumed_pue, guarantees_of_origin,
	// no_meter, not_metered, …
	Basis string `json:"basis"`
}
