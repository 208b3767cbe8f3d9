package outbox

import (
	"errors"
	"reflect"
	"testing"

	"github.com/ecometer/ecometer/internal/store/storetest"
	"github.com/ecometer/ecometer/models/sample"
)

func TestCodecRoundTrip(t *testing.T) {
	in := storetest.Samples()
	in = append(in, sample.Sample{Series: sample.Series{Measurement: sample.Device, Device: "æøå \"quoted\"", Meter: "poe/Gi1/0/5"},
		Time: storetest.Base, Fields: []sample.Field{sample.T("power_state", ""), sample.F("poll_ms", -0.5)}})
	b := encode(nil, in)
	out, err := decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("round trip changed the batch:\n in[0]=%+v\nout[0]=%+v", in[0], out[0])
	}
	// Interning: 242 samples that share their tags cost far less than their strings.
	if per := len(b) / len(in); per > 60 {
		t.Errorf("%d bytes per sample; interning does not work", per)
	}
}

func TestDecodeRejectsDamage(t *testing.T) {
	good := encode(nil, storetest.Samples()[:3])
	cases := map[string][]byte{
		"empty":          {},
		"version":        append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge count":     {codecVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := decode(b); !errors.Is(err, errCorrupt) {
				t.Fatalf("decode(%s) = %v, want errCorrupt", name, err)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(encode(nil, storetest.Samples()[:2]))
	f.Add([]byte{codecVersion, 1, 0, 1, 'x'})
	f.Fuzz(func(t *testing.T, b []byte) {
		out, err := decode(b)
		if err != nil {
			return
		}
		// Whatever decodes must encode back to the same bytes.
		if again := encode(nil, out); !reflect.DeepEqual(again, b) {
			// Interning makes encoding canonical only for batches that
			// reference each string once; decoding the re-encoding must
			// still give the same samples.
			back, err := decode(again)
			if err != nil || !reflect.DeepEqual(back, out) {
				t.Fatalf("re-encoding changed the batch: %v", err)
			}
		}
	})
}
