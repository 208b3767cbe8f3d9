// Package redfish simulates a Redfish BMC (server or rack PDU) by serving a
// DMTF mockup tree over HTTP(S), with sessions, power actions whose effect
// shows in the readings, a writable power limit and named fault modes.
package redfish

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Mockup is a read-only copy of a mockup tree in memory, keyed by the
// resource path below /redfish/v1 ("" is the service root, "Chassis/1U" is
// Chassis/1U/index.json). It is loaded once and shared by any number of BMCs:
// a BMC never changes it, its own state is kept beside it.
type Mockup struct {
	docs  map[string][]byte // resource path -> index.json
	files map[string][]byte // other files by their path ($metadata, registries)
}

// Load reads the mockup tree in dir (the layout of DSP2043 mockups: the URL
// path /redfish/v1/X is X/index.json). The files are copied into memory; the
// tree is never written.
func Load(dir string) (*Mockup, error) {
	return LoadFS(os.DirFS(dir), dir)
}

// LoadFS is Load from a file system; name is used in error messages.
func LoadFS(fsys fs.FS, name string) (*Mockup, error) {
	m := &Mockup{docs: map[string][]byte{}, files: map[string][]byte{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if path.Base(p) == "index.json" {
			key := path.Dir(p)
			if key == "." {
				key = ""
			}
			if !json.Valid(b) {
				return fmt.Errorf("%s: not valid JSON", p)
			}
			m.docs[key] = b
			return nil
		}
		m.files[p] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("redfish mockup %s: %w", name, err)
	}
	if _, ok := m.docs[""]; !ok {
		return nil, fmt.Errorf("redfish mockup %s: no index.json at the root (is this a mockup folder?)", name)
	}
	return m, nil
}

// Paths returns the number of resources in the mockup.
func (m *Mockup) Paths() int { return len(m.docs) }

// treePath turns an @odata.id or URL path into a mockup key; ok is false for
// anything outside /redfish/v1 or pointing into a fragment.
func treePath(id string) (string, bool) {
	if i := strings.IndexAny(id, "?#"); i >= 0 {
		if id[i] == '#' {
			return "", false
		}
		id = id[:i]
	}
	const root = "/redfish/v1"
	if id == root {
		return "", true
	}
	if !strings.HasPrefix(id, root+"/") {
		return "", false
	}
	return strings.Trim(id[len(root)+1:], "/"), true
}

// odataID returns the URL of a mockup key.
func odataID(key string) string {
	if key == "" {
		return "/redfish/v1/"
	}
	return "/redfish/v1/" + key
}
