package outbox

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/sample"
)

// The on-disk form of one batch: a version byte, the sample count, then each
// sample as its eight series strings, its time and its fields. Strings are
// interned per batch (a uvarint reference to an earlier string, or 0 and the
// bytes), since tags repeat on every sample of a device.
const codecVersion = 1

type encoder struct {
	buf  []byte
	seen map[string]uint64
}

func (e *encoder) str(s string) {
	if i, ok := e.seen[s]; ok {
		e.buf = binary.AppendUvarint(e.buf, i)
		return
	}
	e.seen[s] = uint64(len(e.seen) + 1)
	e.buf = append(e.buf, 0)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(s)))
	e.buf = append(e.buf, s...)
}

// encode appends the batch to dst.
func encode(dst []byte, batch []sample.Sample) []byte {
	e := encoder{buf: dst, seen: make(map[string]uint64, 64)}
	e.buf = append(e.buf, codecVersion)
	e.buf = binary.AppendUvarint(e.buf, uint64(len(batch)))
	for i := range batch {
		s := &batch[i]
		for _, v := range [...]string{s.Measurement, s.Site, s.Room, s.Rack, s.Device, s.Class, s.Meter, s.Source} {
			e.str(v)
		}
		e.buf = binary.AppendVarint(e.buf, s.Time.UnixNano())
		e.buf = binary.AppendUvarint(e.buf, uint64(len(s.Fields)))
		for _, f := range s.Fields {
			e.str(f.Name)
			e.buf = append(e.buf, byte(f.Kind))
			if f.Kind == sample.Text {
				e.str(f.Text)
			} else {
				e.buf = binary.LittleEndian.AppendUint64(e.buf, math.Float64bits(f.Num))
			}
		}
	}
	return e.buf
}

var errCorrupt = errors.New("corrupt batch")

type decoder struct {
	buf  []byte
	strs []string
	err  error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", errCorrupt, what, len(d.buf))
	}
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.buf)
	if n <= 0 {
		d.fail("bad uvarint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.buf)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.buf = d.buf[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.buf) < 1 {
		d.fail("truncated")
		return 0
	}
	b := d.buf[0]
	d.buf = d.buf[1:]
	return b
}

func (d *decoder) str() string {
	ref := d.uvarint()
	if d.err != nil {
		return ""
	}
	if ref > 0 {
		if ref > uint64(len(d.strs)) {
			d.fail("bad string reference")
			return ""
		}
		return d.strs[ref-1]
	}
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.buf)) {
		d.fail("string longer than batch")
		return ""
	}
	s := string(d.buf[:n])
	d.buf = d.buf[n:]
	d.strs = append(d.strs, s)
	return s
}

// decode is the inverse of encode. It never panics on bad input.
func decode(b []byte) ([]sample.Sample, error) {
	d := decoder{buf: b}
	if v := d.byte(); d.err == nil && v != codecVersion {
		return nil, fmt.Errorf("%w: unknown version %d", errCorrupt, v)
	}
	n := d.uvarint()
	// Every sample takes at least 11 bytes; a count beyond that is corrupt
	// (and must not make us allocate).
	if d.err == nil && n > uint64(len(d.buf))/11 {
		d.fail("sample count larger than batch")
	}
	if d.err != nil {
		return nil, d.err
	}
	out := make([]sample.Sample, 0, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		var s sample.Sample
		s.Measurement, s.Site, s.Room, s.Rack = d.str(), d.str(), d.str(), d.str()
		s.Device, s.Class, s.Meter, s.Source = d.str(), d.str(), d.str(), d.str()
		s.Time = time.Unix(0, d.varint()).UTC()
		nf := d.uvarint()
		if d.err == nil && nf > uint64(len(d.buf))/3 {
			d.fail("field count larger than batch")
		}
		if d.err != nil {
			break
		}
		s.Fields = make([]sample.Field, 0, nf)
		for j := uint64(0); j < nf && d.err == nil; j++ {
			f := sample.Field{Name: d.str(), Kind: sample.Kind(d.byte())}
			switch f.Kind {
			case sample.Text:
				f.Text = d.str()
			case sample.Float, sample.Bool:
				if d.err == nil && len(d.buf) < 8 {
					d.fail("truncated number")
					break
				}
				if d.err == nil {
					f.Num = math.Float64frombits(binary.LittleEndian.Uint64(d.buf))
					d.buf = d.buf[8:]
				}
			default:
				d.fail("bad field kind")
			}
			s.Fields = append(s.Fields, f)
		}
		out = append(out, s)
	}
	if d.err == nil && len(d.buf) != 0 {
		d.fail("trailing bytes")
	}
	if d.err != nil {
		return nil, d.err
	}
	return out, nil
}
