// Package units holds typed physical quantities, so that mixing power, energy,
// intensity and emissions does not compile.
package units

import "time"

// Watts is power.
type Watts float64

// KWh is energy in kilowatt-hours.
type KWh float64

// GramsPerKWh is a carbon intensity: grams of CO2 (or CO2e) per kWh.
type GramsPerKWh float64

// KgCO2e is an emission in kilograms of CO2 equivalent.
type KgCO2e float64

// Over returns the energy of constant power p held for d.
func (p Watts) Over(d time.Duration) KWh {
	return KWh(float64(p) * d.Hours() / 1000)
}

// Times returns the emission of energy e at intensity i (kWh × g/kWh = g; /1000 = kg).
func (e KWh) Times(i GramsPerKWh) KgCO2e {
	return KgCO2e(float64(e) * float64(i) / 1000)
}

// Per returns the intensity of emission k spread over energy e
// (kg / kWh × 1000 = g/kWh). It is 0 when e is 0.
func (k KgCO2e) Per(e KWh) GramsPerKWh {
	if e == 0 {
		return 0
	}
	return GramsPerKWh(float64(k) * 1000 / float64(e))
}
