package snmp

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Variation makes a recording look alive. Gauge32 and Integer values below
// one of the Power prefixes swing by up to ±Pct percent around the recorded
// value, on a sine with a period of 1 to 10 minutes; Counter32 and Counter64
// values grow by a steady per-OID rate (1 to 1000 per second) from the
// recorded value and wrap at their width. Phase, period and rate come from a
// hash of Seed and the OID, so two agents with the same seed and elapsed time
// return the same values.
type Variation struct {
	Seed  int64
	Pct   float64
	Power []OID
}

// hash64 mixes the seed and the OID into a stable per-variable number.
func (v *Variation) hash64(oid OID) uint64 {
	h := fnv.New64a()
	_ = binary.Write(h, binary.BigEndian, v.Seed)
	_ = binary.Write(h, binary.BigEndian, []uint32(oid))
	return h.Sum64()
}

func (v *Variation) isPower(oid OID) bool {
	for _, p := range v.Power {
		if oid.HasPrefix(p) {
			return true
		}
	}
	return false
}

// apply returns the value of variable x after elapsed time since the agent
// started. Values of other types are returned unchanged.
func (v *Variation) apply(x *Var, elapsed time.Duration) any {
	h := v.hash64(x.OID)
	secs := elapsed.Seconds()
	switch x.Type {
	case gosnmp.Counter32:
		rate := 1 + h%1000
		return x.Value.(uint32) + uint32(uint64(secs*float64(rate)))
	case gosnmp.Counter64:
		rate := 1 + h%1000
		return x.Value.(uint64) + uint64(secs*float64(rate))
	case gosnmp.Gauge32, gosnmp.Integer:
		if !v.isPower(x.OID) {
			return x.Value
		}
		period := 60 + float64(h%541)                          // seconds
		phase := float64(h>>32) / float64(1<<32) * 2 * math.Pi // radians
		f := 1 + v.Pct/100*math.Sin(2*math.Pi*secs/period+phase)
		if x.Type == gosnmp.Gauge32 {
			return uint32(min(max(math.Round(float64(x.Value.(uint32))*f), 0), math.MaxUint32))
		}
		return int(min(max(math.Round(float64(x.Value.(int))*f), math.MinInt32), math.MaxInt32))
	}
	return x.Value
}
