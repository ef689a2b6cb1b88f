package loadgen

import (
	"os"
	"runtime/debug"
	"sync"
)

// benchGCPercent is the garbage collector's target (GOGC) while runs are
// going. The bench client's live heap is small (tens of MB) but it
// allocates for every packet, so at the default 100 the collector ran
// several times a second and, scanning the stacks of some 5,000 goroutines
// each time, took a quarter of the client's CPU, CPU the appliance on the
// same cores then lacked. At 400 it runs a quarter as often and the heap
// stays within a few hundred MB. With --baseline the bare broker shares the
// process and the setting (with --protocol-baseline the protocol broker);
// that favours the baselines, not the appliance.
const benchGCPercent = 400

var gcTune struct {
	sync.Mutex
	runs int // runs going
	old  int // the setting before the first of them
}

// tuneGC raises the GC target to benchGCPercent, unless GOGC is set, and
// returns the function that undoes it once every run that raised it has.
func tuneGC() (restore func()) {
	if os.Getenv("GOGC") != "" {
		return func() {}
	}
	gcTune.Lock()
	defer gcTune.Unlock()
	if gcTune.runs == 0 {
		gcTune.old = debug.SetGCPercent(benchGCPercent)
	}
	gcTune.runs++
	return func() {
		gcTune.Lock()
		defer gcTune.Unlock()
		if gcTune.runs--; gcTune.runs == 0 {
			debug.SetGCPercent(gcTune.old)
		}
	}
}
