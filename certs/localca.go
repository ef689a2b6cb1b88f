package certs

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// File names and modes of the local CA inside Options.CADir.
const (
	caCertFile = "ca.crt"
	caKeyFile  = "ca.key"

	caDirMode  fs.FileMode = 0o700
	caCertMode fs.FileMode = 0o644
	caKeyMode  fs.FileMode = 0o600

	caLifetime = 10 * 365 * 24 * time.Hour
	// backdate is how far in the past NotBefore is set, to tolerate clocks
	// that are a little behind.
	backdate = time.Minute
)

// errInsecureKeyFile is returned when ca.key can be read by group or others.
var errInsecureKeyFile = errors.New("ca key file is readable by group or others (want mode 0600)")

// localCA is the appliance's own certificate authority: a self-signed
// ECDSA P-256 root whose key stays in a 0600 file in CADir.
type localCA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     crypto.Signer
}

// loadOrCreateCA loads the CA from dir, or creates it when neither file
// exists yet. It refuses a key file that group or others can read, and a
// half-present CA (one file without the other).
func loadOrCreateCA(dir, commonName string, now time.Time) (*localCA, error) {
	if err := os.MkdirAll(dir, caDirMode); err != nil {
		return nil, fmt.Errorf("create ca dir: %w", err)
	}
	certPath, keyPath := filepath.Join(dir, caCertFile), filepath.Join(dir, caKeyFile)
	_, certErr := os.Stat(certPath)
	_, keyErr := os.Stat(keyPath)
	switch {
	case errors.Is(certErr, fs.ErrNotExist) && errors.Is(keyErr, fs.ErrNotExist):
		return createCA(certPath, keyPath, commonName, now)
	case errors.Is(keyErr, fs.ErrNotExist):
		return nil, fmt.Errorf("load ca: %s exists but %s is missing", certPath, keyPath)
	case errors.Is(certErr, fs.ErrNotExist):
		return nil, fmt.Errorf("load ca: %s exists but %s is missing", keyPath, certPath)
	}
	return loadCA(certPath, keyPath)
}

func loadCA(certPath, keyPath string) (*localCA, error) {
	info, err := os.Stat(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca key: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("load ca key %s (mode %04o): %w", keyPath, info.Mode().Perm(), errInsecureKeyFile)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, fmt.Errorf("load ca key: %w", err)
	}
	key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca key %s: %w", keyPath, err)
	}
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("load ca cert: %w", err)
	}
	cert, err := parseCertPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("load ca cert %s: %w", certPath, err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("load ca cert %s: not a ca certificate", certPath)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, fmt.Errorf("load ca: %s does not match %s", keyPath, certPath)
	}
	return &localCA{cert: cert, certPEM: certPEM, key: key}, nil
}

func createCA(certPath, keyPath, commonName string, now time.Time) (*localCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("create ca key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, fmt.Errorf("create ca: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"Wardline"}},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.Add(caLifetime),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("create ca cert: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("create ca cert: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("create ca key: %w", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// The key is written first: a crash in between leaves a key without a
	// certificate, which loadOrCreateCA reports instead of replacing.
	if err := writeNewFile(keyPath, keyPEM, caKeyMode); err != nil {
		return nil, fmt.Errorf("create ca key: %w", err)
	}
	if err := writeNewFile(certPath, certPEM, caCertMode); err != nil {
		return nil, fmt.Errorf("create ca cert: %w", err)
	}
	return &localCA{cert: cert, certPEM: certPEM, key: key}, nil
}

// writeNewFile creates path with mode (failing if it exists), writes data
// and syncs it.
func writeNewFile(path string, data []byte, mode fs.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil { // the umask may have narrowed it
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadCACertPEM returns the PEM certificate of the local CA kept in caDir,
// for the offline `wardline tls ca` command. It reads only ca.crt and never
// creates anything.
func LoadCACertPEM(caDir string) ([]byte, error) {
	path := filepath.Join(caDir, caCertFile)
	certPEM, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load ca cert: %w", err)
	}
	if _, err := parseCertPEM(certPEM); err != nil {
		return nil, fmt.Errorf("load ca cert %s: %w", path, err)
	}
	return certPEM, nil
}

func parseCertPEM(data []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse certificate: %w", err)
	}
	return cert, nil
}

// parseKeyPEM parses a PKCS#8 or SEC 1 EC private key. Its errors never
// include key material.
func parseKeyPEM(data []byte) (crypto.Signer, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no PEM block (file is corrupt or not a PEM private key)")
	}
	var (
		key any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse private key: %w", err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type %T", key)
	}
	return signer, nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ad, err := x509.MarshalPKIXPublicKey(a)
	if err != nil {
		return false
	}
	bd, err := x509.MarshalPKIXPublicKey(b)
	if err != nil {
		return false
	}
	return bytes.Equal(ad, bd)
}

func randomSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("random serial: %w", err)
	}
	return serial, nil
}
