// Package shard decides which of n ecometer instances polls a device:
// rendezvous (highest random weight) hashing of the device's name, as in
// Thaler & Ravishankar, "Using name-based mappings to increase hit rates"
// (IEEE/ACM ToN 6(1), 1998). Every instance runs the same configuration and
// computes the same owner for every device, without talking to the others;
// when n changes, only the devices whose highest-weight instance changed
// move: about 1/n of them going from n-1 to n instances.
package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// Shard is this instance's place among Of instances: Index in 0..Of-1.
// The zero value (Of 0) and Of 1 own every device.
type Shard struct {
	Index, Of int
}

// Parse reads "i/n" (0 ≤ i < n); "" is the whole (one instance).
func Parse(s string) (Shard, error) {
	if strings.TrimSpace(s) == "" {
		return Shard{Index: 0, Of: 1}, nil
	}
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: want i/n, e.g. 0/3 (instance 0 of 3)", s)
	}
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err := errors.Join(err1, err2); err != nil {
		return Shard{}, fmt.Errorf("shard %q: want two whole numbers i/n: %w", s, err)
	}
	sh := Shard{Index: i, Of: n}
	return sh, sh.Validate()
}

// Validate checks 0 ≤ Index < Of, Of ≥ 1.
func (s Shard) Validate() error {
	if s.Of < 1 || s.Index < 0 || s.Index >= s.Of {
		return fmt.Errorf("shard %d/%d: want 0 ≤ i < n and n ≥ 1", s.Index, s.Of)
	}
	return nil
}

// All reports whether the shard owns every device (one instance).
func (s Shard) All() bool { return s.Of <= 1 }

func (s Shard) String() string {
	if s.All() {
		return "0/1"
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Of)
}

// Owns reports whether this shard polls the device.
func (s Shard) Owns(device string) bool {
	return s.All() || Owner(device, s.Of) == s.Index
}

// Owner is the instance (0..n-1) that polls device among n.
func Owner(device string, n int) int {
	if n <= 1 {
		return 0
	}
	best, bestW := 0, uint64(0)
	for i := range n {
		if w := weight(device, i); i == 0 || w > bestW {
			best, bestW = i, w
		}
	}
	return best
}

// weight is the device's score on instance i: FNV-1a over the name and the
// instance number, finished with a 64-bit mixer (splitmix64's) so that
// names differing in one character spread evenly over the instances.
func weight(device string, i int) uint64 {
	h := fnv.New64a()
	h.Write([]byte(device))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	h.Write(b[:])
	x := h.Sum64()
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
