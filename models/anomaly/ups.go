package anomaly

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
)

// UPSHour is a UPS's mean input and output power over one hour's samples
// that had both and were taken on mains (not on battery).
type UPSHour struct {
	Hour    time.Time // UTC
	InputW  float64
	OutputW float64
	Samples int
}

// Efficiency is output ÷ input.
func (h UPSHour) Efficiency() float64 { return h.OutputW / h.InputW }

// UPSHours sums a UPS's samples (the ups measurement's input_w, output_w and
// on_battery, DESIGN.md) into hours. Add samples in time order, then call
// Hours.
type UPSHours struct {
	hours   []UPSHour
	in, out float64
}

// Add takes one sample. Samples on battery, or without both powers, are
// skipped: on battery the input is not the mains.
func (u *UPSHours) Add(t time.Time, inputW, outputW float64, haveBoth, onBattery bool) {
	if !haveBoth || onBattery || !(inputW > 0) || outputW < 0 {
		return
	}
	h := t.UTC().Truncate(time.Hour)
	if n := len(u.hours); n == 0 || !u.hours[n-1].Hour.Equal(h) {
		u.flush()
		u.hours = append(u.hours, UPSHour{Hour: h})
		u.in, u.out = 0, 0
	}
	u.in += inputW
	u.out += outputW
	u.hours[len(u.hours)-1].Samples++
}

func (u *UPSHours) flush() {
	if n := len(u.hours); n > 0 {
		c := &u.hours[n-1]
		c.InputW, c.OutputW = u.in/float64(c.Samples), u.out/float64(c.Samples)
	}
}

// Hours returns the hours summed so far, sorted, and resets u.
func (u *UPSHours) Hours() []UPSHour {
	u.flush()
	out := u.hours
	u.hours, u.in, u.out = nil, 0, 0
	slices.SortStableFunc(out, func(a, b UPSHour) int { return a.Hour.Compare(b.Hour) })
	return out
}

// UPSOptions set the UPS efficiency rule. Zero fields take the defaults.
type UPSOptions struct {
	// LoadBand: an hour is compared with the history hours whose input
	// power was within ±LoadBand of its own (default 0.15), because a UPS's
	// efficiency depends on its load.
	LoadBand float64
	// MinRefHours is the fewest such hours a comparison needs (default 12).
	MinRefHours int
	// MinDropPts is the smallest drop, in percentage points of efficiency,
	// that counts (default 2), Threshold the modified z-score it must also
	// pass against those hours' spread (default 3.5; spread at least
	// MinSpreadPts, default 0.2 points).
	MinDropPts, Threshold, MinSpreadPts float64
	// Persistence is how many hours in a row it must last (default 6).
	Persistence int
	// MinInputW: hours with less input are not judged (default 100 W): at
	// a very low load efficiency readings are mostly noise.
	MinInputW float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o UPSOptions) WithDefaults() UPSOptions {
	if o.LoadBand <= 0 {
		o.LoadBand = 0.15
	}
	if o.MinRefHours <= 0 {
		o.MinRefHours = 12
	}
	if o.MinDropPts <= 0 {
		o.MinDropPts = 2
	}
	if o.Threshold <= 0 {
		o.Threshold = DefaultThreshold
	}
	if o.MinSpreadPts <= 0 {
		o.MinSpreadPts = 0.2
	}
	if o.Persistence <= 0 {
		o.Persistence = 6
	}
	if o.MinInputW <= 0 {
		o.MinInputW = 100
	}
	return o
}

type upsJudged struct {
	h        UPSHour
	ref, mad float64
	refN     int
	drop     float64 // points
	z        float64
}

// UPSEfficiencyDrops finds the runs in [from, to) in which a UPS converted
// less efficiently (output_w ÷ input_w) than it did before from at the same
// load: each hour against the median efficiency of the history hours whose
// input was within LoadBand of its own. hours must be sorted.
func UPSEfficiencyDrops(m Meter, hours []UPSHour, from, to time.Time, o UPSOptions) []Anomaly {
	o = o.WithDefaults()
	type ref struct{ in, eff float64 }
	var hist []ref
	var judged []upsJudged
	for _, h := range hours {
		if h.InputW < o.MinInputW || !h.Hour.Before(to) {
			continue
		}
		if h.Hour.Before(from) {
			hist = append(hist, ref{h.InputW, h.Efficiency()})
			continue
		}
		judged = append(judged, upsJudged{h: h})
	}
	if len(judged) == 0 || len(hist) < o.MinRefHours {
		return nil
	}
	slices.SortFunc(hist, func(a, b ref) int { return cmp.Compare(a.in, b.in) })
	var buf []float64
	kept := judged[:0]
	for _, j := range judged {
		lo, _ := slices.BinarySearchFunc(hist, j.h.InputW*(1-o.LoadBand), func(r ref, v float64) int { return cmp.Compare(r.in, v) })
		hi, _ := slices.BinarySearchFunc(hist, math.Nextafter(j.h.InputW*(1+o.LoadBand), math.Inf(1)), func(r ref, v float64) int { return cmp.Compare(r.in, v) })
		if hi-lo < o.MinRefHours {
			continue
		}
		buf = buf[:0]
		for _, r := range hist[lo:hi] {
			buf = append(buf, r.eff)
		}
		j.refN = len(buf)
		j.ref = baseline.Median(buf)
		for k := range buf {
			buf[k] = math.Abs(buf[k] - j.ref)
		}
		j.mad = math.Max(baseline.Median(buf), o.MinSpreadPts/100)
		j.drop = 100 * (j.ref - j.h.Efficiency())
		j.z = baseline.ZConstant * (j.ref - j.h.Efficiency()) / j.mad
		kept = append(kept, j)
	}
	judged = kept
	if len(judged) == 0 {
		return nil
	}
	lastData := judged[len(judged)-1].h.Hour
	spans := runs(len(judged), func(i int) time.Time { return judged[i].h.Hour },
		func(i int) bool { return judged[i].drop >= o.MinDropPts && judged[i].z >= o.Threshold },
		func(i int) bool { return judged[i].drop >= o.MinDropPts/2 },
		o.Persistence, DefaultMaxGap)
	var out []Anomaly
	for _, s := range spans {
		out = append(out, upsDrop(m, judged[s.first:s.last+1], lastData, to, o))
	}
	return out
}

func upsDrop(m Meter, js []upsJudged, lastData, to time.Time, o UPSOptions) Anomaly {
	first, last := js[0], js[len(js)-1]
	a := m.anomaly(UPSEfficiency, first.h.Hour, last.h.Hour.Add(time.Hour))
	a.Direction = "down"
	a.Open = isOpen(last.h.Hour, lastData, to, openSlack)
	var in, out, ref, lossW float64
	for _, j := range js {
		in += j.h.InputW
		out += j.h.OutputW
		ref += j.ref
		lossW += j.h.InputW*j.ref - j.h.OutputW // extra loss against the reference
	}
	n := float64(len(js))
	eff := out / in
	ref /= n
	lossW /= n
	hours := int(a.End.Sub(a.Start) / time.Hour)
	a.Evidence = map[string]float64{"efficiency_pct": 100 * eff, "reference_efficiency_pct": 100 * ref,
		"drop_pts": 100 * (ref - eff), "input_w": in / n, "output_w": out / n, "extra_loss_w": lossW,
		"hours": float64(hours), "load_band_pct": 100 * o.LoadBand}
	until := "until " + when(a.End, m.Loc)
	if a.Open {
		until = "to the end of the period"
	}
	a.Explanation = sentence(
		fmt.Sprintf("UPS %s converted %.1f %% of its input to output from %s %s (%s), against %.1f %% at the same load (input within ±%.0f %%) before:",
			m.Ref.Device, 100*eff, when(a.Start, m.Loc), until, hoursText(hours), 100*ref, 100*o.LoadBand),
		fmt.Sprintf("%.1f points less, about %s more lost as heat at %s of input.", 100*(ref-eff), watts(lossW), watts(in/n)),
		"Typical causes: the UPS left its economy (eco/ECO) mode for double conversion, a bypass or battery-charging state, a failing fan, capacitor or rectifier, or an input or output reading that changed meaning; check the UPS's event log.")
	return a
}
