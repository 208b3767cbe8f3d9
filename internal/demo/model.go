package demo

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/models/sample"
)

// The history model: every power meter the live collection found gets an
// hourly mean power for every hour of the history, built bottom-up along
// the power chain so that the meters agree with each other the way the live
// readings do (an outlet follows the server it feeds, an inlet is its
// outlets plus what the PDU does not meter, a UPS its PDUs plus the rest):
// each meter's level is its live mean, moved by its device's pattern.

// meter is one power series of the model.
type meter struct {
	ser  sample.Series
	base float64 // W: the live mean
	kind meterKind
	// of is, for a share, the meter it is a share of (psu/1 for
	// psu/1/output); for a part that feeds a configured device, that device.
	of string
}

type meterKind int

const (
	kindTop    meterKind = iota // total, inlet/N: the device's own draw
	kindPart                    // outlet/N, psu/N, pse/N: a part of the top
	kindPhase                   // phase/Lx: a share of the top
	kindInput                   // a UPS's input/Lx: a share of its input
	kindOutput                  // psu/N/output: a share of psu/N
)

// device is one configured device of the model.
type device struct {
	cfg    config.Device
	tops   []*meter
	parts  []*meter
	shares []*meter
	// children are the devices fed by this device's top (feeds:
	// DEVICE/total) as opposed to one of its parts.
	children []string
	interval time.Duration
	// ups: output and input power of the ups measurement, in the live
	// readings.
	upsIn, upsOut float64
	upsSeries     *sample.Series
}

func (d *device) topBase() float64 {
	var s float64
	for _, m := range d.tops {
		s += m.base
	}
	return s
}

func (d *device) partBase() float64 {
	var s float64
	for _, m := range d.parts {
		s += m.base
	}
	return s
}

// classify names a meter's role from its name (the meters the collectors
// make: total, inlet/N, outlet/N, phase/Lx, input/Lx, psu/N, psu/N/output,
// pse/N, poe/PORT).
func classify(name string) meterKind {
	switch {
	case name == "total" || strings.HasPrefix(name, "inlet/"):
		return kindTop
	case strings.HasPrefix(name, "phase/"):
		return kindPhase
	case strings.HasPrefix(name, "input/"):
		return kindInput
	case strings.HasPrefix(name, "psu/") && strings.HasSuffix(name, "/output"):
		return kindOutput
	}
	return kindPart
}

// plantModel builds the devices from the config and the live readings.
func plantModel(cfg *config.Config, rows []readings.Row, interval func(config.Device) time.Duration) (map[string]*device, []string) {
	devs := map[string]*device{}
	for _, d := range cfg.Devices {
		devs[d.Name] = &device{cfg: d, interval: interval(d)}
	}
	for _, r := range rows {
		d, ok := devs[r.Device]
		if !ok {
			continue
		}
		ser := sample.Series{Measurement: r.Measurement, Site: r.Site, Room: r.Room, Rack: r.Rack, Device: r.Device,
			Class: r.Class, Meter: r.Meter, Source: r.Source}
		switch r.Measurement {
		case sample.UPS:
			d.upsIn, d.upsOut = r.Values["input_w"], r.Values["output_w"]
			s := ser
			d.upsSeries = &s
		case sample.Power:
			if r.Recent == nil {
				continue
			}
			m := &meter{ser: ser, base: r.Recent.MeanW, kind: classify(r.Meter)}
			switch m.kind {
			case kindTop:
				d.tops = append(d.tops, m)
			case kindPart:
				d.parts = append(d.parts, m)
			case kindOutput:
				m.of = strings.TrimSuffix(r.Meter, "/output")
				d.shares = append(d.shares, m)
			default:
				d.shares = append(d.shares, m)
			}
		}
	}
	// What each meter feeds.
	for _, d := range cfg.Devices {
		ref, err := config.ParseMeterRef(d.Feeds)
		if err != nil {
			continue
		}
		up, ok := devs[ref.Device]
		if !ok {
			continue
		}
		if i := slices.IndexFunc(up.parts, func(m *meter) bool { return m.ser.Meter == ref.Meter }); i >= 0 {
			up.parts[i].of = d.Name
		} else {
			up.children = append(up.children, d.Name)
		}
	}
	// Children before the devices they feed.
	var order []string
	seen := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if seen[name] {
			return
		}
		seen[name] = true
		d := devs[name]
		for _, p := range d.parts {
			if p.of != "" {
				if _, ok := devs[p.of]; ok {
					visit(p.of)
				}
			}
		}
		for _, c := range d.children {
			visit(c)
		}
		order = append(order, name)
	}
	for _, d := range cfg.Devices {
		visit(d.Name)
	}
	return devs, order
}

// noise is a deterministic value in [-1, 1] for a key and a time.
func noise(key string, t time.Time) float64 {
	h := fnv.New64a()
	h.Write([]byte(key))
	_ = binary.Write(h, binary.BigEndian, t.Unix())
	return float64(h.Sum64()%2000001)/1000000 - 1
}

// seasonal is the slow yearly swing of IT load: ±2 %, highest in January.
// Small enough that an 8-week baseline does not take it for a drift.
func seasonal(t time.Time) float64 {
	day := float64(t.YearDay())
	return 1 + 0.02*math.Cos(2*math.Pi*(day-15)/365.25)
}

// working says whether a local time is within working hours on a
// weekday.
func working(local time.Time) bool {
	wd := local.Weekday()
	h := local.Hour()
	return wd != time.Saturday && wd != time.Sunday && h >= 7 && h < 18
}

func weekend(local time.Time) bool {
	return local.Weekday() == time.Saturday || local.Weekday() == time.Sunday
}

// night is 22:00-06:00, the idle finder's night.
func night(local time.Time) bool {
	h := local.Hour()
	return h >= 22 || h < 6
}
