#!/usr/bin/env python3
"""Independent re-verification of the test vectors in tests/data/*.json.

Everything here is recomputed from scratch with the Python standard library
(hmac, hashlib, base64, json) and PyNaCl (crypto_secretbox, XSalsa20-Poly1305),
following SPEC.md (§2-§10, §13).  Nothing is imported from the Rust code.

    python3 -m venv /tmp/vecenv && /tmp/vecenv/bin/pip install pynacl
    /tmp/vecenv/bin/python tests/data/check_vectors.py [-v]

Each JSON value is checked two ways where possible:
  * recomputation: signatures, vids, bindings, serializations (emit and parse),
    detection, error offsets;
  * transcription: values that SPEC.md prints are looked up verbatim in
    SPEC.md (found at $SPEC_MD, ../../../shared/SPEC.md next to the repo, or
    /work/shared/SPEC.md; skipped with a notice when none exists).

Exit status is non-zero when any check fails.  The last line is
"N passed, N failed".
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import sys

try:
    from nacl.bindings import crypto_secretbox, crypto_secretbox_open
except ImportError:  # pragma: no cover
    sys.stderr.write("PyNaCl is required: pip install pynacl\n")
    sys.exit(2)

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# §2 primitives
# ---------------------------------------------------------------------------

GEN = b"macaroons-key-generator"
Z = bytes(32)


def H(key, msg):
    return hmac.new(key, msg, hashlib.sha256).digest()


def H2(key, a, b):
    return H(key, H(key, a) + H(key, b))


def derive(root_key):
    """§3.1: Kd = HMAC(key=GEN, data=root_key)."""
    return H(GEN, root_key)


def secretbox(key, nonce, plaintext):
    """tag || ciphertext (NaCl crypto_secretbox_easy layout)."""
    return crypto_secretbox(plaintext, nonce, key)


def secretbox_open(key, nonce, box):
    return crypto_secretbox_open(box, nonce, key)


def b(s):
    return s.encode("utf-8") if isinstance(s, str) else s


def hx(bs):
    return bs.hex() if bs is not None else None


def b64url(bs):
    return base64.urlsafe_b64encode(bs).rstrip(b"=").decode("ascii")


def b64std(bs):
    return base64.b64encode(bs).decode("ascii")


class DecodeError(Exception):
    def __init__(self, layer, offset, reason, **detail):
        self.layer = layer
        self.offset = offset
        self.reason = reason
        self.detail = detail
        super().__init__("%s: %s at %s %r" % (layer, reason, offset, detail))


class VerifyError(Exception):
    def __init__(self, kind, **detail):
        self.kind = kind
        self.detail = detail
        super().__init__("%s %r" % (kind, detail))


# ---------------------------------------------------------------------------
# Macaroon model, minting (§3) and binding (§4)
# ---------------------------------------------------------------------------


def new_macaroon(location, identifier, key=None, raw_key=None):
    k = raw_key if raw_key is not None else derive(b(key))
    return {
        "location": b(location),
        "identifier": b(identifier),
        "caveats": [],
        "signature": H(k, b(identifier)),
    }


def add_first_party(m, cid):
    m["caveats"].append({"cid": b(cid), "vid": None, "cl": None})
    m["signature"] = H(m["signature"], b(cid))
    return m


def make_vid(sig, caveat_key, nonce):
    kc = derive(b(caveat_key))
    return nonce + secretbox(sig, nonce, kc)


def add_third_party(m, caveat_key, cid, cl, nonce):
    vid = make_vid(m["signature"], caveat_key, nonce)
    m["caveats"].append({"cid": b(cid), "vid": vid, "cl": b(cl)})
    m["signature"] = H2(m["signature"], vid, b(cid))
    return m


def bind(root_sig, discharge_sig):
    return H2(Z, root_sig, discharge_sig)


def copy_mac(m):
    return {
        "location": m["location"],
        "identifier": m["identifier"],
        "caveats": [dict(c) for c in m["caveats"]],
        "signature": m["signature"],
    }


def is_third_party(c):
    return c.get("vid") is not None and len(c["vid"]) > 0


# ---------------------------------------------------------------------------
# §6.3 base64 (ours, accept) with offsets; lenient variant for §13
# ---------------------------------------------------------------------------

B64STD = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
B64VAL = {c: i for i, c in enumerate(B64STD)}
B64VAL["-"] = 62
B64VAL["_"] = 63
WS = " \t\r\n"


def b64_decode(text, offsets=None, lenient=False, report=None):
    """Decode base64 per §6.3 'Ours, accept'.

    offsets[i] is the caller-visible offset of text[i] (base62 escapes and an
    opw- prefix are accounted for by the caller).  In lenient mode, decodes
    the complete groups and a final partial group, ignoring trailing bits, and
    appends defects to `report`.
    """
    if offsets is None:
        offsets = list(range(len(text)))
    vals, pos, chars = [], [], []
    npad, pad_at = 0, None
    for i, ch in enumerate(text):
        if ch in WS:
            continue
        if ch == "=":
            if npad == 0:
                pad_at = offsets[i]
            npad += 1
            continue
        if npad:
            err = DecodeError("base64", offsets[i], "DataAfterPadding", char=ch)
            if lenient:
                report is not None and report.append(err)
                break
            raise err
        v = B64VAL.get(ch)
        if v is None:
            err = DecodeError("base64", offsets[i], "InvalidCharacter", char=ch)
            if lenient:
                report is not None and report.append(err)
                break
            raise err
        vals.append(v)
        pos.append(offsets[i])
        chars.append(ch)
    n = len(vals)
    if n % 4 == 1:
        err = DecodeError("base64", pos[-1], "InvalidLength", char=chars[-1])
        if not lenient:
            raise err
        report is not None and report.append(err)
        vals, pos, chars = vals[:-1], pos[:-1], chars[:-1]
        n -= 1
    if npad and not lenient:
        if npad > 2 or n % 4 == 0 or (n + npad) % 4 != 0:
            raise DecodeError("base64", pad_at, "InvalidPadding")
    out = bytearray()
    full = n - n % 4
    for g in range(0, full, 4):
        x = (vals[g] << 18) | (vals[g + 1] << 12) | (vals[g + 2] << 6) | vals[g + 3]
        out += bytes([(x >> 16) & 255, (x >> 8) & 255, x & 255])
    rem = n % 4
    trailing = 0
    if rem == 2:
        out.append(((vals[full] << 2) | (vals[full + 1] >> 4)) & 255)
        trailing = vals[full + 1] & 0x0F
    elif rem == 3:
        x = (vals[full] << 10) | (vals[full + 1] << 4) | (vals[full + 2] >> 2)
        out += bytes([(x >> 8) & 255, x & 255])
        trailing = vals[full + 2] & 0x03
    if trailing:
        err = DecodeError("base64", pos[-1], "TrailingBits", char=chars[-1])
        if not lenient:
            raise err
        report is not None and report.append(err)
    return bytes(out)


# ---------------------------------------------------------------------------
# §10.1 base62 escaping
# ---------------------------------------------------------------------------

B62_ESC = {"0": "00", "_": "01", "-": "02", "/": "03", "+": "04", "=": "05"}
B62_UNESC = {v[1]: k for k, v in B62_ESC.items()}
ALNUM = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def base62_escape(s):
    return "".join(B62_ESC.get(c, c) for c in s)


def base62_unescape(s, base=0, lenient=False, report=None, collect_all=False):
    """Returns (base64_text, offsets).  Stops at the first defect unless
    collect_all (lenient report that lists every defect)."""
    out, offs = [], []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "0":
            if i + 1 >= len(s):
                err = DecodeError("base62", base + i, "DanglingEscape")
                if not lenient:
                    raise err
                report is not None and report.append(err)
                break
            nx = s[i + 1]
            if nx in B62_UNESC:
                out.append(B62_UNESC[nx])
                offs.append(base + i)
                i += 2
                continue
            err = DecodeError("base62", base + i, "InvalidEscape", pair=s[i:i + 2])
            if not lenient:
                raise err
            report is not None and report.append(err)
            if collect_all:
                i += 2
                continue
            break
        if ch in ALNUM:
            out.append(ch)
            offs.append(base + i)
            i += 1
            continue
        err = DecodeError("base62", base + i, "InvalidCharacter", char=ch)
        if not lenient:
            raise err
        report is not None and report.append(err)
        if collect_all:
            i += 1
            continue
        break
    return "".join(out), offs


def base62_od_decode(s):
    """Onedata's own decoder (§10.1): copies non-alphabet characters, raises on
    '0' + other, copies a dangling final '0'.  Returns (text, error_offset)."""
    out = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "0" and i + 1 < len(s):
            nx = s[i + 1]
            if nx in B62_UNESC:
                out.append(B62_UNESC[nx])
                i += 2
                continue
            return "".join(out), i
        out.append(ch)
        i += 1
    return "".join(out), None


# ---------------------------------------------------------------------------
# §6 V1 packets
# ---------------------------------------------------------------------------

HEXB = set(b"0123456789abcdefABCDEF")
V1_KEYS = {b"location", b"identifier", b"cid", b"vid", b"cl", b"signature"}


def v1_packet(key, value):
    n = 4 + len(key) + 1 + len(value) + 1
    if n > 0xFFFF:
        raise ValueError("V1 packet too large: %d" % n)
    return b"%04x" % n + key + b" " + value + b"\n"


def v1_emit_bytes(m):
    out = v1_packet(b"location", m["location"]) + v1_packet(b"identifier", m["identifier"])
    for c in m["caveats"]:
        out += v1_packet(b"cid", c["cid"])
        if is_third_party(c):
            out += v1_packet(b"vid", c["vid"])
            out += v1_packet(b"cl", c["cl"] or b"")
    out += v1_packet(b"signature", m["signature"])
    return out


def v1_emit(m):
    return b64url(v1_emit_bytes(m))


def v1_packets(data, lenient=False, report=None):
    """Split V1 packets.  Each packet: dict(key, value, start, truncated, bad_header,
    declared, remaining)."""
    pkts = []
    pos = 0
    while pos < len(data):
        rem = len(data) - pos
        hdr = data[pos:pos + 4]
        if rem < 4 or not all(c in HEXB for c in hdr):
            err = DecodeError("v1", pos, "BadPacketHeader", header=hdr)
            if not lenient:
                raise err
            rest = data[pos + 4:]
            sp = rest.find(b" ")
            if rem >= 4 and sp > 0 and rest[:sp] in V1_KEYS:
                report is not None and report.append(err)
                lf = rest.find(b"\n", sp + 1)
                end = len(rest) if lf < 0 else lf
                pkts.append(dict(key=rest[:sp], value=rest[sp + 1:end], start=pos,
                                 truncated=lf < 0, bad_header=True))
                pos = pos + 4 + (lf + 1 if lf >= 0 else len(rest))
                continue
            report is not None and report.append(err)
            break
        n = int(hdr, 16)
        if n > rem:
            body = data[pos + 4:]
            sp = body.find(b" ")
            key = body[:sp] if sp >= 0 else None
            err = DecodeError("v1", pos, "PacketTruncated", key=key, declared=n, remaining=rem)
            if not lenient:
                raise err
            report is not None and report.append(err)
            if key in V1_KEYS:
                pkts.append(dict(key=key, value=body[sp + 1:], start=pos, truncated=True,
                                 bad_header=False, declared=n, remaining=rem))
            break
        body = data[pos + 4:pos + n]
        sp = body.find(b" ")
        if n < 6 or sp <= 0 or n < 4 + sp + 2:
            err = DecodeError("v1", pos, "BadPacketLength", declared=n)
            if not lenient:
                raise err
            report is not None and report.append(err)
            break
        if data[pos + n - 1] != 0x0A:
            err = DecodeError("v1", pos, "MissingLineFeed", declared=n)
            if not lenient:
                raise err
            report is not None and report.append(err)
            break
        key = body[:sp]
        if key not in V1_KEYS:
            err = DecodeError("v1", pos, "UnknownKey", key=key)
            if not lenient:
                raise err
            report is not None and report.append(err)
            break
        pkts.append(dict(key=key, value=body[sp + 1:-1], start=pos, truncated=False,
                         bad_header=False, declared=n))
        pos += n
    return pkts


def v1_assemble(pkts, data_len):
    m = {"location": b"", "identifier": None, "caveats": [], "signature": None}
    seen_loc = False
    for idx, p in enumerate(pkts):
        k, v, at = p["key"], p["value"], p["start"]
        if m["signature"] is not None:
            raise DecodeError("v1", at, "DataAfterSignature")
        if k == b"location":
            if idx != 0 or seen_loc:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            seen_loc = True
            m["location"] = v
        elif k == b"identifier":
            if m["identifier"] is not None:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            m["identifier"] = v
        elif k == b"cid":
            if m["identifier"] is None:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            m["caveats"].append({"cid": v, "vid": None, "cl": None})
        elif k == b"vid":
            if not m["caveats"] or m["caveats"][-1]["vid"] is not None or m["caveats"][-1]["cl"] is not None:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            m["caveats"][-1]["vid"] = v
        elif k == b"cl":
            if not m["caveats"] or m["caveats"][-1]["cl"] is not None:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            m["caveats"][-1]["cl"] = v
        elif k == b"signature":
            if m["identifier"] is None:
                raise DecodeError("v1", at, "UnexpectedPacket", key=k)
            if len(v) != 32:
                raise DecodeError("v1", at, "BadSignatureLength", length=len(v))
            m["signature"] = v
    if m["identifier"] is None:
        raise DecodeError("v1", data_len, "MissingIdentifier")
    if m["signature"] is None:
        raise DecodeError("v1", data_len, "MissingSignature")
    return m


def v1_parse_bytes(data):
    return v1_assemble(v1_packets(data), len(data))


# ---------------------------------------------------------------------------
# §7 V2 binary
# ---------------------------------------------------------------------------


def uvarint_enc(n):
    out = bytearray()
    while True:
        x = n & 0x7F
        n >>= 7
        if n:
            out.append(x | 0x80)
        else:
            out.append(x)
            return bytes(out)


def uvarint_dec(data, pos):
    start = pos
    val, shift = 0, 0
    while True:
        if pos >= len(data):
            raise DecodeError("v2", start, "TruncatedVarint")
        c = data[pos]
        val |= (c & 0x7F) << shift
        pos += 1
        if not c & 0x80:
            if c == 0 and pos - start > 1:
                raise DecodeError("v2", start, "NonMinimalVarint")
            return val, pos
        shift += 7
        if shift > 63:
            raise DecodeError("v2", start, "VarintOverflow")


def v2_field(t, data):
    return uvarint_enc(t) + uvarint_enc(len(data)) + data


def v2_emit_bytes(m):
    out = b"\x02"
    if m["location"]:
        out += v2_field(1, m["location"])
    out += v2_field(2, m["identifier"]) + b"\x00"
    for c in m["caveats"]:
        if is_third_party(c):
            out += v2_field(1, c["cl"] or b"") + v2_field(2, c["cid"]) + v2_field(4, c["vid"])
        else:
            out += v2_field(2, c["cid"])
        out += b"\x00"
    out += b"\x00" + v2_field(6, m["signature"])
    return out


def v2_emit(m):
    return b64url(v2_emit_bytes(m))


def _v2_section(data, pos, allowed):
    fields = {}
    last = 0
    while True:
        at = pos
        t, pos = uvarint_dec(data, pos)
        if t == 0:
            return fields, pos
        if t not in allowed or t <= last:
            raise DecodeError("v2", at, "UnexpectedField", type=t)
        last = t
        n, pos = uvarint_dec(data, pos)
        if n > len(data) - pos:
            raise DecodeError("v2", at, "FieldTruncated", declared=n, remaining=len(data) - pos)
        fields[t] = data[pos:pos + n]
        pos += n


def v2_parse_bytes(data):
    if not data or data[0] != 2:
        raise DecodeError("v2", 0, "BadVersion")
    hdr, pos = _v2_section(data, 1, (1, 2))
    if 2 not in hdr:
        raise DecodeError("v2", pos, "MissingIdentifier")
    m = {"location": hdr.get(1, b""), "identifier": hdr[2], "caveats": [], "signature": None}
    while True:
        if pos >= len(data):
            raise DecodeError("v2", pos, "Truncated")
        if data[pos] == 0:
            pos += 1
            break
        at = pos
        f, pos = _v2_section(data, pos, (1, 2, 4))
        if 2 not in f:
            raise DecodeError("v2", at, "MissingCaveatId")
        m["caveats"].append({"cid": f[2], "vid": f.get(4), "cl": f.get(1)})
    at = pos
    t, pos = uvarint_dec(data, pos)
    if t != 6:
        raise DecodeError("v2", at, "MissingSignature")
    n, pos = uvarint_dec(data, pos)
    if n != 32 or len(data) - pos < 32:
        raise DecodeError("v2", at, "BadSignatureLength", length=n)
    m["signature"] = data[pos:pos + 32]
    pos += 32
    if pos != len(data):
        raise DecodeError("v2", pos, "TrailingData")
    return m


# ---------------------------------------------------------------------------
# §8 JSON formats
# ---------------------------------------------------------------------------


def _plain_ok(bs):
    try:
        s = bs.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ch in '"\\' or ord(ch) < 0x20 for ch in s):
        return None
    return s


def _jfield(key, bs):
    s = _plain_ok(bs)
    if s is not None:
        return '"%s":"%s"' % (key, s)
    return '"%s64":"%s"' % (key, b64url(bs))


def v2j_emit(m):
    parts = ['"v":2']
    if m["location"]:
        parts.append(_jfield("l", m["location"]))
    parts.append(_jfield("i", m["identifier"]))
    cavs = []
    for c in m["caveats"]:
        cp = [_jfield("i", c["cid"])]
        if is_third_party(c):
            cp.append('"v64":"%s"' % b64url(c["vid"]))
            cp.append(_jfield("l", c["cl"] or b""))
        cavs.append("{" + ",".join(cp) + "}")
    parts.append('"c":[' + ",".join(cavs) + "]")
    parts.append('"s64":"%s"' % b64url(m["signature"]))
    return "{" + ",".join(parts) + "}"


def _nodup(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise DecodeError("json", 0, "DuplicateKey", key=k)
        d[k] = v
    return d


def _jget(obj, key, allowed):
    plain, enc = obj.get(key), obj.get(key + "64")
    if plain is not None and enc is not None:
        raise DecodeError("json", 0, "FieldGivenTwice", key=key)
    if plain is not None:
        return plain.encode("utf-8")
    if enc is not None:
        return b64_decode(enc)
    return None


def v2j_parse(text):
    obj = json.loads(text, object_pairs_hook=_nodup)
    top = {"v", "l", "l64", "i", "i64", "c", "s", "s64"}
    for k in obj:
        if k not in top:
            raise DecodeError("json", 0, "UnknownKey", key=k)
    if obj.get("v") not in (None, 2, "2"):
        raise DecodeError("json", 0, "BadVersion")
    ident = _jget(obj, "i", None)
    if ident is None:
        raise DecodeError("json", 0, "MissingIdentifier")
    m = {"location": _jget(obj, "l", None) or b"", "identifier": ident, "caveats": [], "signature": None}
    for c in obj.get("c") or []:
        for k in c:
            if k not in {"i", "i64", "v", "v64", "l", "l64"}:
                raise DecodeError("json", 0, "UnknownKey", key=k)
        cid = _jget(c, "i", None)
        if cid is None:
            raise DecodeError("json", 0, "MissingCaveatId")
        m["caveats"].append({"cid": cid, "vid": _jget(c, "v", None), "cl": _jget(c, "l", None)})
    sig = _jget(obj, "s", None)
    if sig is None or len(sig) != 32:
        raise DecodeError("json", 0, "BadSignature")
    m["signature"] = sig
    return m


def v1json_parse(text):
    obj = json.loads(text, object_pairs_hook=_nodup)
    if "i" in obj or "i64" in obj:
        raise DecodeError("json", 0, "MixedJsonFormats")
    m = {
        "location": (obj.get("location") or "").encode("utf-8"),
        "identifier": obj["identifier"].encode("utf-8"),
        "caveats": [],
        "signature": bytes.fromhex(obj["signature"]),
    }
    for c in obj.get("caveats") or []:
        vid = c.get("vid")
        m["caveats"].append({
            "cid": c["cid"].encode("utf-8"),
            "vid": b64_decode(vid) if vid else None,
            "cl": c["cl"].encode("utf-8") if c.get("cl") is not None else None,
        })
    if len(m["signature"]) != 32:
        raise DecodeError("json", 0, "BadSignature")
    return m


# ---------------------------------------------------------------------------
# §9 detection and §10.1 Onedata text
# ---------------------------------------------------------------------------


def detect(text):
    """Returns (label, service) per §9 for a text input."""
    s = text.strip(WS)
    if not s:
        raise DecodeError("input", 0, "Empty")
    if s[0] == "\x02":
        return "v2", None
    if s[0] == "{":
        obj = json.loads(s)
        if "identifier" in obj:
            return "v1json", None
        if "i" in obj or "i64" in obj:
            return "v2j", None
        raise DecodeError("json", 0, "UnknownJsonShape")
    if s[0] == '"':
        return detect(json.loads(s))
    if s.startswith("opw-") or s.startswith("opp-"):
        return "onedata", s[:3]
    if len(s) >= 4 and s[3] == "-":
        raise DecodeError("input", 0, "BadServicePrefix")
    if s[0] == "A":
        return "v2", None
    z = s.find("0")
    if z >= 0 and z + 1 < len(s) and s[z + 1] in "012345":
        return "onedata", None
    data = b64_decode(s)
    if data[:1] == b"{":
        return "v1json", None
    if data[:1] == b"\x02":
        return "v2", None
    return "v1", None


def onedata_decode_text(text):
    """Returns (service, base64 text, offsets) for a Onedata token text."""
    lead = len(text) - len(text.lstrip(WS))
    s = text.strip(WS)
    service = None
    base = lead
    if len(s) >= 4 and s[3] == "-":
        if s[:3] not in ("opw", "opp"):
            raise DecodeError("input", lead, "BadServicePrefix")
        service = s[:3]
        s = s[4:]
        base += 4
    t, offs = base62_unescape(s, base=base)
    return service, t, offs


def parse_any(text):
    """Detect and parse a text token.  Returns (label, service, macaroon)."""
    label, service = detect(text)
    s = text.strip(WS)
    if label == "v2j":
        return label, service, v2j_parse(s)
    if label == "v1json":
        if s[0] == "{":
            return label, service, v1json_parse(s)
        return label, service, v1json_parse(b64_decode(s).decode("utf-8"))
    if s[0] == '"':
        s = json.loads(s)
    if label == "onedata":
        service, t, offs = onedata_decode_text(s)
        return label, service, v1_parse_bytes(b64_decode(t, offs))
    data = b64_decode(s)
    if label == "v2":
        return label, service, v2_parse_bytes(data)
    return label, service, v1_parse_bytes(data)


# ---------------------------------------------------------------------------
# §5.1 verification (signature walk + exact-predicate satisfiers)
# ---------------------------------------------------------------------------


def verify(M, root_key, D, satisfied, reject_unused=True, max_depth=16, raw_root_key=None):
    used = [False] * len(D)
    order = []

    def walk(X, key, depth, path):
        if depth > max_depth:
            raise VerifyError("DepthExceeded")
        order.append(X)
        s = H(key, X["identifier"])
        for c in X["caveats"]:
            if not is_third_party(c):
                s = H(s, c["cid"])
                continue
            name = "root" if X is M else X["identifier"].decode("utf-8", "replace")
            if len(c["vid"]) != 72:
                raise VerifyError("SignatureMismatch", macaroon=name, why="bad vid length")
            try:
                kc = secretbox_open(s, c["vid"][:24], c["vid"][24:])
            except Exception:
                raise VerifyError("SignatureMismatch", macaroon=name, why="vid does not open")
            j = next((i for i, d in enumerate(D) if d["identifier"] == c["cid"] and not used[i]), None)
            if j is None:
                matches = [i for i, d in enumerate(D) if d["identifier"] == c["cid"]]
                if any(i in path for i in matches):
                    raise VerifyError("DischargeCycle", cid=c["cid"])
                if matches:
                    raise VerifyError("DischargeReused", cid=c["cid"])
                raise VerifyError("DischargeMissing", cid=c["cid"])
            used[j] = True
            walk(D[j], kc, depth + 1, path + [j])
            s = H2(s, c["vid"], c["cid"])
        if X is not M:
            s = H2(Z, M["signature"], s)
        if not hmac.compare_digest(s, X["signature"]):
            name = "root" if X is M else X["identifier"].decode("utf-8", "replace")
            raise VerifyError("SignatureMismatch", macaroon=name)

    walk(M, raw_root_key if raw_root_key is not None else derive(b(root_key)), 0, [])
    if reject_unused:
        for j, u in enumerate(used):
            if not u:
                raise VerifyError("DischargeUnused", identifier=D[j]["identifier"].decode())
    sat = {b(p) for p in satisfied}
    for X in order:
        for i, c in enumerate(X["caveats"]):
            if not is_third_party(c) and c["cid"] not in sat:
                name = "root" if X is M else X["identifier"].decode("utf-8", "replace")
                raise VerifyError("CaveatNotSatisfied", macaroon=name, index=i, caveat=c["cid"].decode())
    return "Verified"


# ---------------------------------------------------------------------------
# §10.2 Onedata identifier (just enough for the TV7 identifiers)
# ---------------------------------------------------------------------------


def onedata_identifier(ident):
    frags = ident.split("/")
    if len(frags) == 1 or not frags[0].isdigit():
        return {"version": 1, "id": ident}
    if frags[0] != "2" or len(frags) != 5:
        raise ValueError("bad identifier")
    _, pers, subj, typ, tid = frags
    out = {"version": 2, "id": tid}
    if pers == "nmd":
        out["persistence"] = "named"
    elif pers.startswith("tmp-") and pers[4:].isdigit():
        out["persistence"] = "temporary"
        out["generation"] = int(pers[4:])
    else:
        raise ValueError("bad persistence")
    out["subject"] = subj
    if typ == "act":
        out["type"] = "access"
    elif typ.startswith("act:"):
        out["type"] = "access"
        out["session_id"] = typ[4:]
    elif typ == "idn":
        out["type"] = "identity"
    else:
        parts = typ.split(":")
        if len(parts) != 3 or not parts[1]:
            raise ValueError("bad invite type")
        out["type"] = "invite"
        out["invite_code"] = parts[0]
        out["invite_target"] = parts[1]
        out["invite_parameters"] = parts[2]
    return out


# ---------------------------------------------------------------------------
# The checks
# ---------------------------------------------------------------------------


class Checker:
    def __init__(self, verbose=False):
        self.passed = 0
        self.failed = 0
        self.verbose = verbose
        self.spec = None
        for p in (os.environ.get("SPEC_MD"),
                  os.path.join(HERE, "..", "..", "..", "shared", "SPEC.md"),
                  "/work/shared/SPEC.md"):
            if p and os.path.isfile(p):
                with open(p, encoding="utf-8") as f:
                    self.spec = f.read()
                self.spec_path = p
                break

    def ok(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            if self.verbose:
                print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + str(detail) if detail else ""))
        return cond

    def eq(self, name, got, exp):
        return self.ok(name, got == exp, "got %r, expected %r" % (got, exp))

    def in_spec(self, name, value):
        """Transcription check: value printed verbatim in SPEC.md."""
        if self.spec is None or value is None:
            return True
        return self.ok("spec-transcription: " + name, value in self.spec,
                       "%r not found verbatim in SPEC.md" % (value,))

    def raises(self, name, fn, layer=None, offset=None, reason=None, **detail):
        try:
            fn()
        except DecodeError as e:
            good = ((layer is None or e.layer == layer) and (offset is None or e.offset == offset)
                    and (reason is None or e.reason == reason)
                    and all(e.detail.get(k) == v for k, v in detail.items()))
            return self.ok(name, good, "got %s" % e)
        except VerifyError as e:
            good = (reason is None or e.kind == reason) and all(e.detail.get(k) == v for k, v in detail.items())
            return self.ok(name, good, "got %s" % e)
        except Exception as e:  # noqa
            return self.ok(name, False, "unexpected %r" % e)
        return self.ok(name, False, "no error raised")


def load(name):
    with open(os.path.join(HERE, name), encoding="utf-8") as f:
        return json.load(f)


def mac_fields_equal(c, name, got, exp):
    c.eq(name + " location", got["location"], exp["location"])
    c.eq(name + " identifier", got["identifier"], exp["identifier"])
    c.eq(name + " caveat count", len(got["caveats"]), len(exp["caveats"]))
    for i, (g, e) in enumerate(zip(got["caveats"], exp["caveats"])):
        c.eq(name + " caveat %d cid" % i, g["cid"], e["cid"])
        c.eq(name + " caveat %d vid" % i, g["vid"] or None, e["vid"] or None)
        if is_third_party(e):
            c.eq(name + " caveat %d cl" % i, g["cl"] or b"", e["cl"] or b"")
    c.eq(name + " signature", hx(got["signature"]), hx(exp["signature"]))


EMIT = {"v1": v1_emit, "v2": v2_emit, "v2j": v2j_emit}


def check_serialization(c, name, m, fmt, text, spec=True):
    if spec:
        c.in_spec(name, text)
    c.eq(name + " emit", EMIT[fmt](m), text)
    try:
        label, _, parsed = parse_any(text)
    except Exception as e:  # noqa
        c.ok(name + " parse", False, repr(e))
        return
    c.eq(name + " detected", label, fmt)
    mac_fields_equal(c, name + " parsed", parsed, m)


# -- signatures.json --------------------------------------------------------


def check_signatures(c):
    data = load("signatures.json")
    for v in data["vectors"]:
        n = v["name"]
        kd = derive(b(v["root_key"]))
        if v.get("derived_key_hex") is not None:
            c.eq(n + ": Kd", hx(kd), v["derived_key_hex"])
            c.in_spec(n + ": Kd", v["derived_key_hex"])
        for f in ("root_key", "location", "identifier"):
            c.in_spec(n + ": " + f, "`%s`" % v[f])
        m = new_macaroon(v["location"], v["identifier"], key=v["root_key"])
        states = []
        for i, st in enumerate(v["steps"]):
            sn = "%s: step %d" % (n, i)
            if i == 0:
                c.ok(sn + " is the mint step", "first_party" not in st and "third_party" not in st)
            elif "first_party" in st:
                c.in_spec(sn + " caveat", "`%s`" % st["first_party"])
                add_first_party(m, st["first_party"])
            elif "third_party" in st:
                tp = st["third_party"]
                for f in ("caveat_key", "cid", "location"):
                    c.in_spec(sn + " third-party " + f, "`%s`" % tp[f])
                before = m["signature"]
                nonce = bytes.fromhex(tp["nonce_hex"])
                c.eq(sn + " nonce length", len(nonce), 24)
                add_third_party(m, tp["caveat_key"], tp["cid"], tp["location"], nonce)
                vid = m["caveats"][-1]["vid"]
                if "vid_b64url" in st:
                    c.eq(sn + " vid (url-safe)", b64url(vid), st["vid_b64url"])
                    if st.get("vid_origin") != "computed":
                        c.in_spec(sn + " vid (url-safe)", st["vid_b64url"])
                if "vid_b64std" in st:
                    c.eq(sn + " vid (standard)", b64std(vid), st["vid_b64std"])
                    c.in_spec(sn + " vid (standard)", st["vid_b64std"])
                c.eq(sn + " vid length", len(vid), 72)
                kc = secretbox_open(before, vid[:24], vid[24:])
                c.eq(sn + " vid opens to derived Kc", kc, derive(b(tp["caveat_key"])))
                wrong = [H2(before, b(tp["cid"]), vid), H(before, vid + b(tp["cid"]))]
                if "wrong_signatures_hex" in st:
                    c.eq(sn + " wrong-order signatures", st["wrong_signatures_hex"], [hx(w) for w in wrong])
                    for w in st["wrong_signatures_hex"]:
                        c.ok(sn + " wrong signature differs", w != hx(m["signature"]))
                        c.in_spec(sn + " wrong signature", w)
            else:
                c.ok(sn + " has a caveat", False)
            c.eq(sn + " signature", hx(m["signature"]), st["signature_hex"])
            if st.get("origin") != "computed":
                c.in_spec(sn + " signature", st["signature_hex"])
            if "v2j_s64" in st:
                c.eq(sn + " v2j s64", b64url(m["signature"]), st["v2j_s64"])
                c.in_spec(sn + " v2j s64", st["v2j_s64"])
                c.ok(sn + " v2j s64 inside emitted V2J", ('"s64":"%s"' % st["v2j_s64"]) in v2j_emit(m))
            states.append(copy_mac(m))
        for s in v.get("serializations", []):
            sn = "%s: %s after step %d" % (n, s["format"], s["after_step"])
            check_serialization(c, sn, states[s["after_step"]], s["format"], s["text"])
            if "rs_padded_form" in s:
                rp = s["rs_padded_form"]
                mm = states[s["after_step"]]
                c.in_spec(sn + " RS note", rp["spec_value"])
                padded = base64.urlsafe_b64encode(v1_emit_bytes(mm)).decode()
                c.eq(sn + " RS padded form recomputed", padded, rp["recomputed"])
                c.ok(sn + " SPEC's RS note does not reproduce (flagged)", padded != s["text"] + "=")
                mr = rp["must_reject"]
                c.eq(sn + " must_reject is text + '='", mr["text"], s["text"] + "=")
                c.raises(sn + " text + '=' rejected", lambda: parse_any(mr["text"]), layer=mr["layer"],
                         offset=mr["offset"], reason=mr["reason"])
            for alt in s.get("also_accept", []):
                c.in_spec(sn + " alternative", alt.rstrip("="))
                c.eq(sn + " alternative is the padded form", alt,
                     base64.urlsafe_b64encode(v1_emit_bytes(states[s["after_step"]])).decode())
                try:
                    _, _, pm = parse_any(alt)
                    mac_fields_equal(c, sn + " alternative parsed", pm, states[s["after_step"]])
                except Exception as e:  # noqa
                    c.ok(sn + " alternative parses", False, repr(e))
        # whole-chain verification with every caveat satisfied
        fps = [st["first_party"] for st in v["steps"] if "first_party" in st]
        if not any("third_party" in st for st in v["steps"]):
            c.eq(n + ": verifies", verify(m, v["root_key"], [], fps), "Verified")
    for bi in data.get("binary_identifier", []):
        n = bi["name"]
        ident = bytes.fromhex(bi["identifier_hex"])
        c.in_spec(n + " identifier", bi["identifier_hex"])
        c.in_spec(n + " i64", bi["expect_v2j_i64"])
        c.eq(n + " url-safe base64", b64url(ident), bi["expect_v2j_i64"])
        c.ok(n + " not plain UTF-8", _plain_ok(ident) is None)
        m = new_macaroon(bi.get("location", ""), ident, key=bi.get("root_key", "k"))
        j = v2j_emit(m)
        c.ok(n + " emitted V2J uses i64", ('"i64":"%s"' % bi["expect_v2j_i64"]) in j, j)
        c.eq(n + " V2J round trip", v2j_parse(j)["identifier"], ident)


# -- third_party.json -------------------------------------------------------


def check_third_party(c):
    data = load("third_party.json")
    v = data["tv2"]
    n = "TV2"
    for f in ("root_key", "location", "identifier"):
        c.in_spec(n + " " + f, "`%s`" % v[f])
    m = new_macaroon(v["location"], v["identifier"], key=v["root_key"])
    st_fp, st_tp = v["steps"]
    add_first_party(m, st_fp["first_party"])
    c.eq(n + " account signature (secretbox key)", hx(m["signature"]), st_fp["signature_hex"])
    c.in_spec(n + " account signature", st_fp["signature_hex"])
    tp = st_tp["third_party"]
    for f in ("caveat_key", "cid", "location"):
        c.in_spec(n + " caveat " + f, "`%s`" % tp[f])
    nonce = bytes.fromhex(tp["nonce_hex"])
    c.eq(n + " nonce is 24 zero bytes", nonce, bytes(24))
    before = m["signature"]
    kc = derive(b(tp["caveat_key"]))
    c.eq(n + " Kc", hx(kc), st_tp["derived_caveat_key_hex"])
    c.in_spec(n + " Kc", st_tp["derived_caveat_key_hex"])
    add_third_party(m, tp["caveat_key"], tp["cid"], tp["location"], nonce)
    vid = m["caveats"][-1]["vid"]
    c.eq(n + " vid url-safe", b64url(vid), st_tp["vid_b64url"])
    c.in_spec(n + " vid", st_tp["vid_b64url"])
    c.eq(n + " vid hex", hx(vid), st_tp["vid_hex"])
    c.eq(n + " vid nonce", hx(vid[:24]), st_tp["vid_nonce_hex"])
    c.eq(n + " vid tag", hx(vid[24:40]), st_tp["vid_tag_hex"])
    c.eq(n + " vid ciphertext", hx(vid[40:]), st_tp["vid_ciphertext_hex"])
    c.in_spec(n + " vid tag", st_tp["vid_tag_hex"])
    c.in_spec(n + " vid ciphertext", st_tp["vid_ciphertext_hex"])
    c.eq(n + " ciphertext = Kc XOR keystream (opens)", secretbox_open(before, vid[:24], vid[24:]), kc)
    c.eq(n + " third-party signature", hx(m["signature"]), st_tp["signature_hex"])
    c.in_spec(n + " third-party signature", st_tp["signature_hex"])
    w1 = H2(before, b(tp["cid"]), vid)
    w2 = H(before, vid + b(tp["cid"]))
    c.eq(n + " wrong H2(s, cid, vid)", hx(w1), st_tp["wrong_h2_cid_first_hex"])
    c.eq(n + " wrong HMAC(s, vid||cid)", hx(w2), st_tp["wrong_flat_vid_cid_hex"])
    for k in ("wrong_h2_cid_first_hex", "wrong_flat_vid_cid_hex"):
        c.in_spec(n + " " + k, st_tp[k])
        c.ok(n + " " + k + " differs", st_tp[k] != st_tp["signature_hex"])
    root = copy_mac(m)

    d = v["discharge"]
    c.eq(n + " discharge identifier is the cid", d["identifier"], tp["cid"])
    c.eq(n + " discharge key is the caveat key", d["root_key"], tp["caveat_key"])
    dm = new_macaroon(d["location"], d["identifier"], key=d["root_key"])
    c.eq(n + " discharge s0", hx(dm["signature"]), d["s0_hex"])
    c.in_spec(n + " discharge s0", d["s0_hex"])
    c.eq(n + " discharge s0 = HMAC(Kc, cid)", dm["signature"], H(kc, b(tp["cid"])))
    for cv in d["caveats"]:
        add_first_party(dm, cv)
    c.eq(n + " discharge signature", hx(dm["signature"]), d["signature_hex"])
    c.in_spec(n + " discharge signature", d["signature_hex"])
    unbound = copy_mac(dm)

    bd = v["binding"]
    c.eq(n + " binding root signature", bd["root_signature_hex"], hx(root["signature"]))
    c.eq(n + " binding discharge signature", bd["discharge_signature_hex"], hx(dm["signature"]))
    bound_sig = bind(root["signature"], dm["signature"])
    c.eq(n + " bound", hx(bound_sig), bd["bound_hex"])
    c.eq(n + " wrong H2(Z, discharge, root)", hx(H2(Z, dm["signature"], root["signature"])), bd["wrong_discharge_first_hex"])
    c.eq(n + " wrong HMAC(Z, root||discharge)", hx(H(Z, root["signature"] + dm["signature"])), bd["wrong_flat_concat_hex"])
    for k in ("bound_hex", "wrong_discharge_first_hex", "wrong_flat_concat_hex"):
        c.in_spec(n + " binding " + k, bd[k])
    bound = copy_mac(dm)
    bound["signature"] = bound_sig

    ser = v["serializations"]
    check_serialization(c, n + " root v1", root, "v1", ser["root_v1"])
    check_serialization(c, n + " root v2", root, "v2", ser["root_v2"])
    check_serialization(c, n + " root v2j", root, "v2j", ser["root_v2j"])
    check_serialization(c, n + " bound discharge v1", bound, "v1", ser["bound_discharge_v1"])
    check_serialization(c, n + " bound discharge v2", bound, "v2", ser["bound_discharge_v2"])
    check_serialization(c, n + " unbound discharge v1", unbound, "v1", ser["unbound_discharge_v1"])

    vv = v["verification"]
    sat = vv["satisfied_predicates"]
    for fmt_r in ("root_v1", "root_v2", "root_v2j"):
        R = parse_any(ser[fmt_r])[2]
        for fmt_d in ("bound_discharge_v1", "bound_discharge_v2"):
            D = parse_any(ser[fmt_d])[2]
            c.eq(n + " verify %s + %s" % (fmt_r, fmt_d), verify(R, v["root_key"], [D], sat), vv["root_plus_bound_discharge"])
        U = parse_any(ser["unbound_discharge_v1"])[2]
        c.raises(n + " verify %s + unbound discharge" % fmt_r,
                 lambda: verify(R, v["root_key"], [U], sat),
                 reason=vv["root_plus_unbound_discharge"]["error"], macaroon=vv["root_plus_unbound_discharge"]["macaroon"])
    R = parse_any(ser["root_v1"])[2]
    D = parse_any(ser["bound_discharge_v1"])[2]
    c.raises(n + " verify without time predicate", lambda: verify(R, v["root_key"], [D], sat[:1]), reason="CaveatNotSatisfied")

    p = data["tv3_prepare_for_request"]
    n = "TV3 prepare for request"
    pd = p["discharge"]
    c.in_spec(n + " discharge location", "`%s`" % pd["location"])
    c.eq(n + " discharge is keyed like TV2's", (pd["root_key"], pd["identifier"]), (tp["caveat_key"], tp["cid"]))
    dm2 = new_macaroon(pd["location"], pd["identifier"], key=pd["root_key"])
    for cv in pd["caveats"]:
        c.in_spec(n + " caveat", "`%s`" % cv)
        add_first_party(dm2, cv)
    c.eq(n + " discharge signature", hx(dm2["signature"]), pd["signature_hex"])
    c.in_spec(n + " discharge signature", pd["signature_hex"])
    c.eq(n + " root signature is TV2's root", p["root_signature_hex"], hx(root["signature"]))
    c.eq(n + " bound", hx(bind(root["signature"], dm2["signature"])), p["bound_signature_hex"])
    c.in_spec(n + " bound", p["bound_signature_hex"])
    # The other roots one might guess do not give the published value.
    others = {"TV2 after account caveat": st_fp["signature_hex"]}
    for sv in load("signatures.json")["vectors"]:
        if sv["name"].startswith(("TV1", "TV3 first-party test = caveat", "TV3 test = caveat, then")):
            for i, st in enumerate(sv["steps"]):
                others["%s step %d" % (sv["name"], i)] = st["signature_hex"]
    for lbl, sig in others.items():
        c.ok(n + " bound value does not come from " + lbl,
             hx(bind(bytes.fromhex(sig), dm2["signature"])) != p["bound_signature_hex"])
    b2 = copy_mac(dm2)
    b2["signature"] = bind(root["signature"], dm2["signature"])
    c.eq(n + " root + bound discharge verifies",
         verify(root, v["root_key"], [b2], [st_fp["first_party"]] + pd["caveats"]), "Verified")


# -- negative.json ----------------------------------------------------------


def check_negative(c):
    data = load("negative.json")
    for v in data["vectors"]:
        n = v["name"]
        if v.get("kind") == "descriptive":
            check_descriptive(c, v)
            continue
        c.in_spec(n + " text", v["text"])
        c.in_spec(n + " root key", "`%s`" % v["root_key"])
        for sp in v["satisfied_predicates"]:
            c.in_spec(n + " predicate", "`%s`" % sp)
        label, _, M = parse_any(v["text"])
        c.eq(n + " parses", v.get("expect_parse", True), True)
        c.eq(n + " detected", label, v["format"])
        if "parsed" in v:
            p = v["parsed"]
            c.eq(n + " location", M["location"].decode(), p["location"])
            c.eq(n + " identifier", M["identifier"].decode(), p["identifier"])
            c.eq(n + " caveats", [x["cid"].decode() for x in M["caveats"]], p["caveats"])
            c.eq(n + " stored signature", hx(M["signature"]), p["signature_hex"])
            c.in_spec(n + " stored signature", p["signature_hex"])
        D = [parse_any(t)[2] for t in v.get("discharge_texts", [])]
        exp = v["expect"]
        c.raises(n + " verification", lambda: verify(M, v["root_key"], D, v["satisfied_predicates"],
                                                     reject_unused=v.get("reject_unused", True)),
                 reason=exp["error"], **{k: exp[k] for k in ("macaroon", "index", "caveat") if k in exp})
        if "correct_root_key_verifies" in v:
            c.eq(n + " with the right key", verify(M, v["correct_root_key_verifies"], D, v["satisfied_predicates"]), "Verified")
        if "expected_signature_hex" in v:
            mm = new_macaroon(M["location"], M["identifier"], key=v["root_key"])
            for x in M["caveats"]:
                add_first_party(mm, x["cid"])
            c.eq(n + " correct signature", hx(mm["signature"]), v["expected_signature_hex"])
            c.ok(n + " stored signature differs from correct one", hx(M["signature"]) != v["expected_signature_hex"])
        c.eq(n + " wrapped_lines flag", v.get("wrapped_lines", False), "\n" in v["text"])
        if v.get("wrapped_lines"):
            lines = v["text"].split("\n")
            c.ok(n + " wrapped at 76 columns", all(len(l) == 76 for l in lines[:-1]) and len(lines[-1]) <= 76)
            c.ok(n + " standard alphabet, padded", v["text"].endswith("=") and ("+" in v["text"] or "/" in v["text"]))


def check_descriptive(c, v):
    n = v["name"]
    if v["id"] == "issue_48":
        r = v["root"]
        c.in_spec(n + " root key", "`%s`" % r["root_key"])
        c.in_spec(n + " root id", "`%s`" % r["identifier"])
        c.in_spec(n + " caveat", "`%s`" % r["first_party"])
        tp = r["third_party"]
        c.in_spec(n + " bob key", "`%s`" % tp["caveat_key"])
        c.in_spec(n + " bob id", "`%s`" % tp["cid"])
        nonce = bytes(24)
        M = new_macaroon(r["location"], r["identifier"], key=r["root_key"])
        add_first_party(M, r["first_party"])
        add_third_party(M, tp["caveat_key"], tp["cid"], tp["location"], nonce)
        D = []
        sat = [r["first_party"]]
        for d in v["construction_used_by_checker"]["discharges"]:
            dm = new_macaroon(d["location"], tp["cid"], key=tp["caveat_key"])
            for cv in d["caveats"]:
                add_first_party(dm, cv)
                sat.append(cv)
            dm["signature"] = bind(M["signature"], dm["signature"])
            D.append(dm)
        c.ok(n + " the two discharges differ", D[0]["signature"] != D[1]["signature"])
        e = v["expect"]
        c.raises(n + " default policy", lambda: verify(M, r["root_key"], D, sat),
                 reason=e["default_policy"]["error"], identifier=e["default_policy"]["identifier"])
        c.eq(n + " ignore-unused policy", verify(M, r["root_key"], D, sat, reject_unused=False), e["ignore_unused_policy"])
    else:
        c.ok(n + " known descriptive vector", False, v["id"])


# -- micro.json -------------------------------------------------------------


def check_micro(c):
    data = load("micro.json")
    for p in data["base62_escape_pairs"]:
        c.eq("base62 pair %r" % p["char"], base62_escape(p["char"]), p["escaped"])
        c.eq("base62 pair %r back" % p["char"], base62_unescape(p["escaped"])[0], p["char"])
    for e in data["base62_escape"]:
        c.in_spec("base62 escape input", "`%s`" % e["input"])
        c.in_spec("base62 escape output", "`%s`" % e["output"])
        c.eq("base62 escape %s" % e["input"], base62_escape(e["input"]), e["output"])
        c.eq("base62 unescape %s" % e["output"], base62_unescape(e["output"])[0], e["input"])
    for e in data["base62_decode_errors"]:
        detail = {k: e[k] for k in ("char", "pair") if k in e}
        c.raises("base62 decode %r" % e["input"], lambda: base62_unescape(e["input"]),
                 layer=e["layer"], offset=e["offset"], reason=e["kind"], **detail)
        if "od_result" in e:
            c.eq("OD decode of %r" % e["input"], base62_od_decode(e["input"]), (e["od_result"], None))
    for u in data["uvarint"]:
        c.eq("uvarint %d" % u["value"], hx(uvarint_enc(u["value"])), u["hex"])
        c.eq("uvarint %s decode" % u["hex"], uvarint_dec(bytes.fromhex(u["hex"]), 0), (u["value"], len(u["hex"]) // 2))
    for u in data["uvarint_errors"]:
        c.raises("uvarint %s" % u["hex"], lambda: uvarint_dec(bytes.fromhex(u["hex"]), 0), reason=u["reason"])
    h = data["v1_header_zero"]
    c.in_spec("header 0000 text", h["text"])
    raw = b64_decode(h["text"])
    c.eq("header 0000 decoded", hx(raw), h["decoded_hex"])
    c.eq("header 0000 detected", detect(h["text"])[0], h["detected"])
    c.raises("header 0000 error", lambda: parse_any(h["text"]), layer=h["expect_error"]["layer"],
             offset=h["expect_error"]["offset"], reason=h["expect_error"]["reason"])
    for d in data["detection"]:
        n = "detect " + d["name"]
        c.ok(n + " starts with the SPEC prefix", d["text"].startswith(d["spec_prefix"]), d["spec_prefix"])
        if not d.get("extra"):
            c.in_spec(n + " prefix", "`%s…`" % d["spec_prefix"])
        c.eq(n, detect(d["text"]), (d["expect"], d["service"]))
        label, service, m = parse_any(d["text"])
        c.eq(n + " parses with signature", hx(m["signature"]), d["signature_hex"])
        c.eq(n + " location", m["location"].decode(), d["location"])
        c.eq(n + " identifier", m["identifier"].decode(), d["identifier"])
        c.eq(n + " verifies with its root key",
             verify(m, d["root_key"], [], [x["cid"] for x in m["caveats"]]), "Verified")
        if d.get("origin") == "computed":
            c.ok(n + " computed entry is marked", d.get("extra") or d["name"].startswith(("legacy", "Onedata with")))
        else:
            c.in_spec(n + " text", d["text"])


# -- onedata.json -----------------------------------------------------------


def check_onedata(c):
    data = load("onedata.json")
    loc = data["location"]
    c.in_spec("TV7 location", "`%s`" % loc)
    for t in data["tokens"]:
        n = "TV7 " + t["name"]
        for f in ("secret", "identifier", "signature_hex"):
            c.in_spec(n + " " + f, "`%s`" % t[f])
        c.eq(n + " identifier parse", onedata_identifier(t["identifier"]), t["identifier_parsed"])
        if t["text"] is None:
            c.ok(n + " has no text (not transcribed)", t["recomputation_matched"] is None)
            continue
        c.in_spec(n + " text", t["text"])
        c.eq(n + " detected", detect(t["text"]), ("onedata", t["service"]))
        service, b64t, offs = onedata_decode_text(t["text"])
        c.eq(n + " unescaped text is URL-safe base64 without padding",
             all(ch in B64VAL for ch in b64t) and "+" not in b64t and "/" not in b64t, True)
        raw = b64_decode(b64t, offs)
        m = v1_parse_bytes(raw)
        c.eq(n + " location", m["location"].decode(), loc)
        c.eq(n + " identifier", m["identifier"].decode(), t["identifier"])
        c.eq(n + " caveats", [x["cid"].decode() for x in m["caveats"]], t["caveats"])
        c.ok(n + " first-party caveats only", not any(is_third_party(x) for x in m["caveats"]))
        c.eq(n + " stored signature", hx(m["signature"]), t["signature_hex"])
        mm = new_macaroon(loc, t["identifier"], key=t["secret"])
        for cv in t["caveats"]:
            add_first_party(mm, cv)
        matched = mm["signature"] == m["signature"]
        c.ok(n + " recomputed signature chain", matched, hx(mm["signature"]))
        c.eq(n + " recomputation_matched field", t["recomputation_matched"], matched)
        c.eq(n + " verifies", verify(m, t["secret"], [], t["caveats"]), "Verified")
        c.eq(n + " re-emitted text", base62_escape(v1_emit(mm)), t["text"])
        if "escapes_used" in t:
            used = set()
            i = 0
            s = t["text"]
            while i < len(s):
                if s[i] == "0":
                    used.add(s[i:i + 2])
                    i += 2
                else:
                    i += 1
            c.eq(n + " escapes used", sorted(used), sorted(t["escapes_used"]))
        # with the opw- prefix
        pt = "opw-" + t["text"]
        label, service, pm = parse_any(pt)
        c.eq(n + " opw- prefixed", (label, service, hx(pm["signature"])), ("onedata", "opw", t["signature_hex"]))
        for cv in t["caveats"]:
            c.in_spec(n + " caveat", cv)
    for p, d in zip(data["data_path_caveat"]["encoded"], data["data_path_caveat"]["decoded"]):
        c.eq("TV7 data.path %s" % p, base64.b64decode(p, validate=True).decode(), d)
        c.in_spec("TV7 data.path decoded", "`%s`" % d)


# -- damaged.json -----------------------------------------------------------


def lenient_inspect(text):
    """§13 lenient decode of a text token.  Returns a dict of what is recovered."""
    report = []
    s = text.strip(WS)
    label = None
    z = s.find("0")
    is_b62 = z >= 0 and z + 1 < len(s) and s[z + 1] in "012345"
    if is_b62:
        label = "onedata"
        defects = []
        base62_unescape(s, lenient=True, report=defects, collect_all=True)
        t, offs = base62_unescape(s, lenient=True)
    else:
        label = "v1"
        defects = []
        t, offs = s, list(range(len(s)))
    b64_report = []
    raw = b64_decode(t, offs, lenient=True, report=b64_report)
    if not defects:
        # When base62 stopped early, the base64 text is a cut prefix: its trailing
        # bits are an artefact and are not reported.
        defects += b64_report
    pkts = v1_packets(raw, lenient=True, report=report)
    out = {"format": label, "defects": defects, "v1_defects": report, "decoded": raw,
           "base64_chars": len(t), "location": None, "identifier": None, "identifier_truncated": False,
           "caveats": [], "signature": None, "signature_truncated": False, "packets": pkts}
    for p in pkts:
        if p["key"] == b"location":
            out["location"] = p["value"]
        elif p["key"] == b"identifier":
            out["identifier"] = p["value"]
            out["identifier_truncated"] = p["truncated"]
        elif p["key"] == b"cid":
            out["caveats"].append(p["value"])
        elif p["key"] == b"signature":
            out["signature"] = p["value"]
            out["signature_truncated"] = p["truncated"]
    return out


def strict_parse(text):
    return parse_any(text)


def check_damaged(c):
    data = load("damaged.json")
    for ex in data["examples"]:
        n = "§14-" + ex["id"]
        t = ex["text"]
        c.in_spec(n + " text", t)
        c.eq(n + " length", len(t), ex["length"])
        c.eq(n + " detected", detect_label_only(t), ex["detected"])
        se = ex["strict_error"]
        detail = {k: se[k] for k in ("char", "pair") if k in se}
        c.raises(n + " strict error", lambda: strict_parse(t), layer=se["layer"], offset=se["offset"],
                 reason=se["reason"], **detail)
        for pos, chars in ex.get("characters_at", {}).items():
            c.eq(n + " characters at %s" % pos, t[int(pos):int(pos) + len(chars)], chars)
        L = ex["lenient"]
        li = lenient_inspect(t)
        c.eq(n + " lenient decoded byte count", len(li["decoded"]), L["decoded_bytes"])
        if "decoded_text" in L:
            c.eq(n + " lenient decoded bytes", li["decoded"].decode("latin-1"), L["decoded_text"])
        if "base64_chars" in L:
            c.eq(n + " unescaped base64 characters", li["base64_chars"], L["base64_chars"])
        c.eq(n + " lenient location", li["location"].decode() if li["location"] is not None else None, L["location"])
        ident = li["identifier"].decode() if li["identifier"] is not None else None
        if L.get("identifier_truncated"):
            c.eq(n + " lenient identifier prefix", ident, L["identifier_prefix"])
            c.ok(n + " identifier marked truncated", li["identifier_truncated"])
            c.eq(n + " identifier bytes present", len(li["identifier"]), L["identifier_present_bytes"])
        else:
            c.eq(n + " lenient identifier", ident, L["identifier"])
        c.eq(n + " lenient caveats", [x.decode() for x in li["caveats"]], L["caveats"])
        if L.get("signature_truncated_hex") is not None:
            c.eq(n + " truncated signature", hx(li["signature"]), L["signature_truncated_hex"])
            c.in_spec(n + " truncated signature", L["signature_truncated_hex"])
            c.ok(n + " signature marked truncated", li["signature_truncated"])
            c.eq(n + " signature bytes present", len(li["signature"]), L["signature_present_bytes"])
        else:
            c.eq(n + " no signature", li["signature"], None)
        # defects in the text layers (base62/base64), in order
        got = [dict(layer=d.layer, offset=d.offset, reason=d.reason, **{k: v for k, v in d.detail.items()})
               for d in li["defects"]]
        c.eq(n + " lenient text-layer defects", got, L["text_defects"])
        gotv = [dict(layer=d.layer, offset=d.offset, reason=d.reason,
                     **{k: (v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in d.detail.items()})
                for d in li["v1_defects"]]
        c.eq(n + " lenient v1 defects", gotv, L["v1_defects"])
        extra = ex.get("extra_checks", {})
        if "escapes_at" in extra:
            esc = []
            i = 0
            while i < len(t):
                if t[i] == "0" and i + 1 < len(t) and t[i + 1] in B62_UNESC:
                    esc.append(i)
                    i += 2
                else:
                    i += 1
            c.eq(n + " escape positions", esc, extra["escapes_at"])
            c.ok(n + " all characters in [A-Za-z0-9]", all(ch in ALNUM for ch in t))
        if "last_char_unescaped_offset" in extra:
            tt, offs = base62_unescape(t)
            c.eq(n + " last character position in unescaped text", len(tt) - 1, extra["last_char_unescaped_offset"])
            c.eq(n + " unescaped length mod 4", len(tt) % 4, extra["unescaped_length_mod_4"])
        if "od_error" in ex:
            oe = ex["od_error"]
            odt, odoff = base62_od_decode(t)
            c.eq(n + " OD decoder fails at", (oe["layer"], odoff, t[odoff:odoff + 2]), ("base62", oe["offset"], oe["pair"]))
            c.eq(n + " OD error reason", oe["reason"], "InvalidEscape")
            c.ok(n + " OD decoder copied the '-'", odt.endswith("-"))
        if "base62_chars_used" in L:
            tt, offs = base62_unescape(t, lenient=True)
            c.eq(n + " base62 characters used by lenient decode", offs[-1] + (2 if t[offs[-1]] == "0" else 1),
                 L["base62_chars_used"])
        if "identifier_full_bytes" in L:
            idp = [p for p in li["v1_defects"] if p.reason == "PacketTruncated"][0].detail
            c.eq(n + " full identifier length", idp["declared"] - len("0000identifier \n"), L["identifier_full_bytes"])
        if "char_offset" in se:
            c.eq(n + " strict error char offset", 4 * (se["offset"] // 3), se["char_offset"])
        if "as_base62_error" in extra:
            e = extra["as_base62_error"]
            c.raises(n + " read as base62", lambda: base62_unescape(t), layer="base62", offset=e["offset"],
                     reason=e["reason"], pair=e["pair"])
        if "first_group" in extra:
            g = extra["first_group"]
            c.eq(n + " first group", hx(b64_decode(g["chars"])), g["bytes_hex"])
            c.eq(n + " first group chars", t[:4], g["chars"])
            c.eq(n + " intact first group", b64_decode(g["intact"]), b"001")
        if "strict_with_trailing_bits_tolerated" in extra:
            e = extra["strict_with_trailing_bits_tolerated"]
            tt, offs = base62_unescape(t)
            raw = b64_decode(tt, offs, lenient=True)
            c.raises(n + " strict V1 error with trailing bits tolerated", lambda: v1_parse_bytes(raw),
                     layer=e["layer"], offset=e["offset"], reason=e["reason"])
        if "signature_packet" in extra:
            sp = extra["signature_packet"]
            pk = [p for p in li["packets"] if p["key"] == b"signature"][0]
            c.eq(n + " signature packet offset", pk["start"], sp["byte_offset"])
            c.eq(n + " signature packet declared", pk["declared"], sp["declared"])
            c.eq(n + " signature packet remaining", pk["remaining"], sp["remaining"])
            vb = pk["start"] + 4 + len("signature ")
            c.eq(n + " signature value byte offset", vb, sp["value_byte_offset"])
            c.eq(n + " signature value char offset", 4 * (vb // 3), sp["value_char_offset"])
            c.eq(n + " signature value text", t[sp["value_char_offset"]:sp["value_char_offset"] + len(sp["value_text_prefix"])],
                 sp["value_text_prefix"])
        if "caveat_time_utc" in extra:
            ts = int(L["caveats"][0].split("<")[1])
            c.eq(n + " caveat time", datetime.datetime.fromtimestamp(ts, datetime.timezone.utc)
                 .strftime("%Y-%m-%dT%H:%M:%SZ"), extra["caveat_time_utc"])
        if "first_header_latin1" in extra:
            c.eq(n + " first header", li["decoded"][:4].decode("latin-1"), extra["first_header_latin1"])
        if "identifier_declared" in extra:
            idp = [p for p in li["v1_defects"] if p.reason == "PacketTruncated"]
            c.ok(n + " identifier packet truncated defect", bool(idp))
            if idp:
                d = idp[0].detail
                c.eq(n + " identifier packet declared", d["declared"], extra["identifier_declared"]["declared"])
                c.eq(n + " identifier value length", d["declared"] - 4 - len("identifier ") - 1,
                     extra["identifier_declared"]["value_bytes"])
        if "first_packet_bytes" in extra:
            c.eq(n + " first packet length", li["decoded"].index(b"\n") + 1, extra["first_packet_bytes"])
            c.eq(n + " first packet length = 'location onezone' + framing", 4 + len("location onezone") + 1,
                 extra["first_packet_bytes"])
        if "identifier_length" in extra:
            c.eq(n + " identifier length", len(li["identifier"]), extra["identifier_length"])


def detect_label_only(t):
    try:
        return detect(t)[0]
    except DecodeError:
        # §9 step 9 decodes plain base64 to look at the first byte; a text that
        # does not decode stays "plain base64 of V1".
        return "v1"


# ---------------------------------------------------------------------------


def main():
    verbose = "-v" in sys.argv
    c = Checker(verbose)
    if c.spec is None:
        print("note: SPEC.md not found; transcription checks skipped")
    elif verbose:
        print("transcription checks against " + c.spec_path)
    for fn in (check_signatures, check_third_party, check_negative, check_micro, check_onedata, check_damaged):
        try:
            fn(c)
        except Exception as e:  # noqa
            import traceback
            traceback.print_exc()
            c.ok(fn.__name__ + " ran to completion", False, repr(e))
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
