// Package testkit helps end-to-end tests: it builds the real wardline
// binary, starts appliances on loopback ports chosen by the kernel, runs
// CLI commands against them, and stops or kills them.
//
// It is imported by tests only; the layering test checks that the
// production binary never links it (or package testing).
package testkit
