#!/usr/bin/env python3
"""Regenerate tests/data/*.json from SPEC.md §11 and §14.

Every value that SPEC.md prints is cut out of the markdown by this script (never
retyped).  Values SPEC.md does not print (e.g. the TV2 mint signature, vid hex,
full detection tokens) are computed here and marked as computed in the JSON.
check_vectors.py then re-verifies everything independently of this script.

    /tmp/vecenv/bin/python tests/data/extract_vectors.py [path/to/SPEC.md]
"""

import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import check_vectors as cv  # noqa: E402


def find_spec():
    for p in (sys.argv[1] if len(sys.argv) > 1 else None, os.environ.get("SPEC_MD"),
              os.path.join(HERE, "..", "..", "..", "shared", "SPEC.md"), "/work/shared/SPEC.md"):
        if p and os.path.isfile(p):
            return p
    sys.exit("SPEC.md not found")


SPEC = open(find_spec(), encoding="utf-8").read()


def section(prefix):
    lines = SPEC.split("\n")
    start = next(i for i, l in enumerate(lines) if l.startswith(prefix))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("#")), len(lines))
    return "\n".join(lines[start:end])


def ticks(s):
    return re.findall(r"`([^`]*)`", s)


def rows(sec):
    out = []
    for line in sec.split("\n"):
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            out.append(cells)
    return out


def row(sec, pred):
    rs = [r for r in rows(sec) if pred(r[0])]
    assert len(rs) == 1, (pred, rs)
    return rs[0]


def codeblocks(sec):
    return re.findall(r"```\n(.*?)```", sec, re.S)


def labelled(block):
    """Code block of 'Label (...):' lines each followed by one content line."""
    out = {}
    label = None
    for line in block.split("\n"):
        if not line:
            continue
        if line.endswith(":") and not line.startswith(("{", "MDA", "Ag")):
            label = line.split(" (")[0].rstrip(":")
            continue
        assert label is not None and label not in out, line
        out[label] = line
    return out


def para(sec, starts):
    """The paragraph (lines up to a blank line or block) starting with `starts`."""
    lines = sec.split("\n")
    i = next(i for i, l in enumerate(lines) if l.startswith(starts))
    out = []
    while i < len(lines) and lines[i] and not lines[i].startswith(("|", "```")):
        out.append(lines[i])
        i += 1
    return " ".join(out)


def dump(name, obj):
    with open(os.path.join(HERE, name), "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print("wrote", name)


ZERO_NONCE = "00" * 24

# ---------------------------------------------------------------------------
# §11.1 TV1
# ---------------------------------------------------------------------------
s111 = section("### 11.1")
tv1_key, tv1_id, tv1_loc = ticks(para(s111, "Root key"))[:3]
tv1_kd = ticks(row(s111, lambda c: c.startswith("`Kd"))[1])[0]
tv1_mint = ticks(row(s111, lambda c: c == "mint")[1])[0]
tv1_cav = []
for r in rows(s111):
    if r[0].startswith("+ `"):
        tv1_cav.append((ticks(r[0])[0], ticks(r[1])[0]))
cb = codeblocks(s111)
tv1_ser = labelled(cb[0])
tv1_hack_text = cb[1].rstrip("\n")
tv1_hack_sig = ticks(para(s111, "Negative"))[0]

# ---------------------------------------------------------------------------
# §11.2 TV2
# ---------------------------------------------------------------------------
s112 = section("### 11.2")
(tv2_key, tv2_id, tv2_loc, tv2_ck, tv2_cid, tv2_cl) = ticks(para(s112, "Generated with"))[:6]


def r2(prefix):
    return row(s112, lambda c: c.startswith(prefix))


tv2_acct_row = r2("+ `account")
tv2_acct_cav = ticks(tv2_acct_row[0])[0]
tv2_acct_sig = ticks(tv2_acct_row[1])[0]
tv2_kc = ticks(r2("`Kc")[1])[0]
tv2_vid = ticks(r2("vid (URL-safe")[1])[0]
tv2_tag, tv2_ct = ticks(r2("vid bytes")[1])
tv2_tp_sig = ticks(r2("+ third-party")[1])[0]
tv2_wrong_swap = ticks(r2("wrong: `H2(s, cid, vid)`")[1])[0]
tv2_wrong_flat = ticks(r2("wrong: `HMAC(s, vid")[1])[0]
tv2_d_s0 = ticks(r2("discharge `s0")[1])[0]
drow = r2("discharge (location")
tv2_d_loc, tv2_d_cav = ticks(drow[0])
tv2_d_sig = ticks(drow[1])[0]
tv2_bound = ticks(r2("bound `H2")[1])[0]
tv2_wrong_bind_swap = ticks(r2("wrong: `H2(Z")[1])[0]
tv2_wrong_bind_flat = ticks(r2("wrong: `HMAC(Z")[1])[0]
tv2_ser = labelled(codeblocks(s112)[0])
tv2_sat = ticks(para(s112, "Verifying root"))

# ---------------------------------------------------------------------------
# §11.3 TV3
# ---------------------------------------------------------------------------
s113 = section("### 11.3")


def r3(prefix):
    return row(s113, lambda c: c.startswith(prefix))


tv3_tc_rows = [r for r in rows(s113)]
tv3_tc = ticks(r3("first-party `test = caveat`")[0])[0]
tv3_tc_sig = ticks(r3("first-party `test = caveat`")[1])[0]
its = [r for r in rows(s113) if r[0] == "its V1"]
tv3_tc_v1 = ticks(its[0][1])[0]
tv3_tc_v1_note = its[0][2]
tv3_tc_s64 = ticks(r3("its V2J `s64`")[1])[0]
tv3_ta = ticks(r3("`test = acaveat`")[0])[0]
tv3_ta_sig = ticks(r3("`test = acaveat`")[1])[0]
tv3_ta_v1 = ticks(its[1][1])[0]
bi = ticks(r3("binary identifier")[1])
tv3_bin_hex = bi[0]
tv3_bin_i64 = re.match(r'"i64":"([^"]*)"', bi[1]).group(1)
tv3_tp_abbrev = ticks(r3("third-party caveat (TV2 inputs)")[1])[0]
pfr = r3("prepare for request")
tv3_pfr_cav = ticks(pfr[0])[0]
tv3_pfr_dsig, tv3_pfr_bound = ticks(pfr[1])
tcthen = r3("`test = caveat`, then")
tv3_tct_vid_std, tv3_tct_sig = ticks(tcthen[1])

# ---------------------------------------------------------------------------
# §11.4 TV4
# ---------------------------------------------------------------------------
s114 = section("### 11.4")
tv4_key, tv4_loc, tv4_id = ticks(para(s114, "Key"))[:3]
tv4_rows = [r for r in rows(s114) if r[0] != "Caveats"]
tv4_steps = []
for r in tv4_rows:
    cav = ticks(r[0])[0] if "`" in r[0] else None
    tv4_steps.append((cav, ticks(r[1])[0], ticks(r[2])[0]))
tv4_ser = labelled(codeblocks(s114)[0])
outc = ticks(para(s114, "Outcomes"))
# outc: this is not the key, SignatureMismatch, account = 0000000000, CaveatNotSatisfied, CaveatNotSatisfied,
#       test/issue_48, root-key, root-id, wonderful, bob, bob-caveat-root-key, bob-is-great, DischargeUnused
assert outc[1] == "SignatureMismatch" and outc[3] == "CaveatNotSatisfied", outc
tv4_wrong_key, tv4_only_pred = outc[0], outc[2]
k48 = outc.index("test/issue_48")
i48_key, i48_id, i48_cav, i48_loc, i48_ck, i48_cid = outc[k48 + 1:k48 + 7]

# ---------------------------------------------------------------------------
# §11.6 micro
# ---------------------------------------------------------------------------
s116 = section("### 11.6")
esc_row = row(s116, lambda c: c.startswith("base62 escape"))
esc_in, esc_out = ticks(esc_row[0])[0], ticks(esc_row[1])[0]
dec_row = row(s116, lambda c: c.startswith("base62 decode"))
dec_inputs = ticks(dec_row[0])
dec_res = ticks(dec_row[1])
uv_row = row(s116, lambda c: c.startswith("uvarint"))
uv_vals = [int(x) for x in re.findall(r"\d+", uv_row[0].split(";")[0].replace("uvarint", ""))]
uv_hex = [x.replace(" ", "") for x in ticks(uv_row[1])]
uv_bad = ticks(uv_row[0])[0].replace(" ", "")
h0_row = row(s116, lambda c: c.startswith("V1 header"))
h0_text = ticks(h0_row[0])[1]
det_row = row(s116, lambda c: c.startswith("detection"))
det_prefixes = [p.rstrip("…") for p in ticks(det_row[0])]

# ---------------------------------------------------------------------------
# §11.7 TV7
# ---------------------------------------------------------------------------
s117 = section("### 11.7")
tv7_loc = ticks(para(s117, "Location"))[0]
tv7_tokens = []
for r in rows(s117):
    if r[0] == "Token":
        continue
    secret, ident, sig = ticks(r[1])[0], ticks(r[2])[0], ticks(r[3])[0]
    tv7_tokens.append((r[0], secret, ident, sig))
cav_par = para(s117, "Access-token caveats")
cav_ticks = ticks(cav_par)
# caveats are the ticks before "(paths", then the data.objectid one; the path ticks are not caveats
paths = [t for t in cav_ticks if t.startswith("/space")]
tv7_access_caveats = [t for t in cav_ticks if not t.startswith("/space")]
tv7_texts = labelled(codeblocks(s117)[0])

# ---------------------------------------------------------------------------
# §14 damaged
# ---------------------------------------------------------------------------
s14 = SPEC[SPEC.index("## 14."):SPEC.index("## 15.")]
dmg = [b.strip("\n") for b in codeblocks(s14)]
assert len(dmg) == 3

# ===========================================================================
# signatures.json
# ===========================================================================


def fp_steps(mint_sig, cavs):
    st = [{"signature_hex": mint_sig}]
    for cav, sig in cavs:
        st.append({"first_party": cav, "signature_hex": sig})
    return st


tv1 = {
    "name": "TV1 first-party chain (libmacaroons README)",
    "source": "SPEC §11.1",
    "root_key": tv1_key, "location": tv1_loc, "identifier": tv1_id,
    "derived_key_hex": tv1_kd,
    "steps": fp_steps(tv1_mint, tv1_cav),
    "serializations": [
        {"after_step": 0, "format": "v1", "text": tv1_ser["V1, no caveats"]},
        {"after_step": 1, "format": "v1", "text": tv1_ser["V1, account caveat"]},
        {"after_step": 1, "format": "v2", "text": tv1_ser["V2, account caveat"]},
        {"after_step": 3, "format": "v1", "text": tv1_ser["V1, all three caveats"]},
        {"after_step": 3, "format": "v2", "text": tv1_ser["V2, all three caveats"]},
        {"after_step": 3, "format": "v2j", "text": tv1_ser["V2J, all three caveats"]},
    ],
}
tc_steps = fp_steps(tv1_mint, [(tv3_tc, tv3_tc_sig)])
tc_steps[1]["v2j_s64"] = tv3_tc_s64
assert tv3_tc_v1_note.startswith("✔ (RS: same + `=`)")
tv3_tc_vec = {
    "name": "TV3 first-party test = caveat (pymacaroons functional tests)",
    "source": "SPEC §11.3",
    "root_key": tv1_key, "location": tv1_loc, "identifier": tv1_id,
    "derived_key_hex": tv1_kd,
    "steps": tc_steps,
    "serializations": [
        {"after_step": 1, "format": "v1", "text": tv3_tc_v1,
         "rs_padded_form": {
             "spec_value": "RS: same + `=`",
             "recomputed": tv3_tc_v1,
             "flag": "SPEC value does not reproduce: the V1 bytes are 135 = 3 x 45 long, so the text has 180 "
                     "characters (a multiple of 4) and RS's padded URL-safe output is identical, with no '='. "
                     "The text plus '=' has incorrect padding and MUST be rejected (§6.3).",
             "must_reject": {"text": tv3_tc_v1 + "=", "layer": "base64", "offset": len(tv3_tc_v1),
                             "reason": "InvalidPadding"}}},
    ],
}
tv3_ta_vec = {
    "name": "TV3 first-party test = acaveat (padding case)",
    "source": "SPEC §11.3",
    "root_key": tv1_key, "location": tv1_loc, "identifier": tv1_id,
    "derived_key_hex": tv1_kd,
    "steps": fp_steps(tv1_mint, [(tv3_ta, tv3_ta_sig)]),
    "serializations": [{"after_step": 1, "format": "v1", "text": tv3_ta_v1,
                        "also_accept": [tv3_ta_v1 + "=="],
                        "note": "also_accept (computed, not printed in SPEC): the padded form RS writes; the V1 "
                                "bytes are 136 = 3 x 45 + 1 long, so two '=' are needed"}],
}
# TV2 mint signature is not printed in SPEC: computed here.
tv2_mint_m = cv.new_macaroon(tv2_loc, tv2_id, key=tv2_key)
tv2_tp_def = {"caveat_key": tv2_ck, "cid": tv2_cid, "location": tv2_cl, "nonce_hex": ZERO_NONCE}
assert tv2_tp_sig.startswith(tv3_tp_abbrev.split("…")[0]) and tv2_tp_sig.endswith(tv3_tp_abbrev.split("…")[1])
tv3_tp_vec = {
    "name": "TV3 third-party caveat (TV2 inputs, zero nonce)",
    "source": "SPEC §11.3 (values from §11.2)",
    "root_key": tv2_key, "location": tv2_loc, "identifier": tv2_id,
    "derived_key_hex": None,
    "steps": [
        {"signature_hex": cv.hx(tv2_mint_m["signature"]), "origin": "computed",
         "note": "mint signature not printed in SPEC; computed by extract_vectors.py"},
        {"first_party": tv2_acct_cav, "signature_hex": tv2_acct_sig},
        {"third_party": tv2_tp_def, "vid_b64url": tv2_vid, "signature_hex": tv2_tp_sig,
         "wrong_signatures_hex": [tv2_wrong_swap, tv2_wrong_flat],
         "wrong_signatures_note": "[H2(s, cid, vid) (swapped order), HMAC(s, vid || cid) (flat)]"},
    ],
    "serializations": [
        {"after_step": 2, "format": "v1", "text": tv2_ser["Root, V1"]},
        {"after_step": 2, "format": "v2", "text": tv2_ser["Root, V2"]},
        {"after_step": 2, "format": "v2j", "text": tv2_ser["Root, V2J"]},
    ],
}
import base64 as _b64  # noqa: E402
tct_vid_url = _b64.urlsafe_b64encode(_b64.b64decode(tv3_tct_vid_std)).rstrip(b"=").decode()
tv3_tct_vec = {
    "name": "TV3 test = caveat, then TV2's third-party caveat (zero nonce)",
    "source": "SPEC §11.3",
    "root_key": tv1_key, "location": tv1_loc, "identifier": tv1_id,
    "derived_key_hex": tv1_kd,
    "steps": [
        {"signature_hex": tv1_mint},
        {"first_party": tv3_tc, "signature_hex": tv3_tc_sig},
        {"third_party": tv2_tp_def, "vid_b64std": tv3_tct_vid_std, "vid_b64url": tct_vid_url,
         "vid_origin": "computed",
         "note": "vid_b64std is SPEC's value; vid_b64url is the same 72 bytes re-encoded by extract_vectors.py",
         "signature_hex": tv3_tct_sig},
    ],
}
tv4_vec = {
    "name": "TV4 libmacaroons unit tests",
    "source": "SPEC §11.4",
    "root_key": tv4_key, "location": tv4_loc, "identifier": tv4_id,
    "derived_key_hex": None,
    "steps": fp_steps(tv4_steps[0][1], [(c_, s_) for c_, s_, _ in tv4_steps[1:]]),
    "serializations": [{"after_step": i, "format": "v1", "text": t} for i, (_, _, t) in enumerate(tv4_steps)] + [
        {"after_step": 2, "format": "v2", "text": tv4_ser["V2, two caveats"]},
        {"after_step": 2, "format": "v2j", "text": tv4_ser["V2J, two caveats"]},
    ],
}
dump("signatures.json", {
    "_comment": "SPEC §11.1, §11.3, §11.4 signature chains. steps[0] is the freshly minted macaroon "
                "(no caveat); each later step adds one caveat. serializations[].after_step indexes steps "
                "(0 = no caveats). Root keys, caveat keys, identifiers and caveats are ASCII text. "
                "third_party.nonce_hex is the explicit nonce; vid = nonce || secretbox(s, nonce, HMAC(GEN, caveat_key)). "
                "A step or field with origin/vid_origin 'computed' is not printed in SPEC and was computed by "
                "extract_vectors.py; everything else is cut verbatim from SPEC.md. Verified by check_vectors.py.",
    "vectors": [tv1, tv3_tc_vec, tv3_ta_vec, tv3_tp_vec, tv3_tct_vec, tv4_vec],
    "binary_identifier": [{
        "name": "TV3 binary identifier in V2J",
        "source": "SPEC §11.3",
        "identifier_hex": tv3_bin_hex,
        "expect_v2j_i64": tv3_bin_i64,
        "note": "not valid UTF-8, so V2J emits i64 (URL-safe, unpadded); root key and location are irrelevant",
    }],
})

# ===========================================================================
# third_party.json
# ===========================================================================
m2 = cv.new_macaroon(tv2_loc, tv2_id, key=tv2_key)
cv.add_first_party(m2, tv2_acct_cav)
cv.add_third_party(m2, tv2_ck, tv2_cid, tv2_cl, bytes(24))
vid_bytes = m2["caveats"][-1]["vid"]
dump("third_party.json", {
    "_comment": "SPEC §11.2 (TV2) in full and §11.3 'prepare for request'. Hex is lowercase; all keys, "
                "identifiers and caveats are ASCII text. Values are cut verbatim from SPEC.md except "
                "vid_hex and vid_nonce_hex (the url-safe vid decoded). Verified by check_vectors.py.",
    "tv2": {
        "name": "TV2 libmacaroons README: third-party caveat, discharge, binding",
        "source": "SPEC §11.2",
        "root_key": tv2_key, "location": tv2_loc, "identifier": tv2_id,
        "steps": [
            {"first_party": tv2_acct_cav, "signature_hex": tv2_acct_sig,
             "note": "this signature is the secretbox key of the next (third-party) caveat"},
            {"third_party": tv2_tp_def,
             "derived_caveat_key_hex": tv2_kc,
             "derived_caveat_key_note": "Kc = HMAC(key=GEN, data=caveat_key); the secretbox plaintext",
             "vid_b64url": tv2_vid,
             "vid_hex": cv.hx(vid_bytes),
             "vid_nonce_hex": cv.hx(vid_bytes[:24]),
             "vid_tag_hex": tv2_tag,
             "vid_ciphertext_hex": tv2_ct,
             "signature_hex": tv2_tp_sig,
             "wrong_h2_cid_first_hex": tv2_wrong_swap,
             "wrong_flat_vid_cid_hex": tv2_wrong_flat},
        ],
        "discharge": {
            "root_key": tv2_ck, "location": tv2_d_loc, "identifier": tv2_cid,
            "s0_hex": tv2_d_s0,
            "caveats": [tv2_d_cav],
            "signature_hex": tv2_d_sig,
            "note": "signature_hex is the unbound discharge signature",
        },
        "binding": {
            "root_signature_hex": tv2_tp_sig,
            "discharge_signature_hex": tv2_d_sig,
            "bound_hex": tv2_bound,
            "wrong_discharge_first_hex": tv2_wrong_bind_swap,
            "wrong_flat_concat_hex": tv2_wrong_bind_flat,
            "note": "bound = H2(Z, root, discharge); wrong_discharge_first = H2(Z, discharge, root); "
                    "wrong_flat_concat = HMAC(Z, root || discharge)",
        },
        "serializations": {
            "root_v1": tv2_ser["Root, V1"],
            "root_v2": tv2_ser["Root, V2"],
            "root_v2j": tv2_ser["Root, V2J"],
            "bound_discharge_v1": tv2_ser["Bound discharge, V1"],
            "bound_discharge_v2": tv2_ser["Bound discharge, V2"],
            "unbound_discharge_v1": tv2_ser["Unbound discharge, V1"],
        },
        "verification": {
            "satisfied_predicates": tv2_sat,
            "root_plus_bound_discharge": "Verified",
            "root_plus_unbound_discharge": {"error": "SignatureMismatch", "macaroon": tv2_cid},
        },
    },
    "tv3_prepare_for_request": {
        "name": "TV3 pymacaroons prepare_for_request",
        "source": "SPEC §11.3",
        "root": "the TV2 root (TV2 root key/identifier/location, account = 3735928559, then the TV2 "
                "third-party caveat with the 24-zero-byte nonce)",
        "root_signature_hex": tv2_tp_sig,
        "discharge": {"root_key": tv2_ck, "location": tv2_d_loc, "identifier": tv2_cid,
                      "caveats": [tv3_pfr_cav], "signature_hex": tv3_pfr_dsig},
        "bound_signature_hex": tv3_pfr_bound,
        "note": "SPEC §11.3 does not say which root this discharge is bound to (the table header says "
                "'TV1 key, identifier, location', but the discharge is for TV2's caveat). Recomputed: "
                "H2(Z, root, discharge) gives the published bound value only with the TV2 root signature "
                "d27db2fd…f55c (zero nonce); the TV2 account-step signature, the TV1 mint signature, "
                "test = caveat and the test = caveat + third-party chain (7a9289bf…) all give other values.",
    },
})

# ===========================================================================
# negative.json
# ===========================================================================
tv4_two = tv4_ser["V2, two caveats"]
tv4_one_v1 = tv4_steps[1][2]
dump("negative.json", {
    "_comment": "Vectors that parse but must not verify (SPEC §11.1 negative, §11.2 unbound discharge, §11.4 "
                "outcomes and issue_48). For token entries: parse `text` (and `discharge_texts`), verify with "
                "`root_key`, a verifier that accepts exactly `satisfied_predicates`, default policy "
                "(unused discharges rejected) unless reject_unused is false; expect `expect`.",
    "vectors": [
        {"name": "TV1 'incompetent hackers' (libmacaroons README)",
         "source": "SPEC §11.1",
         "text": tv1_hack_text,
         "encoding": "standard base64 alphabet, padded, wrapped at 76 columns with LF (no final LF)",
         "wrapped_lines": True,
         "format": "v1",
         "root_key": tv1_key,
         "satisfied_predicates": [c_ for c_, _ in tv1_cav],
         "expect_parse": True,
         "parsed": {"location": tv1_loc, "identifier": tv1_id, "caveats": [c_ for c_, _ in tv1_cav],
                    "signature_hex": tv1_hack_sig},
         "expected_signature_hex": tv1_cav[-1][1],
         "expect": {"error": "SignatureMismatch", "macaroon": "root"}},
        {"name": "TV2 root with the unbound discharge",
         "source": "SPEC §11.2",
         "text": tv2_ser["Root, V1"],
         "discharge_texts": [tv2_ser["Unbound discharge, V1"]],
         "format": "v1",
         "root_key": tv2_key,
         "satisfied_predicates": tv2_sat,
         "expect": {"error": "SignatureMismatch", "macaroon": tv2_cid,
                    "note": "names the discharge (by identifier), not the root"}},
        {"name": "TV4 wrong key",
         "source": "SPEC §11.4 outcomes",
         "text": tv4_two, "format": "v2",
         "root_key": tv4_wrong_key,
         "satisfied_predicates": [tv4_steps[1][0], tv4_steps[2][0]],
         "correct_root_key_verifies": tv4_key,
         "expect": {"error": "SignatureMismatch", "macaroon": "root"}},
        {"name": "TV4 verifier knows only account = 0000000000",
         "source": "SPEC §11.4 outcomes",
         "text": tv4_one_v1, "format": "v1",
         "root_key": tv4_key,
         "satisfied_predicates": [tv4_only_pred],
         "expect": {"error": "CaveatNotSatisfied", "macaroon": "root", "index": 0, "caveat": tv4_steps[1][0]}},
        {"name": "TV4 one of two caveats unknown",
         "source": "SPEC §11.4 outcomes",
         "text": tv4_two, "format": "v2",
         "root_key": tv4_key,
         "satisfied_predicates": [tv4_steps[1][0]],
         "expect": {"error": "CaveatNotSatisfied", "macaroon": "root", "index": 1, "caveat": tv4_steps[2][0]}},
        {"name": "libmacaroons test/issue_48: two different discharges with the same id",
         "id": "issue_48",
         "kind": "descriptive",
         "source": "SPEC §11.4",
         "root": {"root_key": i48_key, "identifier": i48_id, "location": "",
                  "first_party": i48_cav,
                  "third_party": {"location": i48_loc, "caveat_key": i48_ck, "cid": i48_cid}},
         "discharges": "two different discharges, both minted with caveat key '%s' and identifier '%s' "
                       "and bound to the root" % (i48_ck, i48_cid),
         "construction_used_by_checker": {
             "note": "SPEC does not fix the nonce, locations or how the discharges differ; check_vectors.py "
                     "uses a zero nonce, an empty root location, and these two discharges (our choice)",
             "discharges": [{"location": i48_loc, "caveats": []},
                            {"location": i48_loc, "caveats": ["splendid"]}]},
         "peers": {"LM HEAD": "accepts", "GO": "reports one discharge as unused"},
         "expect": {"default_policy": {"error": "DischargeUnused", "identifier": i48_cid,
                                       "note": "the first discharge (caller order) is used, the second is unused"},
                    "ignore_unused_policy": "Verified"}},
    ],
})

# ===========================================================================
# micro.json
# ===========================================================================
pairs = []
for cell_head, cell_val in zip(rows(section("### 10.1"))[0][1:], rows(section("### 10.1"))[1][1:]):
    ch, e = ticks(cell_head), ticks(cell_val)
    if ch and e:
        pairs.append({"char": ch[0], "escaped": e[0]})
assert len(pairs) == 6
# dec_res: ['InvalidEscape', 'DanglingEscape', 'abc0', "InvalidCharacter '-'"]
assert dec_inputs == ["0Y", "abc0", "ab-c"], dec_inputs
offs = [int(x) for x in re.findall(r"at (\d+)", dec_row[1])]
assert uv_vals == [127, 128, 300, 65535], uv_vals

m_tv1_1 = cv.new_macaroon(tv1_loc, tv1_id, key=tv1_key)
for c_, _ in tv1_cav:
    cv.add_first_party(m_tv1_1, c_)
sig_all = tv1_cav[-1][1]
v1json_id_first = ('{"identifier":"%s","location":"%s","caveats":[%s],"signature":"%s"}'
                   % (tv1_id, tv1_loc, ",".join('{"cid":"%s"}' % c_ for c_, _ in tv1_cav), sig_all))
v1json_spec_order = ('{"location":"%s","identifier":"%s","signature":"%s","caveats":[%s]}'
                     % (tv1_loc, tv1_id, sig_all, ",".join('{"cid":"%s"}' % c_ for c_, _ in tv1_cav)))
rop_text = tv7_texts["registerOneprovider token text"]
sig_rop = [t for t in tv7_tokens if t[0] == "invite registerOneprovider"][0][3]
TV1_INFO = {"root_key": tv1_key, "location": tv1_loc, "identifier": tv1_id}
ROP = [t for t in tv7_tokens if t[0] == "invite registerOneprovider"][0]
TV7_INFO = {"root_key": ROP[1], "location": tv7_loc, "identifier": ROP[2]}
detection = [
    {"name": "V1 base64 (TV1, three caveats)", "spec_prefix": det_prefixes[0],
     "text": tv1_ser["V1, all three caveats"], "expect": "v1", "service": None, "signature_hex": sig_all, **TV1_INFO},
    {"name": "V2 base64 (TV1, three caveats)", "spec_prefix": det_prefixes[1],
     "text": tv1_ser["V2, all three caveats"], "expect": "v2", "service": None, "signature_hex": sig_all, **TV1_INFO},
    {"name": "V2J (TV1, three caveats)", "spec_prefix": det_prefixes[2],
     "text": tv1_ser["V2J, all three caveats"], "expect": "v2j", "service": None, "signature_hex": sig_all, **TV1_INFO},
    {"name": "legacy V1 JSON (TV1, three caveats; built here per §8.4, identifier key first)",
     "spec_prefix": det_prefixes[3], "origin": "computed",
     "text": v1json_id_first, "expect": "v1json", "service": None, "signature_hex": sig_all, **TV1_INFO},
    {"name": "Onedata base62 (TV7 registerOneprovider)", "spec_prefix": det_prefixes[4],
     "text": rop_text, "expect": "onedata", "service": None, "signature_hex": sig_rop, **TV7_INFO},
    {"name": "Onedata with opw- service indication (opw- + TV7 registerOneprovider)",
     "spec_prefix": det_prefixes[5], "origin": "computed",
     "text": "opw-" + rop_text, "expect": "onedata", "service": "opw", "signature_hex": sig_rop, **TV7_INFO},
    # extras (not in the §11.6 table; computed from TV1 per §8.4 / §9)
    {"extra": True, "name": "extra: legacy V1 JSON in §8.4 key order (location first)", "spec_prefix": "{",
     "origin": "computed", "text": v1json_spec_order, "expect": "v1json", "service": None,
     "signature_hex": sig_all, **TV1_INFO},
    {"extra": True, "name": "extra: LM 0.3.0 base64-wrapped legacy V1 JSON (§9 step 9)", "spec_prefix": "ey",
     "origin": "computed", "text": _b64.urlsafe_b64encode(v1json_spec_order.encode()).rstrip(b"=").decode(),
     "expect": "v1json", "service": None, "signature_hex": sig_all, **TV1_INFO},
    {"extra": True, "name": "extra: JSON string holding a V1 token (§9 step 5)", "spec_prefix": '"MDAx',
     "origin": "computed", "text": '"%s"' % tv1_ser["V1, all three caveats"], "expect": "v1", "service": None,
     "signature_hex": sig_all, **TV1_INFO},
    {"extra": True, "name": "extra: TV1 V1 with surrounding whitespace (§9 step 2)", "spec_prefix": " \n",
     "origin": "computed", "text": " \n" + tv1_ser["V1, no caveats"] + "\n", "expect": "v1", "service": None,
     "signature_hex": tv1_mint, **TV1_INFO},
]
dump("micro.json", {
    "_comment": "SPEC §11.6 micro-vectors (escape table from §10.1). Offsets are 0-based characters of the "
                "input. Detection entries are full tokens whose text starts with the §11.6 prefix; entries "
                "marked origin 'computed' were built by extract_vectors.py from SPEC values (legacy V1 JSON "
                "per §8.4, 'opw-' + TV7 text); names starting 'extra:' are not in the §11.6 table. "
                "expect is one of v1, v2, v2j, v1json, onedata; service is null or 'opw'.",
    "base62_escape_pairs": pairs,
    "base62_escape": [{"input": esc_in, "output": esc_out}],
    "base62_decode_errors": [
        {"input": "0Y", "layer": "base62", "kind": "InvalidEscape", "offset": offs[0], "pair": "0Y"},
        {"input": "abc0", "layer": "base62", "kind": "DanglingEscape", "offset": offs[1], "od_result": "abc0",
         "note": "Onedata's decoder copies a dangling final 0 and returns abc0"},
        {"input": "ab-c", "layer": "base62", "kind": "InvalidCharacter", "offset": offs[2], "char": "-"},
    ],
    "uvarint": [{"value": v, "hex": h} for v, h in zip(uv_vals, uv_hex)],
    "uvarint_errors": [{"hex": uv_bad, "reason": "NonMinimalVarint", "note": "not minimal"}],
    "v1_header_zero": {
        "text": h0_text,
        "decoded_hex": cv.hx(cv.b64_decode(h0_text)),
        "decoded_note": "'0000location \\n'",
        "detected": "v1",
        "expect_error": {"layer": "v1", "offset": 0, "reason": "BadPacketLength",
                         "note": "error at byte 0, no hang (reason name is ours: header 0000 < 4 + len(key) + 2)"},
    },
    "detection": detection,
})

# ===========================================================================
# onedata.json
# ===========================================================================
name_map = {"access, 13 caveats": "access", "identity, 7 caveats (not transcribed)": "identity",
            "invite registerOneprovider": "invite registerOneprovider", "invite supportSpace": "invite supportSpace"}
text_map = {"access": tv7_texts["access token text"],
            "invite registerOneprovider": tv7_texts["registerOneprovider token text"],
            "invite supportSpace": tv7_texts["supportSpace token text"]}
toks = []
for label, secret, ident, sig in tv7_tokens:
    nm = name_map[label]
    text = text_map.get(nm)
    entry = {"name": nm, "secret": secret, "identifier": ident,
             "identifier_parsed": cv.onedata_identifier(ident), "signature_hex": sig}
    if nm == "identity":
        entry.update({"caveats": None, "text": None, "recomputation_matched": None,
                      "note": "7 caveats not transcribed in SPEC; no text, cannot be recomputed"})
    else:
        cavs = tv7_access_caveats if nm == "access" else []
        m = cv.new_macaroon(tv7_loc, ident, key=secret)
        for c_ in cavs:
            cv.add_first_party(m, c_)
        # parse the published text and compare with the recomputed chain
        svc, t, o = cv.onedata_decode_text(text)
        pm = cv.v1_parse_bytes(cv.b64_decode(t, o))
        assert [x["cid"].decode() for x in pm["caveats"]] == cavs, nm
        matched = pm["signature"] == m["signature"] and cv.hx(m["signature"]) == sig
        entry.update({"caveats": cavs, "text": text, "service": None, "recomputation_matched": matched})
        used = set()
        i = 0
        while i < len(text):
            if text[i] == "0":
                used.add(text[i:i + 2])
                i += 2
            else:
                i += 1
        entry["escapes_used"] = sorted(used)
    toks.append(entry)
dump("onedata.json", {
    "_comment": "SPEC §11.7 TV7 (Onedata 20.02). token text = base62(base64url_nopad(V1 packets)); the secret "
                "(ASCII text) is the root key, derived as SPEC §3.1. recomputation_matched: the text was "
                "base62-unescaped, base64url-decoded, parsed as V1, and HMAC(HMAC(GEN, secret), identifier) "
                "folded over the caveats equals both the packet signature and signature_hex. "
                "identifier_parsed follows §10.2 (field names ours); escapes_used lists the base62 escapes "
                "occurring in the text.",
    "location": tv7_loc,
    "tokens": toks,
    "data_path_caveat": {"encoded": tv7_access_caveats[11].split(" = ")[1].split("|"), "decoded": paths},
})

# ===========================================================================
# damaged.json
# ===========================================================================
A, B, C = dmg
dump("damaged.json", {
    "_comment": "SPEC §14 damaged token strings from the Onedata docs. strict_error: what parse (and verify) "
                "must report (layer, offset in that layer per §0/§13, reason keyword, plus char/pair). "
                "lenient: what inspect must recover (§13). Text offsets are 0-based characters of `text`; "
                "v1 offsets are bytes of the decoded data. Reason keywords are ours where SPEC gives prose.",
    "examples": [
        {"id": "A", "name": "registration page, curl response", "source": "000_dc006debc4b19cf0.txt",
         "text": A, "length": 51, "detected": "onedata",
         "characters_at": {"11": "00", "47": "-", "48": "0Y", "49": "Y8"},
         "strict_error": {"layer": "base62", "offset": 47, "reason": "InvalidCharacter", "char": "-",
                          "message": "base62: character '-' at offset 47 is not allowed"},
         "od_error": {"layer": "base62", "offset": 48, "reason": "InvalidEscape", "pair": "0Y",
                      "note": "OD's decoder copies '-' and fails on 0Y; a decoder without the alphabet check reports 48"},
         "lenient": {
             "text_defects": [
                 {"layer": "base62", "offset": 47, "reason": "InvalidCharacter", "char": "-"},
                 {"layer": "base62", "offset": 48, "reason": "InvalidEscape", "pair": "0Y"}],
             "base62_chars_used": 47,
             "base64_chars": 46,
             "decoded_bytes": 34,
             "decoded_text": "0016location registry\n003bidentifi",
             "location": "registry",
             "identifier": None,
             "caveats": [],
             "signature_truncated_hex": None,
             "v1_defects": [{"layer": "v1", "offset": 22, "reason": "PacketTruncated", "key": None,
                             "declared": 59, "remaining": 12}],
             "text_defects_note": "the 46-character prefix ends in a partial group whose last character 'W' "
                                  "(offset 46) has non-zero trailing bits; that is an artefact of stopping at "
                                  "the base62 defect, ignored by the lenient decode and not reported",
             "note": "identifier packet at byte 22 declares 003b = 59 bytes, only 12 present ('003bidentifi', "
                     "key cut before its space): no identifier, no signature"},
         "extra_checks": {}},
        {"id": "B", "name": "space-support page, curl response", "source": "004_310964b40670cd64.txt",
         "text": B, "length": 89, "detected": "onedata",
         "characters_at": {"11": "00", "72": "00", "84": "001", "88": "l"},
         "strict_error": {"layer": "base64", "offset": 88, "reason": "TrailingBits", "char": "l",
                          "message": "base64: final character 'l' at 88 has non-zero trailing bits (truncated text)"},
         "lenient": {
             "text_defects": [{"layer": "base64", "offset": 88, "reason": "TrailingBits", "char": "l"}],
             "base64_chars": 86,
             "decoded_bytes": 64,
             "decoded_text": "0016location registry\n003bidentifier vcPiHpi0xfmkVNtJtyCH5SoGm5Z",
             "location": "registry",
             "identifier_truncated": True,
             "identifier_prefix": "vcPiHpi0xfmkVNtJtyCH5SoGm5Z",
             "identifier_present_bytes": 27,
             "identifier_full_bytes": 43,
             "caveats": [],
             "signature_truncated_hex": None,
             "v1_defects": [{"layer": "v1", "offset": 22, "reason": "PacketTruncated", "key": "identifier",
                             "declared": 59, "remaining": 42}],
             "note": "legacy identifier (no '/'); no caveats, no signature packet"},
         "extra_checks": {
             "escapes_at": [11, 72, 84],
             "last_char_unescaped_offset": 85,
             "unescaped_length_mod_4": 2,
             "identifier_declared": {"declared": 59, "value_bytes": 43},
             "strict_with_trailing_bits_tolerated": {"layer": "v1", "offset": 22, "reason": "PacketTruncated"}}},
        {"id": "C", "name": "both pages, Responses example", "source": "000_dc006debc4b19cf0.txt and 004_310964b40670cd64.txt",
         "text": C, "length": 196, "detected": "v1",
         "characters_at": {"0": "JKAx", "2": "Ax", "11": "0a", "160": "88OI1d24"},
         "strict_error": {"layer": "v1", "offset": 0, "char_offset": 0, "reason": "BadPacketHeader",
                          "message": "v1: packet header at byte 0 (character 0) is not four hex digits"},
         "lenient": {
             "text_defects": [],
             "decoded_bytes": 147,
             "location": "onezone",
             "identifier": "8HfHARHgklqBkZVI4l6MBTvSSvt98ppp6948s8Q7SOk",
             "caveats": ["time < 1496140144"],
             "signature_truncated_hex": "f3c388d5ddb8737ebbd3b77df75f7b73a71df7de7cd746b8dda71a",
             "signature_present_bytes": 27,
             "v1_defects": [
                 {"layer": "v1", "offset": 0, "reason": "BadPacketHeader", "header": "$\u00a015"},
                 {"layer": "v1", "offset": 106, "reason": "PacketTruncated", "key": "signature",
                  "declared": 47, "remaining": 41}],
             "note": "bad header at byte 0 skipped (known key 'location' + space follows); signature 27 of 32 "
                     "bytes, 5 bytes and the LF missing"},
         "extra_checks": {
             "as_base62_error": {"offset": 11, "reason": "InvalidEscape", "pair": "0a"},
             "first_group": {"chars": "JKAx", "bytes_hex": "24a031", "intact": "MDAx"},
             "first_header_latin1": "$\u00a015",
             "first_packet_bytes": 21,
             "identifier_length": 43,
             "caveat_time_utc": "2017-05-30T10:29:04Z",
             "signature_packet": {"byte_offset": 106, "declared": 47, "remaining": 41,
                                  "value_byte_offset": 120, "value_char_offset": 160,
                                  "value_text_prefix": "88OI1d24"}}},
    ],
})
