package anomalies

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/models/sample"
)

// defaultZone is the time zone of a site the configuration does not name.
const defaultZone = "Europe/Copenhagen"

// IdleTag is the device tag that gives a server's datasheet idle power in
// watts (tags: {idle_w: "95"}); without it the idle level is learned.
const IdleTag = "idle_w"

// plant is what the configuration says about the sites and devices.
type plant struct {
	cfg     *config.Config
	devices map[string]config.Device
	locs    map[string]*time.Location // by site
	// feeds maps "device/meter" to the devices that meter feeds.
	feeds map[string][]string
	// accounting counts, per site, the devices whose total meter counts
	// towards IT and towards facility energy.
	accounting map[string]map[config.AccountingRole]int
}

func newPlant(cfg *config.Config) (*plant, error) {
	p := &plant{cfg: cfg, devices: map[string]config.Device{}, locs: map[string]*time.Location{},
		feeds: map[string][]string{}, accounting: map[string]map[config.AccountingRole]int{}}
	for _, s := range cfg.Sites {
		tz := s.Timezone
		if tz == "" {
			tz = defaultZone
		}
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, fmt.Errorf("site %s: time zone %q: %w", s.Name, tz, err)
		}
		p.locs[s.Name] = loc
	}
	for _, d := range cfg.Devices {
		p.devices[d.Name] = d
		if d.Feeds != "" {
			p.feeds[d.Feeds] = append(p.feeds[d.Feeds], d.Name)
		}
		if d.AccountingRole == config.RoleIT || d.AccountingRole == config.RoleFacility {
			if p.accounting[d.Site] == nil {
				p.accounting[d.Site] = map[config.AccountingRole]int{}
			}
			p.accounting[d.Site][d.AccountingRole]++
		}
	}
	return p, nil
}

// loc returns a site's time zone; a site the configuration does not name
// (data of a removed site) gets Europe/Copenhagen.
func (p *plant) loc(site string) (*time.Location, error) {
	if l, ok := p.locs[site]; ok {
		return l, nil
	}
	l, err := time.LoadLocation(defaultZone)
	if err != nil {
		return nil, fmt.Errorf("time zone %s: %w", defaultZone, err)
	}
	p.locs[site] = l
	return l, nil
}

// interval returns the poll interval of a series' device: its configured
// one, else its class's, else a minute.
func (p *plant) interval(s sample.Series) time.Duration {
	if d, ok := p.devices[s.Device]; ok && d.Interval > 0 {
		return d.Interval.Std()
	}
	if iv := p.cfg.Collection.Intervals.For(config.DeviceClass(s.Class)); iv > 0 {
		return iv.Std()
	}
	return time.Minute
}

// maxHold is how long a device's reading holds: its interval × the max gap
// factor (DESIGN.md, energy rule 2).
func (p *plant) maxHold(s sample.Series) time.Duration {
	f := p.cfg.Collection.MaxGapFactor
	if f < 1 {
		f = 3
	}
	return time.Duration(f * float64(p.interval(s)))
}

// role returns the accounting role of a meter: a device's role for its
// total meter, none for everything else.
func (p *plant) role(device, meter string) config.AccountingRole {
	d, ok := p.devices[device]
	if !ok || meter != "total" {
		return config.RoleNone
	}
	return d.AccountingRole
}

// fedBy returns the devices a meter feeds (config feeds), for outlets.
func (p *plant) fedBy(device, meter string) []string { return p.feeds[device+"/"+meter] }

// protected reports whether the power controller may never act on a
// device, and why.
func (p *plant) protected(device string) (bool, string) {
	if d, ok := p.devices[device]; ok && d.Criticality == config.CriticalityPatientCritical {
		return true, device + " is patient-critical"
	}
	for _, n := range p.cfg.Control.DenyList {
		if n == device {
			return true, device + " is on control.deny_list"
		}
	}
	return false, ""
}

// idleW returns a device's datasheet idle power from its idle_w tag.
func (p *plant) idleW(device string) (float64, error) {
	d, ok := p.devices[device]
	if !ok {
		return 0, nil
	}
	v, ok := d.Tags[IdleTag]
	if !ok {
		return 0, nil
	}
	w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || !(w > 0) {
		return 0, fmt.Errorf("device %s: tag %s: %q is not a power in watts", device, IdleTag, v)
	}
	return w, nil
}
