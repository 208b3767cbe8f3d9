package redfish

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/stmcginnis/gofish/schemas"
)

// Source is where a chassis' power figure came from, in order of preference.
type Source string

const (
	SourceEnvironmentMetrics Source = "EnvironmentMetrics" // Chassis/{id}/EnvironmentMetrics
	SourcePowerSubsystem     Source = "PowerSubsystem"     // PowerSubsystem/PowerSupplies/{id}/Metrics
	SourceSensors            Source = "Sensors"            // Chassis/{id}/Sensors, ReadingType Power/EnergykWh
	SourceLegacyPower        Source = "Power"              // deprecated Chassis/{id}/Power
	SourceRackPDU            Source = "RackPDU"            // PowerEquipment/RackPDUs/{id}
	SourcePowerShelf         Source = "PowerShelf"         // PowerEquipment/PowerShelves/{id}
	SourceFloorPDU           Source = "FloorPDU"           // PowerEquipment/FloorPDUs/{id}
)

// Reading is one value of one meter, with the resource it was read from.
type Reading struct {
	Meter  string  `json:"meter"` // total, psu/1, psu/1/output, outlet/A1, inlet/1, branch/A, phase/L1
	Field  string  `json:"field"` // power_w, energy_kwh, voltage_v, current_a, apparent_va, load_pct, frequency_hz
	Value  float64 `json:"value"`
	Source Source  `json:"source"`
	Path   string  `json:"path"`
}

// kind says how to read a resource's JSON.
type kind uint8

const (
	kindEnvironmentMetrics kind = iota // EnvironmentMetrics -> meter
	kindPSUMetrics                     // PowerSupplyMetrics -> meter
	kindSensor                         // Sensor -> meter
	kindLegacyPower                    // Power -> total + psu/N
	kindPDUMetrics                     // PowerDistributionMetrics -> meter
	kindMains                          // expanded Circuit collection -> inlet/N (+ phase/Lx)
	kindBranches                       // expanded Circuit collection -> branch/{Id}
	kindOutlets                        // expanded Outlet collection -> outlet/{Id}
	kindRackPDU                        // PowerDistribution expanded 2 levels: all of the above
	kindSystem                         // ComputerSystem -> power state
	kindCount
)

// converted is what a resource yields.
type converted struct {
	Readings   []Reading
	PowerState string            // ComputerSystem
	Limit      *float64          // power limit in W, where the resource carries it
	States     map[string]string // outlet meter -> PowerState
}

var errNotExpanded = errors.New("resource was not expanded")

// convert reads one resource's JSON (fetched from path) into readings.
// meter names the meter for single-meter kinds. It never panics on any
// input, and drops values that are not finite.
func convert(k kind, path, meter string, body []byte) (converted, error) {
	var out converted
	add := func(m, field string, v *float64, src Source, p string) {
		if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
			return
		}
		out.Readings = append(out.Readings, Reading{Meter: m, Field: field, Value: *v, Source: src, Path: p})
	}
	switch k {
	case kindEnvironmentMetrics:
		var e schemas.EnvironmentMetrics
		if err := json.Unmarshal(body, &e); err != nil {
			return out, err
		}
		add(meter, "power_w", e.PowerWatts.Reading, SourceEnvironmentMetrics, path)
		add(meter, "energy_kwh", e.EnergykWh.Reading, SourceEnvironmentMetrics, path)
		add(meter, "voltage_v", e.Voltage.Reading, SourceEnvironmentMetrics, path)
		add(meter, "current_a", e.CurrentAmps.Reading, SourceEnvironmentMetrics, path)
		add(meter, "apparent_va", e.PowerWatts.ApparentVA, SourceEnvironmentMetrics, path)
		add(meter, "load_pct", e.PowerLoadPercent.Reading, SourceEnvironmentMetrics, path)
		out.Limit = finite(e.PowerLimitWatts.SetPoint)
	case kindPSUMetrics:
		var m schemas.PowerSupplyMetrics
		if err := json.Unmarshal(body, &m); err != nil {
			return out, err
		}
		add(meter, "power_w", m.InputPowerWatts.Reading, SourcePowerSubsystem, path)
		add(meter, "energy_kwh", m.EnergykWh.Reading, SourcePowerSubsystem, path)
		add(meter, "voltage_v", m.InputVoltage.Reading, SourcePowerSubsystem, path)
		add(meter, "current_a", m.InputCurrentAmps.Reading, SourcePowerSubsystem, path)
		add(meter, "apparent_va", m.InputPowerWatts.ApparentVA, SourcePowerSubsystem, path)
		add(meter, "frequency_hz", m.FrequencyHz.Reading, SourcePowerSubsystem, path)
	case kindSensor:
		var s schemas.Sensor
		if err := json.Unmarshal(body, &s); err != nil {
			return out, err
		}
		switch s.ReadingType {
		case schemas.PowerReadingType:
			add(meter, "power_w", s.Reading, SourceSensors, path)
			add(meter, "apparent_va", s.ApparentVA, SourceSensors, path)
		case schemas.EnergykWhReadingType:
			add(meter, "energy_kwh", s.Reading, SourceSensors, path)
		case schemas.VoltageReadingType:
			add(meter, "voltage_v", s.Reading, SourceSensors, path)
		case schemas.CurrentReadingType:
			add(meter, "current_a", s.Reading, SourceSensors, path)
		case schemas.FrequencyReadingType:
			add(meter, "frequency_hz", s.Reading, SourceSensors, path)
		}
	case kindLegacyPower:
		var p schemas.Power
		if err := json.Unmarshal(body, &p); err != nil {
			return out, err
		}
		if len(p.PowerControl) > 0 {
			pc := p.PowerControl[0]
			add(meter, "power_w", f32(pc.PowerConsumedWatts), SourceLegacyPower, path)
			out.Limit = finite(pc.PowerLimit.LimitInWatts)
		}
		for i, ps := range p.PowerSupplies {
			if ps.Status.State == schemas.AbsentState {
				continue
			}
			// Power (DSP0268) PowerSupply: PowerInputWatts is "the measured
			// input power", PowerOutputWatts "the measured output power" and
			// LastPowerOutputWatts "the average power output": output power
			// goes to psu/N/output, never to the PSU's (input) meter.
			m := "psu/" + strconv.Itoa(i+1)
			add(m, "power_w", f32(ps.PowerInputWatts), SourceLegacyPower, path)
			add(m, "voltage_v", f32(ps.LineInputVoltage), SourceLegacyPower, path)
			out := f32(ps.PowerOutputWatts)
			if out == nil {
				out = f32(ps.LastPowerOutputWatts)
			}
			add(m+"/output", "power_w", out, SourceLegacyPower, path)
		}
	case kindPDUMetrics:
		var m schemas.PowerDistributionMetrics
		if err := json.Unmarshal(body, &m); err != nil {
			return out, err
		}
		add(meter, "power_w", m.PowerWatts.Reading, SourceRackPDU, path)
		add(meter, "energy_kwh", m.EnergykWh.Reading, SourceRackPDU, path)
		add(meter, "apparent_va", m.PowerWatts.ApparentVA, SourceRackPDU, path)
		add(meter, "load_pct", m.PowerLoadPercent.Reading, SourceRackPDU, path)
	case kindMains, kindBranches, kindOutlets:
		members, err := expandedMembers(body)
		if err != nil {
			return out, err
		}
		for i, raw := range members {
			if err := convertMember(&out, k, i, path, raw, add); err != nil {
				return out, err
			}
		}
	case kindRackPDU:
		var pdu struct {
			Metrics                  json.RawMessage
			Mains, Branches, Outlets json.RawMessage
		}
		if err := json.Unmarshal(body, &pdu); err != nil {
			return out, err
		}
		if !isExpanded(pdu.Metrics) {
			return out, errNotExpanded
		}
		parts := []struct {
			k    kind
			raw  json.RawMessage
			name string
		}{{kindPDUMetrics, pdu.Metrics, "Metrics"}, {kindMains, pdu.Mains, "Mains"},
			{kindBranches, pdu.Branches, "Branches"}, {kindOutlets, pdu.Outlets, "Outlets"}}
		base := path // the resource, without the $expand query it was read with
		if i := strings.IndexByte(base, '?'); i >= 0 {
			base = base[:i]
		}
		for _, part := range parts {
			if len(part.raw) == 0 || string(part.raw) == "null" {
				continue
			}
			c, err := convert(part.k, base+"/"+part.name, meter, part.raw)
			if err != nil {
				return out, fmt.Errorf("%s: %w", part.name, err)
			}
			out.Readings = append(out.Readings, c.Readings...)
			for m, s := range c.States {
				if out.States == nil {
					out.States = map[string]string{}
				}
				out.States[m] = s
			}
		}
	case kindSystem:
		var s schemas.ComputerSystem
		if err := json.Unmarshal(body, &s); err != nil {
			return out, err
		}
		out.PowerState = string(s.PowerState)
	default:
		return out, fmt.Errorf("unknown resource kind %d", k)
	}
	return out, nil
}

type addFunc func(meter, field string, v *float64, src Source, path string)

func convertMember(out *converted, k kind, i int, collPath string, raw json.RawMessage, add addFunc) error {
	switch k {
	case kindOutlets:
		var o schemas.Outlet
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		m := "outlet/" + memberName(o.ID, i)
		p := orPath(o.ODataID, collPath)
		add(m, "power_w", o.PowerWatts.Reading, SourceRackPDU, p)
		add(m, "energy_kwh", o.EnergykWh.Reading, SourceRackPDU, p)
		add(m, "voltage_v", o.Voltage.Reading, SourceRackPDU, p)
		add(m, "current_a", o.CurrentAmps.Reading, SourceRackPDU, p)
		add(m, "apparent_va", o.PowerWatts.ApparentVA, SourceRackPDU, p)
		add(m, "load_pct", o.PowerLoadPercent.Reading, SourceRackPDU, p)
		add(m, "frequency_hz", o.FrequencyHz.Reading, SourceRackPDU, p)
		if o.PowerState != "" {
			if out.States == nil {
				out.States = map[string]string{}
			}
			out.States[m] = string(o.PowerState)
		}
	case kindMains, kindBranches:
		var c schemas.Circuit
		if err := json.Unmarshal(raw, &c); err != nil {
			return err
		}
		m := "branch/" + memberName(c.ID, i)
		if k == kindMains {
			m = "inlet/" + strconv.Itoa(i+1)
		}
		p := orPath(c.ODataID, collPath)
		power := c.PowerWatts.Reading
		if power == nil && k == kindMains {
			power = sumPhases(c.PolyPhasePowerWatts.Line1ToNeutral.Reading,
				c.PolyPhasePowerWatts.Line2ToNeutral.Reading, c.PolyPhasePowerWatts.Line3ToNeutral.Reading)
		}
		add(m, "power_w", power, SourceRackPDU, p)
		add(m, "energy_kwh", c.EnergykWh.Reading, SourceRackPDU, p)
		add(m, "voltage_v", c.Voltage.Reading, SourceRackPDU, p)
		add(m, "current_a", c.CurrentAmps.Reading, SourceRackPDU, p)
		add(m, "apparent_va", c.PowerWatts.ApparentVA, SourceRackPDU, p)
		add(m, "load_pct", c.PowerLoadPercent.Reading, SourceRackPDU, p)
		add(m, "frequency_hz", c.FrequencyHz.Reading, SourceRackPDU, p)
		if k == kindMains && i == 0 {
			// Per-phase meters of the (first) inlet.
			pp, pv, pc := c.PolyPhasePowerWatts, c.PolyPhaseVoltage, c.PolyPhaseCurrentAmps
			for _, ph := range []struct {
				name      string
				w, v, cur *float64
				va        *float64
			}{
				{"phase/L1", pp.Line1ToNeutral.Reading, pv.Line1ToNeutral.Reading, pc.Line1.Reading, pp.Line1ToNeutral.ApparentVA},
				{"phase/L2", pp.Line2ToNeutral.Reading, pv.Line2ToNeutral.Reading, pc.Line2.Reading, pp.Line2ToNeutral.ApparentVA},
				{"phase/L3", pp.Line3ToNeutral.Reading, pv.Line3ToNeutral.Reading, pc.Line3.Reading, pp.Line3ToNeutral.ApparentVA},
			} {
				add(ph.name, "power_w", ph.w, SourceRackPDU, p)
				add(ph.name, "voltage_v", ph.v, SourceRackPDU, p)
				add(ph.name, "current_a", ph.cur, SourceRackPDU, p)
				add(ph.name, "apparent_va", ph.va, SourceRackPDU, p)
			}
		}
	}
	return nil
}

// expandedMembers returns the members of an expanded collection; a member
// that is only a reference means the BMC did not expand.
func expandedMembers(body []byte) ([]json.RawMessage, error) {
	var coll struct{ Members []json.RawMessage }
	if err := json.Unmarshal(body, &coll); err != nil {
		return nil, err
	}
	for _, m := range coll.Members {
		if !isExpanded(m) {
			return nil, errNotExpanded
		}
	}
	return coll.Members, nil
}

// isExpanded: more than a bare {"@odata.id": …} reference.
func isExpanded(raw json.RawMessage) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	_, hasID := m["@odata.id"]
	return len(m) > 1 || (len(m) == 1 && !hasID)
}

func memberName(id string, i int) string {
	if id == "" {
		return strconv.Itoa(i + 1)
	}
	return id
}

func orPath(id, fallback string) string {
	if id != "" {
		return id
	}
	return fallback
}

func sumPhases(vs ...*float64) *float64 {
	var sum float64
	n := 0
	for _, v := range vs {
		if v != nil {
			sum += *v
			n++
		}
	}
	if n == 0 {
		return nil
	}
	return &sum
}

func f32(v *float32) *float64 {
	if v == nil {
		return nil
	}
	f := float64(*v)
	// float32 -> float64 adds noise (344 stays 344, 12.1 would not): round
	// to the float32's own precision.
	f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', 7, 32), 64)
	return &f
}

func finite(v *float64) *float64 {
	if v == nil || math.IsNaN(*v) || math.IsInf(*v, 0) {
		return nil
	}
	return v
}
