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
	mode             int // 2: whole PDU expanded in one request; 1: each collection expanded; 0: member by member
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
	choose := func(src Source, rs []Reading) {
		if !slices.ContainsFunc(rs, func(r Reading) bool { return r.Field == "power_w" && r.Meter == "total" }) {
			return
		}
		cp.candidates = append(cp.candidates, candidate{Source: src, Readings: rs})
		if cp.source == "" {
			cp.source = src
		}
	}
	done := func() bool { return cp.source != "" && !all }

	// 1. EnvironmentMetrics.
	if links.EnvironmentMetrics.ID != "" {
		conv, err := c.read(ctx, kindEnvironmentMetrics, links.EnvironmentMetrics.ID, "total")
		if err != nil && !IsNotFound(err) {
			return cp, nil, err
		}
		if err == nil {
			cp.env = links.EnvironmentMetrics.ID
			choose(SourceEnvironmentMetrics, conv.Readings)
			if conv.Limit != nil {
				lim = &Limit{Chassis: cp.path, Path: links.EnvironmentMetrics.ID, Property: "PowerLimitWatts/SetPoint", Watts: conv.Limit}
			}
		}
	}
	// 2. PowerSubsystem → PowerSupplies → Metrics (read even after a choice
	// when PSU meters are wanted).
	if links.PowerSubsystem.ID != "" && (!done() || c.opts.PSUMeters) {
		psus, rs, err := c.discoverPSUs(ctx, p, links.PowerSubsystem.ID)
		if err != nil {
			return cp, nil, err
		}
		cp.psus = psus
		choose(SourcePowerSubsystem, rs)
	}
	// 3. Sensors.
	if links.Sensors.ID != "" && !done() {
		chosen, rs, err := c.discoverSensors(ctx, p, links.Sensors.ID)
		if err != nil {
			return cp, nil, err
		}
		if len(chosen) > 0 {
			cp.sensors = chosen
		}
		choose(SourceSensors, rs)
	}
	// 4. The deprecated Power resource.
	if links.Power.ID != "" && !done() {
		conv, err := c.read(ctx, kindLegacyPower, links.Power.ID, "total")
		if err != nil && !IsNotFound(err) {
			return cp, nil, err
		}
		if err == nil {
			cp.power = links.Power.ID
			choose(SourceLegacyPower, conv.Readings)
			if lim == nil && conv.Limit != nil {
				lim = &Limit{Chassis: cp.path, Path: links.Power.ID, Property: "PowerControl/0/PowerLimit/LimitInWatts", Watts: conv.Limit}
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

// discoverPSUs returns the PSUs' Metrics paths and what they read, plus a
// total (the PSUs' input power summed).
func (c *Collector) discoverPSUs(ctx context.Context, p *plan, subsystem string) ([]psuRef, []Reading, error) {
	body, err := c.conn.get(ctx, subsystem)
	if IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var ps struct{ PowerSupplies ref }
	if err := json.Unmarshal(body, &ps); err != nil || ps.PowerSupplies.ID == "" {
		return nil, nil, nil
	}
	members, err := c.members(ctx, p, ps.PowerSupplies.ID)
	if err != nil {
		if IsNotFound(err) {
			return nil, nil, nil
		}
		return nil, nil, err
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
			return nil, nil, err
		}
		refs = append(refs, psuRef{meter: meter, path: u.Metrics.ID})
		rs = append(rs, conv.Readings...)
	}
	return refs, append(psuTotal(rs, len(refs)), rs...), nil
}

// psuTotal sums the PSUs' power (and energy, when every PSU has a counter)
// into the total meter.
func psuTotal(rs []Reading, n int) []Reading {
	var w, e float64
	var nw, ne int
	path := ""
	for _, r := range rs {
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

// discoverSensors picks the chassis' total power and energy sensors.
func (c *Collector) discoverSensors(ctx context.Context, p *plan, coll string) ([]string, []Reading, error) {
	members, err := c.members(ctx, p, coll)
	if IsNotFound(err) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	var chosen []string
	var rs []Reading
	var havePower, haveEnergy bool
	for _, raw := range members {
		var s schemas.Sensor
		if json.Unmarshal(raw, &s) != nil || s.Reading == nil {
			continue
		}
		total := s.PhysicalContext == schemas.ChassisPhysicalContext ||
			(s.ElectricalContext == schemas.TotalElectricalContext && s.PhysicalContext == "")
		meter := "sensor/" + s.ID
		switch {
		case s.ReadingType == schemas.PowerReadingType && total && !havePower:
			havePower, meter = true, "total"
			chosen = append(chosen, s.ODataID)
		case s.ReadingType == schemas.EnergykWhReadingType && total && !haveEnergy:
			haveEnergy, meter = true, "total"
			chosen = append(chosen, s.ODataID)
		case s.ReadingType != schemas.PowerReadingType && s.ReadingType != schemas.EnergykWhReadingType:
			continue
		}
		conv, err := convert(kindSensor, s.ODataID, meter, raw)
		if err != nil {
			continue
		}
		rs = append(rs, conv.Readings...)
	}
	if !havePower {
		return nil, rs, nil
	}
	return chosen, rs, nil
}

// discoverPDUs finds the rack PDUs and how to poll them cheaply.
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
	pdus, err := pe.RackPDUs()
	if err != nil && !IsNotFound(err) {
		return fmt.Errorf("redfish %s: rack PDUs: %w", c.conn.host, err)
	}
	slices.SortFunc(pdus, func(a, b *schemas.PowerDistribution) int { return strings.Compare(a.ODataID, b.ODataID) })
	for _, pdu := range pdus {
		var links struct{ Metrics, Mains, Branches, Outlets ref }
		_ = json.Unmarshal(pdu.RawData, &links)
		pp := pduPlan{id: pdu.ID, path: pdu.ODataID, metrics: links.Metrics.ID,
			colls: [3]string{links.Mains.ID, links.Branches.ID, links.Outlets.ID}}
		if len(pdus) > 1 {
			pp.prefix = "pdu/" + pdu.ID + "/"
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
