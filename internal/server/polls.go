package server

import (
	"slices"
	"sync"
	"time"
)

// Polls remembers each device's last successful poll, for /healthz. It is
// safe for concurrent use: every device's job reports to it.
type Polls struct {
	mu      sync.Mutex
	devices []string
	last    map[string]time.Time
}

// NewPolls returns a Polls for the devices, in the order /healthz lists
// them.
func NewPolls(devices ...string) *Polls {
	return &Polls{devices: devices, last: make(map[string]time.Time, len(devices))}
}

// OK records a successful poll of device at t.
func (p *Polls) OK(device string, t time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, known := p.last[device]; !known && !slices.Contains(p.devices, device) {
		p.devices = append(p.devices, device)
	}
	p.last[device] = t
}

// Devices returns every device with its last successful poll.
func (p *Polls) Devices() []DevicePoll {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]DevicePoll, len(p.devices))
	for i, d := range p.devices {
		out[i] = DevicePoll{Device: d, LastOK: p.last[d]}
	}
	return out
}
