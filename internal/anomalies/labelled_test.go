package anomalies

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/anomaly"
)

// labelledFloor is the precision and recall every kind must reach on the
// labelled set (fixed seed); the test fails below it. With seeds 1–5 as
// well (ECOMETER_LABELLED_SEED=N go test -v -run TestLabelledSet), the
// lowest figures were: deviation precision 0.978, recall 0.928; drift 0.953
// and 0.956; every domain rule 1.000. What is missed or confused is a small
// step (7–16 %) or drift under heavy noise, taken for the other or not
// found.
var labelledFloor = map[anomaly.Kind]struct{ precision, recall float64 }{
	anomaly.Deviation:      {0.95, 0.92},
	anomaly.Drift:          {0.95, 0.95},
	anomaly.Flatline:       {0.95, 0.95},
	anomaly.CounterReset:   {0.95, 0.95},
	anomaly.PUEStep:        {0.95, 0.95},
	anomaly.UPSEfficiency:  {0.95, 0.95},
	anomaly.PowerWhileOff:  {0.95, 0.95},
	anomaly.PhaseImbalance: {0.95, 0.95},
}

// matchTolerance is how far a finding may lie outside its label's span and
// still be that label's.
const matchTolerance = 24 * time.Hour

type kindScore struct {
	labels, found, truePos, missed int
	falsePos, misses, dups         []string
}

// precision counts a label found twice (a change reported in two pieces)
// once, and reports the pieces apart (dups).
func (s kindScore) precision() float64 {
	if s.truePos+len(s.falsePos) == 0 {
		return 1
	}
	return float64(s.truePos) / float64(s.truePos+len(s.falsePos))
}

func (s kindScore) recall() float64 {
	if s.labels == 0 {
		return 1
	}
	return float64(s.labels-s.missed) / float64(s.labels)
}

// scoreLabelled matches findings to labels: a finding is a true positive
// when a label of its kind and meter overlaps it (within matchTolerance).
func scoreLabelled(labels []label, found []anomaly.Anomaly) map[anomaly.Kind]*kindScore {
	out := map[anomaly.Kind]*kindScore{}
	for _, k := range anomaly.Kinds {
		out[k] = &kindScore{}
	}
	for i := range labels {
		labels[i].matched = false
		out[labels[i].kind].labels++
	}
	for _, a := range found {
		s := out[a.Kind]
		s.found++
		hit, dup := false, false
		for i := range labels {
			l := &labels[i]
			if l.kind == a.Kind && l.site == a.Site && l.device == a.Device && l.meter == a.Meter &&
				a.Start.Before(l.end.Add(matchTolerance)) && a.End.After(l.start.Add(-matchTolerance)) {
				dup = dup || l.matched
				l.matched, hit = true, true
			}
		}
		switch {
		case hit && dup:
			s.dups = append(s.dups, fmt.Sprintf("%s/%s/%s %s %s", a.Site, a.Device, a.Meter, a.Start.Format(time.RFC3339), a.Explanation))
		case hit:
			s.truePos++
		default:
			s.falsePos = append(s.falsePos, fmt.Sprintf("%s/%s/%s %s %s", a.Site, a.Device, a.Meter, a.Start.Format(time.RFC3339), a.Explanation))
		}
	}
	for _, l := range labels {
		if !l.matched {
			out[l.kind].missed++
			out[l.kind].misses = append(out[l.kind].misses, fmt.Sprintf("%s/%s/%s %s – %s: %s", l.site, l.device, l.meter,
				l.start.Format(time.RFC3339), l.end.Format(time.RFC3339), l.what))
		}
	}
	return out
}

// TestLabelledSet plants anomalies at random (fixed seed) among generated
// meters with weekly cycles, noise and odd readings, runs Detect on the
// SQLite store and checks precision and recall per kind against
// labelledFloor. The figures are logged (go test -v -run TestLabelledSet).
func TestLabelledSet(t *testing.T) {
	size := setSize{power: 600, pdus: 40, upss: 30, servers: 40, sites: 16}
	switch {
	case raceEnabled:
		size = setSize{power: 100, pdus: 12, upss: 6, servers: 8, sites: 5}
	case testing.Short():
		size = setSize{power: 150, pdus: 12, upss: 10, servers: 12, sites: 6}
	}
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seed := uint64(20250303)
	if s := os.Getenv("ECOMETER_LABELLED_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	set := genLabelled(t, st, seed, size, 14)
	rep, err := Detect(context.Background(), st, set.cfg, Options{From: set.from, To: set.to})
	if err != nil {
		t.Fatal(err)
	}
	scores := scoreLabelled(set.labels, rep.Anomalies)
	var b strings.Builder
	fmt.Fprintf(&b, "labelled set: %d meters, %d planted anomalies, %d planted non-anomalies, 14 days checked\n",
		set.meters, len(set.labels), set.negatives)
	fmt.Fprintf(&b, "%-20s %7s %6s %5s %5s %6s %9s %7s\n", "kind", "planted", "found", "TP", "FP", "pieces", "precision", "recall")
	for _, k := range anomaly.Kinds {
		s := scores[k]
		fmt.Fprintf(&b, "%-20s %7d %6d %5d %5d %6d %9.3f %7.3f\n", k, s.labels, s.found, s.truePos, len(s.falsePos), len(s.dups),
			s.precision(), s.recall())
	}
	fmt.Fprintf(&b, "(pieces: further findings of a change already found, e.g. a step reported in two runs)\n")
	t.Log("\n" + b.String())
	if testing.Verbose() {
		for _, k := range anomaly.Kinds {
			for _, f := range scores[k].falsePos {
				t.Logf("false %s: %s", k, f)
			}
			for _, m := range scores[k].misses {
				t.Logf("missed %s: %s", k, m)
			}
			for _, d := range scores[k].dups {
				t.Logf("piece %s: %s", k, d)
			}
		}
	}
	for _, k := range anomaly.Kinds {
		s, f := scores[k], labelledFloor[k]
		if s.labels == 0 {
			t.Errorf("%s: nothing planted; the set tests nothing", k)
		}
		if s.precision() < f.precision || s.recall() < f.recall {
			t.Errorf("%s: precision %.3f (floor %.2f), recall %.3f (floor %.2f)\nfalse positives:\n  %s\nmissed:\n  %s", k,
				s.precision(), f.precision, s.recall(), f.recall, strings.Join(s.falsePos, "\n  "), strings.Join(s.misses, "\n  "))
		}
	}
}
