package shard

import (
	"fmt"
	"math"
	"testing"
)

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("pdu-r%02d-%03d", i%40, i)
	}
	return out
}

func TestEveryDeviceOwnedExactlyOnce(t *testing.T) {
	devs := names(10_000)
	for n := 1; n <= 5; n++ {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			counts := make([]int, n)
			for _, d := range devs {
				owners := 0
				for i := range n {
					if (Shard{Index: i, Of: n}).Owns(d) {
						owners++
						counts[i]++
					}
				}
				if owners != 1 {
					t.Fatalf("%s owned by %d of %d instances, want exactly 1", d, owners, n)
				}
			}
			// Balance: each instance within 5 % of the fair share
			// (10,000 names: a binomial σ of ≤ 0.5 % of the share).
			fair := float64(len(devs)) / float64(n)
			for i, c := range counts {
				if math.Abs(float64(c)-fair) > 0.05*fair {
					t.Errorf("instance %d/%d owns %d devices, fair share %.0f", i, n, c, fair)
				}
			}
		})
	}
}

func TestMovementWhenNChanges(t *testing.T) {
	devs := names(10_000)
	for n := 1; n <= 5; n++ {
		moved := 0
		for _, d := range devs {
			before, after := Owner(d, n), Owner(d, n+1)
			if before != after {
				moved++
				// Rendezvous hashing moves a device only to the new
				// instance, never between the old ones.
				if after != n {
					t.Fatalf("%s moved from %d to %d when going from %d to %d instances", d, before, after, n, n+1)
				}
			}
		}
		share, ideal := float64(moved)/float64(len(devs)), 1/float64(n+1)
		t.Logf("%d → %d instances: %.1f %% of devices moved (ideal %.1f %%)", n, n+1, 100*share, 100*ideal)
		if math.Abs(share-ideal) > 0.02 {
			t.Errorf("%d → %d instances moved %.3f of devices, want about %.3f", n, n+1, share, ideal)
		}
	}
}

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{"", Shard{0, 1}, false},
		{"0/1", Shard{0, 1}, false},
		{"2/3", Shard{2, 3}, false},
		{" 1 / 4 ", Shard{1, 4}, false},
		{"3/3", Shard{}, true},
		{"-1/3", Shard{}, true},
		{"0/0", Shard{}, true},
		{"1", Shard{}, true},
		{"a/b", Shard{}, true},
	} {
		got, err := Parse(tc.in)
		if (err != nil) != tc.wantErr || (!tc.wantErr && got != tc.want) {
			t.Errorf("Parse(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"", "0/1", "2/3", "x/y", "1/-2", "999999999999999999999/1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sh, err := Parse(s)
		if err != nil {
			return
		}
		if sh.Validate() != nil {
			t.Fatalf("Parse(%q) = %v, which does not validate", s, sh)
		}
		if !sh.Owns("x") && Owner("x", sh.Of) == sh.Index {
			t.Fatalf("Owns and Owner disagree for %v", sh)
		}
	})
}
