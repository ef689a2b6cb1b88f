// Package appliance is Wardline's composition root: it reads the
// configuration, opens the store, starts the listeners and wires the core
// packages to the adapters, and implements the command line (`wardline
// serve`, the admin commands and the admin socket they talk to).
//
// cmd/wardline only calls Main. End-to-end tests call Main too, or run the
// built binary, so that what they test is what a hospital runs.
package appliance
