package redfish

import (
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// system is the power state machine of one ComputerSystem.
//
// on is whether the system draws its full power; phase is a transition in
// progress that ends at until. A graceful shutdown keeps drawing power until
// it has finished; a power-on draws standby power until it has finished.
type system struct {
	on        bool
	phase     string // "", "PoweringOff", "PoweringOn"
	until     time.Time
	restart   bool // PoweringOff is followed by PoweringOn
	pendingOn bool // an On arrived during a shutdown (honoured unless quirky)
	allowed   []string
}

func (s *system) advance(now time.Time, on time.Duration) {
	for s.phase != "" && !now.Before(s.until) {
		switch s.phase {
		case "PoweringOff":
			s.on = false
			s.phase = ""
			if s.restart || s.pendingOn {
				s.phase, s.until = "PoweringOn", s.until.Add(on)
			}
			s.restart, s.pendingOn = false, false
		case "PoweringOn":
			s.on = true
			s.phase = ""
		}
	}
}

// reported is the PowerState the BMC shows.
func (s *system) reported(quirk bool) string {
	switch s.phase {
	case "PoweringOff":
		if quirk && !s.restart {
			return "Off" // the quirk: reports Off while still shutting down
		}
		return "PoweringOff"
	case "PoweringOn":
		return "PoweringOn"
	}
	if s.on {
		return "On"
	}
	return "Off"
}

// reset applies a ComputerSystem.Reset; it returns an HTTP status and a
// message for errors.
func (b *BMC) resetLocked(s *system, resetType string) (int, string) {
	now := b.opts.Now()
	s.advance(now, b.opts.PowerOnDuration)
	powerOn := func() {
		s.phase, s.until = "PoweringOn", now.Add(b.opts.PowerOnDuration)
	}
	shutdown := func(restart bool) {
		s.phase, s.until, s.restart = "PoweringOff", now.Add(b.opts.ShutdownDuration), restart
	}
	switch resetType {
	case "On", "ForceOn":
		switch {
		case s.phase == "PoweringOff" && b.opts.QuirkReportOffEarly && !s.restart:
			b.log.Debug("redfish sim: On during shutdown silently dropped (quirk)")
		case s.phase == "PoweringOff":
			s.pendingOn = true
		case s.phase == "" && !s.on:
			powerOn()
		}
	case "ForceOff":
		s.on, s.phase, s.restart, s.pendingOn = false, "", false, false
	case "GracefulShutdown":
		if s.on && s.phase == "" {
			shutdown(false)
		}
	case "GracefulRestart":
		if !s.on {
			return http.StatusConflict, "the system is off"
		}
		if s.phase == "" {
			shutdown(true)
		}
	case "ForceRestart", "PowerCycle":
		if !s.on && s.phase == "" {
			return http.StatusConflict, "the system is off"
		}
		s.on, s.restart, s.pendingOn = false, false, false
		powerOn()
	case "PushPowerButton":
		if s.on && s.phase == "" {
			shutdown(false)
		} else if !s.on && s.phase == "" {
			powerOn()
		}
	case "Nmi":
	default:
		return http.StatusBadRequest, "unsupported ResetType " + resetType
	}
	return http.StatusNoContent, ""
}

func (b *BMC) post(w http.ResponseWriter, r *http.Request, key string) {
	var body map[string]any
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil && err != io.EOF {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "request body is not valid JSON")
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if sk, ok := b.resetTargets[key]; ok {
		s := b.systems[sk]
		rt, _ := body["ResetType"].(string)
		if rt == "" {
			writeError(w, http.StatusBadRequest, "ActionParameterMissing", "ResetType is required")
			return
		}
		if len(s.allowed) > 0 && !slices.Contains(s.allowed, rt) {
			writeError(w, http.StatusBadRequest, "ActionParameterValueNotInList",
				"ResetType "+rt+" is not in ResetType@Redfish.AllowableValues")
			return
		}
		status, msg := b.resetLocked(s, rt)
		if msg != "" {
			writeError(w, status, "ActionNotSupported", msg)
			return
		}
		b.log.Debug("redfish sim: reset", "system", sk, "type", rt)
		w.WriteHeader(status)
		return
	}
	if outlet := b.outletTarget[key]; outlet != "" {
		ps, _ := body["PowerState"].(string)
		switch ps {
		case "On", "Off":
			b.outlets[outlet] = ps
		case "PowerCycle":
			b.outlets[outlet] = "On"
		default:
			writeError(w, http.StatusBadRequest, "ActionParameterValueNotInList", "PowerState must be On, Off or PowerCycle")
			return
		}
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeError(w, http.StatusMethodNotAllowed, "OperationNotAllowed", "POST is not supported at "+odataID(key))
}

// patch sets the power limit, through the Control (SetPoint) or the legacy
// Power resource (PowerControl[0].PowerLimit.LimitInWatts).
func (b *BMC) patch(w http.ResponseWriter, r *http.Request, key string) {
	var body struct {
		SetPoint     *float64
		PowerControl []struct {
			PowerLimit struct{ LimitInWatts *float64 }
		}
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "request body is not valid JSON")
		return
	}
	c := chassisOf(key)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.isHidden(key) {
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no resource at "+odataID(key))
		return
	}
	var v *float64
	switch {
	case c != "" && b.isPowerControl(key) && body.SetPoint != nil:
		v = body.SetPoint
	case c != "" && key == c+"/Power" && len(body.PowerControl) > 0 && body.PowerControl[0].PowerLimit.LimitInWatts != nil:
		v = body.PowerControl[0].PowerLimit.LimitInWatts
	default:
		writeError(w, http.StatusMethodNotAllowed, "PropertyNotWritable", "only the power limit is writable here")
		return
	}
	lo, hi := b.limitRange(c)
	if *v < lo || (hi > 0 && *v > hi) {
		writeError(w, http.StatusBadRequest, "PropertyValueOutOfRange",
			"power limit "+strconv.FormatFloat(*v, 'f', -1, 64)+" W is outside the allowed range")
		return
	}
	b.limits[c] = *v
	doc, _ := b.renderLocked(key)
	writeJSON(w, http.StatusOK, doc)
}

func (b *BMC) isPowerControl(key string) bool {
	var d struct{ ControlType string }
	raw, ok := b.m.docs[key]
	return ok && json.Unmarshal(raw, &d) == nil && d.ControlType == "Power"
}

// limitRange returns the allowed power limit range of a chassis (hi 0: none).
func (b *BMC) limitRange(c string) (lo, hi float64) {
	for _, k := range []string{c + "/Controls/PowerLimit", c + "/EnvironmentMetrics"} {
		var d struct {
			AllowableMin, AllowableMax *float64
			PowerLimitWatts            struct{ AllowableMin, AllowableMax *float64 }
		}
		raw, ok := b.m.docs[k]
		if !ok || json.Unmarshal(raw, &d) != nil {
			continue
		}
		if d.AllowableMin == nil {
			d.AllowableMin, d.AllowableMax = d.PowerLimitWatts.AllowableMin, d.PowerLimitWatts.AllowableMax
		}
		if d.AllowableMin != nil && d.AllowableMax != nil {
			return *d.AllowableMin, *d.AllowableMax
		}
	}
	return 0, 0
}

// renderLocked returns the current document at key: the mockup's, with the
// simulated state applied.
func (b *BMC) renderLocked(key string) (map[string]any, bool) {
	if key == "SessionService/Sessions" || strings.HasPrefix(key, "SessionService/Sessions/") {
		return b.sessionsLocked(key)
	}
	if b.isHidden(key) {
		return nil, false
	}
	raw, ok := b.m.docs[key]
	if !ok {
		return nil, false
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, false
	}
	b.dropHiddenLinksLocked(doc)
	typ, _ := doc["@odata.type"].(string)
	if b.faults[FaultWrongLinks] && strings.HasPrefix(typ, "#Chassis.") {
		b.wrongLinks(doc, key)
	}
	now := b.opts.Now()
	if key == "" && b.opts.NoExpand {
		delete(doc, "ProtocolFeaturesSupported")
	}
	if s, ok := b.systems[key]; ok {
		s.advance(now, b.opts.PowerOnDuration)
		doc["PowerState"] = s.reported(b.opts.QuirkReportOffEarly)
	}
	if c := chassisOf(key); c != "" {
		if sk, ok := b.chassisOwner[c]; ok {
			s := b.systems[sk]
			s.advance(now, b.opts.PowerOnDuration)
			if key == c {
				doc["PowerState"] = s.reported(b.opts.QuirkReportOffEarly)
			}
			if !s.on {
				b.standby(doc, typ, c)
			}
		}
		if lim, ok := b.limits[c]; ok {
			applyLimit(doc, typ, lim)
		}
	}
	switch {
	case strings.HasPrefix(typ, "#Outlet."):
		state := b.outlets[key]
		doc["PowerState"] = state
		if state == "Off" {
			setReading(doc, "PowerWatts", 0)
			setReading(doc, "CurrentAmps", 0)
			if pp, ok := doc["PolyPhaseCurrentAmps"].(map[string]any); ok {
				for k := range pp {
					setReading(pp, k, 0)
				}
			}
		}
	case strings.HasPrefix(typ, "#PowerDistributionMetrics."):
		pdu := key[:max(0, strings.LastIndex(key, "/"))]
		b.subtractOffOutlets(doc, func(outlet string) bool { return strings.HasPrefix(outlet, pdu+"/Outlets/") })
	case strings.HasPrefix(typ, "#Circuit."):
		var links []string
		if l, ok := doc["Links"].(map[string]any); ok {
			if arr, ok := l["Outlets"].([]any); ok {
				for _, o := range arr {
					if m, ok := o.(map[string]any); ok {
						if id, ok := m["@odata.id"].(string); ok {
							if k, ok := treePath(id); ok {
								links = append(links, k)
							}
						}
					}
				}
			}
		}
		b.subtractOffOutlets(doc, func(outlet string) bool { return slices.Contains(links, outlet) })
	}
	return doc, true
}

// wrongLinks points a chassis' power links at resources of another type.
func (b *BMC) wrongLinks(doc map[string]any, chassis string) {
	for prop, target := range map[string]string{"EnvironmentMetrics": "Power", "PowerSubsystem": "ThermalSubsystem", "Sensors": "Controls"} {
		if _, ok := doc[prop]; !ok {
			continue
		}
		to := chassis
		if _, ok := b.m.docs[chassis+"/"+target]; ok {
			to = chassis + "/" + target
		}
		doc[prop] = map[string]any{"@odata.id": odataID(to)}
	}
}

// subtractOffOutlets lowers PowerWatts by the mockup power of switched-off
// outlets selected by in.
func (b *BMC) subtractOffOutlets(doc map[string]any, in func(string) bool) {
	pw, ok := doc["PowerWatts"].(map[string]any)
	if !ok {
		return
	}
	r, ok := pw["Reading"].(float64)
	if !ok {
		return
	}
	for k, st := range b.outlets {
		if st == "Off" && in(k) {
			r -= b.outletWatts(k)
		}
	}
	pw["Reading"] = max(0, r)
}

func (b *BMC) outletWatts(key string) float64 {
	var d struct{ PowerWatts struct{ Reading *float64 } }
	if json.Unmarshal(b.m.docs[key], &d) != nil || d.PowerWatts.Reading == nil {
		return 0
	}
	return *d.PowerWatts.Reading
}

// standby rewrites the power readings of a switched-off server's chassis.
func (b *BMC) standby(doc map[string]any, typ, c string) {
	w := b.opts.StandbyWatts
	perPSU := w / float64(max(1, b.psuCount[c]))
	switch {
	case strings.HasPrefix(typ, "#EnvironmentMetrics."):
		setReading(doc, "PowerWatts", w)
	case strings.HasPrefix(typ, "#Power."):
		for _, pc := range asMaps(doc["PowerControl"]) {
			if _, ok := pc["PowerConsumedWatts"]; ok {
				pc["PowerConsumedWatts"] = w
			}
		}
		psus := asMaps(doc["PowerSupplies"])
		for _, ps := range psus {
			for _, f := range []string{"PowerInputWatts", "PowerOutputWatts", "LastPowerOutputWatts"} {
				if _, ok := ps[f]; ok {
					ps[f] = w / float64(len(psus))
				}
			}
		}
	case strings.HasPrefix(typ, "#PowerSupplyMetrics."):
		setReading(doc, "InputPowerWatts", perPSU)
		setReading(doc, "OutputPowerWatts", perPSU)
	case strings.HasPrefix(typ, "#Sensor."):
		if doc["ReadingType"] == "Power" {
			if doc["PhysicalContext"] == "PowerSupply" {
				setNum(doc, "Reading", perPSU)
			} else {
				setNum(doc, "Reading", w)
			}
		}
	case strings.HasPrefix(typ, "#Control."):
		if s, ok := doc["Sensor"].(map[string]any); ok && doc["ControlType"] == "Power" {
			setNum(s, "Reading", w)
		}
	}
}

func applyLimit(doc map[string]any, typ string, lim float64) {
	switch {
	case strings.HasPrefix(typ, "#Control.") && doc["ControlType"] == "Power":
		doc["SetPoint"] = lim
	case strings.HasPrefix(typ, "#EnvironmentMetrics."):
		if pl, ok := doc["PowerLimitWatts"].(map[string]any); ok {
			pl["SetPoint"] = lim
		}
	case strings.HasPrefix(typ, "#Power."):
		if pcs := asMaps(doc["PowerControl"]); len(pcs) > 0 {
			if pl, ok := pcs[0]["PowerLimit"].(map[string]any); ok {
				pl["LimitInWatts"] = lim
			}
		}
	}
}

func setReading(doc map[string]any, prop string, v float64) {
	if m, ok := doc[prop].(map[string]any); ok {
		setNum(m, "Reading", v)
	}
}

func setNum(m map[string]any, k string, v float64) {
	if _, ok := m[k]; ok {
		m[k] = v
	}
}

func asMaps(v any) []map[string]any {
	arr, _ := v.([]any)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// dropHiddenLinksLocked removes references to resources a fault mode hides,
// with their deprecation notes, so the BMC looks like one that never had them.
func (b *BMC) dropHiddenLinksLocked(doc map[string]any) {
	if len(b.hidden) == 0 {
		return
	}
	for k, v := range doc {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			continue
		}
		id, _ := m["@odata.id"].(string)
		if key, ok := treePath(id); ok && b.isHidden(key) {
			delete(doc, k)
			delete(doc, k+"@Redfish.Deprecated")
		}
	}
}

// expandLevels parses $expand: ".", "*" or "~", optionally "($levels=N)".
// Links are never expanded ("*" and "~" are served like ".").
func expandLevels(q string) int {
	if q == "" {
		return 0
	}
	levels := 1
	if i := strings.Index(q, "$levels="); i >= 0 {
		n, err := strconv.Atoi(strings.TrimRight(q[i+len("$levels="):], ")"))
		if err == nil && n > 0 {
			levels = min(n, 6)
		}
	}
	return levels
}

// expandLocked replaces subordinate references ({"@odata.id": …} outside
// Links and Actions) by the documents they point to, levels deep.
func (b *BMC) expandLocked(v any, levels int) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			if k == "Links" || k == "Actions" || k == "Oem" {
				continue
			}
			if m, ok := child.(map[string]any); ok && len(m) == 1 {
				if d, ok := b.refLocked(m, levels); ok {
					t[k] = d
					continue
				}
			}
			b.expandLocked(child, levels)
		}
	case []any:
		for i, child := range t {
			if m, ok := child.(map[string]any); ok && len(m) == 1 {
				if d, ok := b.refLocked(m, levels); ok {
					t[i] = d
					continue
				}
			}
			b.expandLocked(child, levels)
		}
	}
}

func (b *BMC) refLocked(m map[string]any, levels int) (map[string]any, bool) {
	id, _ := m["@odata.id"].(string)
	key, ok := treePath(id)
	if !ok {
		return nil, false
	}
	d, ok := b.renderLocked(key)
	if !ok {
		return nil, false
	}
	if levels > 1 {
		b.expandLocked(d, levels-1)
	}
	return d, true
}
