//go:build race

package testkit

// raceEnabled builds the appliance with the race detector when the tests
// run with it, so that races in the served process fail the tests too.
const raceEnabled = true
