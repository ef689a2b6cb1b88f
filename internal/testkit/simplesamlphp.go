package testkit

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// IdPUser is a person the test IdP knows.
type IdPUser struct {
	Login, Password, Name string
	Groups                []string
}

// IdP is a SimpleSAMLphp identity provider (Debian's simplesamlphp under
// `php -S`) on 127.0.0.1, started by a test.
type IdP struct {
	URL         string // http://127.0.0.1:port
	MetadataURL string
	EntityID    string
	dir         string
	cmd         *exec.Cmd
}

// simpleSAMLphpWWW is where Debian installs SimpleSAMLphp's web root.
const simpleSAMLphpWWW = "/usr/share/simplesamlphp/www"

// StartSimpleSAMLphp starts SimpleSAMLphp as an IdP for one service
// provider (its entity id, ACS and SLO URLs) with users, and stops it when
// the test ends. It fails the test, saying how to install them, when php
// or SimpleSAMLphp are missing.
func StartSimpleSAMLphp(t testing.TB, spEntityID, acsURL, sloURL string, users []IdPUser) *IdP {
	t.Helper()
	php, err := exec.LookPath("php")
	if err != nil {
		t.Fatalf("php is not installed: run `make deps` or `apt-get install simplesamlphp php-cli php8.2-xml php8.2-mbstring php8.2-curl`")
	}
	if _, err := os.Stat(filepath.Join(simpleSAMLphpWWW, "index.php")); err != nil {
		t.Fatalf("SimpleSAMLphp is not installed: run `make deps` or `apt-get install simplesamlphp`")
	}
	dir := t.TempDir()
	for _, d := range []string{"config", "metadata", "cert", "data", "log", "tmp", "sessions"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	port := FreePort(t)
	idp := &IdP{URL: fmt.Sprintf("http://127.0.0.1:%d", port), dir: dir}
	idp.EntityID = idp.URL + "/saml2/idp/metadata.php"
	idp.MetadataURL = idp.EntityID
	writeIdPKey(t, filepath.Join(dir, "cert"))
	files := map[string]string{
		"config/config.php": fmt.Sprintf(`<?php
include '/etc/simplesamlphp/config.php';
$config['baseurlpath'] = '%s/';
$config['certdir'] = '%s/cert/';
$config['loggingdir'] = '%s/log/';
$config['datadir'] = '%s/data/';
$config['tempdir'] = '%s/tmp/';
$config['metadatadir'] = '%s/metadata/';
$config['metadata.sources'] = [['type' => 'flatfile', 'directory' => '%s/metadata/']];
$config['secretsalt'] = '%s';
$config['auth.adminpassword'] = '%s';
$config['enable.saml20-idp'] = true;
$config['module.enable'] = ['exampleauth' => true, 'core' => true, 'saml' => true];
$config['logging.handler'] = 'errorlog';
$config['logging.level'] = SimpleSAML\Logger::WARNING;
$config['session.cookie.secure'] = false;
$config['session.cookie.samesite'] = 'Lax';
$config['session.phpsession.savepath'] = '%s/sessions';
$config['store.type'] = 'phpsession';
$config['trusted.url.domains'] = ['127.0.0.1', '%s'];
`, idp.URL, dir, dir, dir, dir, dir, dir, randomHex(16), randomHex(16), dir, hostPort(acsURL)),
		"config/authsources.php": authsources(users),
		"metadata/saml20-idp-hosted.php": fmt.Sprintf(`<?php
$metadata['%s'] = [
    'host' => '__DEFAULT__',
    'privatekey' => 'idp.key',
    'certificate' => 'idp.crt',
    'auth' => 'hospital-users',
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'saml20.sign.assertion' => true,
    'saml20.sign.response' => true,
    'redirect.sign' => true,
    'NameIDFormat' => 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
    'attributes.NameFormat' => 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
    'OrganizationName' => ['en' => 'St. Elsewhere Hospital'],
    'OrganizationDisplayName' => ['en' => 'St. Elsewhere Hospital'],
    'OrganizationURL' => ['en' => 'https://st-elsewhere.example'],
];
`, idp.EntityID),
		"metadata/saml20-sp-remote.php": fmt.Sprintf(`<?php
$metadata['%s'] = [
    'AssertionConsumerService' => '%s',
    'SingleLogoutService' => [['Binding' => 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect', 'Location' => '%s']],
    'signature.algorithm' => 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
    'redirect.sign' => true,
];
`, spEntityID, acsURL, sloURL),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	idp.cmd = exec.Command(php, "-S", fmt.Sprintf("127.0.0.1:%d", port), "-t", simpleSAMLphpWWW)
	idp.cmd.Env = append(os.Environ(), "SIMPLESAMLPHP_CONFIG_DIR="+filepath.Join(dir, "config"))
	logf, err := os.Create(filepath.Join(dir, "log", "php-server.log"))
	if err != nil {
		t.Fatal(err)
	}
	idp.cmd.Stdout, idp.cmd.Stderr = logf, logf
	idp.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := idp.cmd.Start(); err != nil {
		t.Fatalf("starting php -S: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-idp.cmd.Process.Pid, syscall.SIGTERM)
		_ = idp.cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(idp.MetadataURL)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && strings.Contains(string(b), "IDPSSODescriptor") {
				return idp
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "log", "php-server.log"))
			t.Fatalf("SimpleSAMLphp did not serve its metadata within 20 s (last error %v)\n%s", err, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Metadata fetches the IdP's metadata XML.
func (i *IdP) Metadata(t testing.TB) []byte {
	t.Helper()
	resp, err := http.Get(i.MetadataURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Log returns what the PHP server printed.
func (i *IdP) Log() string {
	b, _ := os.ReadFile(filepath.Join(i.dir, "log", "php-server.log"))
	return string(b)
}

// authsources is exampleauth:UserPass with AD FS style claim names.
func authsources(users []IdPUser) string {
	var sb strings.Builder
	sb.WriteString("<?php\n$config = [\n  'admin' => ['core:AdminPassword'],\n  'hospital-users' => [\n    'exampleauth:UserPass',\n")
	q := func(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }
	for _, u := range users {
		var groups []string
		for _, g := range u.Groups {
			groups = append(groups, q(g))
		}
		fmt.Fprintf(&sb, "    %s => ['uid' => [%s], 'displayName' => [%s], 'http://schemas.xmlsoap.org/claims/Group' => [%s]],\n",
			q(u.Login+":"+u.Password), q(u.Login), q(u.Name), strings.Join(groups, ", "))
	}
	sb.WriteString("  ],\n];\n")
	return sb.String()
}

// writeIdPKey writes an RSA 2048 key and self-signed certificate.
func writeIdPKey(t testing.TB, dir string) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test IdP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "idp.key"), pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// hostPort is the host:port of a URL.
func hostPort(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Host
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%x", b)
}
