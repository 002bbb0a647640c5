#!/usr/bin/env bash
# Runs the whole test suite: on SQLite, then on PostgreSQL.
# Installs what the tests need where it is missing (Debian's chromium,
# chromium-driver and a CJK font) and starts the local PostgreSQL if it is down.
#   scripts/test.sh            both databases
#   scripts/test.sh sqlite     SQLite only
#   scripts/test.sh postgres   PostgreSQL only (BIHUAN_TEST_POSTGRES, default
#                              postgres://postgres@127.0.0.1:5432)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-all}

# A CJK font, so that the journeys' screenshots (and text widths) are real.
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 ||
  ! dpkg -s fonts-wqy-zenhei >/dev/null 2>&1; then
  echo "== installing chromium, chromium-driver and fonts-wqy-zenhei"
  packages="chromium chromium-driver fonts-wqy-zenhei"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $packages >/dev/null
  else sudo apt-get update -qq && sudo apt-get install -y -qq $packages >/dev/null; fi
fi

run_sqlite() {
  echo "== tests on SQLite"
  env -u BIHUAN_TEST_POSTGRES cargo test --workspace --locked
}

run_postgres() {
  local server=${BIHUAN_TEST_POSTGRES:-postgres://postgres@127.0.0.1:5432}
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start
    for _ in $(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
  echo "== tests on PostgreSQL ($server)"
  # Each test creates its own database bihuan_t_*; drop them afterwards.
  local status=0
  BIHUAN_TEST_POSTGRES="$server" cargo test --workspace --locked || status=$?
  drop_test_databases "$server"
  return "$status"
}

drop_test_databases() {
  psql "$1/postgres" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'bihuan_t\_%'" 2>/dev/null |
    while read -r db; do psql "$1/postgres" -qc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true; done
}

case "$which" in
  sqlite) run_sqlite ;;
  postgres) run_postgres ;;
  all) run_sqlite; run_postgres ;;
  *) echo "usage: scripts/test.sh [sqlite|postgres|all]" >&2; exit 2 ;;
esac
