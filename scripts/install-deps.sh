#!/usr/bin/env bash
# Installs what Wardline's tests need on Debian 12, and nothing it already has:
# Debian packages with apt-get, Go tools with go install. Run by `make test`.
set -euo pipefail

# Debian packages the tests use as real counterparts, by the command they provide.
declare -A packages=(
  [pebble]=pebble            # an ACME CA, for certificate issuance tests
  [mosquitto_pub]=mosquitto-clients  # MQTT clients for the device API tests
  [mount]=mount              # tmpfs for the full-disk test
  [gcc]=gcc                  # cgo, needed by the race detector
  # A throwaway Samba AD DC for the directory tests (scripts/samba-dc.sh).
  [samba]=samba
  [samba-tool]="samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind"
  [ldbadd]=ldb-tools
  [ldapsearch]=ldap-utils
  [kinit]=krb5-user
  [openssl]=openssl
  [chromium]=chromium        # the browser tests (chromedp)
  [php]=php-cli              # SimpleSAMLphp, the IdP of the SAML tests
)
# Debian packages without a command of their own, by a file they install.
declare -A files=(
  [/usr/share/simplesamlphp/www/index.php]=simplesamlphp
  [/etc/php/8.2/mods-available/dom.ini]=php8.2-xml
  [/etc/php/8.2/mods-available/mbstring.ini]=php8.2-mbstring
  [/etc/php/8.2/mods-available/curl.ini]=php8.2-curl
)
STATICCHECK_VERSION=v0.8.2   # staticcheck 2026.2.2

need_go() {
  if ! command -v go >/dev/null 2>&1; then
    echo "Go 1.26 or newer is needed: install it from https://go.dev/dl/ into /usr/local/go and add /usr/local/go/bin to PATH" >&2
    exit 1
  fi
  local v
  v=$(go env GOVERSION | sed 's/^go//')
  if [ "$(printf '%s\n1.26\n' "$v" | sort -V | head -n1)" != "1.26" ]; then
    echo "Go $v is too old: Wardline needs Go 1.26 or newer (https://go.dev/dl/)" >&2
    exit 1
  fi
}

install_packages() {
  local missing=()
  for cmd in "${!packages[@]}"; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
  done
  for f in "${!files[@]}"; do
    [ -e "$f" ] || missing+=("${files[$f]}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { echo "installing ${missing[*]} needs root: run as root or install sudo" >&2; exit 1; }
    sudo="sudo"
  fi
  echo "Installing Debian packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  # shellcheck disable=SC2068 # some entries name several packages
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing[@]}
}

install_go_tools() {
  local bin
  bin="$(go env GOPATH)/bin"
  if ! "$bin/staticcheck" -version 2>/dev/null | grep -q "(${STATICCHECK_VERSION#v})"; then
    echo "Installing staticcheck ${STATICCHECK_VERSION}"
    GOFLAGS= go install "honnef.co/go/tools/cmd/staticcheck@${STATICCHECK_VERSION}"
  fi
}

need_go
install_packages
install_go_tools
