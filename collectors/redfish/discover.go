package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/stmcginnis/gofish"
	"github.com/stmcginnis/gofish/schemas"
)

// plan is what discovery found: the resource paths to poll, per BMC.
type plan struct {
	chassis []chassisPlan
	systems []SystemInfo
	pdus    []pduPlan
	limits  []Limit
	expand  bool // the service expands collections ($expand=.)
	levels  bool // … and more than one level deep
	// silent are the chassis with no power reading, with the reasons (probe).
	silent []chassisPlan
	// sensorMeters are the sensor/{Id} meters given out, to keep them unique.
	sensorMeters map[string]bool
	// idlePDUs are power distribution entries with nothing to read (probe).
	idlePDUs []string
}

type chassisPlan struct {
	id, path   string
	meter      string
	source     Source
	env        string   // EnvironmentMetrics
	psus       []psuRef // PSU Metrics (SourcePowerSubsystem, or Options.PSUMeters)
	sensors    []string // chosen total power/energy sensors
	power      string   // legacy Power
	candidates []candidate
	reasons    []string  // per source tried: why it gave no power reading
	partial    []Reading // what those sources did read (no chassis total; probe)
}

type psuRef struct{ meter, path string }

// candidate is one place a chassis reports power, with what it read at
// discovery.
type candidate struct {
	Source   Source
	Readings []Reading
}

type pduPlan struct {
	id, path, prefix string
	source           Source // RackPDU, FloorPDU or PowerShelf
	mode             int    // 2: whole PDU expanded in one request; 1: each collection expanded; 0: member by member
	metrics          string
	colls            [3]string   // Mains, Branches, Outlets
	members          [3][]string // mode 0
}

var collKinds = [3]kind{kindMains, kindBranches, kindOutlets}

// SystemInfo is a ComputerSystem as discovered.
type SystemInfo struct {
	ID            string   `json:"id"`
	Path          string   `json:"path"`
	PowerState    string   `json:"power_state"`
	AllowedResets []string `json:"allowed_resets"`
}

// Limit is a power limit and where to set it.
type Limit struct {
	Chassis  string   `json:"chassis"`
	Path     string   `json:"path"`     // the resource to PATCH
	Property string   `json:"property"` // SetPoint or PowerControl/0/PowerLimit/LimitInWatts
	Watts    *float64 `json:"watts"`
	Min      *float64 `json:"min,omitempty"`
	Max      *float64 `json:"max,omitempty"`
}

type ref struct {
	ID string `json:"@odata.id"`
}

// discover walks the service once. With all, every power source of every
// chassis is read (for probe); otherwise it stops at the first usable one.
func (c *Collector) discover(ctx context.Context, all bool) (*plan, error) {
	bc := c.conn.bind(ctx, schemas.ClientSettings{})
	root, err := gofish.ServiceRoot(bc)
	if err != nil {
		return nil, fmt.Errorf("redfish %s: service root: %w", c.conn.host, err)
	}
	p := &plan{}
	eq := root.ProtocolFeaturesSupported.ExpandQuery
	p.expand = eq.NoLinks || eq.ExpandAll
	p.levels = p.expand && eq.Levels && eq.MaxLevels >= 2
	if p.expand {
		bc = c.conn.bind(ctx, schemas.ClientSettings{DefaultQueryOptions: []schemas.QueryGroupOption{
			schemas.WithCollectionQueryOpts(schemas.WithExpand(schemas.ExpandOptionPeriod), schemas.WithExpandFallback(true)),
		}})
		root.SetClient(bc) // gofish then reads collections in one request each
	}

	systems, err := root.Systems()
	if err != nil {
		return nil, fmt.Errorf("redfish %s: systems: %w", c.conn.host, err)
	}
	for _, s := range systems {
		info := SystemInfo{ID: s.ID, Path: s.ODataID, PowerState: string(s.PowerState)}
		rts, err := s.GetSupportedResetTypes()
		if err != nil {
			c.log.Debug("redfish: reset types unknown", "host", c.conn.host, "system", s.ODataID, "err", err)
		}
		for _, rt := range rts {
			info.AllowedResets = append(info.AllowedResets, string(rt))
		}
		p.systems = append(p.systems, info)
	}
	slices.SortFunc(p.systems, func(a, b SystemInfo) int { return strings.Compare(a.Path, b.Path) })

	if err := c.discoverPDUs(ctx, root, p); err != nil {
		return nil, err
	}
	if len(p.pdus) > 0 {
		return p, nil // a PDU: its chassis' sensors repeat what the PDU reports
	}

	chassis, err := root.Chassis()
	if err != nil {
		return nil, fmt.Errorf("redfish %s: chassis: %w", c.conn.host, err)
	}
	slices.SortFunc(chassis, func(a, b *schemas.Chassis) int { return strings.Compare(a.ODataID, b.ODataID) })
	for _, ch := range chassis {
		cp, lim, err := c.discoverChassis(ctx, p, ch, all)
		if err != nil {
			return nil, err
		}
		if lim != nil {
			p.limits = append(p.limits, *lim)
		}
		if cp.source == "" && len(cp.candidates) == 0 {
			p.silent = append(p.silent, cp)
			continue
		}
		cp.meter = "chassis/" + cp.id
		if !slices.ContainsFunc(p.chassis, func(o chassisPlan) bool { return o.meter == "total" }) && cp.source != "" {
			cp.meter = "total"
		}
		p.chassis = append(p.chassis, cp)
	}
	return p, nil
}

func (c *Collector) discoverChassis(ctx context.Context, p *plan, ch *schemas.Chassis, all bool) (chassisPlan, *Limit, error) {
	cp := chassisPlan{id: ch.ID, path: ch.ODataID}
	var links struct {
		EnvironmentMetrics, PowerSubsystem, Sensors, Power, Controls ref
	}
	_ = json.Unmarshal(ch.RawData, &links)
	var lim *Limit
	choose := func(src Source, rs []Reading) bool {
		if !slices.ContainsFunc(rs, func(r Reading) bool { return r.Field == "power_w" && r.Meter == "total" }) {
			cp.partial = append(cp.partial, rs...)
			return false
		}
		cp.candidates = append(cp.candidates, candidate{Source: src, Readings: rs})
		if cp.source == "" {
			cp.source = src
		}
		return true
	}
	done := func() bool { return cp.source != "" && !all }
	why := func(format string, args ...any) { cp.reasons = append(cp.reasons, fmt.Sprintf(format, args...)) }

	// 1. EnvironmentMetrics.
	path, body, reason, err := c.linked(ctx, p, ch, "EnvironmentMetrics", links.EnvironmentMetrics.ID, "EnvironmentMetrics", false)
	switch {
	case err != nil:
		return cp, nil, err
	case path == "":
		why("%s", reason)
	default:
		conv, err := convert(kindEnvironmentMetrics, path, "total", body)
		if err != nil {
			return cp, nil, fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, path, err)
		}
		cp.env = path
		if !choose(SourceEnvironmentMetrics, conv.Readings) {
			why("EnvironmentMetrics %s: no PowerWatts reading", path)
		}
		if conv.Limit != nil {
			lim = &Limit{Chassis: cp.path, Path: path, Property: "PowerLimitWatts/SetPoint", Watts: conv.Limit}
		}
	}
	// 2. PowerSubsystem → PowerSupplies → Metrics (read even after a choice
	// when PSU meters are wanted).
	if !done() || c.opts.PSUMeters {
		psus, rs, reason, err := c.discoverPSUs(ctx, p, ch, links.PowerSubsystem.ID)
		if err != nil {
			return cp, nil, err
		}
		cp.psus = psus
		if !choose(SourcePowerSubsystem, rs) {
			why("%s", reason)
		}
	}
	// 3. Sensors.
	if !done() {
		chosen, rs, reason, err := c.discoverSensors(ctx, p, ch, links.Sensors.ID)
		if err != nil {
			return cp, nil, err
		}
		if len(chosen) > 0 {
			cp.sensors = chosen
		}
		if !choose(SourceSensors, rs) {
			why("%s", reason)
		}
	}
	// 4. The deprecated Power resource.
	if !done() {
		path, body, reason, err := c.linked(ctx, p, ch, "Power", links.Power.ID, "Power", false)
		switch {
		case err != nil:
			return cp, nil, err
		case path == "":
			why("%s", reason)
		default:
			conv, err := convert(kindLegacyPower, path, "total", body)
			if err != nil {
				return cp, nil, fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, path, err)
			}
			cp.power = path
			if !choose(SourceLegacyPower, conv.Readings) {
				why("Power %s: no PowerControl PowerConsumedWatts reading", path)
			}
			if lim == nil && conv.Limit != nil {
				lim = &Limit{Chassis: cp.path, Path: path, Property: "PowerControl/0/PowerLimit/LimitInWatts", Watts: conv.Limit}
			}
		}
	}
	// The power limit Control is the one to PATCH, when there is one.
	if links.Controls.ID != "" {
		members, err := c.members(ctx, p, links.Controls.ID)
		if err != nil && !IsNotFound(err) {
			return cp, nil, err
		}
		for _, raw := range members {
			var ctl schemas.Control
			if json.Unmarshal(raw, &ctl) != nil || ctl.ControlType != schemas.PowerControlType {
				continue
			}
			lim = &Limit{Chassis: cp.path, Path: ctl.ODataID, Property: "SetPoint",
				Watts: finite(ctl.SetPoint), Min: finite(ctl.AllowableMin), Max: finite(ctl.AllowableMax)}
			break
		}
	}
	return cp, lim, nil
}

// linked fetches the resource a chassis links as prop and checks its
// @odata.type (DSP0266: every resource has one) against want. A link that
// leads to another type is logged, and the schema's usual path (DSP0268:
// /redfish/v1/Chassis/{ChassisId}/{prop}) is tried instead. It returns the
// path used and its body, or "" and the reason there is none. Collections
// are fetched expanded where the service can ($expand=.).
func (c *Collector) linked(ctx context.Context, p *plan, ch *schemas.Chassis, prop, link, want string, collection bool) (string, []byte, string, error) {
	if link == "" {
		return "", nil, prop + ": no link in the chassis", nil
	}
	get := func(path string) ([]byte, error) {
		if collection && p.expand {
			return c.conn.get(ctx, withExpand(path, 1))
		}
		return c.conn.get(ctx, path)
	}
	body, err := get(link)
	if IsNotFound(err) {
		return "", nil, fmt.Sprintf("%s %s: not found (404)", prop, link), nil
	}
	if err != nil {
		return "", nil, "", err
	}
	got := odataType(body)
	if isType(got, want) {
		return link, body, "", nil
	}
	usual := strings.TrimSuffix(ch.ODataID, "/") + "/" + prop
	c.log.Warn("redfish: a chassis link leads to the wrong resource type; trying the schema's usual path",
		"host", c.conn.host, "chassis", ch.ODataID, "property", prop, "link", link, "type", got, "want", want, "usual", usual)
	if usual == link {
		return "", nil, fmt.Sprintf("%s %s: is a %s, not a %s", prop, link, got, want), nil
	}
	body, err = get(usual)
	if IsNotFound(err) {
		return "", nil, fmt.Sprintf("%s %s: is a %s, not a %s; the usual path %s: not found (404)", prop, link, got, want, usual), nil
	}
	if err != nil {
		return "", nil, "", err
	}
	if t := odataType(body); !isType(t, want) {
		return "", nil, fmt.Sprintf("%s %s: is a %s, not a %s; the usual path %s: a %s", prop, link, got, want, usual, t), nil
	}
	return usual, body, "", nil
}

// odataType returns a resource's @odata.type ("" when absent).
func odataType(body []byte) string {
	var t struct {
		Type string `json:"@odata.type"`
	}
	_ = json.Unmarshal(body, &t)
	return t.Type
}

// isType: "#EnvironmentMetrics.v1_3_0.EnvironmentMetrics" is an
// EnvironmentMetrics. A resource without @odata.type is taken as what it
// is linked as (some services omit it on collections).
func isType(odataType, want string) bool {
	return odataType == "" || strings.HasPrefix(odataType, "#"+want+".")
}

// discoverPSUs returns the PSUs' Metrics paths and what they read, plus a
// total (the PSUs' input power summed); or the reason there is none.
func (c *Collector) discoverPSUs(ctx context.Context, p *plan, ch *schemas.Chassis, link string) ([]psuRef, []Reading, string, error) {
	subsystem, body, reason, err := c.linked(ctx, p, ch, "PowerSubsystem", link, "PowerSubsystem", false)
	if err != nil || subsystem == "" {
		return nil, nil, reason, err
	}
	var ps struct{ PowerSupplies ref }
	if err := json.Unmarshal(body, &ps); err != nil || ps.PowerSupplies.ID == "" {
		return nil, nil, fmt.Sprintf("PowerSubsystem %s: no PowerSupplies", subsystem), nil
	}
	members, err := c.members(ctx, p, ps.PowerSupplies.ID)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil, fmt.Sprintf("PowerSubsystem %s: PowerSupplies not found (404)", subsystem), nil
		}
		return nil, nil, "", err
	}
	var refs []psuRef
	var rs []Reading
	for i, raw := range members {
		var u struct {
			Status  struct{ State string }
			Metrics ref
		}
		if json.Unmarshal(raw, &u) != nil || u.Metrics.ID == "" || u.Status.State == "Absent" {
			continue
		}
		meter := "psu/" + strconv.Itoa(i+1)
		conv, err := c.read(ctx, kindPSUMetrics, u.Metrics.ID, meter)
		if IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, nil, "", err
		}
		refs = append(refs, psuRef{meter: meter, path: u.Metrics.ID})
		rs = append(rs, conv.Readings...)
	}
	return refs, append(psuTotal(rs, len(refs)), rs...),
		fmt.Sprintf("PowerSubsystem %s: no power supply with Metrics InputPowerWatts (%d of %d have Metrics)", subsystem, len(refs), len(members)), nil
}

// psuTotal sums the PSUs' power (and energy, when every PSU has a counter)
// into the total meter.
func psuTotal(rs []Reading, n int) []Reading {
	var w, e float64
	var nw, ne int
	path := ""
	for _, r := range rs {
		if r.Meter == "total" || strings.HasSuffix(r.Meter, "/output") {
			continue
		}
		switch r.Field {
		case "power_w":
			w += r.Value
			nw++
			if path == "" {
				path = r.Path
			}
		case "energy_kwh":
			e += r.Value
			ne++
		}
	}
	var out []Reading
	if nw > 0 {
		out = append(out, Reading{Meter: "total", Field: "power_w", Value: w, Source: SourcePowerSubsystem, Path: path})
	}
	if ne > 0 && ne == n {
		out = append(out, Reading{Meter: "total", Field: "energy_kwh", Value: e, Source: SourcePowerSubsystem, Path: path})
	}
	return out
}

// sensorTotalContexts are the PhysicalContexts of a sensor that measures
// the whole chassis (not one PSU, CPU or line of it).
var sensorTotalContexts = map[schemas.PhysicalContext]bool{
	"": true, schemas.ChassisPhysicalContext: true, schemas.PowerSubsystemPhysicalContext: true,
}

// discoverSensors picks the chassis' total power and energy sensors: power
// only from a sensor whose ElectricalContext is Total (DSP0268 Sensor:
// "the combined electrical path"), never from one line's sensor or from one
// PSU's; energy from a chassis sensor that is Total or names no context.
// The other power and energy sensors are reported under a meter named by
// their Id, unique across the service.
func (c *Collector) discoverSensors(ctx context.Context, p *plan, ch *schemas.Chassis, link string) ([]string, []Reading, string, error) {
	coll, body, reason, err := c.linked(ctx, p, ch, "Sensors", link, "SensorCollection", true)
	if err != nil || coll == "" {
		return nil, nil, reason, err
	}
	members, err := c.membersOf(ctx, coll, body)
	if err != nil {
		return nil, nil, "", err
	}
	var chosen []string
	var rs []Reading
	var havePower, haveEnergy bool
	var powerSeen []string
	for _, raw := range members {
		var s schemas.Sensor
		if json.Unmarshal(raw, &s) != nil || s.Reading == nil {
			continue
		}
		whole := sensorTotalContexts[s.PhysicalContext]
		meter := ""
		switch s.ReadingType {
		case schemas.PowerReadingType:
			powerSeen = append(powerSeen, fmt.Sprintf("%s (%s/%s)", s.ID, orDash(string(s.PhysicalContext)), orDash(string(s.ElectricalContext))))
			if whole && s.ElectricalContext == schemas.TotalElectricalContext && !havePower {
				havePower, meter = true, "total"
				chosen = append(chosen, s.ODataID)
			}
		case schemas.EnergykWhReadingType:
			if whole && (s.ElectricalContext == "" || s.ElectricalContext == schemas.TotalElectricalContext) && !haveEnergy {
				haveEnergy, meter = true, "total"
				chosen = append(chosen, s.ODataID)
			}
		default:
			continue
		}
		if meter == "" {
			meter = p.sensorMeter(ch.ID, meterPart(s.ID, s.ODataID))
		}
		conv, err := convert(kindSensor, s.ODataID, meter, raw)
		if err != nil {
			continue
		}
		rs = append(rs, conv.Readings...)
	}
	if !havePower {
		why := fmt.Sprintf("Sensors %s: no power sensor of the whole chassis with ElectricalContext Total", coll)
		if len(powerSeen) > 0 {
			why += " (power sensors, PhysicalContext/ElectricalContext: " + strings.Join(powerSeen, ", ") + ")"
		}
		return nil, rs, why, nil
	}
	return chosen, rs, "", nil
}

// sensorMeter returns a meter named by a sensor's Id that no other sensor
// of the service has: sensor/{Id}, else sensor/{ChassisId}/{Id}, else with
// a number.
func (p *plan) sensorMeter(chassis, id string) string {
	if p.sensorMeters == nil {
		p.sensorMeters = map[string]bool{}
	}
	try := []string{"sensor/" + id, "sensor/" + meterPart(chassis, "") + "/" + id}
	for n := 2; ; n++ {
		for _, m := range try {
			if !p.sensorMeters[m] {
				p.sensorMeters[m] = true
				return m
			}
		}
		try = []string{"sensor/" + meterPart(chassis, "") + "/" + id + "-" + strconv.Itoa(n)}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// pduKinds are the PowerEquipment collections read as power distribution
// equipment (DSP0268 PowerEquipment: RackPDUs, FloorPDUs, PowerShelves, each
// a collection of PowerDistribution with Metrics, Mains, Branches and
// Outlets), with the meter prefix used when a service has several.
var pduKinds = []struct {
	name   string // for messages
	prefix string
	source Source
	list   func(*schemas.PowerEquipment) ([]*schemas.PowerDistribution, error)
}{
	{"rack PDUs", "pdu", SourceRackPDU, (*schemas.PowerEquipment).RackPDUs},
	{"floor PDUs", "floorpdu", SourceFloorPDU, (*schemas.PowerEquipment).FloorPDUs},
	{"power shelves", "shelf", SourcePowerShelf, (*schemas.PowerEquipment).PowerShelves},
}

// discoverPDUs finds the power distribution equipment (rack PDUs, floor
// PDUs, power shelves) and how to poll each cheaply; all are read the same
// way.
func (c *Collector) discoverPDUs(ctx context.Context, root *gofish.Service, p *plan) error {
	pe, err := root.PowerEquipment()
	if err != nil {
		if IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("redfish %s: power equipment: %w", c.conn.host, err)
	}
	if pe == nil {
		return nil
	}
	type found struct {
		pd     *schemas.PowerDistribution
		prefix string
		source Source
	}
	var all []found
	for _, k := range pduKinds {
		list, err := k.list(pe)
		if err != nil && !IsNotFound(err) {
			return fmt.Errorf("redfish %s: %s: %w", c.conn.host, k.name, err)
		}
		slices.SortFunc(list, func(a, b *schemas.PowerDistribution) int { return strings.Compare(a.ODataID, b.ODataID) })
		for _, pd := range list {
			var links struct{ Metrics, Mains, Branches, Outlets ref }
			_ = json.Unmarshal(pd.RawData, &links)
			if links.Metrics.ID == "" && links.Mains.ID == "" && links.Branches.ID == "" && links.Outlets.ID == "" {
				// Nothing to read (an inventory-only entry).
				p.idlePDUs = append(p.idlePDUs, pd.ODataID+": no Metrics, Mains, Branches or Outlets")
				continue
			}
			all = append(all, found{pd, k.prefix, k.source})
		}
	}
	for _, f := range all {
		var links struct{ Metrics, Mains, Branches, Outlets ref }
		_ = json.Unmarshal(f.pd.RawData, &links)
		pp := pduPlan{id: f.pd.ID, path: f.pd.ODataID, source: f.source, metrics: links.Metrics.ID,
			colls: [3]string{links.Mains.ID, links.Branches.ID, links.Outlets.ID}}
		if len(all) > 1 {
			pp.prefix = f.prefix + "/" + meterPart(f.pd.ID, f.pd.ODataID) + "/"
		}
		switch {
		case p.levels:
			pp.mode = 2
		case p.expand:
			pp.mode = 1
		}
		// Try the cheapest mode; fall back when the BMC does not expand.
		for {
			_, err := c.readPDU(ctx, &pp)
			if errors.Is(err, errNotExpanded) && pp.mode > 0 {
				pp.mode--
				continue
			}
			if err != nil {
				return err
			}
			break
		}
		p.pdus = append(p.pdus, pp)
	}
	return nil
}

// meterPart makes a resource Id usable in a meter tag: no spaces, commas,
// = or quotes; the last segment of the resource path when the Id is empty.
func meterPart(id, path string) string {
	if id == "" {
		id = path[strings.LastIndexByte(path, '/')+1:]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', ',', '=', '"':
			return '_'
		}
		return r
	}, id)
}

// members returns the members of a collection in the collection's order,
// expanded in one request where the service can.
func (c *Collector) members(ctx context.Context, p *plan, coll string) ([]json.RawMessage, error) {
	path := coll
	if p.expand {
		path = withExpand(coll, 1)
	}
	body, err := c.conn.get(ctx, path)
	if err != nil {
		return nil, err
	}
	return c.membersOf(ctx, coll, body)
}

// membersOf returns the members of a fetched collection, fetching those
// the service did not expand.
func (c *Collector) membersOf(ctx context.Context, coll string, body []byte) ([]json.RawMessage, error) {
	var col struct{ Members []json.RawMessage }
	if err := json.Unmarshal(body, &col); err != nil {
		return nil, fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, coll, err)
	}
	for i, m := range col.Members {
		if isExpanded(m) {
			continue
		}
		var r ref
		if json.Unmarshal(m, &r) != nil || r.ID == "" {
			continue
		}
		b, err := c.conn.get(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		col.Members[i] = b
	}
	return col.Members, nil
}

func withExpand(path string, levels int) string {
	q := "$expand=."
	if levels > 1 {
		q += "($levels=" + strconv.Itoa(levels) + ")"
	}
	return path + "?" + url.PathEscape(q)
}

// read fetches one resource and converts it.
func (c *Collector) read(ctx context.Context, k kind, path, meter string) (converted, error) {
	body, err := c.conn.get(ctx, path)
	if err != nil {
		return converted{}, err
	}
	conv, err := convert(k, path, meter, body)
	if err != nil {
		return conv, fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, path, err)
	}
	return conv, nil
}
