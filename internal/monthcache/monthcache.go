// Package monthcache keeps the accounting of whole months between runs, so
// that `co2 target` and the monthly report, which look at every month from
// the baseline year on, read the store only for the months whose figures
// may have changed.
//
// A month's figures depend on the configuration, on the code that computes
// them, on the grid data and on the power samples of the month and of the
// hour before it. An entry is used only when all of these are what they
// were when it was computed:
//
//   - the configuration's sites, devices, collection intervals and grid
//     section, the sites asked for, the store's identity (a database, not a
//     path) and the program (its version, VCS revision and executable file)
//     are hashed into the entry's name: any change leads to another entry;
//   - the grid data of the sites' price areas (every stored hour: a
//     fallback may reach outside the month) is hashed and kept in the entry;
//   - the store's versions of the UTC months the month's read overlaps
//     (store.SampleVersions, which the store replaces with every write of
//     power samples, in the write's transaction) are kept in the entry.
//
// The grid hash and the versions are read once, when the cache is opened,
// before any figure is computed: a write or an import after that leaves
// the entries computed in the run with the older versions, which the next
// run does not use. Only stores that version their samples are cached
// (the embedded SQLite store; not InfluxDB, which other programs may write
// to unseen). Only months that had ended when the cache was opened are
// stored, and only months every site of which could be accounted.
//
// Entries are JSON files, written to a temporary file and renamed, so
// concurrent runs never see half an entry; entries unused for Expiry are
// removed when a cache is opened.
package monthcache

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
)

// format is the version of the entries' layout and of what the key covers;
// changing either changes it.
const format = "monthcache/1"

// Expiry is how long an entry not read or written is kept.
const Expiry = 120 * 24 * time.Hour

// ErrUnversioned means the store does not version its samples, so nothing
// of it can be cached.
var ErrUnversioned = errors.New("the store does not version its samples (InfluxDB): months are not cached")

// ErrNowhere means no cache directory may be written by this user (a
// read-only user whose home has no cache directory either): every month is
// read, as with --no-cache.
var ErrNowhere = errors.New("no month-cache directory may be written here")

// Skippable reports whether err only means that this run has no month
// cache (an unversioned store, nowhere to write): nothing a user must act
// on.
func Skippable(err error) bool { return errors.Is(err, ErrUnversioned) || errors.Is(err, ErrNowhere) }

// Store is what the cache reads: the samples' versions and the grid data.
type Store interface {
	store.SampleVersioner
	store.GridReader
}

// Cache is the month cache of one run. It is safe for concurrent use.
type Cache struct {
	dir      string
	key      string // hash of what every entry of this run depends on
	versions store.SampleVersions
	grid     string    // hash of the grid data of the sites' areas
	opened   time.Time // months that ended before it may be stored

	mu    sync.Mutex
	stats Stats
}

// Stats count what the cache did in a run.
type Stats struct {
	Hits, Misses, Stored int
	// Errors are entries that could not be read or written (the run then
	// reads the store, or does not keep the month); the first is kept.
	Errors   int
	FirstErr error
}

// Open opens the cache in dir for the figures of sites computed by cfg's
// accounting over st, taking the validity snapshot (sample versions, grid
// hash) now, before any figure is computed. It returns ErrUnversioned for
// a store without sample versions.
func Open(ctx context.Context, dir string, cfg *config.Config, sites []config.Site, st accounting.Store, now time.Time) (*Cache, error) {
	vs, ok := st.(store.SampleVersioner)
	if !ok {
		return nil, ErrUnversioned
	}
	versions, err := vs.SamplesVersions(ctx)
	if err != nil {
		return nil, fmt.Errorf("month cache: %w", err)
	}
	grid, err := gridHash(ctx, st, sites)
	if err != nil {
		return nil, fmt.Errorf("month cache: %w", err)
	}
	key, err := runKey(cfg, sites, versions.Store)
	if err != nil {
		return nil, fmt.Errorf("month cache: %w", err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("month cache: %w", err)
	}
	// A directory that can be listed but not written would fail every
	// Store: better to know now and use another.
	if err := writeFile(filepath.Join(dir, ".probe"), nil); err != nil {
		return nil, fmt.Errorf("month cache %s: %w", dir, err)
	}
	c := &Cache{dir: dir, key: key, versions: versions, grid: grid, opened: now}
	c.prune(now)
	return c, nil
}

// Stats returns what the cache did so far.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// entry is one month's figures and what they were computed from.
type entry struct {
	Format  string      `json:"format"`
	Month   string      `json:"month"`
	Samples string      `json:"samples"` // store.SampleVersions.Of the month's read
	Grid    string      `json:"grid"`
	Sites   []siteEntry `json:"sites"`
}

// siteEntry is an accounting.Site with the fields its JSON leaves out,
// except Hours (the hourly use is not kept: only the month being reported
// needs it, and that month is always read).
type siteEntry struct {
	accounting.Site
	ITKWh       float64 `json:"it_kwh"`
	FacilityKWh float64 `json:"facility_kwh"`
}

// readRange is what the accounting reads for p: the period and the hour
// before it.
func readRange(p accounting.Period) (time.Time, time.Time) { return p.From.Add(-time.Hour), p.To }

// Load returns the figures of the sites for p, in the order of the sites
// the cache was opened for, when an entry computed from the same
// configuration, program, grid data and samples exists. Sites from the
// cache have no Hours.
func (c *Cache) Load(p accounting.Period) ([]accounting.Site, bool) {
	path := c.path(p)
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			c.fail(err)
		}
		c.count(func(s *Stats) { s.Misses++ })
		return nil, false
	}
	var e entry
	if err := json.Unmarshal(b, &e); err != nil {
		c.fail(fmt.Errorf("month cache %s: %w", path, err))
		c.count(func(s *Stats) { s.Misses++ })
		return nil, false
	}
	from, to := readRange(p)
	if e.Format != format || e.Month != p.Label() || e.Grid != c.grid || e.Samples != c.versions.Of(from, to) {
		c.count(func(s *Stats) { s.Misses++ })
		return nil, false
	}
	out := make([]accounting.Site, len(e.Sites))
	for i, s := range e.Sites {
		out[i] = s.Site
		out[i].ITKWh, out[i].FacilityKWh = s.ITKWh, s.FacilityKWh
	}
	now := time.Now()
	_ = os.Chtimes(path, now, now) // in use: not to be pruned
	c.count(func(s *Stats) { s.Hits++ })
	return out, true
}

// Store keeps the figures of the sites for p (in the order of the sites
// the cache was opened for) when p had ended when the cache was opened.
func (c *Cache) Store(p accounting.Period, sites []accounting.Site) {
	if p.To.After(c.opened) {
		return
	}
	from, to := readRange(p)
	e := entry{Format: format, Month: p.Label(), Samples: c.versions.Of(from, to), Grid: c.grid}
	for _, s := range sites {
		e.Sites = append(e.Sites, siteEntry{Site: s, ITKWh: s.ITKWh, FacilityKWh: s.FacilityKWh})
	}
	b, err := json.Marshal(e)
	if err == nil {
		err = writeFile(c.path(p), b)
	}
	if err != nil {
		c.fail(fmt.Errorf("month cache: store %s: %w", p.Label(), err))
		return
	}
	c.count(func(s *Stats) { s.Stored++ })
}

func (c *Cache) count(f func(*Stats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

func (c *Cache) fail(err error) {
	c.count(func(s *Stats) {
		s.Errors++
		if s.FirstErr == nil {
			s.FirstErr = err
		}
	})
}

// path is the entry file of p in this run's key.
func (c *Cache) path(p accounting.Period) string {
	h := sha256.Sum256([]byte(c.key + "\x00" + p.Label()))
	return filepath.Join(c.dir, hex.EncodeToString(h[:16])+".json")
}

// writeFile replaces path atomically.
func writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".entry-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// prune removes entries (and temporary files) unused for Expiry.
func (c *Cache) prune(now time.Time) {
	des, err := os.ReadDir(c.dir)
	if err != nil {
		return
	}
	for _, de := range des {
		name := de.Name()
		if !strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, ".entry-") {
			continue
		}
		if fi, err := de.Info(); err == nil && now.Sub(fi.ModTime()) > Expiry {
			os.Remove(filepath.Join(c.dir, name))
		}
	}
}

// runKey hashes what every entry of the run depends on besides the grid
// data and the samples.
func runKey(cfg *config.Config, sites []config.Site, storeID string) (string, error) {
	names := make([]string, len(sites))
	for i, s := range sites {
		names[i] = s.Name
	}
	// Secrets marshal as "<redacted>": no secret is hashed.
	b, err := json.Marshal(struct {
		Format     string
		Program    string
		Store      string
		Sites      []string
		AllSites   []config.Site
		Devices    []config.Device
		Collection config.Collection
		Grid       config.Grid
	}{format, program(), storeID, names, cfg.Sites, cfg.Devices, cfg.Collection, cfg.Grid})
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// program identifies the running program: its module version and VCS
// revision when built from a repository, and its executable file (size and
// time), so that another build never reads this one's entries.
func program() string {
	var b strings.Builder
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.WriteString(bi.Main.Path + "@" + bi.Main.Version)
		for _, s := range bi.Settings {
			if strings.HasPrefix(s.Key, "vcs.") {
				b.WriteString(" " + s.Key + "=" + s.Value)
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if fi, err := os.Stat(exe); err == nil {
			fmt.Fprintf(&b, " exe %d %d", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return b.String()
}

// gridHash hashes every stored hour of the sites' price areas.
func gridHash(ctx context.Context, st store.GridReader, sites []config.Site) (string, error) {
	var areas []string
	for _, s := range sites {
		if !slices.Contains(areas, string(s.PriceArea)) {
			areas = append(areas, string(s.PriceArea))
		}
	}
	slices.Sort(areas)
	h := sha256.New()
	for _, area := range areas {
		hours, err := st.GridHours(ctx, area, time.Time{}, time.Time{})
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", area, len(hours))
		for _, g := range hours {
			fmt.Fprintf(h, "%d %x %d %s\n", g.Hour.UnixNano(), g.GramsPerKWh, g.Intervals, g.Dataset)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// OpenDefault opens the cache of cfg's store: <data_dir>/cache/months, or,
// where that cannot be written (a data directory this user may only
// read), ecometer/months in the user's cache directory (os.UserCacheDir).
// Entries are named by the store's identity, so one directory can serve
// several stores.
func OpenDefault(ctx context.Context, cfg *config.Config, sites []config.Site, st accounting.Store, now time.Time) (*Cache, error) {
	dirs := []string{filepath.Join(cfg.Storage.DataDir, "cache", "months")}
	if d, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(d, "ecometer", "months"))
	}
	var errs []error
	denied := true
	for _, d := range dirs {
		c, err := Open(ctx, d, cfg, sites, st, now)
		if err == nil || errors.Is(err, ErrUnversioned) {
			return c, err
		}
		errs = append(errs, err)
		denied = denied && (errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS))
	}
	if denied {
		return nil, fmt.Errorf("%w: %w", ErrNowhere, errors.Join(errs...))
	}
	return nil, errors.Join(errs...)
}
