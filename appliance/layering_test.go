package appliance_test

import (
	"encoding/json"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/wardline/wardline"

// Layers of ARCHITECTURE.md. Core packages may import the standard library
// and the core packages listed for them; adapters may import core packages
// and third-party modules, never another adapter; only cmd/ imports
// appliance.
var (
	core = map[string][]string{ // package -> core packages it may import
		"audit":     {},
		"directory": {"audit"},
		"messaging": {"audit", "directory"},
		"oncall":    {"audit", "directory"},
		"alerting":  {"audit", "directory", "messaging", "oncall"},
	}
	adapters = []string{"store", "broker", "ldapsync", "sso", "certs", "ui", "interop"}
)

type pkg struct {
	ImportPath string
	Imports    []string
	Deps       []string
	Standard   bool
}

// goList runs go list -json on patterns.
func goList(t *testing.T, args ...string) []pkg {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-json"}, args...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	var pkgs []pkg
	for dec.More() {
		var p pkg
		if err := dec.Decode(&p); err != nil {
			t.Fatal(err)
		}
		pkgs = append(pkgs, p)
	}
	return pkgs
}

// rel is the path of a package inside the module ("" when outside it).
func rel(path string) (string, bool) {
	if path == module {
		return "", true
	}
	r, ok := strings.CutPrefix(path, module+"/")
	return r, ok
}

// top is the first element of a module-relative path.
func top(r string) string { t, _, _ := strings.Cut(r, "/"); return t }

func isStandard(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func TestLayering(t *testing.T) {
	for _, p := range goList(t, "-deps=false", "../...") {
		r, _ := rel(p.ImportPath)
		layer := top(r)
		for _, dep := range p.Deps {
			dr, inModule := rel(dep)
			switch {
			case core[layer] != nil || layer == "audit":
				if inModule {
					if !slices.Contains(core[layer], top(dr)) && top(dr) != layer {
						t.Errorf("core package %s imports %s, which is not a lower core package", p.ImportPath, dep)
					}
				} else if !isStandard(dep) {
					t.Errorf("core package %s depends on third-party %s", p.ImportPath, dep)
				}
			case slices.Contains(adapters, layer):
				if inModule && top(dr) != layer && core[top(dr)] == nil {
					t.Errorf("adapter %s imports %s: adapters import core packages only (declare an interface and let appliance wire it)", p.ImportPath, dep)
				}
			}
			if inModule && top(dr) == "appliance" && layer != "cmd" && layer != "appliance" {
				t.Errorf("%s imports appliance: only cmd/ may", p.ImportPath)
			}
		}
	}
}

// TestBinaryDoesNotLinkTesting keeps test code out of the production binary.
func TestBinaryDoesNotLinkTesting(t *testing.T) {
	pkgs := goList(t, "../cmd/wardline")
	if len(pkgs) != 1 {
		t.Fatalf("go list returned %d packages", len(pkgs))
	}
	for _, dep := range pkgs[0].Deps {
		if dep == "testing" || strings.HasPrefix(dep, "testing/") || strings.HasSuffix(dep, "/internal/testkit") || strings.Contains(dep, "httptest") {
			t.Errorf("the wardline binary links %s", dep)
		}
	}
}

// TestMainOnlyStartsAppliance keeps cmd/wardline to signals and one call.
func TestMainOnlyStartsAppliance(t *testing.T) {
	pkgs := goList(t, "../cmd/wardline")
	for _, imp := range pkgs[0].Imports {
		if r, ok := rel(imp); ok && r != "appliance" {
			t.Errorf("cmd/wardline imports %s; it should only start appliance", imp)
		}
	}
}
