// Package ui is the web front: the sign-in page, the admin console under
// /admin/, the clinician web client under /app/, the JSON API the pages'
// scripts use under /api/v1/, and the static files under /static/. Pages
// are server-rendered with html/template from embed.FS (contextual
// escaping everywhere); scripts are static files (no inline script, so the
// CSP forbids all of it). The appliance authenticates each request, puts
// the session in its context (WithViewer) and enforces CSRF; ui checks
// rights and renders. Everything it shows comes from a Backend.
package ui
