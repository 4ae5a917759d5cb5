#!/usr/bin/env bash
# Run every peer interop driver and print one combined "N passed, N failed" line.
#
#   bash tests/interop/run_all.sh [--install] [--self-check] [--bin PATH]
#
#   --install     first install the peers: .venv at the repository root with
#                 tests/interop/requirements.txt (pymacaroons 0.13.0), `npm ci` in tests/interop
#                 (js-macaroon 3.0.4), and libmacaroons-dev 0.3.0 through apt-get if it is missing
#                 (needs root; runs `apt-get update` first).
#   --self-check  peer-only checks (SPEC §11 vectors), no macaroon-mint binary needed.
#   --bin PATH    the macaroon-mint binary (default $MACAROON_MINT_BIN, then target/debug/macaroon-mint).
#   Environment: INTEROP_PYTHON overrides the Python used for pymacaroons (default <repo>/.venv/bin/python).
#
# Exit status 0 only if every driver ran and reported no failure.
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
INSTALL=0
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --install) INSTALL=1 ;;
    --self-check) ARGS+=(--self-check) ;;
    --bin) ARGS+=(--bin "${2:-}"); shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done
if [ -z "${MACAROON_MINT_BIN:-}" ] && [ -x "$ROOT/target/debug/macaroon-mint" ]; then
  export MACAROON_MINT_BIN="$ROOT/target/debug/macaroon-mint"
fi

if [ "$INSTALL" -eq 1 ]; then
  if [ ! -x "$ROOT/.venv/bin/python" ]; then python3 -m venv "$ROOT/.venv"; fi
  "$ROOT/.venv/bin/pip" install -q -r "$HERE/requirements.txt"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
  if ! pkg-config --exists libmacaroons 2>/dev/null; then
    if [ "$(id -u)" -eq 0 ]; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmacaroons-dev pkg-config gcc >/dev/null
    else
      echo "libmacaroons-dev is missing and we are not root: skipping its install" >&2
    fi
  fi
fi

PY="${INTEROP_PYTHON:-$ROOT/.venv/bin/python}"   # INTEROP_PYTHON: a Python that has pymacaroons
[ -x "$PY" ] || PY=python3

TOTAL_P=0
TOTAL_F=0
run_driver() { # run_driver NAME cmd...
  local name="$1"; shift
  echo "=== $name: $*"
  local out rc last p f
  out=$("$@" 2>&1); rc=$?
  printf '%s\n' "$out"
  last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n1)
  if [ -n "$last" ]; then
    p=${last%% passed*}; f=${last#*, }; f=${f%% failed*}
  else
    p=0; f=1; echo "FAIL $name: no summary line (exit $rc)"
  fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "FAIL $name: exit $rc"; fi
  TOTAL_P=$((TOTAL_P + p)); TOTAL_F=$((TOTAL_F + f))
  echo "=== $name: $p passed, $f failed"
}

run_driver pymacaroons "$PY" "$HERE/pymacaroons_interop.py" "${ARGS[@]}"
run_driver js-macaroon node "$HERE/js_interop.mjs" "${ARGS[@]}"
run_driver libmacaroons bash "$HERE/libmacaroons_interop.sh" "${ARGS[@]}"
echo "$TOTAL_P passed, $TOTAL_F failed"
[ "$TOTAL_F" -eq 0 ]
