package catalog

import (
	"os"
	"slices"
	"strings"
	"testing"

	"statelab"
	"statelab/scenarios"
)

// onDisk is a variant the lab does not have: sessions in a file on the
// instance's disk. It outlives its process but not its instance, and no
// other instance can read it.
var onDisk = statelab.Description{Variant: "disk", Home: statelab.Disk, Caption: "sessions in a file on the instance's disk"}

// TestHypotheticalVariant checks that the theory is written in properties,
// not names: every scenario derives expectations for a variant it has never
// heard of, each about that variant, and the derivation follows its home.
func TestHypotheticalVariant(t *testing.T) {
	for _, sc := range catalogue {
		if sc.Predict == nil {
			t.Errorf("%s: no Predict: its expectations name variants", sc.Name)
			continue
		}
		es := sc.Predict(onDisk)
		if len(es) == 0 {
			t.Errorf("%s: no expectation derived for a variant with sessions on disk", sc.Name)
		}
		for _, e := range es {
			if e.Variant != onDisk.Variant || e.Check == nil || e.Text == "" {
				t.Errorf("%s: derived %+v for the disk variant", sc.Name, e)
			}
			for _, v := range statelab.Variants {
				if strings.Contains(e.Text, string(v)+"-") {
					t.Errorf("%s: %q names an instance of %s", sc.Name, e.Text, v)
				}
			}
		}
	}
	// What the derivation must say of the disk variant, from its home: it
	// needs affinity, outlives a restart, and the server holds it.
	want := map[string]string{
		"round-robin":     "refuses exactly the requests that reach an instance without the session",
		"kill-instance":   "loses exactly the users whose session disk-2 held",
		"strict-affinity": "keeps every user (after instance 2 is back)",
		"logout-replay":   "refuses every old credential",
		"cost":            "holds the cart on the server side",
		"redis-down":      "keeps every user (Redis down, failing closed)",
	}
	for name, text := range want {
		i := slices.IndexFunc(catalogue, func(s *scenarios.Scenario) bool { return s.Name == name })
		var got []string
		for _, e := range catalogue[i].Predict(onDisk) {
			got = append(got, e.Text)
		}
		if !strings.Contains(strings.Join(got, "; "), text) {
			t.Errorf("%s, disk variant: derived %q, want %q among them", name, got, text)
		}
	}
}

// TestVariantPicks checks that the steps and lessons find each variant
// they speak of by its description, and four different ones.
func TestVariantPicks(t *testing.T) {
	picked := []statelab.Variant{inProcess, inStore, inToken, inCookie}
	for i, v := range picked {
		if v == "" || slices.Index(picked, v) != i {
			t.Errorf("picks %v: want four different variants", picked)
		}
	}
}

// TestVariantTheoryInREADME checks that the README's derivation table is
// the one the catalogue derives.
func TestVariantTheoryInREADME(t *testing.T) {
	var b strings.Builder
	if err := WriteTheory(&b); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), b.String()) {
		t.Errorf("README.md does not hold the derivation table; `go run ./cmd/lab list --theory` prints it:\n%s", b.String())
	}
}
