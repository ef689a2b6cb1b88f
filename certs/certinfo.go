package certs

import "time"

// CertInfo describes the certificate currently served for one name.
type CertInfo struct {
	// Name is the DNS name or IP address from Options.Names.
	Name string
	// NotAfter is when the certificate expires; zero if there is none.
	NotAfter time.Time
	// Issuer is the common name of the certificate's issuer (the local CA or
	// the hospital's ACME CA); empty if there is no certificate.
	Issuer string
}

// Certificates reports, for every managed name in the order of
// Options.Names, the newest certificate in the cache. Before Provision the
// entries carry only the names.
func (m *Manager) Certificates() []CertInfo {
	m.mu.Lock()
	cache := m.cache
	m.mu.Unlock()
	infos := make([]CertInfo, 0, len(m.opts.Names))
	for _, name := range m.opts.Names {
		info := CertInfo{Name: name}
		if cache != nil {
			for _, c := range cache.AllMatchingCertificates(name) {
				leaf := c.Leaf
				if leaf == nil || !leaf.NotAfter.After(info.NotAfter) {
					continue
				}
				info.NotAfter = leaf.NotAfter
				info.Issuer = leaf.Issuer.CommonName
				if info.Issuer == "" {
					info.Issuer = leaf.Issuer.String()
				}
			}
		}
		infos = append(infos, info)
	}
	return infos
}
