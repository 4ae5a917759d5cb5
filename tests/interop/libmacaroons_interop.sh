#!/usr/bin/env bash
# Interop driver: libmacaroons 0.3.0 (C, Debian bookworm) <-> the `macaroon-mint` CLI, v1 format.
#
# Run (from the repository root):
#
#   apt-get update && apt-get install -y libmacaroons-dev gcc pkg-config python3   # once
#   cargo build -p macaroon-mint-cli                                            # or set MACAROON_MINT_BIN
#   bash tests/interop/libmacaroons_interop.sh                # peer self-check + CLI checks
#   bash tests/interop/libmacaroons_interop.sh --self-check   # peer only (no binary needed)
#
# There are no Python bindings for libmacaroons in Debian (no python3-macaroons; `python3-pymacaroons`
# is the pure-Python pymacaroons), so the library is driven through lm_tool.c (next to this file),
# compiled here against libmacaroons-dev into $LM_TOOL (default ${TMPDIR:-/tmp}/macaroon-mint-lm_tool).
# python3 (standard library only) is used to read `inspect --json` output.
#
# The CLI binary is --bin PATH, else $MACAROON_MINT_BIN, else /work/main/target/debug/macaroon-mint
# (then <repo>/target/debug/macaroon-mint). One line per check ("PASS name" / "FAIL name" plus the
# exact command, exit status and output) and finally "N passed, N failed" alone on a line; exit 1 if
# anything failed.
#
# libmacaroons 0.3.0 is v1 only (and this Debian build has no JSON support). Its defects (SPEC §15)
# are kept away from it: lm_tool pre-checks every token before macaroon_deserialize() (no `0000`
# header -> endless loop; no text without a signature packet -> SIGSEGV; no short vid -> assert
# abort), and every libmacaroons call here runs under `timeout`. It accepts unused discharges and
# only says "invalid"/"not authorized", so for it we assert only valid vs not valid.

set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SELF_ONLY=0
BIN_ARG=""
while [ $# -gt 0 ]; do
  case "$1" in
    --self-check) SELF_ONLY=1 ;;
    --bin) BIN_ARG="${2:-}"; shift ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

PASSED=0
FAILED=0
pass() { PASSED=$((PASSED + 1)); echo "PASS $1"; }
fail() {
  FAILED=$((FAILED + 1)); echo "FAIL $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | sed 's/^/     | /'; fi
}
finish() { echo "$PASSED passed, $FAILED failed"; [ "$FAILED" -eq 0 ]; exit $?; }

# ---- build lm_tool ------------------------------------------------------------------------------
LM_TOOL="${LM_TOOL:-${TMPDIR:-/tmp}/macaroon-mint-lm_tool}"
if ! pkg-config --exists libmacaroons 2>/dev/null; then
  fail "libmacaroons-dev is installed (pkg-config libmacaroons)" "run: apt-get install -y libmacaroons-dev"
  finish
fi
if ! BUILD_OUT=$(cc -O2 -Wall -rdynamic -o "$LM_TOOL" "$HERE/lm_tool.c" $(pkg-config --cflags --libs libmacaroons) -ldl 2>&1); then
  fail "build lm_tool against libmacaroons $(pkg-config --modversion libmacaroons)" "$BUILD_OUT"
  finish
fi
echo "# libmacaroons $(pkg-config --modversion libmacaroons), driver $LM_TOOL"

# ---- command runners: set OUT, ERR, RC, DESC ------------------------------------------------------
_run() { # _run TIMEOUT STDIN_OR_EMPTY_MARKER cmd...
  local t="$1" in="$2"; shift 2
  local ef; ef=$(mktemp)
  if [ "$in" = "__none__" ]; then
    OUT=$(timeout "$t" "$@" 2>"$ef"); RC=$?
  else
    OUT=$(printf '%s' "$in" | timeout "$t" "$@" 2>"$ef"); RC=$?
  fi
  ERR=$(cat "$ef"); rm -f "$ef"
  local q; q=$(printf '%q ' "$@")
  DESC="\$ ${q% }"
  [ "$in" != "__none__" ] && DESC="$DESC   # stdin: $in"
  [ "$RC" -eq 124 ] && ERR="$ERR [TIMED OUT after ${t}s]"
  [ "$RC" -ge 128 ] && [ "$RC" -ne 124 ] && ERR="$ERR [killed by signal $((RC - 128))]"
  DESC="$DESC
-> exit $RC
stdout: $OUT
stderr: $ERR"
}
lm() { _run 20 __none__ "$LM_TOOL" "$@"; }
cli() { _run 60 __none__ "$BIN" "$@"; }
cli_stdin() { local in="$1"; shift; _run 60 "$in" "$BIN" "$@"; }

eq() { # eq NAME GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "got:  $2
want: $3"; fi
}
expect_rc() { # expect_rc NAME RC [MUST_CONTAIN]   (uses the last command; a rejection must print something)
  local ok=1
  [ "$RC" = "$2" ] || ok=0
  if [ $ok -eq 1 ] && [ "$2" != 0 ] && [ -z "$OUT$ERR" ]; then ok=0; fi
  if [ $ok -eq 1 ] && [ -n "${3:-}" ]; then case "$OUT$ERR" in *"$3"*) ;; *) ok=0 ;; esac; fi
  if [ $ok -eq 1 ]; then pass "$1"; else fail "$1" "expected exit $2${3:+ and output containing '$3'}
$DESC"; fi
}
expect_valid() { # last command printed "valid" first and exited 0
  if [ "$RC" = 0 ] && [ "$(printf '%s\n' "$OUT" | head -n1)" = "valid" ]; then pass "$1"; else fail "$1" "expected exit 0 and 'valid'
$DESC"; fi
}
token_of() { # token_of NAME -> sets TOK from the last command, or empty (and a FAIL)
  TOK=""
  if [ "$RC" = 0 ] && [ -n "$OUT" ] && [ "$(printf '%s\n' "$OUT" | wc -l)" -eq 1 ]; then TOK="$OUT"; pass "$1"
  else fail "$1" "expected exit 0 and one token on stdout
$DESC"; fi
}

# our `inspect --json` rendered as libmacaroons' inspect text (location/identifier/cid/vid/cl/signature)
ours_as_lm_inspect() {
  python3 -c '
import base64, json, sys
def f(o, k):
    if o.get(k) is not None: return o[k].encode()
    if o.get(k + "64") is not None:
        s = o[k + "64"].replace("-", "+").replace("_", "/")
        return base64.b64decode(s + "=" * (-len(s) % 4))
    return None
j = json.load(sys.stdin); m = j["macaroon"]
print("format", j["format"])
print("location", (f(m, "l") or b"").decode())
print("identifier", f(m, "i").decode())
for c in m.get("c") or []:
    print("cid", f(c, "i").decode())
    v = f(c, "v")
    if v:
        print("vid", base64.urlsafe_b64encode(v).decode().rstrip("="))
        print("cl", (f(c, "l") or b"").decode())
print("signature", f(m, "s").hex())
'
}
lm_inspect_of() { lm inspect "$1"; [ "$RC" = 0 ] && printf 'format v1\n%s\n' "$OUT"; }
sig_of() { lm inspect "$1"; printf '%s\n' "$OUT" | sed -n 's/^signature //p'; }

# ---- SPEC §11 vectors ---------------------------------------------------------------------------
TV1_KEY='this is our super secret key; only we should know it'
TV1_ID='we used our secret key'
TV1_LOC='http://mybank/'
TV1_V1_0='MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo'
TV1_V1_1='MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIB7-R2PykNvODB0IR3Nn4R9O7kVqZJM89mLXl3LbuCEoCg'
TV1_V1_3='MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIwLTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0dXJlIN31U-Rgg-VbjXGrgivj2PzyHWvxnEDWF7uftDiTRHS2Cg'
TV1_HACKERS='MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNl
Y3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIw
LTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0
dXJlID8f19FL+bkC9p/aoMmIecC7GxdOcLVyUnrv6lJMM7NSCg=='
TV2_KEY='this is a different super-secret key; never use the same secret twice'
TV2_ID='we used our other secret key'
TV2_CK='4; guaranteed random by a fair toss of the dice'
TV2_CID='this was how we remind auth of key/pred'
TV2_CL='http://auth.mybank/'
TV2_VID='AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhr'
TV2_ROOT_V1='MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMmNpZGVudGlmaWVyIHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDMwY2lkIHRoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZAowMDUxdmlkIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAANNuxQLgWIbR8CefBV-lJVTRbRbBsUB0u7g_8P3XncL-CY8O1KKwkRMOa120aiCoawowMDFiY2wgaHR0cDovL2F1dGgubXliYW5rLwowMDJmc2lnbmF0dXJlINJ9sv0fInYOTD2ugTfi2Pwd9sB0HBiu1LlyVr940fVcCg'
TV2_BOUND_V1='MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSDRFe8cEzsRJpeNWrJ_admbqdBGjNbBt-R7jBxZAZywGQo'
TV2_UNBOUND_V1='MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSAu0QSYdunVhAlQJ0tXmwdwMX31TTONnTA5x8Z9DZHWPAo'

self_check() {
  lm mint "$TV1_LOC" "$TV1_KEY" "$TV1_ID"; eq "self: TV1 v1 text, no caveats" "$OUT" "$TV1_V1_0"
  lm mint "$TV1_LOC" "$TV1_KEY" "$TV1_ID" 'account = 3735928559'; eq "self: TV1 v1 text, account caveat" "$OUT" "$TV1_V1_1"
  lm mint "$TV1_LOC" "$TV1_KEY" "$TV1_ID" 'account = 3735928559' 'time < 2020-01-01T00:00' 'email = alice@example.org'
  eq "self: TV1 v1 text, three caveats" "$OUT" "$TV1_V1_3"
  lm add-first "$TV1_V1_1" 'time < 2020-01-01T00:00' 'email = alice@example.org'
  eq "self: TV1 add-first on the parsed account vector" "$OUT" "$TV1_V1_3"
  eq "self: TV1 signature, three caveats" "$(sig_of "$TV1_V1_3")" ddf553e46083e55b8d71ab822be3d8fcf21d6bf19c40d617bb9fb438934474b6
  lm verify "$TV1_KEY" "$TV1_V1_3" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -e 'email = alice@example.org'
  expect_valid "self: TV1 v1 vector verifies"
  lm verify "$TV1_KEY" "$TV1_V1_3" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00'
  expect_rc "self: TV1 rejected with one caveat unmet" 1
  lm verify 'this is not the key' "$TV1_V1_3" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -e 'email = alice@example.org'
  expect_rc "self: TV1 rejected with a wrong key" 1
  lm inspect "$TV1_HACKERS"
  eq "self: TV1 negative (std base64, padded, wrapped) parses" "$(printf '%s\n' "$OUT" | grep -c '^cid ')" 3
  lm verify "$TV1_KEY" "$TV1_HACKERS" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -e 'email = alice@example.org'
  expect_rc "self: TV1 negative fails verification" 1

  lm mint "$TV1_LOC" "$TV1_KEY" "$TV1_ID" 'test = caveat'
  eq "self: TV3 'test = caveat' v1" "$OUT" 'MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK'
  lm mint "$TV1_LOC" "$TV1_KEY" "$TV1_ID" 'test = acaveat'
  eq "self: TV3 'test = acaveat' v1" "$OUT" 'MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxN2NpZCB0ZXN0ID0gYWNhdmVhdAowMDJmc2lnbmF0dXJlIJRJ_V3WNJQnqlVq5eez7spnltwU_AXs8NIRY739sHooCg'

  lm mint 'http://example.org/' 'this is the key' keyid
  eq "self: TV4 no caveats v1" "$OUT" 'MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAyZnNpZ25hdHVyZSB83ueSURxbxvUoSFgF3-myTnheKOKpkwH51xHGCeOO9wo'
  lm mint 'http://example.org/' 'this is the key' keyid 'account = 3735928559'
  eq "self: TV4 one caveat v1" "$OUT" 'MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIPVIB_bcbt-Ivw9zBrOCJWKjYlM9v3M5umF2XaS9JZ2HCg'
  lm mint 'http://example.org/' 'this is the key' keyid 'account = 3735928559' 'user = alice'
  eq "self: TV4 two caveats v1" "$OUT" 'MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDE1Y2lkIHVzZXIgPSBhbGljZQowMDJmc2lnbmF0dXJlIEvpZ80eoMaya69qSpTumwWxWIbaC6hejEKpPI0OEl78Cg'

  # TV2: built by libmacaroons itself with a zero nonce (LM_TOOL_ZERO_NONCE, see lm_tool.c)
  LM_TOOL_ZERO_NONCE=1 lm add-third "$(LM_TOOL_ZERO_NONCE=1 "$LM_TOOL" mint "$TV1_LOC" "$TV2_KEY" "$TV2_ID" 'account = 3735928559')" "$TV2_CL" "$TV2_CK" "$TV2_CID"
  eq "self: TV2 root v1 text (zero nonce)" "$OUT" "$TV2_ROOT_V1"
  lm inspect "$TV2_ROOT_V1"
  eq "self: TV2 root v1 vector: vid as read by libmacaroons" "$(printf '%s\n' "$OUT" | sed -n 's/^vid //p')" "$TV2_VID"
  eq "self: TV2 root v1 vector: signature" "$(printf '%s\n' "$OUT" | sed -n 's/^signature //p')" d27db2fd1f22760e4c3dae8137e2d8fc1df6c0741c18aed4b97256bf78d1f55c
  lm verify "$TV2_KEY" "$TV2_ROOT_V1" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -d "$TV2_BOUND_V1"
  expect_valid "self: TV2 root v1 + bound discharge v1 verify"
  lm verify "$TV2_KEY" "$TV2_ROOT_V1" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -d "$TV2_UNBOUND_V1"
  expect_rc "self: TV2 unbound discharge rejected" 1
  lm mint "$TV2_CL" "$TV2_CK" "$TV2_CID" 'time < 2020-01-01T00:00'
  eq "self: TV2 discharge v1 text (unbound)" "$OUT" "$TV2_UNBOUND_V1"
  lm prepare "$TV2_ROOT_V1" "$TV2_UNBOUND_V1"
  eq "self: TV2 prepare_for_request gives the bound v1 vector" "$OUT" "$TV2_BOUND_V1"
  lm mint "$TV1_LOC" "$TV2_KEY" "$TV2_ID" 'account = 3735928559'; local r0="$OUT"
  lm add-third "$r0" "$TV2_CL" "$TV2_CK" "$TV2_CID"; local r1="$OUT"
  if [ "$r1" != "$TV2_ROOT_V1" ]; then pass "self: without LM_TOOL_ZERO_NONCE the nonce is random"
  else fail "self: without LM_TOOL_ZERO_NONCE the nonce is random" "got the zero-nonce vector"; fi
  lm prepare "$r1" "$TV2_UNBOUND_V1"; local b1="$OUT"
  lm verify "$TV2_KEY" "$r1" -e 'account = 3735928559' -e 'time < 2020-01-01T00:00' -d "$b1"
  expect_valid "self: fresh libmacaroons TV2 chain (random nonce) verifies"

  # the guard in lm_tool (never hand these to libmacaroons 0.3.0)
  lm check 'MDAwMGxvY2F0aW9uIAo'; expect_rc "self: guard refuses a 0000 header (LM 0.3.0 would hang)" 3
  lm check 'MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkK'
  expect_rc "self: guard refuses text without a signature packet (LM 0.3.0 would crash)" 3
  lm check "$(python3 -c 'import base64;print(base64.urlsafe_b64encode(b"000flocation x\n0011identifier i\n000acid c\n000dvid short\n0008cl x\n002fsignature "+b"s"*32+b"\n").decode())')"
  expect_rc "self: guard refuses a short vid (LM 0.3.0 would abort)" 3
}

# ---- CLI checks ---------------------------------------------------------------------------------
KEY='interop root key: libmacaroons'
LOC='https://svc.example.com/'
C1='account = 3735928559'
C2='user = alice'
TP_LOC='https://auth.example.com/'
CKH='6361766561742d726f6f742d6b6579ff00'   # caveat ROOT key bytes (hex)

cli_a() { # libmacaroons mints -> we verify / inspect
  lm mint "$LOC" "$KEY" lm-first-party "$C1" "$C2"; local t="$OUT"
  cli verify --key "$KEY" --exact "$C1" --exact "$C2" "$t"; expect_valid "A v1: LM token verifies (all caveats --exact)"
  cli_stdin "$t" verify --key "$KEY" --exact "$C1" --exact "$C2" -; expect_valid "A v1: LM token on stdin ('-') verifies"
  cli verify --key "$KEY" --exact "$C1" "$t"; expect_rc "A v1: unmet caveat -> exit 1 naming it" 1 "$C2"
  cli verify --key "$KEY!" --exact "$C1" --exact "$C2" "$t"; expect_rc "A v1: wrong key -> exit 1" 1
  local want; want=$(lm_inspect_of "$t")
  cli inspect --json "$t"; local got; got=$(printf '%s' "$OUT" | ours_as_lm_inspect 2>&1)
  if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then pass "A v1: inspect --json shows LM's fields"
  else fail "A v1: inspect --json shows LM's fields" "got:
$got
want:
$want
$DESC"; fi
  cli attenuate --caveat 'extra = 1' "$t"; token_of "A v1: attenuate an LM token"
  if [ -n "$TOK" ]; then
    lm verify "$KEY" "$TOK" -e "$C1" -e "$C2" -e 'extra = 1'; expect_valid "A v1: LM verifies our attenuation of its token"
    lm verify "$KEY" "$TOK" -e "$C1" -e "$C2"; expect_rc "A v1: ... and rejects it without the added caveat" 1
  fi
  lm mint "$LOC" "hex:ff0080c328" lm-binkey "$C1"; t="$OUT"
  cli verify --key-hex ff0080c328 --exact "$C1" "$t"; expect_valid "A v1: --key-hex with non-UTF-8 key bytes"
}

cli_b() { # we mint + attenuate -> libmacaroons reads and verifies
  cli mint --key "$KEY" --location "$LOC" --identifier ours-first-party --caveat "$C1" --format v1
  token_of "B v1: mint"; local t0="$TOK"; [ -n "$t0" ] || return
  cli attenuate --caveat "$C2" "$t0"; token_of "B v1: attenuate"; local t1="$TOK"; [ -n "$t1" ] || return
  lm mint "$LOC" "$KEY" ours-first-party "$C1" "$C2"
  eq "B v1: our token is byte-identical to LM's for the same inputs" "$t1" "$OUT"
  lm check "$t1"; expect_rc "B v1: our token passes the LM safety pre-check" 0
  [ "$RC" = 0 ] || return
  lm verify "$KEY" "$t1" -e "$C1" -e "$C2"; expect_valid "B v1: LM verifies our token"
  lm verify "$KEY!" "$t1" -e "$C1" -e "$C2"; expect_rc "B v1: LM rejects a wrong key" 1
  lm verify "$KEY" "$t1" -e "$C1"; expect_rc "B v1: LM rejects with a caveat unmet" 1
  lm add-first "$t1" 'extra = 1'; local t2="$OUT"
  cli verify --key "$KEY" --exact "$C1" --exact "$C2" --exact 'extra = 1' "$t2"
  expect_valid "B v1: we verify LM's attenuation of our token"
  cli mint --key "$KEY" --location "$LOC" --identifier ours-v2 --caveat "$C1" --format v2; local v2="$OUT"
  cli convert --format v1 "$v2"; token_of "B convert v2 -> v1"
  if [ -n "$TOK" ]; then
    lm verify "$KEY" "$TOK" -e "$C1"; expect_valid "B convert v2 -> v1: LM verifies"
  fi
  cli mint --key "$KEY" --location "" --identifier ours-noloc --caveat "$C1" --format v1; token_of "B v1: mint with empty location"
  if [ -n "$TOK" ]; then
    lm verify "$KEY" "$TOK" -e "$C1"; expect_valid "B v1: LM verifies our empty-location token (location packet present)"
  fi
}

cli_c() { # libmacaroons third-party chain -> we verify
  lm mint "$LOC" "$KEY" lm-tp-root "$C1"; local r0="$OUT"
  lm add-third "$r0" "$TP_LOC" "hex:$CKH" lm-tp-caveat; local rt="$OUT"
  lm mint "$TP_LOC" "hex:$CKH" lm-tp-caveat 'tp = ok'; local dt="$OUT"
  lm prepare "$rt" "$dt"; local bt="$OUT"
  lm verify "$KEY" "$rt" -e "$C1" -e 'tp = ok' -d "$bt"; expect_valid "C v1: (peer sanity) LM verifies its own chain"
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --discharge "$bt" "$rt"; expect_valid "C v1: we verify LM root + bound discharge"
  local want got; want=$(lm_inspect_of "$rt")
  cli inspect --json "$rt"; got=$(printf '%s' "$OUT" | ours_as_lm_inspect 2>&1)
  if [ "$RC" = 0 ] && [ "$got" = "$want" ]; then pass "C v1: inspect shows the third-party caveat (cid, vid, cl)"
  else fail "C v1: inspect shows the third-party caveat (cid, vid, cl)" "got:
$got
want:
$want
$DESC"; fi
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' "$rt"; expect_rc "C v1: missing discharge -> exit 1" 1
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --discharge "$dt" "$rt"; expect_rc "C v1: unbound discharge -> exit 1" 1
  cli verify --key "$KEY" --exact "$C1" --discharge "$bt" "$rt"; expect_rc "C v1: discharge caveat unmet -> exit 1 naming it" 1 'tp = ok'
  lm mint "$TP_LOC" "hex:$CKH" unrelated-id; lm prepare "$rt" "$OUT"; local xt="$OUT"
  lm verify "$KEY" "$rt" -e "$C1" -e 'tp = ok' -d "$bt" -d "$xt"; expect_valid "C v1: (peer quirk) LM accepts an unused discharge"
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --discharge "$bt" --discharge "$xt" "$rt"
  expect_rc "C v1: unused discharge -> exit 1 by default" 1
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --ignore-unused-discharges --discharge "$bt" --discharge "$xt" "$rt"
  expect_valid "C v1: unused discharge accepted with --ignore-unused-discharges"
}

cli_d() { # our third-party chain -> libmacaroons verifies; mixed chains
  cli mint --key "$KEY" --location "$LOC" --identifier ours-tp-root --caveat "$C1" --format v1; token_of "D v1: mint root"
  local t0="$TOK"; [ -n "$t0" ] || return
  cli third-party --location "$TP_LOC" --caveat-key-hex "$CKH" --caveat-id ours-tp-caveat "$t0"; token_of "D v1: third-party"; local rt="$TOK"
  cli discharge --caveat-key-hex "$CKH" --caveat-id ours-tp-caveat --location "$TP_LOC" --caveat 'tp = ok' --format v1
  token_of "D v1: discharge"; local dt="$TOK"
  [ -n "$rt" ] && [ -n "$dt" ] || return
  cli bind "$rt" "$dt"; token_of "D v1: bind"; local bt="$TOK"; [ -n "$bt" ] || return
  lm mint "$TP_LOC" "hex:$CKH" ours-tp-caveat 'tp = ok'
  eq "D v1: our unbound discharge is byte-identical to LM's" "$dt" "$OUT"
  lm check "$rt"; expect_rc "D v1: our root passes the LM safety pre-check" 0; [ "$RC" = 0 ] || return
  lm prepare "$rt" "$dt"; eq "D v1: our bind equals LM prepare_for_request" "$bt" "$OUT"
  lm verify "$KEY" "$rt" -e "$C1" -e 'tp = ok' -d "$bt"; expect_valid "D v1: LM verifies our root + bound discharge"
  lm verify "$KEY" "$rt" -e "$C1" -e 'tp = ok' -d "$dt"; expect_rc "D v1: LM rejects our unbound discharge" 1
  lm verify "$KEY" "$rt" -e "$C1" -d "$bt"; expect_rc "D v1: LM rejects with the discharge caveat unmet" 1

  # mixed 1: LM root, our discharge + bind
  lm mint "$LOC" "$KEY" mixed-root-1 "$C1"; lm add-third "$OUT" "$TP_LOC" "hex:$CKH" mixed-lm-root; local prt="$OUT"
  cli discharge --caveat-key-hex "$CKH" --caveat-id mixed-lm-root --location "$TP_LOC" --caveat 'tp = ok' --format v1
  token_of "D v1: mixed: our discharge for an LM caveat"; local d2="$TOK"
  if [ -n "$d2" ]; then
    cli bind "$prt" "$d2"; token_of "D v1: mixed: our bind to an LM root"; local b2="$TOK"
    if [ -n "$b2" ]; then
      lm verify "$KEY" "$prt" -e "$C1" -e 'tp = ok' -d "$b2"; expect_valid "D v1: mixed: LM verifies LM root + our bound discharge"
      cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --discharge "$b2" "$prt"; expect_valid "D v1: mixed: we verify LM root + our bound discharge"
    fi
  fi
  # mixed 2: our root, LM discharge + prepare_for_request
  lm mint "$TP_LOC" "hex:$CKH" ours-tp-caveat 'tp = ok'; lm prepare "$rt" "$OUT"; local pb="$OUT"
  cli verify --key "$KEY" --exact "$C1" --exact 'tp = ok' --discharge "$pb" "$rt"; expect_valid "D v1: mixed: we verify our root + LM-bound LM discharge"

  # our third-party caveat with an EMPTY location: we still write the cl packet (SPEC §6.2)
  cli third-party --location "" --caveat-key-hex "$CKH" --caveat-id empty-cl-caveat "$t0"; token_of "D v1: third-party with empty location"
  local et="$TOK"
  if [ -n "$et" ]; then
    lm check "$et"; expect_rc "D v1: empty-cl token passes the LM safety pre-check" 0
    if [ "$RC" = 0 ]; then
      lm mint "" "hex:$CKH" empty-cl-caveat; lm prepare "$et" "$OUT"; local eb="$OUT"
      lm verify "$KEY" "$et" -e "$C1" -d "$eb"; expect_valid "D v1: LM verifies our root with an empty cl packet"
    fi
  fi
}

cli_d_zero_nonce() { # our `third-party --nonce-hex` (vector-only option) vs libmacaroons with a zero nonce
  lm mint "$TV1_LOC" "$TV2_KEY" "$TV2_ID" 'account = 3735928559'; local base="$OUT"
  cli third-party --location "$TV2_CL" --caveat-key-hex "$(printf '%s' "$TV2_CK" | od -An -tx1 | tr -d ' \n')" \
    --caveat-id "$TV2_CID" --nonce-hex 000000000000000000000000000000000000000000000000 "$base"
  token_of "D v1: third-party --nonce-hex on an LM token"
  if [ -n "$TOK" ]; then
    LM_TOOL_ZERO_NONCE=1 lm add-third "$base" "$TV2_CL" "$TV2_CK" "$TV2_CID"
    eq "D v1: zero-nonce TV2 root is byte-identical to libmacaroons'" "$TOK" "$OUT"
  fi
}

find_bin() {
  if [ -n "$BIN_ARG" ]; then echo "$BIN_ARG"; return; fi
  if [ -n "${MACAROON_MINT_BIN:-}" ]; then echo "$MACAROON_MINT_BIN"; return; fi
  for c in /work/main/target/debug/macaroon-mint "$HERE/../../target/debug/macaroon-mint"; do
    if [ -x "$c" ]; then echo "$c"; return; fi
  done
  echo /work/main/target/debug/macaroon-mint
}

self_check
if [ "$SELF_ONLY" -eq 0 ]; then
  BIN="$(find_bin)"
  if [ ! -f "$BIN" ] || [ ! -x "$BIN" ]; then
    fail "CLI binary present" "no executable at $BIN (set MACAROON_MINT_BIN or use --self-check)"
  else
    echo "# CLI: $BIN"
    cli_a
    cli_b
    cli_c
    cli_d
    cli_d_zero_nonce
  fi
fi
finish
