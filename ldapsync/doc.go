// Package ldapsync reads Active Directory with go-ldap: the users and
// groups under a base DN, in full (paged search) or the changes since the
// last read (uSNChanged polling), into an in-memory mirror that resolves
// nested groups and account state, and checks a user's password by binding
// as the user.
//
// It is an adapter: it imports the directory core and go-ldap, never
// another adapter, and exports no go-ldap type. It never writes to AD and
// never keeps a user's password.
package ldapsync
