// Package certs provides the appliance's TLS certificates: it obtains them
// from the hospital's ACME CA when one is configured, falls back to a local
// CA of its own, serves them through one tls.Config shared by HTTPS and
// MQTT, and renews them before they expire without a restart.
//
// The package is an adapter for certmagic. Certificate management is
// certmagic's, with a private cache and config (never certmagic's
// process-global default), the appliance's encrypted Storage instead of
// files, certmagic's zap logs forwarded to slog, and OCSP stapling off (an
// intranet has no reachable responders). It exports no certmagic or zap
// types.
//
// # Local CA
//
// The local CA is an ECDSA P-256 root valid for ten years, kept in
// Options.CADir as ca.crt (0644) and ca.key (0600, in a 0700 directory). It
// is created on first Provision and reused afterwards; Provision refuses a
// ca.key that group or others can read, a corrupt key, or a key that does
// not match ca.crt. Its private key is the only key written outside Storage.
// The local issuer signs only the names in Options.Names, for
// Options.Lifetime, with NotBefore one minute in the past.
//
// # Names and clients without SNI
//
// certmagic manages one certificate per name, so every DNS name and IP
// address in Options.Names gets a certificate of its own. A client that
// sends no SNI (a device connecting by IP address) gets, as certmagic
// decides: first the certificate whose name is the local IP address of the
// connection, and only when there is none, the certificate of DefaultName.
// Listing the appliance's IP addresses in Names is therefore enough for
// devices that connect by IP to verify the server; no single certificate
// has to cover all names.
//
// # Renewal
//
// certmagic checks certificates every Options.RenewCheckInterval and renews
// one when a third of its lifetime is left (lifetime counted from NotBefore,
// so including the minute of backdating), and always when less than five
// check intervals are left. Handshakes get the renewed certificate at once.
package certs
