// Package sso signs people in on the web: a SAML 2.0 service provider
// (crewjam/saml) with the checks a stock one leaves out (a replay cache
// hook, exactly one assertion, SHA-256 only), break-glass local
// administrators with argon2id passwords and TOTP codes (pquerna/otp),
// server-side sessions behind opaque cookies, CSRF tokens and sign-in rate
// limits. It stores nothing itself: the appliance passes the store in
// through the small interfaces declared here.
package sso
