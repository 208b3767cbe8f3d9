package monthly

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/monthcache"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/reports/i18n"
)

// Params say which report to produce and where.
type Params struct {
	Config *config.Config
	Period accounting.Period
	Site   string    // "" all sites
	Lang   i18n.Lang // "" the config's report.language
	OutDir string    // "" the config's report.out_dir
	// Generated is the report's date (default: now).
	Generated time.Time
	// PowerDown and Anomalies, when set, supply section 7 and the
	// anomalies for the period from the report's store (ControllerSavings
	// and DetectedAnomalies are the real ones); nil: the section says
	// nothing was applied / omits the anomalies.
	PowerDown SectionSource[PowerDown]
	Anomalies SectionSource[Anomalies]
	Progress  func(step string)
	// NoCache: account every month from the store, without the month
	// cache (internal/monthcache).
	NoCache bool
}

// Files are the paths of a produced report.
type Files struct {
	PDF, CSV, JSON string
}

// List is the three paths.
func (f Files) List() []string { return []string{f.PDF, f.CSV, f.JSON} }

// SiteError is a --site that is not in the configuration.
type SiteError struct{ Site string }

func (e *SiteError) Error() string { return fmt.Sprintf("site %q is not in the configuration", e.Site) }

// Produce builds the report of p.Period from the configured store and
// writes report-YYYY-MM.pdf, .csv and .json (report-YYYY-MM-SITE.* for one
// site) into the output directory, each file written whole or not at all.
func Produce(ctx context.Context, p Params) (*Report, Files, error) {
	cfg := p.Config
	lang := p.Lang
	if lang == "" {
		var err error
		if lang, err = i18n.Parse(cfg.Report.Language); err != nil {
			return nil, Files{}, err
		}
	}
	outDir := p.OutDir
	if outDir == "" {
		outDir = cfg.Report.OutDir
	}
	var sites []config.Site
	if p.Site != "" {
		i := slices.IndexFunc(cfg.Sites, func(s config.Site) bool { return s.Name == p.Site })
		if i < 0 {
			return nil, Files{}, &SiteError{Site: p.Site}
		}
		sites = cfg.Sites[i : i+1]
	}
	st, where, err := backend.Open(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return nil, Files{}, err
	}
	defer st.Close()
	in := Input{Config: cfg, Store: st, StoreDesc: where, Period: p.Period, Sites: sites, Generated: p.Generated, Progress: p.Progress}
	if !p.NoCache {
		// Opened before anything is read: see monthcache.
		of := sites
		if of == nil {
			of = cfg.Sites
		}
		c, err := monthcache.OpenDefault(ctx, cfg, of, st, time.Now())
		switch {
		case err == nil:
			in.Kept = c
			defer func() {
				if p.Progress != nil {
					s := c.Stats()
					msg := fmt.Sprintf("month cache: %d months reused, %d read, %d kept", s.Hits, s.Misses, s.Stored)
					if s.FirstErr != nil {
						msg += fmt.Sprintf("; %d failed: %v", s.Errors, s.FirstErr)
					}
					p.Progress(msg)
				}
			}()
		case !monthcache.Skippable(err) && p.Progress != nil:
			p.Progress("month cache not used: " + err.Error())
		}
	}
	if in.Generated.IsZero() {
		in.Generated = time.Now().UTC().Truncate(time.Second)
	}
	if in.Assets, err = assets(ctx, cfg, st); err != nil {
		return nil, Files{}, err
	}
	if f := cfg.Report.BoaviztaFile; f != "" {
		fh, err := os.Open(f)
		if err != nil {
			return nil, Files{}, fmt.Errorf("report.boavizta_file: %w", err)
		}
		in.Defaults, err = carbon.BoaviztaMedians(f, fh)
		fh.Close()
		if err != nil {
			return nil, Files{}, fmt.Errorf("report.boavizta_file: %w", err)
		}
		in.DefaultsFile = filepath.Base(f)
	}
	if p.PowerDown != nil {
		if in.PowerDown, err = p.PowerDown(ctx, cfg, st, p.Period); err != nil {
			return nil, Files{}, fmt.Errorf("report %s: power-down savings: %w", p.Period.Label(), err)
		}
	}
	if p.Anomalies != nil {
		if p.Progress != nil {
			p.Progress("looking for anomalies and idle equipment")
		}
		if in.Anomalies, err = p.Anomalies(ctx, cfg, st, p.Period); err != nil {
			return nil, Files{}, fmt.Errorf("report %s: anomalies: %w", p.Period.Label(), err)
		}
	}
	r, err := Build(ctx, in)
	if err != nil {
		return nil, Files{}, err
	}
	if p.Progress != nil {
		p.Progress("writing PDF, CSV and JSON")
	}
	files, err := WriteFiles(outDir, r, lang, p.Site)
	return r, files, err
}

// assets reads the inventory from the embedded store (it is kept there also
// when samples go to InfluxDB); no embedded store means no inventory.
func assets(ctx context.Context, cfg *config.Config, st backend.Store) ([]carbon.Asset, error) {
	type inventory interface {
		Assets(context.Context) ([]carbon.Asset, error)
	}
	if inv, ok := st.(inventory); ok {
		return inv.Assets(ctx)
	}
	emb, err := backend.OpenEmbedded(ctx, cfg, backend.ReadOnly)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer emb.Close()
	return emb.Assets(ctx)
}

// WriteFiles writes the report's three files into dir.
func WriteFiles(dir string, r *Report, lang i18n.Lang, site string) (Files, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Files{}, fmt.Errorf("report: %w", err)
	}
	base := "report-" + r.Month
	if site != "" {
		base += "-" + site
	}
	f := Files{PDF: filepath.Join(dir, base+".pdf"), CSV: filepath.Join(dir, base+".csv"), JSON: filepath.Join(dir, base+".json")}
	var pdf, csv, js bytes.Buffer
	if err := WritePDF(&pdf, r, lang); err != nil {
		return Files{}, err
	}
	if err := WriteCSV(&csv, r); err != nil {
		return Files{}, err
	}
	if err := WriteJSON(&js, r); err != nil {
		return Files{}, err
	}
	for _, x := range []struct {
		path string
		data []byte
	}{{f.PDF, pdf.Bytes()}, {f.CSV, csv.Bytes()}, {f.JSON, js.Bytes()}} {
		if err := writeAtomic(x.path, x.data); err != nil {
			return Files{}, err
		}
	}
	return f, nil
}

// writeAtomic writes data to a temporary file beside path and renames it,
// so a reader never sees half a report.
func writeAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}
