#!/usr/bin/env bash
# Make a local PostgreSQL reachable on 127.0.0.1:5432 as user postgres, and the
# command-line tools the tests use (age, openssl, ssh-keygen, script) and pg_partman installed.
# Starts the installed cluster when it is down; installs Debian's packages when absent.
set -euo pipefail

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_updated=false
apt_install() {
    if ! $apt_updated; then as_root apt-get update -qq; apt_updated=true; fi
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

command -v age >/dev/null && command -v age-keygen >/dev/null || apt_install age
command -v openssl >/dev/null || apt_install openssl
command -v ssh-keygen >/dev/null || apt_install openssh-client
# script(1) gives the stock age CLI the terminal it reads a passphrase from.
command -v script >/dev/null || apt_install bsdutils

ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_isready >/dev/null || ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    if ! ready 2>/dev/null; then
        echo "installing PostgreSQL from Debian's packages"
        apt_install postgresql postgresql-contrib
    fi
fi

if ! ready; then
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    echo "starting PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || as_root pg_ctlcluster "$version" main start
    for _ in $(seq 1 30); do ready && break; sleep 1; done
fi
ready || { echo "PostgreSQL is not reachable on 127.0.0.1:5432" >&2; exit 1; }

# Tests connect as postgres over TCP without a password (trust), as on the dev machines.
if ! psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
    echo "configuring trust authentication for local test connections"
    hba=$(as_root runuser -u postgres -- psql -Atqc 'SHOW hba_file')
    as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal all all trust' "$hba"
    as_root runuser -u postgres -- psql -qc 'SELECT pg_reload_conf()' >/dev/null
    psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null
fi
# pg_partman (Debian postgresql-NN-partman): the purge tests drop partitions it made.
pg_version=$(psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SHOW server_version_num' | cut -c1-2)
if ! ls "/usr/share/postgresql/$pg_version/extension/pg_partman.control" >/dev/null 2>&1; then
    echo "installing postgresql-$pg_version-partman"
    apt_install "postgresql-$pg_version-partman"
fi
echo "PostgreSQL ready on 127.0.0.1:5432"
