package appliance

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/wardline/wardline/sso"
)

// samlDefaults are the [saml] keys' defaults of docs/config.md, for a
// section that leaves them out.
var samlDefaults = SAMLConfig{
	LoginAttribute:  "uid",
	NameAttribute:   "displayName",
	GroupsAttribute: "http://schemas.xmlsoap.org/claims/Group",
}

// hasSection reports whether a TOML document has a top-level table name.
func hasSection(doc []byte, name string) bool {
	var top map[string]any
	if err := toml.Unmarshal(doc, &top); err != nil {
		return false
	}
	_, ok := top[name]
	return ok
}

// validate checks the [saml] section.
func (c *SAMLConfig) validate(bad func(key, format string, a ...any)) {
	switch {
	case c.IdPMetadataURL == "" && c.IdPMetadataFile == "":
		bad("saml", "needs idp_metadata_url or idp_metadata_file")
	case c.IdPMetadataURL != "" && c.IdPMetadataFile != "":
		bad("saml", "give idp_metadata_url or idp_metadata_file, not both")
	case c.IdPMetadataURL != "":
		if u, err := url.Parse(c.IdPMetadataURL); err != nil || u.Scheme != "https" || u.Host == "" {
			bad("saml.idp_metadata_url", "must be an https:// URL (metadata is trusted: it names the IdP's signing key)")
		}
	}
	if c.EntityID != "" && strings.ContainsAny(c.EntityID, " \t\n") {
		bad("saml.entity_id", "must not contain spaces")
	}
}

// checkSAMLMetadataFile reads and checks saml.idp_metadata_file, for
// serve --check-config (a URL is fetched only when the appliance starts).
func checkSAMLMetadataFile(c *SAMLConfig) error {
	if c == nil || c.IdPMetadataFile == "" {
		return nil
	}
	b, err := os.ReadFile(c.IdPMetadataFile)
	if err != nil {
		return fmt.Errorf("saml.idp_metadata_file: %w", err)
	}
	if _, err := sso.ParseMetadata(b); err != nil {
		return fmt.Errorf("saml.idp_metadata_file: %w", err)
	}
	return nil
}
