//go:build !race

package testkit

// raceEnabled is false when the tests run without the race detector.
const raceEnabled = false
