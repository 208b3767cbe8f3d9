package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

func schemaVersion(t *testing.T, dir string) (version, rows int) {
	t.Helper()
	if err := rawDB(t, dir).QueryRow(`SELECT max(version), count(*) FROM schema_migrations`).Scan(&version, &rows); err != nil {
		t.Fatal(err)
	}
	return version, rows
}

func TestReopenIsIdempotent(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd chars")
	in := pw(pdu("pdu1", "total"), t0, sample.F("power_w", 1))
	for i := range 3 {
		s, err := Open(context.Background(), Options{Path: dir})
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		write(t, s, in)
		got := rangeAll(t, s, store.Query{Measurement: sample.Power})
		equal(t, "Range", got, []sample.Sample{in})
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, FileName)); err != nil {
		t.Error(err)
	}
	if v, n := schemaVersion(t, dir); v != len(migrations) || n != len(migrations) {
		t.Errorf("schema version %d with %d rows, want %d", v, n, len(migrations))
	}
}

func TestMigrateFromOlderVersion(t *testing.T) {
	for n := 0; n < len(migrations); n++ {
		dir := t.TempDir()
		db := rawDB(t, dir)
		if err := migrate(context.Background(), db, migrations[:n]); err != nil {
			t.Fatal(err)
		}
		if n >= 1 {
			if _, err := db.Exec(`INSERT INTO series VALUES (7, 'power', 's', '', '', 'pdu1', 'pdu', 'total', 'snmp');
				INSERT INTO power (series_id, ts, power_w) VALUES (7, ?, 42)`, t0.UnixNano()); err != nil {
				t.Fatal(err)
			}
		}
		db.Close()

		s := openTest(t, Options{Path: dir})
		if v, _ := schemaVersion(t, dir); v != len(migrations) {
			t.Errorf("from version %d: migrated to %d, want %d", n, v, len(migrations))
		}
		if n >= 1 {
			ser := sample.Series{Measurement: sample.Power, Site: "s", Device: "pdu1", Class: "pdu", Meter: "total", Source: "snmp"}
			equal(t, "Latest", latest(t, s, store.Query{Measurement: sample.Power}),
				[]sample.Sample{pw(ser, t0, sample.F("power_w", 42))})
			// The existing series is found, not duplicated.
			write(t, s, pw(ser, t0, sample.F("energy_kwh", 1), sample.F("frequency_hz", 50.01)))
			equal(t, "Latest", latest(t, s, store.Query{Measurement: sample.Power}),
				[]sample.Sample{pw(ser, t0, sample.F("power_w", 42), sample.F("energy_kwh", 1), sample.F("frequency_hz", 50.01))})
		}
		if err := s.Compact(context.Background()); err != nil { // needs the newest table
			t.Error(err)
		}
	}
}

func TestSchemaTooNew(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	s.Close()
	if _, err := rawDB(t, dir).Exec(`INSERT INTO schema_migrations VALUES (?, 'later')`, len(migrations)+5); err != nil {
		t.Fatal(err)
	}
	_, err := Open(context.Background(), Options{Path: dir})
	var tooNew *SchemaTooNewError
	if !errors.As(err, &tooNew) || tooNew.Version != len(migrations)+5 || tooNew.Known != len(migrations) {
		t.Fatalf("error %v, want SchemaTooNewError", err)
	}
	t.Log(err)
}

// The measurement tables have one column per field of sample.FieldNames, in
// order, typed by the field's kind.
func TestSchemaMatchesSample(t *testing.T) {
	dir := t.TempDir()
	openTest(t, Options{Path: dir})
	db := rawDB(t, dir)
	for m, fields := range sample.Schema {
		rows, err := db.Query(`SELECT name, type FROM pragma_table_info(?) ORDER BY cid`, m)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for rows.Next() {
			var name, typ string
			if err := rows.Scan(&name, &typ); err != nil {
				t.Fatal(err)
			}
			got = append(got, name+" "+typ)
		}
		rows.Close()
		want = []string{"series_id INTEGER", "ts INTEGER"}
		for _, f := range sample.FieldNames(m) {
			typ := "REAL"
			if fields[f] == sample.Text {
				typ = "TEXT"
			}
			want = append(want, f+" "+typ)
		}
		if len(fields) != len(sample.FieldNames(m)) {
			t.Errorf("%s: FieldNames and Schema disagree", m)
		}
		equal(t, m+" columns", got, want)
	}
}

// A relative path is relative to the working directory (the driver's URI
// needs it made absolute).
func TestOpenRelativePath(t *testing.T) {
	t.Chdir(t.TempDir())
	s, err := Open(context.Background(), Options{Path: "data"})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(filepath.Join("data", FileName)); err != nil {
		t.Fatal(err)
	}
}
