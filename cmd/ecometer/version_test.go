package main

import (
	"bytes"
	"runtime"
	"testing"
)

func TestRunVersion(t *testing.T) {
	tests := []struct {
		name string
		in   buildVersion
		want string
	}{
		{
			name: "release",
			in:   buildVersion{Version: "v1.2.0", Go: "go1.26.0", Platform: "linux/amd64", Revision: "0123abc", Time: "2026-01-02T03:04:05Z"},
			want: "ecometer v1.2.0\ngo:       go1.26.0 linux/amd64\nrevision: 0123abc 2026-01-02T03:04:05Z\n",
		},
		{
			name: "modified work tree",
			in:   buildVersion{Version: "dev", Go: "go1.26.0", Platform: "linux/arm64", Revision: "0123abc", Modified: true},
			want: "ecometer dev\ngo:       go1.26.0 linux/arm64\nrevision: 0123abc (modified)\n",
		},
		{
			name: "no vcs",
			in:   buildVersion{Version: "dev", Go: "go1.26.0", Platform: "linux/amd64"},
			want: "ecometer dev\ngo:       go1.26.0 linux/amd64\nrevision: unknown (built without VCS information)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := runVersion(&out, tt.in); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", &out, tt.want)
			}
		})
	}
}

func TestReadBuildVersion(t *testing.T) {
	v := readBuildVersion()
	if v.Go != runtime.Version() || v.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("readBuildVersion() = %+v, want Go %s on %s/%s", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	}
	if v.Version == "" {
		t.Error("empty version, want at least \"dev\"")
	}
}
