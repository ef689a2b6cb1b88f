// Package alerting is the escalation core: policies (ordered steps, each a
// role, user or group and a wait), the state of one escalation (which step
// it reached, whom, who accepted or declined, when), clinical alerts, and
// the timers that move an escalation on when a step's wait runs out.
//
// An escalation is a value changed by methods that check every transition;
// the store persists it and the appliance resolves each step's target to
// people (through on-call routing) before asking the store to apply the
// step, so that a step fires at most once however often its timer does.
package alerting
