package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCACreatedAndReused(t *testing.T) {
	opts := testOptions(t)
	m1 := provision(t, opts)
	caPEM := m1.CACertPEM()

	modes := map[string]fs.FileMode{"": caDirMode, caCertFile: caCertMode, caKeyFile: caKeyMode}
	for name, want := range modes {
		info, err := os.Stat(filepath.Join(opts.CADir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := info.Mode().Perm(); got != want {
			t.Errorf("%s mode %04o, want %04o", filepath.Join(opts.CADir, name), got, want)
		}
	}
	ca, err := parseCertPEM(caPEM)
	if err != nil {
		t.Fatal(err)
	}
	if !ca.IsCA || ca.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("CA IsCA %v algorithm %v, want an ECDSA CA", ca.IsCA, ca.PublicKeyAlgorithm)
	}
	if got := ca.PublicKey.(*ecdsa.PublicKey).Curve; got != elliptic.P256() {
		t.Errorf("CA curve %v, want P-256", got.Params().Name)
	}
	if life := ca.NotAfter.Sub(ca.NotBefore); life < 10*365*24*time.Hour {
		t.Errorf("CA lifetime %v, want 10 years", life)
	}
	loaded, err := LoadCACertPEM(opts.CADir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(loaded, caPEM) {
		t.Error("LoadCACertPEM differs from CACertPEM")
	}

	// A second manager on the same directory (and a fresh storage) reuses
	// the CA.
	stop(m1)
	opts.Storage = newMemStorage()
	m2 := provision(t, opts)
	if !bytes.Equal(m2.CACertPEM(), caPEM) {
		t.Error("second Provision made a new CA")
	}
}

func TestCARefusesBadKeyFile(t *testing.T) {
	otherKey := func(t *testing.T) []byte {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	tests := []struct {
		name    string
		mode    fs.FileMode
		content func(t *testing.T) []byte // nil keeps the key
		is      error
		wantErr string
	}{
		{name: "mode 0644", mode: 0o644, is: errInsecureKeyFile, wantErr: "mode 0644"},
		{name: "mode 0640", mode: 0o640, is: errInsecureKeyFile, wantErr: "readable by group or others"},
		{name: "garbage", mode: 0o600, content: func(*testing.T) []byte { return []byte("not a key\n") }, wantErr: "ca.key: no PEM block"},
		{name: "truncated", mode: 0o600, content: func(*testing.T) []byte {
			return []byte("-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49\n-----END PRIVATE KEY-----\n")
		}, wantErr: "ca.key: parse private key"},
		{name: "wrong block", mode: 0o600, content: func(*testing.T) []byte {
			return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{1}})
		}, wantErr: `unexpected PEM block "CERTIFICATE"`},
		{name: "other key", mode: 0o600, content: otherKey, wantErr: "does not match"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			if _, err := loadOrCreateCA(dir, "test CA", time.Now()); err != nil {
				t.Fatal(err)
			}
			keyPath := filepath.Join(dir, caKeyFile)
			if tt.content != nil {
				if err := os.WriteFile(keyPath, tt.content(t), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(keyPath, tt.mode); err != nil {
				t.Fatal(err)
			}
			opts := testOptions(t)
			opts.CADir = dir
			m, err := New(opts)
			if err != nil {
				t.Fatal(err)
			}
			err = m.Provision(context.Background())
			if err == nil {
				stop(m)
				t.Fatal("Provision succeeded")
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v, want errors.Is %v", err, tt.is)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantErr)
			}
			t.Log(err)
		})
	}
}

func TestCAHalfPresent(t *testing.T) {
	for _, remove := range []string{caCertFile, caKeyFile} {
		t.Run("without "+remove, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ca")
			if _, err := loadOrCreateCA(dir, "test CA", time.Now()); err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(filepath.Join(dir, remove)); err != nil {
				t.Fatal(err)
			}
			_, err := loadOrCreateCA(dir, "test CA", time.Now())
			if err == nil || !strings.Contains(err.Error(), remove+" is missing") {
				t.Errorf("error %v, want %s is missing", err, remove)
			}
		})
	}
}

func TestLoadCACertPEMMissing(t *testing.T) {
	_, err := LoadCACertPEM(filepath.Join(t.TempDir(), "nope"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %v, want fs.ErrNotExist", err)
	}
}
