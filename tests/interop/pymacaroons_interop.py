#!/usr/bin/env python3
"""Interop driver: pymacaroons 0.13.0 <-> the `macaroon-mint` CLI.

Run (from the repository root):

    python3 -m venv .venv && .venv/bin/pip install -r tests/interop/requirements.txt
    cargo build -p macaroon-mint-cli            # or set MACAROON_MINT_BIN
    .venv/bin/python tests/interop/pymacaroons_interop.py              # peer self-check + CLI checks
    .venv/bin/python tests/interop/pymacaroons_interop.py --self-check # peer only (no binary needed)

The CLI binary is $MACAROON_MINT_BIN (default /work/main/target/debug/macaroon-mint, then
<repo>/target/debug/macaroon-mint next to this file), or --bin PATH.

Prints one line per check ("PASS name" / "FAIL name" + details: the exact command, its exit
status, stdout and stderr) and finally "N passed, N failed" alone on a line. Exit status 1 if
anything failed.

Checks (SPEC sections in brackets):
  self-check  pymacaroons reproduces the SPEC §11 vectors (TV1 v1/v2/v2j texts and signatures,
              TV2 root/discharge/bound texts with a zero nonce, TV3, TV4) and round-trips its own
              tokens in v1, v2, v2 JSON and legacy v1 JSON.
  A  py -> us  pymacaroons mints (first-party caveats) in v1, v2, v2j; our `verify` says valid with
              the right --exact set (token as argument and on stdin), exit 1 for an unmet caveat
              (naming it) and for a wrong key; our `inspect --json` shows the same fields.
  B  us -> py  our `mint` + `attenuate` in v1, v2, v2j; pymacaroons deserializes, sees the same
              fields and verifies; it rejects a wrong key and an unmet caveat. Our `convert` output
              (from a pymacaroons token) is read and verified by pymacaroons.
  C  py 3rd    pymacaroons root with a third-party caveat + discharge + prepare_for_request ->
              our verify --discharge (valid; missing/unbound/unmet discharge -> exit 1; an extra
              unused discharge -> exit 1 unless --ignore-unused-discharges).
  D  us 3rd    our mint + third-party + discharge + bind -> pymacaroons Verifier verifies; mixed
              chains (py root + our discharge/bind, our root + py discharge/prepare_for_request).
  E  legacy    pymacaroons legacy v1 JSON (JsonSerializer on a v1 macaroon) -> our inspect/verify.

pymacaroons 0.13.0 defects avoided here (SPEC §15):
  * A third-party caveat with an EMPTY location is silently written as a first-party caveat in
    v1 (its serializer writes vid/cl only when both are non-empty), which breaks the signature
    chain for every reader. Every third-party caveat below has a non-empty location.
  * v1 packet lengths of location/identifier are counted in characters, not bytes, so non-ASCII
    text gives a corrupt v1 token. All v1 locations/identifiers/caveats below are ASCII.
  * It cannot mint a v1 macaroon with a non-UTF-8 identifier; binary identifiers are used only
    with version-2 macaroons (v2 and v2 JSON).
  * A caveat with an empty predicate is written as `{}` in JSON (unreadable even by itself): no
    empty caveats are used.
  * Its v2 JSON has no "v" key (and key order i, s64, l, c): vectors are compared as parsed JSON
    objects, not byte for byte, and our parser must accept the missing "v".
  * It accepts unused discharges and recurses without bound on a self-requiring discharge: no
    check here expects pymacaroons to reject an unused discharge, and no cyclic discharges are
    handed to it.
  * It skips an unmet first-party caveat and then reports a signature mismatch (SPEC §5.3): for
    pymacaroons we only assert that verification raises, not which error.
"""

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import os
import shlex
import subprocess
import sys
import tempfile
import traceback

try:
    from pymacaroons import Macaroon, Verifier, MACAROON_V1, MACAROON_V2
    from pymacaroons.serializers import BinarySerializer, JsonSerializer
except ImportError as e:  # pragma: no cover
    sys.stderr.write("pymacaroons is not installed (%s); install tests/interop/requirements.txt\n" % e)
    print("0 passed, 1 failed")
    sys.exit(1)

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_BIN = "/work/main/target/debug/macaroon-mint"

# --------------------------------------------------------------------------------------------
# Reporting

PASSED = 0
FAILED = 0


def report(name, ok, detail=""):
    global PASSED, FAILED
    if ok:
        PASSED += 1
        print("PASS %s" % name)
    else:
        FAILED += 1
        print("FAIL %s" % name)
        if detail:
            for line in detail.rstrip("\n").split("\n"):
                print("     | %s" % line)
    sys.stdout.flush()


def guarded(name, fn, *args):
    """Run a group of checks; an unexpected exception becomes one FAIL line."""
    try:
        fn(*args)
    except Exception as e:  # noqa: BLE001
        report("%s (raised)" % name, False, "%s: %s\n%s" % (type(e).__name__, e, traceback.format_exc()))


# --------------------------------------------------------------------------------------------
# pymacaroons helpers

FORMATS = ["v1", "v2", "v2j"]


def version_for(fmt):
    return MACAROON_V1 if fmt in ("v1", "v1json") else MACAROON_V2


def py_mint(fmt, location, identifier, key, caveats=()):
    m = Macaroon(location=location, identifier=identifier, key=key, version=version_for(fmt))
    for c in caveats:
        m.add_first_party_caveat(c)
    return m


def py_ser(m, fmt):
    if fmt in ("v1", "v2"):
        return m.serialize(BinarySerializer())
    return m.serialize(JsonSerializer())  # v2j (version-2 macaroon) or v1json (version-1)


def py_de(text, fmt):
    if fmt in ("v2j", "v1json"):
        return Macaroon.deserialize(text, JsonSerializer())
    return Macaroon.deserialize(text, BinarySerializer())


def py_verify(m, key, exacts=(), discharges=None, general=None):
    """(True, None) when pymacaroons verifies, (False, error text) otherwise."""
    v = Verifier()
    for e in exacts:
        v.satisfy_exact(e)
    if general:
        v.satisfy_general(general)
    try:
        ok = v.verify(m, key, discharges or [])
        return bool(ok), None if ok else "verify returned False"
    except Exception as e:  # noqa: BLE001
        return False, "%s: %s" % (type(e).__name__, e)


def sig_bytes(m):
    return binascii.unhexlify(m.signature_bytes)


def py_fields(m):
    """Comparable tuple: (location bytes, identifier bytes, [(cid, vid|None, cl|None)], sig)."""
    cavs = []
    for c in m.caveats:
        vid = c.verification_key_id
        cavs.append((c.caveat_id_bytes, vid if vid else None,
                     (c._location or b"") if vid else None))
    return ((m.location or "").encode(), m.identifier_bytes, cavs, sig_bytes(m))


def b64any(s):
    s = s.strip().replace("-", "+").replace("_", "/")
    s = "".join(s.split())
    return base64.b64decode(s + "=" * (-len(s) % 4))


def json_field(obj, k):
    if obj.get(k) is not None:
        return obj[k].encode("utf-8")
    if obj.get(k + "64") is not None:
        return b64any(obj[k + "64"])
    return None


def v2j_fields(obj):
    """Same tuple as py_fields, from a v2 JSON object (ours, the SPEC's or pymacaroons')."""
    cavs = []
    for c in obj.get("c") or []:
        vid = json_field(c, "v")
        cavs.append((json_field(c, "i"), vid if vid else None,
                     (json_field(c, "l") or b"") if vid else None))
    sig = json_field(obj, "s")
    return (json_field(obj, "l") or b"", json_field(obj, "i"), cavs, sig)


# --------------------------------------------------------------------------------------------
# SPEC §11 vectors

TV1_KEY = "this is our super secret key; only we should know it"
TV1_ID = "we used our secret key"
TV1_LOC = "http://mybank/"
TV1_CAVS = ["account = 3735928559", "time < 2020-01-01T00:00", "email = alice@example.org"]
TV1_SIGS = [
    "e3d9e02908526c4c0039ae15114115d97fdd68bf2ba379b342aaf0f617d0552f",
    "1efe4763f290dbce0c1d08477367e11f4eee456a64933cf662d79772dbb82128",
    "b5f06c8c8ef92f6c82c6ff282cd1f8bd1849301d09a2db634ba182536a611c49",
    "ddf553e46083e55b8d71ab822be3d8fcf21d6bf19c40d617bb9fb438934474b6",
]
TV1_V1_0 = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAyZnNpZ25hdHVyZSDj2eApCFJsTAA5rhURQRXZf91ovyujebNCqvD2F9BVLwo"
TV1_V1_1 = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIB7-R2PykNvODB0IR3Nn4R9O7kVqZJM89mLXl3LbuCEoCg"
TV1_V2_1 = "AgEOaHR0cDovL215YmFuay8CFndlIHVzZWQgb3VyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQAABiAe_kdj8pDbzgwdCEdzZ-EfTu5FamSTPPZi15dy27ghKA"
TV1_V1_3 = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIwLTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0dXJlIN31U-Rgg-VbjXGrgivj2PzyHWvxnEDWF7uftDiTRHS2Cg"
TV1_V2_3 = "AgEOaHR0cDovL215YmFuay8CFndlIHVzZWQgb3VyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQACF3RpbWUgPCAyMDIwLTAxLTAxVDAwOjAwAAIZZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwAABiDd9VPkYIPlW41xq4Ir49j88h1r8ZxA1he7n7Q4k0R0tg"
TV1_V2J_3 = '{"v":2,"l":"http://mybank/","i":"we used our secret key","c":[{"i":"account = 3735928559"},{"i":"time < 2020-01-01T00:00"},{"i":"email = alice@example.org"}],"s64":"3fVT5GCD5VuNcauCK-PY_PIda_GcQNYXu5-0OJNEdLY"}'
TV1_HACKERS = (
    "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNl\n"
    "Y3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDIwY2lkIHRpbWUgPCAyMDIw\n"
    "LTAxLTAxVDAwOjAwCjAwMjJjaWQgZW1haWwgPSBhbGljZUBleGFtcGxlLm9yZwowMDJmc2lnbmF0\n"
    "dXJlID8f19FL+bkC9p/aoMmIecC7GxdOcLVyUnrv6lJMM7NSCg==\n"
)

TV2_KEY = "this is a different super-secret key; never use the same secret twice"
TV2_ID = "we used our other secret key"
TV2_LOC = "http://mybank/"
TV2_CK = "4; guaranteed random by a fair toss of the dice"
TV2_CID = "this was how we remind auth of key/pred"
TV2_CL = "http://auth.mybank/"
TV2_ROOT_SIG = "d27db2fd1f22760e4c3dae8137e2d8fc1df6c0741c18aed4b97256bf78d1f55c"
TV2_DIS_SIG = "2ed1049876e9d5840950274b579b0770317df54d338d9d3039c7c67d0d91d63c"
TV2_BOUND_SIG = "d115ef1c133b1126978d5ab27f69d99ba9d0468cd6c1b7e47b8c1c59019cb019"
TV2_ROOT_V1 = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMmNpZGVudGlmaWVyIHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDMwY2lkIHRoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZAowMDUxdmlkIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAANNuxQLgWIbR8CefBV-lJVTRbRbBsUB0u7g_8P3XncL-CY8O1KKwkRMOa120aiCoawowMDFiY2wgaHR0cDovL2F1dGgubXliYW5rLwowMDJmc2lnbmF0dXJlINJ9sv0fInYOTD2ugTfi2Pwd9sB0HBiu1LlyVr940fVcCg"
TV2_ROOT_V2 = "AgEOaHR0cDovL215YmFuay8CHHdlIHVzZWQgb3VyIG90aGVyIHNlY3JldCBrZXkAAhRhY2NvdW50ID0gMzczNTkyODU1OQABE2h0dHA6Ly9hdXRoLm15YmFuay8CJ3RoaXMgd2FzIGhvdyB3ZSByZW1pbmQgYXV0aCBvZiBrZXkvcHJlZARIAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhrAAAGINJ9sv0fInYOTD2ugTfi2Pwd9sB0HBiu1LlyVr940fVc"
TV2_ROOT_V2J = '{"v":2,"l":"http://mybank/","i":"we used our other secret key","c":[{"i":"account = 3735928559"},{"i":"this was how we remind auth of key/pred","v64":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA027FAuBYhtHwJ58FX6UlVNFtFsGxQHS7uD_w_dedwv4Jjw7UorCREw5rXbRqIKhr","l":"http://auth.mybank/"}],"s64":"0n2y_R8idg5MPa6BN-LY_B32wHQcGK7UuXJWv3jR9Vw"}'
TV2_BOUND_V1 = "MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSDRFe8cEzsRJpeNWrJ_admbqdBGjNbBt-R7jBxZAZywGQo"
TV2_BOUND_V2 = "AgETaHR0cDovL2F1dGgubXliYW5rLwIndGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkAAIXdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAAAAYg0RXvHBM7ESaXjVqyf2nZm6nQRozWwbfke4wcWQGcsBk"
TV2_UNBOUND_V1 = "MDAyMWxvY2F0aW9uIGh0dHA6Ly9hdXRoLm15YmFuay8KMDAzN2lkZW50aWZpZXIgdGhpcyB3YXMgaG93IHdlIHJlbWluZCBhdXRoIG9mIGtleS9wcmVkCjAwMjBjaWQgdGltZSA8IDIwMjAtMDEtMDFUMDA6MDAKMDAyZnNpZ25hdHVyZSAu0QSYdunVhAlQJ0tXmwdwMX31TTONnTA5x8Z9DZHWPAo"
TV2_EXACT = ["account = 3735928559", "time < 2020-01-01T00:00"]

TV4_KEY = "this is the key"
TV4_LOC = "http://example.org/"
TV4_ID = "keyid"
TV4_ROWS = [
    ([], "7cdee792511c5bc6f528485805dfe9b24e785e28e2a99301f9d711c609e38ef7",
     "MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAyZnNpZ25hdHVyZSB83ueSURxbxvUoSFgF3-myTnheKOKpkwH51xHGCeOO9wo"),
    (["account = 3735928559"], "f54807f6dc6edf88bf0f7306b3822562a362533dbf7339ba61765da4bd259d87",
     "MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIPVIB_bcbt-Ivw9zBrOCJWKjYlM9v3M5umF2XaS9JZ2HCg"),
    (["account = 3735928559", "user = alice"], "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc",
     "MDAyMWxvY2F0aW9uIGh0dHA6Ly9leGFtcGxlLm9yZy8KMDAxNWlkZW50aWZpZXIga2V5aWQKMDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDE1Y2lkIHVzZXIgPSBhbGljZQowMDJmc2lnbmF0dXJlIEvpZ80eoMaya69qSpTumwWxWIbaC6hejEKpPI0OEl78Cg"),
]
TV4_V2_2 = "AgETaHR0cDovL2V4YW1wbGUub3JnLwIFa2V5aWQAAhRhY2NvdW50ID0gMzczNTkyODU1OQACDHVzZXIgPSBhbGljZQAABiBL6WfNHqDGsmuvakqU7psFsViG2guoXoxCqTyNDhJe_A"
TV4_V2J_2 = '{"v":2,"l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}],"s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw"}'

ZERO_NONCE = b"\0" * 24


def eq(name, got, want):
    report(name, got == want, "got:  %r\nwant: %r" % (got, want))


def json_eq(name, got_text, want_text):
    """Compare two v2 JSON texts as parsed objects, ignoring a missing "v" (pymacaroons omits it)."""
    got, want = json.loads(got_text), json.loads(want_text)
    got.pop("v", None)
    want.pop("v", None)
    report(name, v2j_fields(got) == v2j_fields(want) and got.keys() <= {"l", "i", "i64", "c", "s64", "s"},
           "got:  %s\nwant: %s" % (got_text, want_text))


def self_check():
    # ---- TV1
    m = py_mint("v1", TV1_LOC, TV1_ID, TV1_KEY)
    eq("self: TV1 mint signature", m.signature, TV1_SIGS[0])
    eq("self: TV1 v1 text, no caveats", py_ser(m, "v1"), TV1_V1_0)
    for i, c in enumerate(TV1_CAVS):
        m.add_first_party_caveat(c)
        eq("self: TV1 signature after %r" % c, m.signature, TV1_SIGS[i + 1])
        if i == 0:
            eq("self: TV1 v1 text, account caveat", py_ser(m, "v1"), TV1_V1_1)
    eq("self: TV1 v1 text, three caveats", py_ser(m, "v1"), TV1_V1_3)
    m2 = py_mint("v2", TV1_LOC, TV1_ID, TV1_KEY, TV1_CAVS[:1])
    eq("self: TV1 v2 text, account caveat", py_ser(m2, "v2"), TV1_V2_1)
    m2 = py_mint("v2", TV1_LOC, TV1_ID, TV1_KEY, TV1_CAVS)
    eq("self: TV1 v2 text, three caveats", py_ser(m2, "v2"), TV1_V2_3)
    json_eq("self: TV1 v2j, three caveats (as JSON objects)", py_ser(m2, "v2j"), TV1_V2J_3)
    for fmt, text in (("v1", TV1_V1_3), ("v2", TV1_V2_3), ("v2j", TV1_V2J_3)):
        pm = py_de(text, fmt)
        ok, err = py_verify(pm, TV1_KEY, TV1_CAVS)
        report("self: TV1 %s vector parses and verifies" % fmt, ok, err or "")
        ok, err = py_verify(pm, TV1_KEY, TV1_CAVS[:2])
        report("self: TV1 %s vector rejected with one caveat unmet" % fmt, not ok, "verified unexpectedly")
        ok, err = py_verify(pm, "this is not the key", TV1_CAVS)
        report("self: TV1 %s vector rejected with a wrong key" % fmt, not ok, "verified unexpectedly")
    pm = py_de(TV1_HACKERS, "v1")
    eq("self: TV1 negative (std base64, padded, wrapped) parses", py_fields(pm)[2],
       [(c.encode(), None, None) for c in TV1_CAVS])
    ok, err = py_verify(pm, TV1_KEY, TV1_CAVS)
    report("self: TV1 negative fails verification", not ok and "Signatures do not match" in (err or ""), err or "verified")

    # ---- TV2 (zero nonce)
    for fmt in ("v1", "v2", "v2j"):
        r = py_mint(fmt, TV2_LOC, TV2_ID, TV2_KEY, ["account = 3735928559"])
        r.add_third_party_caveat(TV2_CL, TV2_CK, TV2_CID, nonce=ZERO_NONCE)
        eq("self: TV2 %s root signature" % fmt, r.signature, TV2_ROOT_SIG)
        want = {"v1": TV2_ROOT_V1, "v2": TV2_ROOT_V2}.get(fmt)
        if want:
            eq("self: TV2 root %s text" % fmt, py_ser(r, fmt), want)
        else:
            json_eq("self: TV2 root v2j (as JSON objects)", py_ser(r, fmt), TV2_ROOT_V2J)
        d = py_mint(fmt, TV2_CL, TV2_CID, TV2_CK, ["time < 2020-01-01T00:00"])
        eq("self: TV2 %s discharge signature" % fmt, d.signature, TV2_DIS_SIG)
        if fmt == "v1":
            eq("self: TV2 unbound discharge v1 text", py_ser(d, "v1"), TV2_UNBOUND_V1)
        b = r.prepare_for_request(d)
        eq("self: TV2 %s bound discharge signature" % fmt, b.signature, TV2_BOUND_SIG)
        want = {"v1": TV2_BOUND_V1, "v2": TV2_BOUND_V2}.get(fmt)
        if want:
            eq("self: TV2 bound discharge %s text" % fmt, py_ser(b, fmt), want)
    for fmt, rt, bt in (("v1", TV2_ROOT_V1, TV2_BOUND_V1), ("v2", TV2_ROOT_V2, TV2_BOUND_V2)):
        ok, err = py_verify(py_de(rt, fmt), TV2_KEY, TV2_EXACT, [py_de(bt, fmt)])
        report("self: TV2 %s vectors verify (root + bound discharge)" % fmt, ok, err or "")
    ok, err = py_verify(py_de(TV2_ROOT_V2J, "v2j"), TV2_KEY, TV2_EXACT, [py_de(TV2_BOUND_V2, "v2")])
    report("self: TV2 v2j root vector + v2 bound discharge verify", ok, err or "")
    ok, err = py_verify(py_de(TV2_ROOT_V1, "v1"), TV2_KEY, TV2_EXACT, [py_de(TV2_UNBOUND_V1, "v1")])
    report("self: TV2 unbound discharge rejected", not ok, "verified unexpectedly")

    # ---- TV3
    r = py_mint("v1", TV1_LOC, TV1_ID, TV1_KEY, ["test = caveat"])
    eq("self: TV3 'test = caveat' signature", r.signature,
       "197bac7a044af33332865b9266e26d493bdd668a660e44d88ce1a998c23dbd67")
    eq("self: TV3 'test = caveat' v1", py_ser(r, "v1"),
       "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK")
    r.add_third_party_caveat(TV2_CL, TV2_CK, TV2_CID, nonce=ZERO_NONCE)
    eq("self: TV3 third-party after 'test = caveat'", r.signature,
       "7a9289bfbb92d725f748bbcb4f3e04e56b7021513ebeed8411bfba10a16a662e")
    eq("self: TV3 its vid (standard base64)", base64.b64encode(r.caveats[1].verification_key_id).decode(),
       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA68NYajhiFuHnKGSNcVhkAwgbs0VZ0yK2o+q0Aq9+bONkXw7ky7HAuhCLO9hhaMMc")
    r = py_mint("v1", TV1_LOC, TV1_ID, TV1_KEY, ["test = acaveat"])
    eq("self: TV3 'test = acaveat' signature", r.signature,
       "9449fd5dd6349427aa556ae5e7b3eeca6796dc14fc05ecf0d21163bdfdb07a28")
    eq("self: TV3 'test = acaveat' v1", py_ser(r, "v1"),
       "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxN2NpZCB0ZXN0ID0gYWNhdmVhdAowMDJmc2lnbmF0dXJlIJRJ_V3WNJQnqlVq5eez7spnltwU_AXs8NIRY739sHooCg")
    r = py_mint("v2j", TV1_LOC, bytes.fromhex("00ada8faad00abdf9b38d917c3b932ec702e8422cef6185a30c7"), TV1_KEY)
    eq("self: TV3 binary identifier -> i64", json.loads(py_ser(r, "v2j")).get("i64"),
       "AK2o-q0Aq9-bONkXw7ky7HAuhCLO9hhaMMc")
    r = py_mint("v1", TV2_LOC, TV2_ID, TV2_KEY, ["account = 3735928559"])
    r.add_third_party_caveat(TV2_CL, TV2_CK, TV2_CID, nonce=ZERO_NONCE)
    d = py_mint("v1", TV2_CL, TV2_CID, TV2_CK, ["time < 2015-01-01T00:00"])
    eq("self: TV3 prepare-for-request discharge", d.signature,
       "82a80681f9f32d419af12f6a71787a1bac3ab199df934ed950ddf20c25ac8c65")
    eq("self: TV3 prepare-for-request bound", r.prepare_for_request(d).signature,
       "2eb01d0dd2b4475330739140188648cf25dda0425ea9f661f1574ca0a9eac54e")

    # ---- TV4
    m = py_mint("v1", TV4_LOC, TV4_ID, TV4_KEY)
    for cavs, sig, v1 in TV4_ROWS:
        m = py_mint("v1", TV4_LOC, TV4_ID, TV4_KEY, cavs)
        eq("self: TV4 %d caveat(s) signature" % len(cavs), m.signature, sig)
        eq("self: TV4 %d caveat(s) v1" % len(cavs), py_ser(m, "v1"), v1)
    m = py_mint("v2", TV4_LOC, TV4_ID, TV4_KEY, TV4_ROWS[2][0])
    eq("self: TV4 v2 two caveats", py_ser(m, "v2"), TV4_V2_2)
    json_eq("self: TV4 v2j two caveats (as JSON objects)", py_ser(m, "v2j"), TV4_V2J_2)
    ok, err = py_verify(py_de(TV4_V2J_2, "v2j"), "this is not the key", TV4_ROWS[2][0])
    report("self: TV4 wrong key rejected", not ok, "verified unexpectedly")
    ok, err = py_verify(py_de(TV4_V2J_2, "v2j"), TV4_KEY, ["account = 0000000000", "user = alice"])
    report("self: TV4 unknown caveat rejected", not ok, "verified unexpectedly")

    # ---- own round trips, every format incl. legacy v1 JSON
    for fmt in FORMATS + ["v1json"]:
        r = py_mint(fmt, "https://svc.example/", "rt-" + fmt, "rt key", ["a = 1", "b = 2"])
        r.add_third_party_caveat("https://tp.example/", b"\x01caveat key", "tp-" + fmt)
        d = py_mint(fmt, "https://tp.example/", "tp-" + fmt, b"\x01caveat key", ["c = 3"])
        b = r.prepare_for_request(d)
        r2, b2 = py_de(py_ser(r, fmt), fmt), py_de(py_ser(b, fmt), fmt)
        eq("self: %s round trip keeps all fields" % fmt, py_fields(r2), py_fields(r))
        ok, err = py_verify(r2, "rt key", ["a = 1", "b = 2", "c = 3"], [b2])
        report("self: %s round trip verifies with discharge" % fmt, ok, err or "")
        ok, err = py_verify(r2, "rt key", ["a = 1", "b = 2", "c = 3"], [py_de(py_ser(d, fmt), fmt)])
        report("self: %s unbound discharge rejected" % fmt, not ok, "verified unexpectedly")


# --------------------------------------------------------------------------------------------
# CLI helpers


class Res:
    def __init__(self, argv, stdin, rc, out, err):
        self.argv, self.stdin, self.rc, self.out, self.err = argv, stdin, rc, out, err

    @property
    def text(self):
        return self.out.strip()

    def describe(self):
        cmd = " ".join(shlex.quote(a) for a in self.argv)
        s = "$ %s" % cmd
        if self.stdin is not None:
            s += "   # stdin: %r" % self.stdin
        return "%s\n-> exit %s\nstdout: %s\nstderr: %s" % (s, self.rc, self.out.rstrip(), self.err.rstrip())


class Cli:
    def __init__(self, path):
        self.path = path

    def __call__(self, *args, stdin=None):
        argv = [self.path] + [str(a) for a in args]
        try:
            p = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)
            return Res(argv, stdin, p.returncode, p.stdout, p.stderr)
        except subprocess.TimeoutExpired as e:
            return Res(argv, stdin, "TIMEOUT", e.stdout or "", e.stderr or "")


def expect_rc(name, res, rc, must_contain=None, extra=""):
    """Exit status `rc`; for a rejection (rc != 0) also some message (a bare `exit 1` is not enough)."""
    ok = res.rc == rc
    if ok and rc != 0 and not (res.out + res.err).strip():
        ok = False
    if ok and must_contain is not None:
        ok = must_contain in (res.out + res.err)
    want = "expected exit %s%s" % (rc, " and an error message" if must_contain is None and rc != 0
                                     else "" if must_contain is None else " and output containing %r" % must_contain)
    report(name, ok, "%s\n%s%s" % (want, res.describe(), ("\n" + extra) if extra else ""))
    return ok


def expect_valid(name, res):
    ok = res.rc == 0 and res.out.strip().splitlines()[:1] == ["valid"] if res.out.strip() else False
    report(name, ok, "expected exit 0 and 'valid'\n" + res.describe())
    return ok


def token_out(name, res):
    """A command that prints a token: check exit 0 + non-empty single token; return it or None."""
    t = res.text
    ok = res.rc == 0 and t != "" and "\n" not in t
    report(name, ok, "expected exit 0 and one token on stdout\n" + res.describe())
    return t if ok else None


def inspect_fields(cli, name, token, want_fmt, want_fields):
    r = cli("inspect", "--json", token)
    try:
        j = json.loads(r.out)
        # "format" is the output format (v1|v2|v2j|onedata); the exact input encoding
        # (e.g. v1json for legacy JSON) is encoding.name.
        got_fmt = j["encoding"]["name"]
        got = v2j_fields(j["macaroon"])
    except Exception as e:  # noqa: BLE001
        report(name, False, "cannot read inspect --json output (%s)\n%s" % (e, r.describe()))
        return
    ok = r.rc == 0 and got_fmt == want_fmt and got == want_fields
    report(name, ok, "format got %r want %r\nfields got:  %r\nfields want: %r\n%s"
           % (got_fmt, want_fmt, got, want_fields, r.describe()))


# --------------------------------------------------------------------------------------------
# CLI checks

KEY = "interop root key: pymacaroons"
LOC = "https://svc.example.com/"
CAVS = ["account = 3735928559", "user = alice"]


def cli_a_first_party(cli, fmt):
    """A: pymacaroons mints, we verify / inspect."""
    ident = "py-%s-first-party" % fmt
    m = py_mint(fmt, LOC, ident, KEY, CAVS)
    tok = py_ser(m, fmt)
    ex = sum((["--exact", c] for c in CAVS), [])
    expect_valid("A %s: py token verifies (all caveats --exact)" % fmt, cli("verify", "--key", KEY, *ex, tok))
    expect_valid("A %s: py token on stdin ('-') verifies" % fmt, cli("verify", "--key", KEY, *ex, "-", stdin=tok + "\n"))
    expect_rc("A %s: unmet caveat -> exit 1 naming it" % fmt,
              cli("verify", "--key", KEY, "--exact", CAVS[0], tok), 1, must_contain=CAVS[1])
    expect_rc("A %s: wrong key -> exit 1" % fmt, cli("verify", "--key", KEY + "!", *ex, tok), 1)
    inspect_fields(cli, "A %s: inspect --json shows py's fields" % fmt, tok, fmt, py_fields(m))

    # we attenuate the peer's token; the peer verifies the result
    t2 = token_out("A %s: attenuate a py token" % fmt, cli("attenuate", "--caveat", "extra = 1", tok))
    if t2 is not None:
        try:
            ok, err = py_verify(py_de(t2, fmt), KEY, CAVS + ["extra = 1"])
        except Exception as e:  # noqa: BLE001
            ok, err = False, "%s: %s" % (type(e).__name__, e)
        report("A %s: pymacaroons verifies our attenuation of its token" % fmt, ok, "%s\ntoken: %s" % (err, t2))
        ok, _ = py_verify(py_de(t2, fmt), KEY, CAVS)
        report("A %s: ... and rejects it without the added caveat" % fmt, not ok, "verified unexpectedly")

    # key given as hex (non-UTF-8 key bytes) and as a file
    kb = bytes(range(256))[::7] + b"\xff\x00"
    m = py_mint(fmt, LOC, ident + "-binkey", kb, CAVS[:1])
    tok = py_ser(m, fmt)
    expect_valid("A %s: --key-hex with non-UTF-8 key bytes" % fmt,
                 cli("verify", "--key-hex", kb.hex(), "--exact", CAVS[0], tok))
    with tempfile.NamedTemporaryFile(delete=False) as f:
        f.write(kb)
    try:
        expect_valid("A %s: --key-file with the same raw bytes" % fmt,
                     cli("verify", "--key-file", f.name, "--exact", CAVS[0], tok))
    finally:
        os.unlink(f.name)

    # typed time caveat (time < N holds iff now < N) on a peer token
    m = py_mint(fmt, LOC, ident + "-time", KEY, ["time < 2000000000"])
    tok = py_ser(m, fmt)
    expect_valid("A %s: 'time < 2000000000' holds at --now 1999999999" % fmt,
                 cli("verify", "--key", KEY, "--now", "1999999999", tok))
    expect_rc("A %s: 'time < 2000000000' fails at --now 2000000000" % fmt,
              cli("verify", "--key", KEY, "--now", "2000000000", tok), 1, must_contain="time < 2000000000")

    if fmt != "v1":
        # binary (non-UTF-8) identifier: pymacaroons can only do this for version-2 macaroons
        bid = b"\x00\xad\xa8\xfa\xad\x00\xab\xdf\x9b\x38\xd9\x17\xc3\xb9"
        m = py_mint(fmt, LOC, bid, KEY, CAVS[:1])
        tok = py_ser(m, fmt)
        expect_valid("A %s: binary identifier verifies" % fmt, cli("verify", "--key", KEY, "--exact", CAVS[0], tok))
        inspect_fields(cli, "A %s: binary identifier inspect (i64)" % fmt, tok, fmt, py_fields(m))
    else:
        # the same v1 token in standard-alphabet, padded, line-wrapped base64 (LM 0.1 style)
        m = py_mint(fmt, LOC, ident, KEY, CAVS)
        raw = b64any(py_ser(m, fmt))
        std = base64.encodebytes(raw).decode()
        expect_valid("A v1: standard padded wrapped base64 of py's v1 verifies",
                     cli("verify", "--key", KEY, *ex, std))


def cli_b_first_party(cli, fmt):
    """B: we mint + attenuate, pymacaroons reads and verifies."""
    ident = "ours-%s-first-party" % fmt
    t0 = token_out("B %s: mint" % fmt, cli("mint", "--key", KEY, "--location", LOC, "--identifier", ident,
                                             "--caveat", CAVS[0], "--format", fmt))
    if t0 is None:
        return
    t1 = token_out("B %s: attenuate" % fmt, cli("attenuate", "--caveat", CAVS[1], t0))
    if t1 is None:
        return
    prefix = {"v1": "MDA", "v2": "Ag", "v2j": "{"}[fmt]
    report("B %s: attenuate keeps the format (starts with %r)" % (fmt, prefix), t1.startswith(prefix), t1)
    try:
        m = py_de(t1, fmt)
    except Exception as e:  # noqa: BLE001
        report("B %s: pymacaroons deserializes our token" % fmt, False, "%s: %s\ntoken: %s" % (type(e).__name__, e, t1))
        return
    report("B %s: pymacaroons deserializes our token" % fmt, True)
    want = py_fields(py_mint(fmt, LOC, ident, KEY, CAVS))
    eq("B %s: fields and signature equal pymacaroons' own mint" % fmt, py_fields(m), want)
    ok, err = py_verify(m, KEY, CAVS)
    report("B %s: pymacaroons verifies" % fmt, ok, "%s\ntoken: %s" % (err, t1))
    ok, _ = py_verify(m, KEY + "!", CAVS)
    report("B %s: pymacaroons rejects a wrong key" % fmt, not ok, "verified unexpectedly")
    ok, _ = py_verify(m, KEY, CAVS[:1])
    report("B %s: pymacaroons rejects with a caveat unmet" % fmt, not ok, "verified unexpectedly")
    # stdin for attenuate
    t2 = token_out("B %s: attenuate from stdin ('-')" % fmt, cli("attenuate", "--caveat", CAVS[1], "-", stdin=t0))
    if t2 is not None:
        eq("B %s: stdin attenuate gives the same token" % fmt, t2, t1)


def cli_b_convert(cli):
    """B: a pymacaroons v1 token converted by us into every format is read by pymacaroons."""
    m = py_mint("v1", LOC, "py-convert", KEY, CAVS)
    m.add_third_party_caveat("https://tp.example.com/", b"convert ck", "convert-cid")
    tok = py_ser(m, "v1")
    for fmt in ("v2", "v2j", "v1"):
        t = token_out("B convert v1 -> %s" % fmt, cli("convert", "--format", fmt, tok))
        if t is None:
            continue
        try:
            c = py_de(t, fmt)
            eq("B convert v1 -> %s: pymacaroons reads the same fields" % fmt, py_fields(c), py_fields(m))
        except Exception as e:  # noqa: BLE001
            report("B convert v1 -> %s: pymacaroons reads the same fields" % fmt, False, "%s: %s\n%s" % (type(e).__name__, e, t))
            continue
        if fmt == "v1":
            eq("B convert v1 -> v1 reproduces the text", t, tok)
    # and the reverse: py v2 / v2j -> our v1
    for fmt in ("v2", "v2j"):
        m2 = py_mint(fmt, LOC, "py-convert-" + fmt, KEY, CAVS)
        t = token_out("B convert %s -> v1" % fmt, cli("convert", "--format", "v1", py_ser(m2, fmt)))
        if t is not None:
            c = py_de(t, "v1")
            ok, err = py_verify(c, KEY, CAVS)
            report("B convert %s -> v1: pymacaroons verifies" % fmt, ok, err or "")


TP_LOC = "https://auth.example.com/"
CK = bytes.fromhex("6361766561742d726f6f742d6b6579ff00")  # caveat ROOT key (any bytes)


def cli_c_py_third_party(cli, fmt):
    """C: pymacaroons builds root + discharge + prepare_for_request; we verify."""
    cid = "py-%s-tp-caveat" % fmt
    r = py_mint(fmt, LOC, "py-%s-tp-root" % fmt, KEY, CAVS[:1])
    r.add_third_party_caveat(TP_LOC, CK, cid)  # non-empty location: see the module docstring
    d = py_mint(fmt, TP_LOC, cid, CK, ["tp = ok"])
    b = r.prepare_for_request(d)
    rt, bt, dt = py_ser(r, fmt), py_ser(b, fmt), py_ser(d, fmt)
    ok, err = py_verify(r, KEY, [CAVS[0], "tp = ok"], [b])
    report("C %s: (peer sanity) pymacaroons verifies its own chain" % fmt, ok, err or "")
    ex = ["--exact", CAVS[0], "--exact", "tp = ok"]
    expect_valid("C %s: we verify py root + bound discharge" % fmt,
                 cli("verify", "--key", KEY, *ex, "--discharge", bt, rt))
    inspect_fields(cli, "C %s: inspect shows the third-party caveat (cid, vid, cl)" % fmt, rt, fmt, py_fields(r))
    expect_rc("C %s: missing discharge -> exit 1" % fmt, cli("verify", "--key", KEY, *ex, rt), 1)
    expect_rc("C %s: unbound discharge -> exit 1" % fmt,
              cli("verify", "--key", KEY, *ex, "--discharge", dt, rt), 1)
    expect_rc("C %s: discharge caveat unmet -> exit 1 naming it" % fmt,
              cli("verify", "--key", KEY, "--exact", CAVS[0], "--discharge", bt, rt), 1, must_contain="tp = ok")
    # an extra, unused discharge: pymacaroons accepts it, we reject by default (SPEC §5.2)
    x = r.prepare_for_request(py_mint(fmt, TP_LOC, "unrelated-id", CK, []))
    xt = py_ser(x, fmt)
    ok, _ = py_verify(r, KEY, [CAVS[0], "tp = ok"], [b, x])
    report("C %s: (peer quirk) pymacaroons accepts an unused discharge" % fmt, ok, "pymacaroons rejected it")
    expect_rc("C %s: unused discharge -> exit 1 by default" % fmt,
              cli("verify", "--key", KEY, *ex, "--discharge", bt, "--discharge", xt, rt), 1)
    expect_valid("C %s: unused discharge accepted with --ignore-unused-discharges" % fmt,
                 cli("verify", "--key", KEY, *ex, "--ignore-unused-discharges", "--discharge", bt, "--discharge", xt, rt))


def cli_d_our_third_party(cli, fmt):
    """D: we build root + third-party + discharge + bind; pymacaroons verifies. Plus mixed chains."""
    cid = "ours-%s-tp-caveat" % fmt
    ckh = CK.hex()
    t0 = token_out("D %s: mint root" % fmt, cli("mint", "--key", KEY, "--location", LOC, "--identifier",
                                                  "ours-%s-tp-root" % fmt, "--caveat", CAVS[0], "--format", fmt))
    if t0 is None:
        return
    rt = token_out("D %s: third-party" % fmt, cli("third-party", "--location", TP_LOC, "--caveat-key-hex", ckh,
                                                   "--caveat-id", cid, t0))
    dt = token_out("D %s: discharge" % fmt, cli("discharge", "--caveat-key-hex", ckh, "--caveat-id", cid,
                                                 "--location", TP_LOC, "--caveat", "tp = ok", "--format", fmt))
    if rt is None or dt is None:
        return
    bt = token_out("D %s: bind" % fmt, cli("bind", rt, dt))
    if bt is None:
        return
    try:
        r, d, b = py_de(rt, fmt), py_de(dt, fmt), py_de(bt, fmt)
    except Exception as e:  # noqa: BLE001
        report("D %s: pymacaroons deserializes root/discharge/bound" % fmt, False,
               "%s: %s\nroot: %s\ndischarge: %s\nbound: %s" % (type(e).__name__, e, rt, dt, bt))
        return
    report("D %s: pymacaroons deserializes root/discharge/bound" % fmt, True)
    tp = [c for c in r.caveats if c.verification_key_id]
    report("D %s: pymacaroons sees one third-party caveat with our cid/cl and a 72-byte vid" % fmt,
           len(tp) == 1 and tp[0].caveat_id_bytes == cid.encode() and tp[0].location == TP_LOC
           and len(tp[0].verification_key_id) == 72, repr([(c.caveat_id_bytes, c.location) for c in r.caveats]))
    want_d = py_mint(fmt, TP_LOC, cid, CK, ["tp = ok"])
    eq("D %s: our unbound discharge signature equals pymacaroons'" % fmt, d.signature, want_d.signature)
    eq("D %s: our bind equals pymacaroons prepare_for_request" % fmt, b.signature,
       r.prepare_for_request(d).signature)
    ok, err = py_verify(r, KEY, [CAVS[0], "tp = ok"], [b])
    report("D %s: pymacaroons verifies our root + bound discharge" % fmt, ok,
           "%s\nroot: %s\nbound: %s" % (err, rt, bt))
    ok, _ = py_verify(r, KEY, [CAVS[0], "tp = ok"], [d])
    report("D %s: pymacaroons rejects our unbound discharge" % fmt, not ok, "verified unexpectedly")
    ok, _ = py_verify(r, KEY, [CAVS[0]], [b])
    report("D %s: pymacaroons rejects with the discharge caveat unmet" % fmt, not ok, "verified unexpectedly")
    expect_valid("D %s: (ours) we verify our own chain" % fmt,
                 cli("verify", "--key", KEY, "--exact", CAVS[0], "--exact", "tp = ok", "--discharge", bt, rt))

    # mixed 1: pymacaroons root with third-party caveat, our discharge + bind
    pcid = "mixed-%s-py-root" % fmt
    pr = py_mint(fmt, LOC, "mixed-%s-root-1" % fmt, KEY, CAVS[:1])
    pr.add_third_party_caveat(TP_LOC, CK, pcid)
    prt = py_ser(pr, fmt)
    d2 = token_out("D %s: mixed: our discharge for a py caveat" % fmt,
                   cli("discharge", "--caveat-key-hex", ckh, "--caveat-id", pcid, "--location", TP_LOC,
                       "--caveat", "tp = ok", "--format", fmt))
    b2 = token_out("D %s: mixed: our bind to a py root" % fmt, cli("bind", prt, d2)) if d2 else None
    if b2:
        ok, err = py_verify(pr, KEY, [CAVS[0], "tp = ok"], [py_de(b2, fmt)])
        report("D %s: mixed: pymacaroons verifies py root + our bound discharge" % fmt, ok, err or "")
        expect_valid("D %s: mixed: we verify py root + our bound discharge" % fmt,
                     cli("verify", "--key", KEY, "--exact", CAVS[0], "--exact", "tp = ok", "--discharge", b2, prt))

    # mixed 2: our root with third-party caveat, pymacaroons discharge + prepare_for_request
    pd = py_mint(fmt, TP_LOC, cid, CK, ["tp = ok"])
    pb = py_ser(r.prepare_for_request(pd), fmt)
    expect_valid("D %s: mixed: we verify our root + py-bound py discharge" % fmt,
                 cli("verify", "--key", KEY, "--exact", CAVS[0], "--exact", "tp = ok", "--discharge", pb, rt))


def cli_d_zero_nonce(cli, fmt):
    """D: our `third-party --nonce-hex` (vector-only option) reproduces pymacaroons' zero-nonce TV2 root."""
    r = py_mint(fmt, TV2_LOC, TV2_ID, TV2_KEY, ["account = 3735928559"])
    base = py_ser(r, fmt)
    r.add_third_party_caveat(TV2_CL, TV2_CK, TV2_CID, nonce=ZERO_NONCE)
    t = token_out("D %s: third-party --nonce-hex on a py token" % fmt,
                  cli("third-party", "--location", TV2_CL, "--caveat-key-hex", TV2_CK.encode().hex(),
                      "--caveat-id", TV2_CID, "--nonce-hex", "00" * 24, base))
    if t is None:
        return
    if fmt == "v2j":
        json_eq("D v2j: zero-nonce TV2 root equals pymacaroons' (as JSON objects)", t, py_ser(r, fmt))
    else:
        eq("D %s: zero-nonce TV2 root is byte-identical to pymacaroons'" % fmt, t, py_ser(r, fmt))


def cli_e_legacy_json(cli):
    """E: pymacaroons legacy v1 JSON (its JsonSerializer on a version-1 macaroon)."""
    cid = "py-v1json-tp"
    r = py_mint("v1json", LOC, "py-v1json-root", KEY, CAVS)
    r.add_third_party_caveat(TP_LOC, CK, cid)
    d = py_mint("v1json", TP_LOC, cid, CK, ["tp = ok"])
    rt, bt = py_ser(r, "v1json"), py_ser(r.prepare_for_request(d), "v1json")
    report("E v1json: pymacaroons wrote legacy v1 JSON (has 'identifier'/'signature')",
           {"identifier", "signature"} <= set(json.loads(rt)), rt)
    inspect_fields(cli, "E v1json: inspect --json reads it (format v1json)", rt, "v1json", py_fields(r))
    ex = ["--exact", CAVS[0], "--exact", CAVS[1], "--exact", "tp = ok"]
    expect_valid("E v1json: we verify legacy JSON root + legacy JSON bound discharge",
                 cli("verify", "--key", KEY, *ex, "--discharge", bt, rt))
    expect_rc("E v1json: wrong key -> exit 1", cli("verify", "--key", "nope", *ex, "--discharge", bt, rt), 1)
    # without caveats or location (pymacaroons then omits "caveats" / "location")
    m = py_mint("v1json", "", "py-v1json-bare", KEY)
    t = py_ser(m, "v1json")
    expect_valid("E v1json: bare token (no location, no caveats key) verifies", cli("verify", "--key", KEY, t))
    t1 = token_out("E v1json: convert legacy JSON -> v1", cli("convert", "--format", "v1", rt))
    if t1:
        ok, err = py_verify(py_de(t1, "v1"), KEY, CAVS + ["tp = ok"],
                            [py_de(py_ser(r.prepare_for_request(d), "v1"), "v1")])
        report("E v1json: pymacaroons verifies our v1 conversion of its legacy JSON", ok, err or "")


def find_bin(arg):
    """--bin, else $MACAROON_MINT_BIN (used as given), else the default debug build paths."""
    explicit = arg or os.environ.get("MACAROON_MINT_BIN")
    if explicit:
        return os.path.abspath(explicit)
    cands = [DEFAULT_BIN, os.path.join(HERE, "..", "..", "target", "debug", "macaroon-mint")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return os.path.abspath(c)
    return cands[0] if cands else DEFAULT_BIN


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--self-check", action="store_true", help="peer-only checks (SPEC §11 vectors); no CLI needed")
    ap.add_argument("--bin", help="path of the macaroon-mint binary (default $MACAROON_MINT_BIN)")
    args = ap.parse_args()

    guarded("self-check", self_check)
    if not args.self_check:
        path = find_bin(args.bin)
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            report("CLI binary present", False, "no executable at %s (set MACAROON_MINT_BIN or use --self-check)" % path)
        else:
            cli = Cli(path)
            print("# CLI: %s" % path)
            for fmt in FORMATS:
                guarded("A %s" % fmt, cli_a_first_party, cli, fmt)
                guarded("B %s" % fmt, cli_b_first_party, cli, fmt)
            guarded("B convert", cli_b_convert, cli)
            for fmt in FORMATS:
                guarded("C %s" % fmt, cli_c_py_third_party, cli, fmt)
                guarded("D %s" % fmt, cli_d_our_third_party, cli, fmt)
                guarded("D %s nonce" % fmt, cli_d_zero_nonce, cli, fmt)
            guarded("E v1json", cli_e_legacy_json, cli)
    print("%d passed, %d failed" % (PASSED, FAILED))
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
