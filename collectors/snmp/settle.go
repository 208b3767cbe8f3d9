package snmp

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// CandidateResult says what one candidate profile read when it was tried.
type CandidateResult struct {
	Profile       string `json:"profile"`
	By            string `json:"by"`
	Tried         bool   `json:"tried"`
	Readings      int    `json:"readings"`
	PowerReadings int    `json:"power_readings"`
	Chosen        bool   `json:"chosen"`
	// Reason says, for people, why the candidate was or was not chosen.
	Reason string `json:"reason"`
}

// powerFields are the fields that meter power: a profile that fills none
// of them reads no power, whatever else it reads.
var powerFields = map[string]bool{"power_w": true, "energy_kwh": true, "input_w": true, "output_w": true}

// powerFieldList is powerFields for messages.
const powerFieldList = "power_w, energy_kwh, input_w, output_w"

// PowerReadings returns how many readings meter power.
func PowerReadings(rs []Reading) int {
	n := 0
	for i := range rs {
		if powerFields[rs[i].Field] {
			n++
		}
	}
	return n
}

// settled is the outcome of trying a device's candidates.
type settled struct {
	plan     *plan // nil: no candidate
	readings []reading
	power    int // readings that meter power
	tried    []CandidateResult
}

// settle polls the candidates in order and keeps the first that yields a
// power reading. When none does, it keeps the first that read anything
// (a UPS whose agent has no power object still reports its battery),
// else the first: a device is never settled on nothing while another
// candidate reads power. A transport error ends the attempt: the device
// did not answer, which is no verdict on the profile.
func settle(ctx context.Context, t Transport, reg *Registry, cands []Candidate, log *slog.Logger) (settled, error) {
	out := settled{tried: make([]CandidateResult, len(cands))}
	chosen := -1
	for i, c := range cands {
		out.tried[i] = CandidateResult{Profile: c.Profile.Name, By: c.By}
	}
	for i, c := range cands {
		pl := newPlan(c.Profile, reg)
		snap, err := pl.read(ctx, t)
		if err != nil {
			return out, err
		}
		pub := publicReadings(pl.evaluate(snap, log))
		rs := pl.out
		tr := &out.tried[i]
		tr.Tried, tr.Readings, tr.PowerReadings = true, len(pub), PowerReadings(pub)
		switch {
		case tr.PowerReadings > 0:
			tr.Reason = fmt.Sprintf("%s, %d of power", plural(tr.Readings, "reading"), tr.PowerReadings)
		case tr.Readings > 0:
			tr.Reason = fmt.Sprintf("%s, none of power (%s)", plural(tr.Readings, "reading"), powerFieldList)
		default:
			tr.Reason = "no readings: the agent answered none of the profile's objects (or only with its \"not available\" value)"
		}
		if chosen < 0 || (out.tried[chosen].Readings == 0 && tr.Readings > 0) || tr.PowerReadings > 0 {
			chosen, out.plan, out.readings, out.power = i, pl, rs, tr.PowerReadings
		}
		if tr.PowerReadings > 0 {
			break
		}
		if i+1 < len(cands) {
			log.Debug("snmp: profile yields no power reading, trying the next candidate",
				"profile", c.Profile.Name, "next", cands[i+1].Profile.Name, "reason", tr.Reason)
		}
	}
	for i := range out.tried {
		if !out.tried[i].Tried {
			out.tried[i].Reason = "not tried: an earlier candidate reads power"
		}
	}
	if chosen >= 0 {
		out.tried[chosen].Chosen = true
	}
	return out, nil
}

// NoPowerReason says in one line why no candidate read power, naming each.
func NoPowerReason(tried []CandidateResult) string {
	if len(tried) == 0 {
		return "no profile matches the device"
	}
	parts := make([]string, len(tried))
	for i, c := range tried {
		parts[i] = fmt.Sprintf("%s (%s): %s", c.Profile, c.By, c.Reason)
	}
	return strings.Join(parts, "; ")
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
