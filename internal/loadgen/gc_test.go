package loadgen

import (
	"runtime/debug"
	"testing"
)

// gcPercent returns the current GC target without changing it.
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

func TestTuneGC(t *testing.T) {
	before := gcPercent()
	tests := []struct {
		name string
		gogc string
		want int // while the runs are going
	}{
		{"raised", "", benchGCPercent},
		{"GOGC set: left alone", "50", before},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("GOGC", tt.gogc)
			restore1 := tuneGC()
			restore2 := tuneGC() // two runs at once
			if got := gcPercent(); got != tt.want {
				t.Errorf("during two runs: GC percent %d, want %d", got, tt.want)
			}
			restore1()
			if got := gcPercent(); got != tt.want {
				t.Errorf("during the second run: GC percent %d, want %d", got, tt.want)
			}
			restore2()
			if got := gcPercent(); got != before {
				t.Errorf("after the runs: GC percent %d, want %d", got, before)
			}
		})
	}
}
