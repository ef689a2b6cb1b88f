package store

import (
	"fmt"

	"github.com/wardline/wardline/audit"
	"github.com/wardline/wardline/directory"
)

// AddUsers adds many local users in one transaction: all of them, or none
// when one is refused (its line is named in the error). Lines[i] is the
// input line of Users[i].
type AddUsers struct {
	By    audit.Actor
	Users []directory.User
	Lines []int
}

// Event implements Command.
func (c AddUsers) Event() audit.Event {
	objs := make([]string, 0, len(c.Users))
	for _, u := range c.Users {
		objs = append(objs, "user:"+u.Login)
	}
	return c.By.Event("user.add", objs...)
}

// Apply implements Command.
func (c AddUsers) Apply(tx *Txn) error {
	for i, u := range c.Users {
		if err := (AddUser{By: c.By, User: u}).Apply(tx); err != nil {
			return fmt.Errorf("line %d: %w", c.Lines[i], err)
		}
	}
	return nil
}

// EnrollDevices enrols many devices in one transaction: all of them, or
// none when one is refused (its line is named in the error).
type EnrollDevices struct {
	By      audit.Actor
	Devices []Device
	Lines   []int
}

// Event implements Command.
func (c EnrollDevices) Event() audit.Event {
	objs := make([]string, 0, len(c.Devices))
	for _, d := range c.Devices {
		objs = append(objs, "device:"+d.ID)
	}
	return c.By.Event("device.enroll", objs...)
}

// Apply implements Command.
func (c EnrollDevices) Apply(tx *Txn) error {
	for i, d := range c.Devices {
		if err := (EnrollDevice{By: c.By, Device: d}).Apply(tx); err != nil {
			return fmt.Errorf("line %d: %w", c.Lines[i], err)
		}
	}
	return nil
}
