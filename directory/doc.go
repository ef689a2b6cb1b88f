// Package directory holds the people of the hospital as Wardline knows them:
// users, and later groups, departments, roles and devices.
//
// It is core: it depends on the standard library and the audit package only,
// does no I/O, and defines the rules (valid logins, names, e-mail addresses)
// and the sentinel errors that adapters map to CLI exit codes, MQTT reason
// codes and HTTP statuses.
package directory
