package snmp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"
)

// ProbeOptions say how to reach a device for `ecometer probe HOST`.
type ProbeOptions struct {
	Addr      string
	Port      uint16
	Version   Version // default 2c
	Community string
	V3        *V3Auth
	Profile   string // force a profile instead of detecting one
	Timeout   time.Duration
	Retries   int
	Profiles  *Registry // default: Embedded()
	Dial      func(Conn) (Transport, error)
}

// ProbeResult is what a probe found.
type ProbeResult struct {
	Addr        string    `json:"addr"`
	SysObjectID string    `json:"sys_object_id,omitempty"`
	SysDescr    string    `json:"sys_descr,omitempty"`
	Profile     string    `json:"profile"`
	DetectedBy  string    `json:"detected_by"`
	PollMS      float64   `json:"poll_ms"`
	Readings    []Reading `json:"readings"`
}

// Probe detects the device's profile and reads every metric once. Errors
// wrap ErrTimeout (no answer), ErrAuth (v3 credentials refused) or
// ErrUnknownDevice (no profile matches).
func Probe(ctx context.Context, o ProbeOptions) (*ProbeResult, error) {
	reg := o.Profiles
	if reg == nil {
		var err error
		if reg, err = Embedded(); err != nil {
			return nil, err
		}
	}
	dial := o.Dial
	if dial == nil {
		dial = Dial
	}
	conn := Conn{Addr: o.Addr, Port: o.Port, Version: o.Version, Community: o.Community, V3: o.V3,
		Timeout: o.Timeout, Retries: o.Retries}
	t, err := dial(conn)
	if err != nil {
		return nil, err
	}
	defer t.Close()
	start := time.Now()
	det, err := reg.Detect(ctx, t, o.Addr)
	if o.Profile != "" {
		if errors.Is(err, ErrUnknownDevice) {
			err = nil
		}
		p, ok := reg.Lookup(o.Profile)
		if !ok {
			return nil, fmt.Errorf("snmp %s: no profile named %q", o.Addr, o.Profile)
		}
		if det == nil {
			det = &Detection{}
		}
		det.Profile, det.By = p, "named"
	}
	if err != nil {
		return nil, err
	}
	pl := newPlan(det.Profile, reg)
	snap, err := pl.read(ctx, t)
	if err != nil {
		return nil, err
	}
	res := &ProbeResult{Addr: o.Addr, SysObjectID: det.SysObjectID, SysDescr: det.SysDescr,
		Profile: det.Profile.Name, DetectedBy: det.By}
	res.Readings = pl.evaluate(snap, discard)
	snap.release()
	res.PollMS = float64(time.Since(start).Microseconds()) / 1000
	return res, nil
}

// WriteProbe prints a probe result as a table for people or as JSON.
func WriteProbe(w io.Writer, r *ProbeResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(w, "device:   %s\nprofile:  %s (%s)\n", r.Addr, r.Profile, r.DetectedBy)
	if r.SysObjectID != "" {
		fmt.Fprintf(w, "sysObjectID: %s\n", r.SysObjectID)
	}
	if r.SysDescr != "" {
		fmt.Fprintf(w, "sysDescr: %s\n", truncate(r.SysDescr, 100))
	}
	if len(r.Readings) == 0 {
		fmt.Fprintln(w, "no power sensors found")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\nMEASUREMENT\tMETER\tFIELD\tVALUE\tUNIT\tOID\tOBJECT")
	for _, x := range r.Readings {
		kind := ""
		if x.Kind == "counter" {
			kind = fmt.Sprintf(" (counter%d)", x.Width)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s%s\n", x.Measurement, x.Meter, x.Field,
			strconv.FormatFloat(x.Value, 'f', -1, 64), x.Unit, x.OID, x.Object, kind)
	}
	return tw.Flush()
}
