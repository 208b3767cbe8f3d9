package server

import (
	"slices"
	"sync"
	"time"
)

// Polls remembers each device's latest poll outcomes, for /healthz. It is
// safe for concurrent use: every device's job reports to it.
type Polls struct {
	mu      sync.Mutex
	devices []string
	state   map[string]*DevicePoll
}

// NewPolls returns a Polls for the devices, in the order /healthz lists
// them.
func NewPolls(devices ...string) *Polls {
	p := &Polls{state: make(map[string]*DevicePoll, len(devices))}
	for _, d := range devices {
		p.get(d)
	}
	return p
}

func (p *Polls) get(device string) *DevicePoll {
	st, ok := p.state[device]
	if !ok {
		st = &DevicePoll{Device: device}
		p.state[device] = st
		p.devices = append(p.devices, device)
	}
	return st
}

// OK records a successful poll of device at t. It reports whether it was
// the device's first.
func (p *Polls) OK(device string, t time.Time) (first bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.get(device)
	first = st.LastOK.IsZero()
	st.LastOK, st.Failures = t, 0
	return first
}

// Fail records a failed poll of device at t. It returns the number of
// failures since the last good poll.
func (p *Polls) Fail(device string, t time.Time, err error) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := p.get(device)
	st.LastError, st.LastErrorAt = err.Error(), t
	st.Failures++
	return st.Failures
}

// Failures returns the device's failed polls since its last good one.
func (p *Polls) Failures(device string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if st, ok := p.state[device]; ok {
		return st.Failures
	}
	return 0
}

// SetProfile records what a device was detected as.
func (p *Polls) SetProfile(device, profile string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.get(device).Profile = profile
}

// Add lists a device (it joined the configuration) before its first poll.
func (p *Polls) Add(device string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.get(device)
}

// Remove forgets a device (it left the configuration).
func (p *Polls) Remove(device string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.state[device]; !ok {
		return
	}
	delete(p.state, device)
	p.devices = slices.DeleteFunc(p.devices, func(d string) bool { return d == device })
}

// Devices returns every device's state.
func (p *Polls) Devices() []DevicePoll {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]DevicePoll, len(p.devices))
	for i, d := range p.devices {
		out[i] = *p.state[d]
	}
	return out
}
