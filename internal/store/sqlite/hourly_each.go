package sqlite

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// maxHourlyReaders is the most connections HourlyEach reads series with at
// once (it uses at most GOMAXPROCS). The rollup scan is CPU-bound in SQLite's
// VM, so readers beyond the cores only add contention.
const maxHourlyReaders = 4

// ctxCheckRows is how many rollup rows a reader reads between two looks at
// the context.
const ctxCheckRows = 1 << 14

// HourlyEach calls fn for every aggregate Hourly returns, in the same order,
// as they are read. Series are read one at a time (their rollups in key
// order, merged with the aggregation of their raw rows) by up to
// min(GOMAXPROCS, maxHourlyReaders) connections in parallel, each through
// the SQLite C API (see rawConn), and handed to fn in series order from the
// calling goroutine; memory holds a few series' hours, however long the
// range. All readers see one consistent snapshot of the database, so a
// Compact or a Write running meanwhile cannot make an hour count twice or
// vanish. An error from fn stops the iteration and is returned as is.
func (s *Store) HourlyEach(ctx context.Context, q store.Query, fn func(store.Hourly) error) error {
	errFn, err := s.hourlyEach(ctx, q, fn)
	if errFn != nil {
		return errFn
	}
	if err != nil {
		return fmt.Errorf("sqlite %s: hourly: %w", s.path, err)
	}
	return nil
}

// hourBounds widens [from, to) to whole hours; a zero bound stays open.
func hourBounds(from, to time.Time) (time.Time, time.Time) {
	if !from.IsZero() {
		from = from.Truncate(time.Hour)
	}
	if !to.IsZero() {
		if t := to.Truncate(time.Hour); t.Before(to) {
			to = t.Add(time.Hour)
		}
	}
	return from, to
}

// hourlyEach returns fn's error apart from its own.
func (s *Store) hourlyEach(ctx context.Context, q store.Query, fn func(store.Hourly) error) (errFn, err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return nil, errClosed
	}
	n := min(runtime.GOMAXPROCS(0), maxHourlyReaders)
	if s.readOnly {
		n = 1 // the snapshot of several readers needs the write lock
	}
	readers, list, err := s.openReaders(ctx, q, n)
	defer func() {
		for _, r := range readers {
			r.close()
		}
	}()
	if err != nil || len(list) == 0 {
		return nil, err
	}
	if len(readers) == 1 {
		return readers[0].each(ctx, list, fn)
	}
	return eachParallel(ctx, readers, list, fn)
}

// openReaders opens up to n readers, all in one snapshot, and lists the
// series that match q. It returns the readers it opened also on error.
func (s *Store) openReaders(ctx context.Context, q store.Query, n int) ([]*hourlyReader, []seriesRow, error) {
	from, to := hourBounds(q.From, q.To)
	var readers []*hourlyReader
	open := func() (*hourlyReader, error) {
		r, err := openHourlyReader(s.path, s.immutable, from, to)
		if err != nil {
			return nil, err
		}
		readers = append(readers, r)
		return r, nil
	}
	if n <= 1 {
		r, err := open()
		if err != nil {
			return readers, nil, err
		}
		list, err := seriesListRaw(r.c, sample.Power, q)
		if err != nil {
			return readers, nil, err
		}
		return readers, list, r.planHours(from, to)
	}
	// The write lock keeps every other writer from committing while the
	// readers start their read transactions, so that they all see the same
	// snapshot; it is held for as long as that takes (milliseconds).
	lock, err := s.wdb.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return readers, nil, fmt.Errorf("lock for a snapshot: %w", err)
	}
	defer lock.Rollback()
	first, err := open()
	if err != nil {
		return readers, nil, err
	}
	list, err := seriesListRaw(first.c, sample.Power, q)
	if err != nil {
		return readers, nil, fmt.Errorf("series: %w", err)
	}
	if err := first.planHours(from, to); err != nil {
		return readers, nil, err
	}
	for range min(n, len(list)) - 1 {
		r, err := open()
		if err != nil {
			return readers, nil, err
		}
		if err := r.c.exec(`SELECT 1 FROM hourly_power LIMIT 1`); err != nil {
			return readers, nil, fmt.Errorf("start snapshot: %w", err)
		}
		r.valid, r.gaps = first.valid, first.gaps
	}
	return readers, list, nil
}

// planHours splits [from, to) (whole hours; zero is open) into the hours
// whose materialized aggregates are valid in the reader's snapshot
// (r.valid) and the ranges between them, read from the raw rows (r.gaps).
func (r *hourlyReader) planHours(from, to time.Time) error {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !from.IsZero() {
		lo = clampNS(from)
	}
	if !to.IsZero() {
		hi = clampNS(to)
	}
	st, err := r.c.prepare(validHoursSQL)
	if err != nil {
		return fmt.Errorf("materialized hours: %w", err)
	}
	defer st.finalize()
	if err := st.bind(lo, hi); err != nil {
		return fmt.Errorf("materialized hours: %w", err)
	}
	r.valid = r.valid[:0]
	for {
		ok, err := st.step()
		if err != nil {
			return fmt.Errorf("materialized hours: %w", err)
		}
		if !ok {
			break
		}
		r.valid = append(r.valid, st.int64(0))
	}
	r.gaps = r.gaps[:0]
	cur := lo
	for _, h := range r.valid {
		if h > cur {
			r.gaps = append(r.gaps, [2]int64{cur, h})
		}
		cur = h + hourNS
	}
	if cur < hi {
		r.gaps = append(r.gaps, [2]int64{cur, hi})
	}
	return nil
}

// hourlyReader is one connection in an open read transaction, with the
// statements that read a series' hours in [from, to).
type hourlyReader struct {
	c        *rawConn
	rollArgs []any    // the time bounds of rollStmt
	rawStmt  *rawStmt // aggregates of raw rows in a range
	matStmt  *rawStmt // materialized aggregates in a range
	rollStmt *rawStmt
	// valid are the hours of the range with valid materialized aggregates,
	// in order; gaps the ranges between them (see planHours). Shared by
	// the readers of a snapshot, read only.
	valid []int64
	gaps  [][2]int64
	raw   []hourVals // the series' raw hours, by hour; reused
	rows  int        // rollup rows read, for the context checks
	inTx  bool       // BEGIN done
}

func openHourlyReader(file string, immutable bool, from, to time.Time) (*hourlyReader, error) {
	c, err := openRaw(file, immutable)
	if err != nil {
		return nil, err
	}
	r := &hourlyReader{c: c}
	fail := func(err error) (*hourlyReader, error) {
		r.close()
		return nil, err
	}
	if err := c.exec("BEGIN"); err != nil {
		return fail(err)
	}
	r.inTx = true
	var rollCond string
	rollCond, r.rollArgs = timeFilter("hour_ts", from, to)
	if r.rawStmt, err = c.prepare(aggSQL("p.series_id = ?1 AND p.ts >= ?2 AND p.ts < ?3") + ` ORDER BY g.hour`); err != nil {
		return fail(err)
	}
	if r.matStmt, err = c.prepare(`SELECT series_id, hour_ts, power_samples, power_mean_w, counter_samples,
		counter_first_kwh, counter_last_kwh, counter_first_ts, counter_last_ts
		FROM hourly_raw WHERE series_id = ?1 AND hour_ts >= ?2 AND hour_ts < ?3 ORDER BY hour_ts`); err != nil {
		return fail(err)
	}
	if r.rollStmt, err = c.prepare(`SELECT hour_ts, power_samples, power_mean_w, counter_samples,
		counter_first_kwh, counter_last_kwh, counter_first_ts, counter_last_ts
		FROM hourly_power WHERE series_id = ? AND ` + rollCond + ` ORDER BY hour_ts`); err != nil {
		return fail(err)
	}
	return r, nil
}

func (r *hourlyReader) close() {
	for _, st := range []*rawStmt{r.rawStmt, r.matStmt, r.rollStmt} {
		if st != nil {
			st.finalize()
		}
	}
	if r.inTx {
		_ = r.c.exec("ROLLBACK") // read-only: nothing to lose
	}
	r.c.close()
}

// each reads the series in order and passes their hours to fn.
func (r *hourlyReader) each(ctx context.Context, list []seriesRow, fn func(store.Hourly) error) (errFn, err error) {
	for _, sr := range list {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		emit := func(v *hourVals) error { return fn(v.hourly(sr.ser)) }
		if errFn, err := r.series(ctx, sr, emit); errFn != nil || err != nil {
			return errFn, err
		}
	}
	return nil, nil
}

// series passes one series' hours to emit: the aggregates of its raw rows
// merged in hour order with its rollups. A raw hour before a rollup goes
// first; one of the same hour (raw rows that arrived after its compaction)
// is merged into it. It returns emit's error apart from its own.
func (r *hourlyReader) series(ctx context.Context, sr seriesRow, emit func(*hourVals) error) (errFn, err error) {
	if err := r.readRaw(sr.id); err != nil {
		return nil, fmt.Errorf("series %s: raw rows: %w", sr.ser.Key(), err)
	}
	st := r.rollStmt
	if err := st.bind(append([]any{sr.id}, r.rollArgs...)...); err != nil {
		return nil, fmt.Errorf("series %s: rollups: %w", sr.ser.Key(), err)
	}
	raw := r.raw
	var v hourVals
	for {
		ok, err := st.step()
		if err != nil {
			return nil, fmt.Errorf("series %s: rollups: %w", sr.ser.Key(), err)
		}
		if !ok {
			break
		}
		if r.rows++; r.rows%ctxCheckRows == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		v.scan(st, 0)
		for len(raw) > 0 && raw[0].hour < v.hour {
			if err := emit(&raw[0]); err != nil {
				return err, nil
			}
			raw = raw[1:]
		}
		if len(raw) > 0 && raw[0].hour == v.hour {
			v = valsOf(merge(raw[0].hourly(sr.ser), v.hourly(sr.ser)))
			raw = raw[1:]
		}
		if err := emit(&v); err != nil {
			return err, nil
		}
	}
	for i := range raw {
		if err := emit(&raw[i]); err != nil {
			return err, nil
		}
	}
	return nil, nil
}

// hourVals are the values of one meter-hour without its series: what
// readers buffer (no pointers, so the garbage collector need not scan it,
// and a third of the size of a store.Hourly).
type hourVals struct {
	hour, pn, cn, fa, la int64
	pm, fv, lv           float64
}

// scan reads the hourly_power columns of the current row from column first
// on (hour, power count and mean, counter count, first and last value, first
// and last time). A NULL reads as 0, which is what an aggregate without power
// or counter samples holds.
func (v *hourVals) scan(st *rawStmt, first int32) {
	v.hour, v.pn, v.pm, v.cn = st.int64(first), st.int64(first+1), st.float64(first+2), st.int64(first+3)
	if v.cn > 0 {
		v.fv, v.lv = st.float64(first+4), st.float64(first+5)
		v.fa, v.la = st.int64(first+6), st.int64(first+7)
	} else {
		v.fv, v.lv, v.fa, v.la = 0, 0, 0, 0
	}
}

// hourly returns the meter-hour of series ser.
func (v *hourVals) hourly(ser sample.Series) store.Hourly {
	h := store.Hourly{Series: ser, Hour: fromNS(v.hour), PowerSamples: int(v.pn), PowerMeanW: v.pm,
		CounterSamples: int(v.cn)}
	if v.cn > 0 {
		h.CounterFirstKWh, h.CounterLastKWh = v.fv, v.lv
		h.CounterFirstAt, h.CounterLastAt = fromNS(v.fa), fromNS(v.la)
	}
	return h
}

func valsOf(h store.Hourly) hourVals {
	v := hourVals{hour: h.Hour.UnixNano(), pn: int64(h.PowerSamples), pm: h.PowerMeanW, cn: int64(h.CounterSamples)}
	if h.CounterSamples > 0 {
		v.fv, v.lv = h.CounterFirstKWh, h.CounterLastKWh
		v.fa, v.la = h.CounterFirstAt.UnixNano(), h.CounterLastAt.UnixNano()
	}
	return v
}

// readRaw reads the aggregates of a series' raw rows, by hour: the
// materialized ones of the valid hours, aggSQL over the raw rows of the
// gaps between them.
func (r *hourlyReader) readRaw(id int64) error {
	r.raw = r.raw[:0]
	scan := func(st *rawStmt, keep func(hour int64) bool) error {
		for {
			ok, err := st.step()
			if err != nil || !ok {
				return err
			}
			// Columns: series id, then those of hourly_power.
			var v hourVals
			v.scan(st, 1)
			if keep(v.hour) {
				r.raw = append(r.raw, v)
			}
		}
	}
	if n := len(r.valid); n > 0 {
		if err := r.matStmt.bind(id, r.valid[0], r.valid[n-1]+hourNS); err != nil {
			return err
		}
		i := 0
		if err := scan(r.matStmt, func(hour int64) bool {
			// Both in hour order: is the row's hour one of the valid ones?
			for i < n && r.valid[i] < hour {
				i++
			}
			return i < n && r.valid[i] == hour
		}); err != nil {
			return fmt.Errorf("materialized: %w", err)
		}
	}
	mat := len(r.raw)
	for _, g := range r.gaps {
		if err := r.rawStmt.bind(id, g[0], g[1]); err != nil {
			return err
		}
		if err := scan(r.rawStmt, func(int64) bool { return true }); err != nil {
			return err
		}
	}
	if mat > 0 && mat < len(r.raw) {
		slices.SortFunc(r.raw, func(a, b hourVals) int { return cmp.Compare(a.hour, b.hour) })
	}
	return nil
}

// seriesHours is one series' hours, read by a reader for eachParallel.
type seriesHours struct {
	hours []hourVals
	err   error
}

// eachParallel reads the series with all readers, each taking the next
// series not yet taken, and passes their hours to fn in series order from
// the calling goroutine. At most 2 × readers series are read ahead of fn.
func eachParallel(ctx context.Context, readers []*hourlyReader, list []seriesRow, fn func(store.Hourly) error) (errFn, err error) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait() // the readers are closed after the workers stop
	defer cancel()

	ahead := 2 * len(readers)
	done := make([]chan seriesHours, len(list))
	for i := range done {
		done[i] = make(chan seriesHours, 1)
	}
	jobs := make(chan int)
	slots := make(chan struct{}, ahead)               // series taken and not yet passed to fn
	free := make(chan []hourVals, ahead+len(readers)) // buffers passed to fn, for reuse
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(jobs)
		for i := range list {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				var buf []hourVals
				select {
				case buf = <-free:
				default:
				}
				buf = buf[:0]
				_, err := r.series(ctx, list[i], func(v *hourVals) error {
					buf = append(buf, *v)
					return nil
				})
				done[i] <- seriesHours{hours: buf, err: err}
				if err != nil {
					return
				}
			}
		}()
	}
	for i := range list {
		var res seriesHours
		select {
		case res = <-done[i]:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if res.err != nil {
			return nil, res.err
		}
		ser := list[i].ser
		for j := range res.hours {
			if err := fn(res.hours[j].hourly(ser)); err != nil {
				return err, nil
			}
		}
		select {
		case free <- res.hours:
		default:
		}
		<-slots
	}
	return nil, nil
}

// seriesRow is a series and its id.
type seriesRow struct {
	id  int64
	ser sample.Series
}

// seriesListRaw returns the series of measurement m that match q, in series
// order.
func seriesListRaw(c *rawConn, m string, q store.Query) ([]seriesRow, error) {
	where, args := seriesFilter(m, q)
	st, err := c.prepare(fmt.Sprintf(`SELECT %s FROM series s WHERE %s ORDER BY %s`, seriesCols, where, seriesOrder))
	if err != nil {
		return nil, err
	}
	defer st.finalize()
	if err := st.bind(args...); err != nil {
		return nil, err
	}
	var list []seriesRow
	for {
		ok, err := st.step()
		if err != nil || !ok {
			return list, err
		}
		list = append(list, seriesRow{id: st.int64(0), ser: sample.Series{
			Measurement: st.text(1), Site: st.text(2), Room: st.text(3), Rack: st.text(4),
			Device: st.text(5), Class: st.text(6), Meter: st.text(7), Source: st.text(8),
		}})
	}
}
