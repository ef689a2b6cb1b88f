#!/usr/bin/env bash
# A throwaway Samba AD DC on 127.0.0.1 for Wardline's directory tests and benchmarks.
#
#   samba-dc.sh start DIR    provision a DC in DIR (about 5 s) with a CA-signed certificate whose SAN is
#                            IP:127.0.0.1 and DNS:localhost (Samba's own has no SAN, which Go refuses), start it,
#                            wait until LDAPS answers, write DIR/samba.pid and DIR/env.sh. Again on the same DIR:
#                            only (re)starts it.
#   samba-dc.sh stop DIR     stop it by its recorded PID.
#
# Samba's ports are fixed (389, 636, 3268, 3269): one DC per machine. internal/testkit/samba.go runs this
# under a lock file so that test packages take turns. Needs root and the packages of scripts/install-deps.sh.
set -euo pipefail
cmd=${1:?usage: samba-dc.sh start|stop DIR}; D=${2:?usage: samba-dc.sh start|stop DIR}
REALM=${AD_REALM:-HOSP.TEST}; DOMAIN=${AD_DOMAIN:-HOSP}; ADMIN_PW=${AD_ADMIN_PW:-Passw0rd!Test}
BASE_DN=$(echo "${REALM,,}" | sed 's/^/DC=/; s/\./,DC=/g')       # HOSP.TEST -> DC=hosp,DC=test

stop() {
  [ -s "$D/samba.pid" ] || return 0
  local pid; pid=$(cat "$D/samba.pid")
  if kill -0 "$pid" 2>/dev/null && grep -q samba "/proc/$pid/comm" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$D/samba.pid"
}
[ "$cmd" = stop ] && { stop; exit 0; }
[ "$cmd" = start ] || { echo "usage: samba-dc.sh start|stop DIR" >&2; exit 2; }
for tool in samba samba-tool ldbadd openssl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: run scripts/install-deps.sh (Debian: samba samba-ad-dc ldb-tools ...)" >&2; exit 1; }
done
mkdir -p "$D"; D=$(cd "$D" && pwd); CONF=$D/dc/etc/smb.conf
if [ -s "$D/samba.pid" ] && kill -0 "$(cat "$D/samba.pid")" 2>/dev/null; then
  echo "# DC already running, pid $(cat "$D/samba.pid")" >&2
else
  if [ ! -f "$CONF" ]; then
    samba-tool domain provision --targetdir="$D/dc" --realm="$REALM" --domain="$DOMAIN" --server-role=dc \
      --dns-backend=NONE --adminpass="$ADMIN_PW" --use-rfc2307 --host-name=dc1 --host-ip=127.0.0.1 \
      --option="interfaces=lo" --option="bind interfaces only=yes" > "$D/provision.log" 2>&1 \
      || { echo "samba-tool domain provision failed, see $D/provision.log" >&2; exit 1; }
    mkdir -p "$D/tls"
    (
      cd "$D/tls"
      openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Wardline test AD CA" -keyout ca.key -out ca.pem \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
      openssl req -newkey rsa:2048 -nodes -subj "/CN=dc1.${REALM,,}" -keyout dc.key -out dc.csr 2>/dev/null
      printf 'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:dc1.%s\nextendedKeyUsage=serverAuth\n' "${REALM,,}" > ext.cnf
      openssl x509 -req -in dc.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 365 -out dc.pem -extfile ext.cnf 2>/dev/null
      # A second CA that signs nothing here: a client trusting only it must refuse the DC.
      openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=Other CA" -keyout other.key -out other-ca.pem 2>/dev/null
      chmod 600 ca.key dc.key other.key                      # Samba refuses a key file others can read
    )
    # Only the LDAP services, logs in DIR, our certificate.
    sed -i "s#server services = .*#server services = ldap, cldap#; s#log file = .*#log file = $D/dc/log.%m#" "$CONF"
    sed -i "/^\[global\]/a\\
\ttls enabled = yes\\
\ttls keyfile = $D/tls/dc.key\\
\ttls certfile = $D/tls/dc.pem\\
\ttls cafile = $D/tls/ca.pem" "$CONF"
  fi
  for p in 389 636; do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "port $p is already in use (another DC?)" >&2; exit 1; }
  done
  nohup samba --configfile="$CONF" --foreground --no-process-group -M single --debug-stdout -d 1 \
    > "$D/samba.log" 2>&1 < /dev/null &
  echo $! > "$D/samba.pid"
  for _ in $(seq 1 150); do
    (exec 3<>"/dev/tcp/127.0.0.1/636") 2>/dev/null && break
    kill -0 "$(cat "$D/samba.pid")" 2>/dev/null || { echo "samba died, see $D/samba.log" >&2; exit 1; }
    sleep 0.2
  done
  (exec 3<>"/dev/tcp/127.0.0.1/636") 2>/dev/null || { echo "LDAPS not answering after 30 s, see $D/samba.log" >&2; exit 1; }
fi
cat > "$D/env.sh" <<EOT
export AD_URL=ldaps://127.0.0.1:636
export AD_BIND_DN='CN=Administrator,CN=Users,$BASE_DN'
export AD_BIND_PW='$ADMIN_PW'
export AD_BASE_DN='$BASE_DN'
export AD_CA_FILE='$D/tls/ca.pem'
export AD_OTHER_CA_FILE='$D/tls/other-ca.pem'
export AD_SAM_LDB='$D/dc/private/sam.ldb'
export AD_CONF='$CONF'
export AD_PID_FILE='$D/samba.pid'
EOT
cat "$D/env.sh"
