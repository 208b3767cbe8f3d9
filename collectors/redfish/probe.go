package redfish

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// ProbeResult is what `ecometer probe redfish://…` shows: every power
// reading the service offers, with its resource path and source, which
// source the collector will use, the systems' power state and allowed reset
// types, and the power limits.
type ProbeResult struct {
	Endpoint    string         `json:"endpoint"`
	Chassis     []ChassisProbe `json:"chassis,omitempty"`
	PDUs        []PDUProbe     `json:"pdus,omitempty"`
	Systems     []SystemInfo   `json:"systems,omitempty"`
	PowerLimits []Limit        `json:"power_limits,omitempty"`
	Readings    []Reading      `json:"readings"`
	// IdlePDUs are power distribution entries with nothing to read.
	IdlePDUs []string `json:"idle_pdus,omitempty"`
	// DiscoveryRequests is the number of requests discovery took;
	// PollRequests the number one poll takes after it.
	DiscoveryRequests int64 `json:"discovery_requests"`
	PollRequests      int64 `json:"poll_requests"`
}

// NoPowerReason is "" when the service has a power reading (power_w or
// energy_kwh); otherwise it says, per chassis, why there is none.
func (r *ProbeResult) NoPowerReason() string {
	for _, ch := range r.Chassis {
		if ch.Source != "" {
			return ""
		}
	}
	for _, rd := range r.Readings {
		if (rd.Source == SourceRackPDU || rd.Source == SourceFloorPDU || rd.Source == SourcePowerShelf) &&
			(rd.Field == "power_w" || rd.Field == "energy_kwh") {
			return ""
		}
	}
	var parts []string
	for _, ch := range r.Chassis {
		if len(ch.Reasons) > 0 {
			parts = append(parts, "chassis "+ch.Path+": "+strings.Join(ch.Reasons, "; "))
		}
	}
	parts = append(parts, r.IdlePDUs...)
	if len(parts) == 0 {
		return "no chassis and no power distribution equipment"
	}
	return strings.Join(parts, "; ")
}

// ChassisProbe says where a chassis reports power, or why it reports none.
type ChassisProbe struct {
	ID        string   `json:"id"`
	Path      string   `json:"path"`
	Meter     string   `json:"meter,omitempty"`
	Source    Source   `json:"source"`    // the one polled ("" when none)
	Available []Source `json:"available"` // every source with a power reading, preferred first
	// Reasons say, per source tried, why it gave no power reading.
	Reasons []string `json:"reasons,omitempty"`
}

// PDUProbe says how a rack PDU is polled.
type PDUProbe struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	// Mode: "expand-2" (one request for everything), "expand-1" (one per
	// collection) or "members" (one per outlet, branch and inlet).
	Mode string `json:"mode"`
	// Source: RackPDU, FloorPDU or PowerShelf.
	Source Source `json:"source"`
}

// Probe discovers a BMC, reads every power source it offers and polls it
// once the way the collector would (to count the requests), then logs out.
func Probe(ctx context.Context, opts Options) (*ProbeResult, error) {
	c, err := New(opts)
	if err != nil {
		return nil, err
	}
	defer func() { _ = c.Close() }()
	p, err := c.discover(ctx, true)
	if err != nil {
		return nil, err
	}
	res := &ProbeResult{Endpoint: redactURL(opts.Endpoint), Systems: p.systems, PowerLimits: p.limits, IdlePDUs: p.idlePDUs}
	for _, ch := range p.chassis {
		cp := ChassisProbe{ID: ch.id, Path: ch.path, Meter: ch.meter, Source: ch.source, Reasons: ch.reasons}
		for _, cand := range ch.candidates {
			cp.Available = append(cp.Available, cand.Source)
			for _, r := range cand.Readings {
				if r.Meter == "total" {
					r.Meter = ch.meter
				}
				res.Readings = append(res.Readings, r)
			}
		}
		res.Readings = appendRenamed(res.Readings, ch.partial, ch.meter)
		res.Chassis = append(res.Chassis, cp)
	}
	for _, ch := range p.silent {
		res.Chassis = append(res.Chassis, ChassisProbe{ID: ch.id, Path: ch.path, Reasons: ch.reasons})
		res.Readings = appendRenamed(res.Readings, ch.partial, "chassis/"+ch.id)
	}
	slices.SortStableFunc(res.Chassis, func(a, b ChassisProbe) int { return strings.Compare(a.Path, b.Path) })
	for i := range p.pdus {
		pp := &p.pdus[i]
		mode := map[int]string{2: "expand-2", 1: "expand-1", 0: "members"}[pp.mode]
		res.PDUs = append(res.PDUs, PDUProbe{ID: pp.id, Path: pp.path, Mode: mode, Source: pp.source})
		conv, err := c.readPDU(ctx, pp)
		if err != nil {
			return nil, err
		}
		res.Readings = append(res.Readings, conv.Readings...)
	}
	res.DiscoveryRequests = c.Requests()
	c.mu.Lock()
	c.plan = p
	c.mu.Unlock()
	if _, _, err := c.pollPlan(ctx, p); err != nil {
		return nil, err
	}
	res.PollRequests = c.Requests() - res.DiscoveryRequests
	return res, nil
}

// appendRenamed appends rs with the meter "total" named meter.
func appendRenamed(out, rs []Reading, meter string) []Reading {
	for _, r := range rs {
		if r.Meter == "total" {
			r.Meter = meter
		}
		out = append(out, r)
	}
	return out
}

// WriteProbe prints a probe result as a table, or as JSON.
func WriteProbe(w io.Writer, r *ProbeResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "redfish service %s\n", r.Endpoint)
	for _, ch := range r.Chassis {
		avail := make([]string, len(ch.Available))
		for i, s := range ch.Available {
			avail[i] = string(s)
		}
		if ch.Source == "" {
			fmt.Fprintf(tw, "chassis %s: no power reading\n", ch.Path)
		} else {
			fmt.Fprintf(tw, "chassis %s: meter %s from %s (available: %s)\n", ch.Path, ch.Meter, ch.Source, strings.Join(avail, ", "))
		}
		if ch.Source == "" || len(ch.Available) < 4 {
			for _, why := range ch.Reasons {
				fmt.Fprintf(tw, "  - %s\n", why)
			}
		}
	}
	for _, p := range r.PDUs {
		fmt.Fprintf(tw, "%s %s: polled by %s\n", pduNoun[p.Source], p.Path, p.Mode)
	}
	for _, idle := range r.IdlePDUs {
		fmt.Fprintf(tw, "power distribution %s (not read)\n", idle)
	}
	for _, s := range r.Systems {
		fmt.Fprintf(tw, "system %s: power %s; allowed resets: %s\n", s.Path, s.PowerState, strings.Join(s.AllowedResets, ", "))
	}
	for _, l := range r.PowerLimits {
		fmt.Fprintf(tw, "power limit %s (%s): %s W", l.Path, l.Property, num(l.Watts))
		if l.Min != nil && l.Max != nil {
			fmt.Fprintf(tw, ", allowed %s–%s W", num(l.Min), num(l.Max))
		}
		fmt.Fprintln(tw)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "SOURCE\tMETER\tFIELD\tVALUE\tPATH")
	for _, rd := range r.Readings {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", rd.Source, rd.Meter, rd.Field, strconv.FormatFloat(rd.Value, 'f', -1, 64), rd.Path)
	}
	fmt.Fprintf(tw, "\nrequests: %d for discovery, %d per poll after it\n", r.DiscoveryRequests, r.PollRequests)
	return tw.Flush()
}

var pduNoun = map[Source]string{SourceRackPDU: "rack PDU", SourceFloorPDU: "floor PDU", SourcePowerShelf: "power shelf"}

func num(v *float64) string {
	if v == nil {
		return "?"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}
