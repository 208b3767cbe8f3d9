package snmp

// PowerOIDs returns the OIDs (columns and scalars, dotted, as the profiles
// give them) that the registry's profiles read as power, apparent power or
// current, once each: what a simulator varies to make a recording look like
// a live load. Counters are left out.
func (r *Registry) PowerOIDs() []string {
	seen := map[string]bool{}
	var out []string
	for _, p := range r.Profiles() {
		for _, m := range p.Metrics {
			if m.Kind == "counter" || (m.Unit != "W" && m.Unit != "VA" && m.Unit != "A") {
				continue
			}
			o := m.Column
			if o == "" {
				o = m.Scalar
			}
			if o == "" || seen[o] {
				continue
			}
			seen[o] = true
			out = append(out, o)
		}
	}
	return out
}
