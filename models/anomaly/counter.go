package anomaly

import (
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/energy"
)

// CounterResets reports every counter reset among a meter's counter events
// (energy.FromAggregates.Events) in [from, to). A wrap (the counter passed
// its known maximum) is normal and not reported. With the counter's width
// unknown, every drop is a reset (energy.FromCounter).
func CounterResets(m Meter, events []energy.HourEvent, from, to time.Time) []Anomaly {
	var out []Anomaly
	for _, e := range events {
		if e.Event != energy.Reset || e.Hour.Before(from) || !e.Hour.Before(to) {
			continue
		}
		a := m.anomaly(CounterReset, e.Hour, e.Hour.Add(time.Hour))
		a.Direction = "down"
		a.Evidence = map[string]float64{"from_kwh": e.FromKWh, "to_kwh": e.ToKWh, "hour_kwh": float64(e.Energy)}
		a.Explanation = sentence(
			fmt.Sprintf("The energy counter of %s went backwards, from %s (%s) to %s (%s).", m.name(),
				fmtValue(e.FromKWh, "kWh"), when(e.FromAt, m.Loc), fmtValue(e.ToKWh, "kWh"), when(e.ToAt, m.Loc)),
			"The device restarted its counter (a reboot or firmware update, a counter cleared by hand) or the meter was replaced.",
			fmt.Sprintf("No energy was subtracted: the hour counts the new reading, %s, which may miss what was used before the reset.", fmtValue(float64(e.Energy), "kWh")),
			"If this counter is known to wrap at a maximum, it is a wrap instead.")
		out = append(out, a)
	}
	return out
}
