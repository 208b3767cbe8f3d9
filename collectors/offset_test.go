package collectors

import (
	"fmt"
	"testing"
	"time"
)

// Devices are spread over the interval in whole seconds, so that the
// devices due in the same second are polled together (see offset), and
// still over all of it; an interval under two seconds is spread finely.
func TestOffsetsInWholeSecondsOverTheInterval(t *testing.T) {
	seconds := map[time.Duration]int{}
	for i := range 6000 {
		dev := fmt.Sprintf("pdu-%05d", i)
		off := offset(dev, time.Minute)
		if off < 0 || off >= time.Minute || off%time.Second != 0 {
			t.Fatalf("offset(%s, 1m) = %v, want whole seconds in [0, 1m)", dev, off)
		}
		if again := offset(dev, time.Minute); again != off {
			t.Fatalf("offset(%s) not stable: %v then %v", dev, off, again)
		}
		seconds[off]++
	}
	if len(seconds) != 60 {
		t.Errorf("6000 devices use %d of the 60 seconds of the interval", len(seconds))
	}
	for s, n := range seconds {
		if n < 50 || n > 150 {
			t.Errorf("second %v holds %d of 6000 devices, want about 100", s, n)
		}
	}
	fine := map[time.Duration]bool{}
	for i := range 100 {
		off := offset(fmt.Sprintf("d%d", i), 1500*time.Millisecond)
		if off < 0 || off >= 1500*time.Millisecond {
			t.Fatalf("offset at 1.5 s = %v", off)
		}
		fine[off] = true
	}
	if len(fine) < 90 {
		t.Errorf("at a 1.5 s interval 100 devices share %d offsets, want them spread finely", len(fine))
	}
}
