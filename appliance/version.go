package appliance

// Version is the release of this build, set with -ldflags
// "-X github.com/wardline/wardline/appliance.Version=...".
var Version = "0.1.0-dev"
