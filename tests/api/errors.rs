//! Negative cases: every failure must be the specific error variant with the right fields.

use crate::common::*;
use macaroon_mint::{
    DecodeErrorKind, Error, Format, Layer, LimitError, Limits, Macaroon, MacaroonRole, RootKey,
    Verifier, VerifyError,
};
use macaroon_mint::{Inspection, Parsed};
use serde_json::Value;

const TV1_KEY: &str = "this is our super secret key; only we should know it";
const TV1_PREDS: [&str; 3] = [
    "account = 3735928559",
    "time < 2020-01-01T00:00",
    "email = alice@example.org",
];

/// TV1 with its three caveats (SPEC §11.1).
fn tv1() -> Macaroon {
    TV1_PREDS.iter().fold(
        Macaroon::mint(&key(TV1_KEY), "http://mybank/", "we used our secret key").expect("mint"),
        |m, p| m.with_first_party(p).expect("caveat"),
    )
}

fn exact(preds: &[&'static str]) -> Verifier<'static> {
    preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(*p))
}

fn root_mismatch() -> VerifyError {
    VerifyError::SignatureMismatch {
        macaroon: MacaroonRole::Root,
        reason: None,
    }
}

fn discharge_mismatch(id: &str) -> VerifyError {
    VerifyError::SignatureMismatch {
        macaroon: discharge_role(id),
        reason: None,
    }
}

/// Rebuilds `m` after editing its v2 JSON form as a `serde_json::Value`.
fn tamper_json(m: &Macaroon, edit: impl FnOnce(&mut Value), ctx: &str) -> Macaroon {
    let mut v: Value =
        serde_json::from_str(&serialize_ok(m, Format::V2Json, ctx)).expect("our JSON is JSON");
    edit(&mut v);
    parse_ok(&serde_json::to_string(&v).expect("serialize"), ctx)
}

/// Rebuilds `m` after editing its raw v1 packets.
fn tamper_v1(m: &Macaroon, edit: impl FnOnce(&mut Vec<Vec<u8>>), ctx: &str) -> Macaroon {
    let mut packets = v1_packets(&m.to_v1_bytes().expect("v1"));
    edit(&mut packets);
    from_v1(&packets.concat()).unwrap_or_else(|e| panic!("[{ctx}] tampered v1 must parse: {e}"))
}

fn expect_verify(
    verifier: &Verifier<'_>,
    key: &RootKey,
    root: &Macaroon,
    discharges: &[Macaroon],
    want: VerifyError,
    ctx: &str,
) {
    let got = verify_err(verifier.verify(key, root, discharges), ctx);
    assert_eq!(got, want, "[{ctx}]");
}

fn expect_ok(
    verifier: &Verifier<'_>,
    key: &RootKey,
    root: &Macaroon,
    discharges: &[Macaroon],
    ctx: &str,
) {
    if let Err(e) = verifier.verify(key, root, discharges) {
        panic!("[{ctx}] expected to verify, got {e} ({e:?})");
    }
}

// ---------------------------------------------------------------------------------------------
// Signature failures on a first-party macaroon
// ---------------------------------------------------------------------------------------------

#[test]
fn wrong_key() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    expect_ok(&v, &key(TV1_KEY), &m, &[], "TV1 right key");
    expect_verify(
        &v,
        &key("this is not the key"),
        &m,
        &[],
        root_mismatch(),
        "TV1 wrong key",
    );
    expect_verify(
        &v,
        &RootKey::from_derived([0; 32]),
        &m,
        &[],
        root_mismatch(),
        "TV1 raw zero key",
    );
}

#[test]
fn flipped_signature_bit() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    let bytes = m.to_v1_bytes().expect("v1");
    let sig_start = bytes.len() - 1 - 32;
    assert_eq!(&bytes[sig_start..bytes.len() - 1], m.signature(), "layout");
    for bit in 0..256 {
        let ctx = format!("TV1 signature bit {bit} flipped (v1 bytes)");
        let mut t = bytes.clone();
        t[sig_start + bit / 8] ^= 1 << (bit % 8);
        let forged = from_v1(&t).unwrap_or_else(|e| panic!("[{ctx}] parses: {e}"));
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
    }
    let ctx = "TV1 signature bit flipped (v2 JSON s64)";
    let forged = tamper_json(
        &m,
        |j| {
            let mut sig = b64_decode(j["s64"].as_str().expect("s64"));
            sig[31] ^= 0x80;
            j["s64"] = Value::from(b64_encode(&sig, true, false));
        },
        ctx,
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn dropped_caveat() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    for i in 0..3 {
        let ctx = format!("TV1 caveat {i} dropped (JSON)");
        let forged = tamper_json(
            &m,
            |j| {
                j["c"].as_array_mut().expect("c").remove(i);
            },
            &ctx,
        );
        assert_eq!(forged.caveats().len(), 2, "[{ctx}] tampered");
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
        let ctx = format!("TV1 caveat {i} dropped (v1 packets)");
        let forged = tamper_v1(&m, |p| drop(p.remove(2 + i)), &ctx);
        assert_eq!(forged.caveats().len(), 2, "[{ctx}] tampered");
        expect_verify(&v, &k, &forged, &[], root_mismatch(), &ctx);
    }
    // All caveats dropped.
    let ctx = "TV1 all caveats dropped (JSON)";
    let forged = tamper_json(&m, |j| j["c"] = Value::Array(vec![]), ctx);
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn changed_caveat() {
    let m = tv1();
    let v = Verifier::new().satisfy_general(|_| true);
    let k = key(TV1_KEY);
    let ctx = "TV1 caveat 0 changed (JSON)";
    let forged = tamper_json(
        &m,
        |j| j["c"][0]["i"] = Value::from("account = 0000000001"),
        ctx,
    );
    assert_eq!(caveat_ids(&forged)[0], "account = 0000000001", "[{ctx}]");
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 caveat 2 changed (v1 packets)";
    let forged = tamper_v1(
        &m,
        |p| p[4] = v1_packet("cid", b"email = mallory@example.org"),
        ctx,
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    // Changing the identifier is a mismatch too; changing the location is not (unsigned).
    let ctx = "TV1 identifier changed (JSON)";
    let forged = tamper_json(&m, |j| j["i"] = Value::from("we used our secret kez"), ctx);
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 location changed (JSON, unsigned)";
    let moved = tamper_json(&m, |j| j["l"] = Value::from("http://elsewhere/"), ctx);
    expect_ok(&v, &k, &moved, &[], ctx);
}

#[test]
fn reordered_caveats() {
    let m = tv1();
    let v = exact(&TV1_PREDS);
    let k = key(TV1_KEY);
    let ctx = "TV1 caveats 0 and 1 swapped (JSON)";
    let forged = tamper_json(&m, |j| j["c"].as_array_mut().expect("c").swap(0, 1), ctx);
    assert_eq!(
        caveat_ids(&forged),
        [TV1_PREDS[1], TV1_PREDS[0], TV1_PREDS[2]],
        "[{ctx}]"
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
    let ctx = "TV1 caveats reversed (v1 packets)";
    let forged = tamper_v1(&m, |p| p[2..5].reverse(), ctx);
    assert_eq!(
        caveat_ids(&forged),
        [TV1_PREDS[2], TV1_PREDS[1], TV1_PREDS[0]],
        "[{ctx}]"
    );
    expect_verify(&v, &k, &forged, &[], root_mismatch(), ctx);
}

#[test]
fn forged_token_fails_on_signature_before_caveats() {
    // §5.3: authenticate first. A tampered token with unsatisfiable caveats is a mismatch.
    let m = tv1();
    let ctx = "TV1 tampered, no satisfiers";
    let forged = tamper_json(&m, |j| j["c"][1]["i"] = Value::from("admin = true"), ctx);
    expect_verify(
        &Verifier::new(),
        &key(TV1_KEY),
        &forged,
        &[],
        root_mismatch(),
        ctx,
    );
}

// ---------------------------------------------------------------------------------------------
// Third-party caveats and discharges
// ---------------------------------------------------------------------------------------------

struct ThirdParty {
    key: RootKey,
    root: Macaroon,
    caveat_key: RootKey,
    discharge: Macaroon,
}

/// A root with one third-party caveat `cid` and its (unbound) discharge.
fn third_party(cid: &str) -> ThirdParty {
    let key = key("root secret");
    let caveat_key = RootKey::new(format!("caveat key for {cid}"));
    let root = Macaroon::mint(&key, "http://svc/", "root-id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp")
        .with_third_party("http://auth/", &caveat_key, cid)
        .expect("tp");
    let discharge = Macaroon::mint(&caveat_key, "http://auth/", cid)
        .expect("mint")
        .with_first_party("time < 2000000000")
        .expect("fp");
    ThirdParty {
        key,
        root,
        caveat_key,
        discharge,
    }
}

fn tp_verifier() -> Verifier<'static> {
    Verifier::new()
        .satisfy_exact("user = alice")
        .at_time(1_700_000_000)
}

#[test]
fn bound_discharge_verifies() {
    let t = third_party("cid-1");
    let bound = t.discharge.bind_to(&t.root);
    expect_ok(&tp_verifier(), &t.key, &t.root, &[bound], "bound discharge");
}

#[test]
fn unbound_discharge() {
    let t = third_party("cid-1");
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        std::slice::from_ref(&t.discharge),
        discharge_mismatch("cid-1"),
        "unbound discharge",
    );
}

#[test]
fn discharge_bound_to_another_root() {
    let t = third_party("cid-1");
    let other_root = Macaroon::mint(&t.key, "http://svc/", "other-root-id")
        .expect("mint")
        .with_third_party("http://auth/", &t.caveat_key, "cid-1")
        .expect("tp");
    let misbound = t.discharge.bind_to(&other_root);
    let ctx = "discharge bound to another root";
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        std::slice::from_ref(&misbound),
        discharge_mismatch("cid-1"),
        ctx,
    );
    // ... while it is fine with the root it was bound to.
    expect_ok(
        &Verifier::new().at_time(0),
        &t.key,
        &other_root,
        &[misbound],
        ctx,
    );
    // Bound twice (to the root, then again) is not bound.
    let twice = t.discharge.bind_to(&t.root).bind_to(&t.root);
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        &[twice],
        discharge_mismatch("cid-1"),
        "discharge bound twice",
    );
}

#[test]
fn discharge_minted_with_wrong_key() {
    let t = third_party("cid-1");
    let wrong = Macaroon::mint(&key("not the caveat key"), "http://auth/", "cid-1")
        .expect("mint")
        .bind_to(&t.root);
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        &[wrong],
        discharge_mismatch("cid-1"),
        "TV5 discharge minted with a wrong key",
    );
}

#[test]
fn tampered_vid() {
    let t = third_party("cid-1");
    let bound = t.discharge.bind_to(&t.root);
    for (what, edit) in [
        ("vid one byte short", 0usize),
        ("vid ciphertext byte flipped", 1),
    ] {
        let ctx = format!("third-party caveat: {what}");
        let forged = tamper_json(
            &t.root,
            |j| {
                let c = &mut j["c"][1];
                let mut vid = b64_decode(c["v64"].as_str().expect("v64"));
                if edit == 0 {
                    vid.pop();
                } else {
                    vid[50] ^= 1;
                }
                c["v64"] = Value::from(b64_encode(&vid, true, false));
            },
            &ctx,
        );
        match verify_err(
            tp_verifier().verify(&t.key, &forged, std::slice::from_ref(&bound)),
            &ctx,
        ) {
            VerifyError::SignatureMismatch {
                macaroon: MacaroonRole::Root,
                reason: Some(_),
            } => {}
            other => panic!("[{ctx}] expected root SignatureMismatch with a reason, got {other:?}"),
        }
    }
}

#[test]
fn missing_discharge() {
    let t = third_party("cid-1");
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        &[],
        VerifyError::DischargeMissing {
            caveat_id: b"cid-1".to_vec(),
        },
        "TV5 missing discharge",
    );
    // A discharge for another caveat id does not count.
    let other = third_party("cid-2").discharge.bind_to(&t.root);
    expect_verify(
        &tp_verifier().ignore_unused_discharges(),
        &t.key,
        &t.root,
        &[other],
        VerifyError::DischargeMissing {
            caveat_id: b"cid-1".to_vec(),
        },
        "discharge for another id only",
    );
}

#[test]
fn unused_discharge() {
    let t = third_party("cid-1");
    let bound = t.discharge.bind_to(&t.root);
    let extra = Macaroon::mint(&key("whatever"), "", "nobody-asked")
        .expect("mint")
        .bind_to(&t.root);
    for (ctx, discharges, index) in [
        (
            "TV5 extra discharge after",
            vec![bound.clone(), extra.clone()],
            1,
        ),
        (
            "TV5 extra discharge before",
            vec![extra.clone(), bound.clone()],
            0,
        ),
    ] {
        expect_verify(
            &tp_verifier(),
            &t.key,
            &t.root,
            &discharges,
            VerifyError::DischargeUnused {
                index,
                identifier: b"nobody-asked".to_vec(),
            },
            ctx,
        );
        expect_ok(
            &tp_verifier().ignore_unused_discharges(),
            &t.key,
            &t.root,
            &discharges,
            &format!("{ctx}, ignore_unused_discharges"),
        );
    }
    // A discharge for a macaroon with no third-party caveat at all.
    let first_party_only = tv1();
    let stray = [extra];
    expect_verify(
        &exact(&TV1_PREDS),
        &key(TV1_KEY),
        &first_party_only,
        &stray,
        VerifyError::DischargeUnused {
            index: 0,
            identifier: b"nobody-asked".to_vec(),
        },
        "discharge for a first-party-only root",
    );
    // Two discharges for one caveat: the second is unused.
    let twin = t
        .discharge
        .clone()
        .with_first_party("extra = 1")
        .expect("fp")
        .bind_to(&t.root);
    expect_verify(
        &tp_verifier(),
        &t.key,
        &t.root,
        &[bound.clone(), twin.clone()],
        VerifyError::DischargeUnused {
            index: 1,
            identifier: b"cid-1".to_vec(),
        },
        "TV5 two discharges for one caveat",
    );
}

#[test]
fn lm_issue_48() {
    let data = load("negative.json");
    let v = arr(&data, "vectors", "negative.json")
        .iter()
        .find(|v| opt_s(v, "id") == Some("issue_48"))
        .expect("issue_48 vector");
    let name = s(v, "name", "issue_48");
    let r = v.get("root").expect("root");
    let tp = r.get("third_party").expect("third_party");
    let root_key = key(s(r, "root_key", name));
    let caveat_key = key(s(tp, "caveat_key", name));
    let cid = s(tp, "cid", name);
    let root = Macaroon::mint(&root_key, s(r, "location", name), s(r, "identifier", name))
        .expect("mint")
        .with_first_party(s(r, "first_party", name))
        .expect("fp")
        .with_third_party(s(tp, "location", name), &caveat_key, cid)
        .expect("tp");
    let construction = v
        .get("construction_used_by_checker")
        .and_then(|c| c.get("discharges"))
        .and_then(Value::as_array)
        .expect("discharges");
    let discharges: Vec<Macaroon> = construction
        .iter()
        .map(|d| {
            strings(d.get("caveats").expect("caveats"), name)
                .iter()
                .fold(
                    Macaroon::mint(&caveat_key, s(d, "location", name), cid).expect("mint"),
                    |m, c| m.with_first_party(c).expect("fp"),
                )
                .bind_to(&root)
        })
        .collect();
    assert_eq!(discharges.len(), 2, "[{name}] two discharges");
    assert_ne!(discharges[0], discharges[1], "[{name}] they differ");
    let verifier = Verifier::new().satisfy_exact(s(r, "first_party", name));
    expect_verify(
        &verifier,
        &root_key,
        &root,
        &discharges,
        VerifyError::DischargeUnused {
            index: 1,
            identifier: cid.as_bytes().to_vec(),
        },
        &format!("{name}: default policy"),
    );
    let lenient = Verifier::new()
        .satisfy_exact(s(r, "first_party", name))
        .ignore_unused_discharges();
    let ok = lenient
        .verify(&root_key, &root, &discharges)
        .unwrap_or_else(|e| panic!("[{name}] ignore-unused policy verifies: {e}"));
    assert_eq!(
        ok.discharges(),
        [&discharges[0]],
        "[{name}] the first discharge (caller order) is the one used"
    );
    // Reversed order: the caveated discharge is used, so its caveat must hold.
    let reversed = [discharges[1].clone(), discharges[0].clone()];
    expect_verify(
        &lenient,
        &root_key,
        &root,
        &reversed,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role(cid),
            index: 0,
            caveat: b"splendid".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        &format!("{name}: reversed order uses the first given"),
    );
}

#[test]
fn reused_discharge() {
    // One discharge for two caveats with the same cid.
    let k = key("root");
    let ck = key("caveat key");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party("tp", &ck, "same-cid")
        .expect("tp1")
        .with_third_party("tp", &ck, "same-cid")
        .expect("tp2");
    let d = Macaroon::mint(&ck, "tp", "same-cid")
        .expect("mint")
        .bind_to(&root);
    expect_verify(
        &Verifier::new(),
        &k,
        &root,
        std::slice::from_ref(&d),
        VerifyError::DischargeReused {
            caveat_id: b"same-cid".to_vec(),
        },
        "TV5 one discharge for two caveats with the same cid",
    );
    // With two copies it verifies (each used once).
    expect_ok(&Verifier::new(), &k, &root, &[d.clone(), d], "two copies");
}

#[test]
fn discharge_cycle() {
    let k = key("root");
    let ck = key("self key");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party("tp", &ck, "me")
        .expect("tp");
    // A discharge with a third-party caveat requiring itself.
    let me = Macaroon::mint(&ck, "tp", "me")
        .expect("mint")
        .with_third_party("tp", &ck, "me")
        .expect("self caveat")
        .bind_to(&root);
    let ctx = "TV5 / §11.3 discharge requiring itself";
    expect_verify(
        &Verifier::new(),
        &k,
        &root,
        std::slice::from_ref(&me),
        VerifyError::DischargeCycle {
            caveat_id: b"me".to_vec(),
        },
        ctx,
    );
    expect_verify(
        &Verifier::new().ignore_unused_discharges(),
        &k,
        &root,
        &[me],
        VerifyError::DischargeCycle {
            caveat_id: b"me".to_vec(),
        },
        ctx,
    );
    // Mutual: a requires b, b requires a.
    let (ka, kb) = (key("key a"), key("key b"));
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party("tp", &ka, "a")
        .expect("tp");
    let a = Macaroon::mint(&ka, "tp", "a")
        .expect("mint")
        .with_third_party("tp", &kb, "b")
        .expect("tp")
        .bind_to(&root);
    let b = Macaroon::mint(&kb, "tp", "b")
        .expect("mint")
        .with_third_party("tp", &ka, "a")
        .expect("tp")
        .bind_to(&root);
    expect_verify(
        &Verifier::new(),
        &k,
        &root,
        &[a, b],
        VerifyError::DischargeCycle {
            caveat_id: b"a".to_vec(),
        },
        "mutual discharges a <-> b",
    );
}

#[test]
fn tv5_tree_verifies() {
    let ctx = "TV5 tree bob -> barbara -> ben, charlie -> celine";
    let k = key("root key");
    let kk = |n: &str| key(&format!("{n}'s key"));
    let root = Macaroon::mint(&k, "http://svc/", "root")
        .expect("mint")
        .with_first_party("root ok")
        .expect("fp")
        .with_third_party("bob-loc", &kk("bob"), "bob")
        .expect("tp")
        .with_third_party("charlie-loc", &kk("charlie"), "charlie")
        .expect("tp");
    let mint = |n: &str| Macaroon::mint(&kk(n), format!("{n}-loc"), n).expect("mint");
    let bob = mint("bob")
        .with_third_party("barbara-loc", &kk("barbara"), "barbara")
        .expect("tp");
    let barbara = mint("barbara")
        .with_third_party("ben-loc", &kk("ben"), "ben")
        .expect("tp");
    let ben = mint("ben").with_first_party("ben ok").expect("fp");
    let charlie = mint("charlie")
        .with_third_party("celine-loc", &kk("celine"), "celine")
        .expect("tp");
    let celine = mint("celine").with_first_party("celine ok").expect("fp");
    let [bob, barbara, ben, charlie, celine] =
        [&bob, &barbara, &ben, &charlie, &celine].map(|d| d.bind_to(&root));
    // Given in a scrambled order.
    let discharges = [
        celine.clone(),
        ben.clone(),
        charlie.clone(),
        barbara.clone(),
        bob.clone(),
    ];
    let v = exact(&["root ok", "ben ok", "celine ok"]);
    let ok = v
        .verify(&k, &root, &discharges)
        .unwrap_or_else(|e| panic!("[{ctx}] verifies: {e} ({e:?})"));
    let order: Vec<String> = ok
        .discharges()
        .iter()
        .map(|d| String::from_utf8_lossy(d.identifier()).into_owned())
        .collect();
    assert_eq!(
        order,
        ["bob", "barbara", "ben", "charlie", "celine"],
        "[{ctx}] verification order (pre-order)"
    );
    // A missing leaf caveat predicate is reported on that discharge.
    expect_verify(
        &exact(&["root ok", "ben ok"]),
        &k,
        &root,
        &discharges,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role("celine"),
            index: 0,
            caveat: b"celine ok".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        ctx,
    );
    // A leaf bound to its parent instead of the root fails.
    let ben_to_parent = mint("ben")
        .with_first_party("ben ok")
        .expect("fp")
        .bind_to(&barbara);
    let wrong = [
        bob.clone(),
        barbara.clone(),
        ben_to_parent,
        charlie.clone(),
        celine.clone(),
    ];
    expect_verify(
        &v,
        &k,
        &root,
        &wrong,
        discharge_mismatch("ben"),
        &format!("{ctx}: ben bound to barbara"),
    );
    // Missing the deepest one.
    expect_verify(
        &v,
        &k,
        &root,
        &[bob, barbara, charlie, celine],
        VerifyError::DischargeMissing {
            caveat_id: b"ben".to_vec(),
        },
        &format!("{ctx}: without ben"),
    );
}

/// A root and a chain of `n` nested discharges, each requiring the next, all bound to the root.
fn chain(n: usize) -> (RootKey, Macaroon, Vec<Macaroon>) {
    let k = key("chain root");
    let kd = |i: usize| key(&format!("chain key {i}"));
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party("", &kd(1), "d1")
        .expect("tp");
    let discharges = (1..=n)
        .map(|i| {
            let m = Macaroon::mint(&kd(i), "", format!("d{i}")).expect("mint");
            let m = if i < n {
                m.with_third_party("", &kd(i + 1), format!("d{}", i + 1))
                    .expect("tp")
            } else {
                m
            };
            m.bind_to(&root)
        })
        .collect();
    (k, root, discharges)
}

#[test]
fn depth_limit() {
    let (k, root, ds) = chain(5);
    let at = |max_depth| {
        Verifier::new().with_limits(Limits {
            max_depth,
            ..Limits::default()
        })
    };
    expect_ok(
        &at(5),
        &k,
        &root,
        &ds,
        "chain of 5, max_depth 5 (exactly at the limit)",
    );
    expect_ok(&at(6), &k, &root, &ds, "chain of 5, max_depth 6");
    let got = at(4).verify(&k, &root, &ds).map(|_| ());
    assert_eq!(
        got,
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 4,
            caveat_id: b"d5".to_vec()
        })),
        "chain of 5, max_depth 4"
    );
    let got = at(0).verify(&k, &root, &ds).map(|_| ());
    assert_eq!(
        got,
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 0,
            caveat_id: b"d1".to_vec()
        })),
        "chain of 5, max_depth 0"
    );
    // Default max_depth 16.
    let (k, root, ds) = chain(16);
    expect_ok(
        &Verifier::new(),
        &k,
        &root,
        &ds,
        "chain of 16, default limits",
    );
    let (k, root, ds) = chain(17);
    let got = Verifier::new().verify(&k, &root, &ds).map(|_| ());
    assert_eq!(
        got,
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 16,
            caveat_id: b"d17".to_vec()
        })),
        "chain of 17, default limits"
    );
}

#[test]
fn too_many_discharges() {
    let k = key("root");
    let build = |n: usize| {
        let keys: Vec<RootKey> = (0..n).map(|i| key(&format!("ck {i}"))).collect();
        let root = keys.iter().enumerate().fold(
            Macaroon::mint(&k, "", "root").expect("mint"),
            |m, (i, ck)| m.with_third_party("", ck, format!("c{i}")).expect("tp"),
        );
        let ds: Vec<Macaroon> = keys
            .iter()
            .enumerate()
            .map(|(i, ck)| {
                Macaroon::mint(ck, "", format!("c{i}"))
                    .expect("mint")
                    .bind_to(&root)
            })
            .collect();
        (root, ds)
    };
    let limited = Verifier::new().with_limits(Limits {
        max_discharges: 2,
        ..Limits::default()
    });
    let (root, ds) = build(2);
    expect_ok(&limited, &k, &root, &ds, "2 discharges, max_discharges 2");
    let mut three = ds.clone();
    three.push(ds[0].clone());
    assert_eq!(
        limited.verify(&k, &root, &three).map(|_| ()),
        Err(Error::Limit(LimitError::TooManyDischarges {
            limit: 2,
            found: 3
        })),
        "3 discharges, max_discharges 2"
    );
    let (root, ds) = build(64);
    expect_ok(
        &Verifier::new(),
        &k,
        &root,
        &ds,
        "64 discharges, default limits",
    );
    let mut more = ds.clone();
    more.push(ds[0].clone());
    assert_eq!(
        Verifier::new().verify(&k, &root, &more).map(|_| ()),
        Err(Error::Limit(LimitError::TooManyDischarges {
            limit: 64,
            found: 65
        })),
        "65 discharges, default limits"
    );
}

// ---------------------------------------------------------------------------------------------
// Caveat evaluation
// ---------------------------------------------------------------------------------------------

#[test]
fn time_caveat_expiry() {
    let k = key("k");
    let n = 1_700_000_000u64;
    let m = Macaroon::mint(&k, "", "id")
        .expect("mint")
        .with_first_party("user = alice")
        .expect("fp")
        .with_first_party(format!("time < {n}"))
        .expect("fp");
    let v = |now| Verifier::new().satisfy_exact("user = alice").at_time(now);
    expect_ok(&v(n - 1), &k, &m, &[], "time < N at N-1");
    expect_ok(&v(0), &k, &m, &[], "time < N at 0");
    for now in [n, n + 1, u64::MAX] {
        expect_verify(
            &v(now),
            &k,
            &m,
            &[],
            VerifyError::Expired {
                macaroon: MacaroonRole::Root,
                index: 1,
                caveat: format!("time < {n}").into_bytes(),
                expiry: n,
                now,
            },
            &format!("time < N at now = {now}"),
        );
    }
    // Without a clock the caveat cannot hold, and the error says why.
    expect_verify(
        &Verifier::new().satisfy_exact("user = alice"),
        &k,
        &m,
        &[],
        VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index: 1,
            caveat: format!("time < {n}").into_bytes(),
            reason: macaroon_mint::Unmet::NoClock,
        },
        "time caveat without at_time",
    );
    // Malformed time caveats never hold.
    for bad in [
        "time < ",
        "time < -1",
        "time < 1e9",
        "time <  5",
        "time < 18446744073709551616",
        "time < 123456789012345678901",
        "time < 0100",
    ] {
        let m = Macaroon::mint(&k, "", "id")
            .expect("mint")
            .with_first_party(bad)
            .expect("fp");
        expect_verify(
            &Verifier::new().at_time(0),
            &k,
            &m,
            &[],
            VerifyError::CaveatNotSatisfied {
                macaroon: MacaroonRole::Root,
                index: 0,
                caveat: bad.as_bytes().to_vec(),
                reason: macaroon_mint::Unmet::NoRule,
            },
            &format!("malformed time caveat {bad:?}"),
        );
    }
    let max = Macaroon::mint(&k, "", "id")
        .expect("mint")
        .with_first_party(format!("time < {}", u64::MAX))
        .expect("fp");
    expect_ok(
        &Verifier::new().at_time(u64::MAX - 1),
        &k,
        &max,
        &[],
        "time < u64::MAX at u64::MAX - 1",
    );
}

#[test]
fn caveat_not_satisfied() {
    let k = key("k");
    let ck = key("ck");
    // Index counts third-party caveats too.
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_first_party("a = 1")
        .expect("fp")
        .with_third_party("tp", &ck, "tp-cid")
        .expect("tp")
        .with_first_party("b = 2")
        .expect("fp");
    let d = Macaroon::mint(&ck, "tp", "tp-cid")
        .expect("mint")
        .with_first_party("d = 3")
        .expect("fp")
        .with_first_party("d = 4")
        .expect("fp")
        .bind_to(&root);
    let ds = [d];
    expect_ok(
        &exact(&["a = 1", "b = 2", "d = 3", "d = 4"]),
        &k,
        &root,
        &ds,
        "all satisfied",
    );
    expect_verify(
        &exact(&["a = 1", "d = 3", "d = 4"]),
        &k,
        &root,
        &ds,
        VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index: 2,
            caveat: b"b = 2".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "root caveat 2 unsatisfied",
    );
    expect_verify(
        &exact(&["a = 1", "b = 2", "d = 3"]),
        &k,
        &root,
        &ds,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role("tp-cid"),
            index: 1,
            caveat: b"d = 4".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "discharge caveat 1 unsatisfied",
    );
    // Root caveats are reported before discharge caveats (§5.3).
    expect_verify(
        &exact(&["b = 2"]),
        &k,
        &root,
        &ds,
        VerifyError::CaveatNotSatisfied {
            macaroon: MacaroonRole::Root,
            index: 0,
            caveat: b"a = 1".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "first unsatisfied is the root's",
    );
    // A general satisfier returning false for one caveat.
    expect_verify(
        &Verifier::new().satisfy_general(|c| c != b"d = 3"),
        &k,
        &root,
        &ds,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role("tp-cid"),
            index: 0,
            caveat: b"d = 3".to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "general satisfier rejects d = 3",
    );
    // The error's text names the caveat.
    let e = exact(&[]).verify(&k, &root, &ds).map(|_| ()).unwrap_err();
    assert!(
        e.to_string().contains("a = 1"),
        "CaveatNotSatisfied display names the caveat: {e}"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------------

/// Every proper prefix must fail with a decode error inside the input, never panic.
fn check_every_prefix(text: &str, ctx: &str) {
    assert!(text.is_ascii(), "[{ctx}] test text is ASCII");
    for len in 0..text.len() {
        let prefix = &text[..len];
        let cctx = format!("{ctx}, first {len} of {} characters", text.len());
        let e = decode_err(Macaroon::parse(prefix), &cctx);
        assert!(
            e.offset <= len,
            "[{cctx}] offset {} beyond the input ({e})",
            e.offset
        );
        if let Some(t) = e.text_offset {
            assert!(t <= len, "[{cctx}] text offset {t} beyond the input ({e})");
        }
    }
    parse_ok(text, ctx);
}

fn check_every_byte_prefix(bytes: &[u8], v1: bool, ctx: &str) {
    for len in 0..bytes.len() {
        let cctx = format!("{ctx}, first {len} of {} bytes", bytes.len());
        let r = if v1 {
            from_v1(&bytes[..len])
        } else {
            from_bytes(&bytes[..len])
        };
        let e = decode_err(r, &cctx);
        assert!(
            e.offset <= len,
            "[{cctx}] offset {} beyond the input",
            e.offset
        );
    }
}

#[test]
fn truncated_input_at_every_length() {
    let data = load("third_party.json");
    let sers = &data["tv2"]["serializations"];
    for field in ["root_v1", "root_v2", "root_v2j", "bound_discharge_v1"] {
        check_every_prefix(s(sers, field, field), &format!("TV2 {field}"));
    }
    let tv1 = tv1();
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        check_every_prefix(&serialize_ok(&tv1, format, "TV1"), &format!("TV1 {format}"));
    }
    let onedata = load("onedata.json");
    let access = s(&onedata["tokens"][0], "text", "TV7 access");
    check_every_prefix(access, "TV7 access token");
    check_every_prefix(&format!("opw-{access}"), "TV7 access token with opw-");

    let root = parse_ok(s(sers, "root_v1", "TV2"), "TV2");
    check_every_byte_prefix(&root.to_v1_bytes().expect("v1"), true, "TV2 root raw v1");
    check_every_byte_prefix(&root.to_v2_bytes(), false, "TV2 root raw v2");
}

#[test]
fn damaged_onedata_examples_parse() {
    let data = load("damaged.json");
    let examples = arr(&data, "examples", "damaged.json");
    assert_eq!(examples.len(), 3, "damaged.json: SPEC §14 A, B, C");
    for ex in examples {
        let name = format!(
            "§14 {}: {}",
            s(ex, "id", "damaged"),
            s(ex, "name", "damaged")
        );
        let name = name.as_str();
        let text = s(ex, "text", name);
        assert_eq!(text.len(), u(ex, "length", name), "[{name}] length");
        let want = ex.get("strict_error").expect("strict_error");
        let e = decode_err(Macaroon::parse(text), name);
        let layer = match s(want, "layer", name) {
            "base62" => Layer::Base62,
            "base64" => Layer::Base64,
            "v1" => Layer::V1,
            other => panic!("[{name}] unexpected layer {other}"),
        };
        assert_eq!(e.layer, layer, "[{name}] layer");
        assert_eq!(e.offset, u(want, "offset", name), "[{name}] offset");
        let ch = || {
            opt_s(want, "char")
                .and_then(|c| c.chars().next())
                .expect("char")
        };
        let kind = match s(want, "reason", name) {
            "InvalidCharacter" => DecodeErrorKind::InvalidCharacter { ch: ch() },
            "TrailingBits" => DecodeErrorKind::TrailingBits { ch: ch() },
            "BadPacketHeader" => DecodeErrorKind::BadPacketHeader,
            other => panic!("[{name}] unexpected reason {other}"),
        };
        assert_eq!(e.kind, kind, "[{name}] kind");
        let text_offset = want
            .get("char_offset")
            .and_then(Value::as_u64)
            .map(|n| n as usize);
        assert_eq!(e.text_offset, text_offset, "[{name}] text offset");
        assert_eq!(e.to_string(), s(want, "message", name), "[{name}] Display");
        // Error::Display is the same text.
        let err = Macaroon::parse(text).map(|_| ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            s(want, "message", name),
            "[{name}] Error Display"
        );
        // Verification never gets that far: Parsed::from_text fails identically.
        assert_eq!(
            Parsed::from_text(text, &Limits::default()).map(|_| ()),
            Err(err),
            "[{name}] Parsed::from_text"
        );
    }
}

#[test]
fn damaged_example_extra_checks() {
    let data = load("damaged.json");
    let examples = arr(&data, "examples", "damaged.json");
    let by_id = |id: &str| {
        examples
            .iter()
            .find(|e| opt_s(e, "id") == Some(id))
            .unwrap_or_else(|| panic!("damaged.json: example {id}"))
    };
    // C read as base62 would fail with InvalidEscape "0a" at 11.
    let c = by_id("C");
    let name = "§14 C as base62";
    let e = macaroon_mint::base62_unescape(s(c, "text", name))
        .err()
        .unwrap_or_else(|| panic!("[{name}] must fail"));
    let want = &c["extra_checks"]["as_base62_error"];
    assert_eq!(e.offset, u(want, "offset", name), "[{name}] offset");
    assert_eq!(
        e.kind,
        DecodeErrorKind::InvalidEscape { pair: ['0', 'a'] },
        "[{name}] kind"
    );
    // B with trailing bits tolerated: the V1 truncation at byte 22, as SPEC §13 words it.
    let b = by_id("B");
    let name = "§14 B decoded bytes";
    let decoded = s(&b["lenient"], "decoded_text", name).as_bytes().to_vec();
    assert_eq!(decoded.len(), 64, "[{name}] 64 bytes");
    let e = decode_err(from_v1(&decoded), name);
    assert_eq!((e.layer, e.offset), (Layer::V1, 22), "[{name}] position");
    assert_eq!(
        e.kind,
        DecodeErrorKind::Truncated {
            what: "identifier packet",
            declared: 59,
            remaining: 42
        },
        "[{name}] kind"
    );
    assert_eq!(
        e.to_string(),
        "v1: identifier packet at byte 22 declares 59 bytes, 42 remain",
        "[{name}] Display (SPEC §13 example)"
    );
    // The same bytes as base64 text: the error adds the character of the group (4 * 22/3 = 28).
    let text = b64_encode(&decoded, true, false);
    let e = decode_err(Macaroon::parse(&text), "§14 B re-encoded");
    assert_eq!(
        (e.layer, e.offset, e.text_offset),
        (Layer::V1, 22, Some(28)),
        "[§14 B re-encoded] position"
    );
    assert_eq!(
        e.to_string(),
        "v1: identifier packet at byte 22 (character 28) declares 59 bytes, 42 remain",
        "[§14 B re-encoded] Display"
    );
}

fn field_bytes(f: &Option<macaroon_mint::RecoveredField>) -> Option<(Vec<u8>, bool)> {
    f.as_ref().map(|f| (f.bytes.clone(), f.truncated))
}

#[test]
fn damaged_onedata_examples_inspect() {
    let data = load("damaged.json");
    for ex in arr(&data, "examples", "damaged.json") {
        let id = s(ex, "id", "damaged");
        let name = format!("§14 {id} inspect");
        let name = name.as_str();
        let text = s(ex, "text", name);
        let lenient = ex.get("lenient").expect("lenient");
        let report = Inspection::of_text(text);
        let parse_err = Macaroon::parse(text).map(|_| ()).unwrap_err();
        assert_eq!(
            report.parsed.as_ref().map(|_| ()),
            Err(&parse_err),
            "[{name}] inspect reports the strict error"
        );
        let r = report
            .recovered
            .as_ref()
            .unwrap_or_else(|| panic!("[{name}] recovered fields"));
        if let Some(t) = opt_s(lenient, "decoded_text") {
            assert_eq!(r.decoded, t.as_bytes(), "[{name}] decoded bytes");
        }
        assert_eq!(
            r.decoded.len(),
            u(lenient, "decoded_bytes", name),
            "[{name}] decoded length"
        );
        assert_eq!(
            field_bytes(&r.location),
            Some((s(lenient, "location", name).as_bytes().to_vec(), false)),
            "[{name}] location"
        );
        let identifier = match (
            opt_s(lenient, "identifier"),
            opt_s(lenient, "identifier_prefix"),
        ) {
            (Some(full), _) => Some((full.as_bytes().to_vec(), false)),
            (None, Some(prefix)) => Some((prefix.as_bytes().to_vec(), true)),
            (None, None) => None,
        };
        assert_eq!(
            field_bytes(&r.identifier),
            identifier,
            "[{name}] identifier"
        );
        let caveats = strings(lenient.get("caveats").expect("caveats"), name);
        assert_eq!(
            r.caveats
                .iter()
                .map(|c| String::from_utf8_lossy(&c.id.bytes).into_owned())
                .collect::<Vec<_>>(),
            caveats,
            "[{name}] caveats"
        );
        for c in &r.caveats {
            assert!(!c.id.truncated, "[{name}] caveat complete");
            assert!(c.verification_id.is_none(), "[{name}] first-party caveat");
        }
        let signature = opt_s(lenient, "signature_truncated_hex").map(|h| (unhex(h, name), true));
        assert_eq!(field_bytes(&r.signature), signature, "[{name}] signature");
        if let Some(n) = lenient
            .get("signature_present_bytes")
            .and_then(Value::as_u64)
        {
            assert_eq!(
                r.signature.as_ref().map(|f| f.bytes.len()),
                Some(n as usize),
                "[{name}] signature bytes present"
            );
        }
        // The lenient report lists every defect (text and v1).
        let notes = r.notes.join("\n");
        for d in arr(lenient, "text_defects", name)
            .iter()
            .chain(arr(lenient, "v1_defects", name))
        {
            let offset = u(d, "offset", name).to_string();
            // Reported either in the notes or as the strict error itself.
            let strict =
                matches!(&report.parsed, Err(Error::Decode(e)) if e.offset.to_string() == offset);
            assert!(
                strict || r.notes.iter().any(|n| n.contains(&offset)),
                "[{name}] a note for the defect {d} at {offset}; notes:\n{notes}"
            );
            if let Some(declared) = d.get("declared").and_then(Value::as_u64) {
                let remaining = u(d, "remaining", name);
                assert!(
                    r.notes.iter().any(|n| n.contains(&offset)
                        && n.contains(&declared.to_string())
                        && n.contains(&remaining.to_string())),
                    "[{name}] note: packet at {offset} declares {declared}, {remaining} remain; notes:\n{notes}"
                );
            }
        }
    }
    // Valid input: parsed, nothing to recover.
    let ok = Inspection::of_text(&serialize_ok(&tv1(), Format::V1, "TV1"));
    assert_eq!(
        ok.parsed.map(|p| p.macaroon).ok(),
        Some(tv1()),
        "inspect of a valid token"
    );
    assert!(
        ok.recovered.is_none(),
        "inspect of a valid token recovers nothing"
    );
}

// ---------------------------------------------------------------------------------------------
// Limits
// ---------------------------------------------------------------------------------------------

fn limits(f: impl FnOnce(&mut Limits)) -> Limits {
    let mut l = Limits::default();
    f(&mut l);
    l
}

#[test]
fn token_too_large() {
    let m = tv1();
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        let text = serialize_ok(&m, format, "TV1");
        let n = text.len();
        let ctx = format!("TV1 {format} ({n} characters)");
        let at = limits(|l| l.max_token_bytes = n);
        assert_eq!(
            Parsed::from_text(&text, &at).map(|p| p.macaroon).as_ref(),
            Ok(&m),
            "[{ctx}] exactly at max_token_bytes"
        );
        let below = limits(|l| l.max_token_bytes = n - 1);
        assert_eq!(
            Parsed::from_text(&text, &below).map(|p| p.macaroon),
            Err(Error::Limit(LimitError::TokenTooLarge {
                limit: n - 1,
                found: n
            })),
            "[{ctx}] one over"
        );
        // Measured as given: surrounding whitespace counts.
        let padded = format!(" {text}\n");
        assert_eq!(
            Parsed::from_text(&padded, &at).map(|p| p.macaroon),
            Err(Error::Limit(LimitError::TokenTooLarge {
                limit: n,
                found: n + 2
            })),
            "[{ctx}] whitespace counts"
        );
    }
    // Raw bytes.
    let v2 = m.to_v2_bytes();
    let n = v2.len();
    assert_eq!(
        Parsed::from_bytes(&v2, &limits(|l| l.max_token_bytes = n - 1)).map(|_| ()),
        Err(Error::Limit(LimitError::TokenTooLarge {
            limit: n - 1,
            found: n
        })),
        "TV1 raw v2 one over"
    );
    assert!(
        Parsed::from_bytes(&v2, &limits(|l| l.max_token_bytes = n)).is_ok(),
        "TV1 raw v2 at the limit"
    );
    let v1 = m.to_v1_bytes().expect("v1");
    let n = v1.len();
    assert_eq!(
        Parsed::from_bytes(&v1, &limits(|l| l.max_token_bytes = n - 1)).map(|p| p.macaroon),
        Err(Error::Limit(LimitError::TokenTooLarge {
            limit: n - 1,
            found: n
        })),
        "TV1 raw v1 one over"
    );
    assert!(
        Parsed::from_bytes(&v1, &limits(|l| l.max_token_bytes = n))
            .map(|p| p.macaroon)
            .is_ok(),
        "TV1 raw v1 at the limit"
    );
    // Default: 1 MiB.
    let huge = "A".repeat((1 << 20) + 1);
    assert_eq!(
        Macaroon::parse(&huge).map(|_| ()),
        Err(Error::Limit(LimitError::TokenTooLarge {
            limit: 1 << 20,
            found: (1 << 20) + 1
        })),
        "default max_token_bytes"
    );
}

/// A macaroon whose largest fields are, in order: identifier 40, cid 50, vid 72.
fn sized() -> Macaroon {
    Macaroon::mint(&key("k"), "L", vec![b'i'; 40])
        .expect("mint")
        .with_first_party(vec![b'c'; 50])
        .expect("fp")
        .with_third_party_nonce("http://tp/", &key("ck"), "tp", [7; 24])
        .expect("tp")
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len())
        .position(|w| w == needle)
        .unwrap_or_else(|| panic!("{needle:?} not found"))
}

#[test]
fn field_too_large() {
    let m = sized();
    let vid = m.caveats()[1].verification_id().expect("vid").to_vec();
    let v1 = m.to_v1_bytes().expect("v1");
    let v2 = m.to_v2_bytes();
    let json = serialize_ok(&m, Format::V2Json, "sized");
    let v1_text = serialize_ok(&m, Format::V1, "sized");
    let v2_text = serialize_ok(&m, Format::V2, "sized");
    // (limit, found, field, v1 packet offset, v2 field offset, JSON value offset)
    let cases = [
        (
            39,
            40,
            "identifier",
            find(&v1, b"identifier ") - 4,
            find(&v2, &[2, 40, b'i']),
            json.find("\"i\":\"i").expect("i") + 4,
        ),
        (
            49,
            50,
            "caveat id",
            find(&v1, b"cid c") - 4,
            find(&v2, &[2, 50, b'c']),
            json.find("\"i\":\"c").expect("cid") + 4,
        ),
        (
            71,
            72,
            "verification id",
            find(&v1, b"vid ") - 4,
            find(&v2, &[[4u8, 72].as_slice(), &vid[..4]].concat()),
            json.find("\"v64\":\"").expect("v64") + 6,
        ),
    ];
    for (limit, found, field, v1_at, v2_at, json_at) in cases {
        let l = limits(|l| l.max_field_bytes = limit);
        let want = |offset| {
            Err(Error::Limit(LimitError::FieldTooLarge {
                field,
                limit,
                found,
                offset,
            }))
        };
        let ctx = format!("{field} of {found} bytes, max_field_bytes {limit}");
        assert_eq!(
            Parsed::from_bytes(&v1, &l).map(|p| p.macaroon),
            want(v1_at),
            "[{ctx}] raw v1"
        );
        assert_eq!(
            Parsed::from_text(&v1_text, &l).map(|p| p.macaroon),
            want(v1_at),
            "[{ctx}] v1 text"
        );
        // v2: the field name is checked in field_too_large_names_are_consistent_across_formats.
        let no_name = |r: Result<Macaroon, Error>| match r {
            Err(Error::Limit(LimitError::FieldTooLarge {
                limit,
                found,
                offset,
                ..
            })) => Some((limit, found, offset)),
            _ => None,
        };
        assert_eq!(
            no_name(Parsed::from_bytes(&v2, &l).map(|p| p.macaroon)),
            Some((limit, found, v2_at)),
            "[{ctx}] raw v2: FieldTooLarge (limit, found, offset)"
        );
        assert_eq!(
            no_name(Parsed::from_text(&v2_text, &l).map(|p| p.macaroon)),
            Some((limit, found, v2_at)),
            "[{ctx}] v2 text: FieldTooLarge (limit, found, offset)"
        );
        assert_eq!(
            Parsed::from_text(&json, &l).map(|p| p.macaroon),
            want(json_at),
            "[{ctx}] v2 JSON"
        );
    }
    // Exactly at the limit: accepted in every format.
    let at = limits(|l| l.max_field_bytes = 72);
    for text in [&v1_text, &v2_text, &json] {
        assert_eq!(
            Parsed::from_text(text, &at).map(|p| p.macaroon).as_ref(),
            Ok(&m),
            "fields exactly at max_field_bytes: {text}"
        );
    }
    assert_eq!(
        Parsed::from_bytes(&v1, &at).map(|p| p.macaroon).as_ref(),
        Ok(&m),
        "raw v1 at the limit"
    );
    // A declared v2 length far beyond anything is rejected before allocating.
    let mut huge = vec![2u8, 2];
    huge.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x01]); // 2^35
    assert_eq!(
        from_bytes(&huge),
        Err(Error::Limit(LimitError::FieldTooLarge {
            field: "identifier",
            limit: 65_535,
            found: 1 << 35,
            offset: 1
        })),
        "v2 identifier declaring 2^35 bytes"
    );
    // Default max_field_bytes 65,535: a declared length within it but beyond the input.
    let mut short = vec![2u8, 2, 0xff, 0xff, 0x03];
    short.extend(b"abc");
    let e = decode_err(
        from_bytes(&short),
        "v2 identifier declaring 65,535 bytes, 3 present",
    );
    assert_eq!(
        (e.layer, e.offset),
        (Layer::V2, 1),
        "v2 identifier declaring 65,535 bytes: position"
    );
    assert!(
        matches!(
            e.kind,
            DecodeErrorKind::Truncated {
                declared: 65_535,
                ..
            }
        ),
        "v2 identifier declaring 65,535 bytes: {e:?}"
    );
}

#[test]
fn field_too_large_names_are_consistent_across_formats() {
    // A caveat's id and location are "caveat id" / "caveat location" in v1 and JSON; v2 must
    // not call them "identifier" / "location" (that names the macaroon's own fields).
    let m = Macaroon::mint(&key("k"), "", "i")
        .expect("mint")
        .with_third_party_nonce(vec![b'l'; 100], &key("ck"), "c", [1; 24])
        .expect("tp");
    let big_cid = Macaroon::mint(&key("k"), "", "i")
        .expect("mint")
        .with_first_party(vec![b'c'; 20])
        .expect("fp");
    let mut wrong = Vec::new();
    for (m, limit, field) in [(&m, 80, "caveat location"), (&big_cid, 10, "caveat id")] {
        let l = limits(|l| l.max_field_bytes = limit);
        for format in [Format::V1, Format::V2, Format::V2Json] {
            let text = serialize_ok(m, format, field);
            match Parsed::from_text(&text, &l).map(|p| p.macaroon) {
                Err(Error::Limit(LimitError::FieldTooLarge { field: got, .. })) => {
                    if got != field {
                        wrong.push(format!("oversized {field} in {format} is named {got:?}"));
                    }
                }
                other => panic!("{field} in {format}: expected FieldTooLarge, got {other:?}"),
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "FieldTooLarge.field differs across formats:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn too_many_caveats() {
    let m = (0..5).fold(
        Macaroon::mint(&key("k"), "loc", "id").expect("mint"),
        |m, i| m.with_first_party(format!("c{i}")).expect("fp"),
    );
    let m = m
        .with_third_party_nonce("tp", &key("ck"), "tp", [0; 24])
        .expect("tp");
    let n = m.caveats().len();
    let at = limits(|l| l.max_caveats = n);
    let below = limits(|l| l.max_caveats = n - 1);
    // Where the sixth caveat starts: after the first five, i.e. before the signature of a
    // five-caveat token (v1 signature packet 47 bytes; v2 end of caveats + signature field 35).
    let five = (0..5).fold(
        Macaroon::mint(&key("k"), "loc", "id").expect("mint"),
        |m, i| m.with_first_party(format!("c{i}")).expect("fp"),
    );
    let v1_offset = five.to_v1_bytes().expect("v1").len() - 47;
    let v2_offset = five.to_v2_bytes().len() - 35;
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        let text = serialize_ok(&m, format, "6 caveats");
        let ctx = format!("6 caveats in {format}");
        assert_eq!(
            Parsed::from_text(&text, &at).map(|p| p.macaroon).as_ref(),
            Ok(&m),
            "[{ctx}] exactly at max_caveats"
        );
        let offset = match format {
            Format::V1 | Format::Onedata => v1_offset,
            Format::V2 => v2_offset,
            _ => text.match_indices("{\"i\"").nth(5).expect("sixth caveat").0,
        };
        assert_eq!(
            Parsed::from_text(&text, &below).map(|p| p.macaroon),
            Err(Error::Limit(LimitError::TooManyCaveats {
                limit: n - 1,
                offset
            })),
            "[{ctx}] max_caveats {}",
            n - 1
        );
    }
    assert_eq!(
        Parsed::from_bytes(&m.to_v2_bytes(), &below).map(|_| ()),
        Err(Error::Limit(LimitError::TooManyCaveats {
            limit: n - 1,
            offset: v2_offset
        })),
        "6 caveats raw v2"
    );
    assert_eq!(
        Parsed::from_bytes(&m.to_v1_bytes().expect("v1"), &below).map(|_| ()),
        Err(Error::Limit(LimitError::TooManyCaveats {
            limit: n - 1,
            offset: v1_offset
        })),
        "6 caveats raw v1"
    );
    // Default: 1,024.
    let many = (0..1025).fold(
        Macaroon::mint(&key("k"), "", "id").expect("mint"),
        |m, i| m.with_first_party(format!("{i}")).expect("fp"),
    );
    assert!(
        matches!(
            Macaroon::parse(&serialize_ok(&many, Format::V2, "1025")),
            Err(Error::Limit(LimitError::TooManyCaveats { limit: 1024, .. }))
        ),
        "1,025 caveats, default limit"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed v2 binary
// ---------------------------------------------------------------------------------------------

fn tv1_v2() -> Vec<u8> {
    let v2 = tv1().to_v2_bytes();
    // 02 | 01 0e "http://mybank/" | 02 16 "we used our secret key" | 00 | 02 14 "account…" 00 …
    assert_eq!(&v2[..3], &[2, 1, 14], "TV1 v2 layout");
    assert_eq!(&v2[17..19], &[2, 22], "TV1 v2 layout");
    assert_eq!(&v2[41..44], &[0, 2, 20], "TV1 v2 layout");
    v2
}

fn v2_error(bytes: &[u8], layer_offset: usize, kind: DecodeErrorKind, ctx: &str) {
    let e = decode_err(from_bytes(bytes), &format!("{ctx} (raw)"));
    assert_eq!(
        (e.layer, e.offset, &e.kind, e.text_offset),
        (Layer::V2, layer_offset, &kind, None),
        "[{ctx}] raw bytes"
    );
    let text = b64_encode(bytes, true, false);
    let e = decode_err(Macaroon::parse(&text), &format!("{ctx} (base64)"));
    assert_eq!(
        (e.layer, e.offset, &e.kind, e.text_offset),
        (Layer::V2, layer_offset, &kind, Some(layer_offset / 3 * 4)),
        "[{ctx}] base64 text"
    );
}

#[test]
fn v2_non_minimal_varint() {
    let v2 = tv1_v2();
    // Location length 14 written as 8e 00.
    let mut t = v2[..2].to_vec();
    t.extend([0x8e, 0x00]);
    t.extend(&v2[3..]);
    v2_error(
        &t,
        2,
        DecodeErrorKind::InvalidVarint,
        "v2 location length 8e 00",
    );
    // Field type 2 written as 82 00.
    let mut t = v2[..17].to_vec();
    t.extend([0x82, 0x00]);
    t.extend(&v2[18..]);
    v2_error(
        &t,
        17,
        DecodeErrorKind::InvalidVarint,
        "v2 identifier type 82 00",
    );
    // A varint cut off by the end of input.
    v2_error(
        &[2, 2, 0x80],
        2,
        DecodeErrorKind::InvalidVarint,
        "v2 varint cut off",
    );
}

#[test]
fn v2_unknown_field_type() {
    let v2 = tv1_v2();
    for (at, ty) in [(1usize, 3u8), (1, 5), (1, 7), (42, 3), (42, 5)] {
        let mut t = v2.clone();
        t[at] = ty;
        let ctx = format!("v2 field type {ty} at byte {at}");
        let e = decode_err(from_bytes(&t), &ctx);
        assert_eq!((e.layer, e.offset), (Layer::V2, at), "[{ctx}] position");
        match &e.kind {
            DecodeErrorKind::UnknownField { field } => assert!(
                field.ends_with(&ty.to_string()),
                "[{ctx}] UnknownField names type {ty}: {field:?}"
            ),
            other => panic!("[{ctx}] expected UnknownField, got {other:?}"),
        }
    }
}

#[test]
fn v2_trailing_bytes_and_bad_signature() {
    let v2 = tv1_v2();
    for extra in [&[0u8][..], &[2, 1, b'x'], &v2[..]] {
        let mut t = v2.clone();
        t.extend(extra);
        v2_error(
            &t,
            v2.len(),
            DecodeErrorKind::TrailingData,
            &format!("v2 + {} trailing bytes", extra.len()),
        );
    }
    // Signature of 31 bytes.
    let sig_at = v2.len() - 34;
    assert_eq!(&v2[sig_at..sig_at + 2], &[6, 32], "TV1 v2 signature field");
    let mut t = v2[..sig_at].to_vec();
    t.extend([6, 31]);
    t.extend(&v2[sig_at + 2..v2.len() - 1]);
    v2_error(
        &t,
        sig_at,
        DecodeErrorKind::SignatureLength { found: 31 },
        "v2 signature of 31 bytes",
    );
    // Wrong version byte (raw bytes starting with 0x02 only are v2; test via base64 text).
    let mut t = v2.clone();
    t[0] = 3;
    let e = decode_err(
        Macaroon::parse(&b64_encode(&t, true, false)),
        "v2 version 3 as base64",
    );
    assert_eq!(e.offset, 0, "v2 version 3 as base64: offset ({e})");
}

// ---------------------------------------------------------------------------------------------
// Malformed v1
// ---------------------------------------------------------------------------------------------

fn v1_error(bytes: &[u8], at: usize, kind: DecodeErrorKind, ctx: &str) {
    let e = decode_err(from_v1(bytes), &format!("{ctx} (raw)"));
    assert_eq!(
        (e.layer, e.offset, &e.kind),
        (Layer::V1, at, &kind),
        "[{ctx}] raw bytes"
    );
    let e = decode_err(
        Macaroon::parse(&b64_encode(bytes, true, false)),
        &format!("{ctx} (base64)"),
    );
    assert_eq!(
        (e.layer, e.offset, &e.kind, e.text_offset),
        (Layer::V1, at, &kind, Some(at / 3 * 4)),
        "[{ctx}] base64 text"
    );
}

#[test]
fn v1_malformed() {
    let v1 = tv1().to_v1_bytes().expect("v1");
    let packets = v1_packets(&v1);
    assert_eq!(packets.len(), 6, "TV1 v1 packets");
    let sig_at = v1.len() - 47;
    assert_eq!(sig_at, 161, "TV1 v1 layout");

    let mut t = v1.clone();
    t.push(b'\n');
    v1_error(&t, v1.len(), DecodeErrorKind::TrailingData, "v1 + LF");
    let mut t = v1.clone();
    t.extend(&packets[2]);
    v1_error(
        &t,
        v1.len(),
        DecodeErrorKind::TrailingData,
        "v1 + cid packet",
    );

    v1_error(
        &v1[..sig_at],
        sig_at,
        DecodeErrorKind::Missing {
            field: "signature packet",
        },
        "v1 without signature packet",
    );

    let mut t = v1[..sig_at].to_vec();
    t.extend(v1_packet("signature", &[0xab; 31]));
    v1_error(
        &t,
        sig_at,
        DecodeErrorKind::SignatureLength { found: 31 },
        "v1 signature of 31 bytes",
    );
    let mut t = v1[..sig_at].to_vec();
    t.extend(v1_packet("signature", &[0xab; 33]));
    v1_error(
        &t,
        sig_at,
        DecodeErrorKind::SignatureLength { found: 33 },
        "v1 signature of 33 bytes",
    );

    // Unknown key.
    let mut t = packets[..2].concat();
    let bogus_at = t.len();
    t.extend(v1_packet("bogus", b"x"));
    t.extend(&packets[5]);
    v1_error(
        &t,
        bogus_at,
        DecodeErrorKind::UnknownField {
            field: "bogus".into(),
        },
        "v1 unknown key",
    );

    // Packet not ending in LF.
    let mut t = v1.clone();
    t[27] = b'x';
    v1_error(
        &t,
        0,
        DecodeErrorKind::MissingNewline,
        "v1 location without LF",
    );

    // Header declaring more than remains.
    v1_error(
        &v1[..110],
        95,
        DecodeErrorKind::Truncated {
            what: "cid packet",
            declared: 32,
            remaining: 15,
        },
        "v1 cut inside a cid packet",
    );

    // Two identifiers.
    let mut t = packets[..2].concat();
    t.extend(&packets[1]);
    t.extend(&packets[5]);
    let e = decode_err(from_v1(&t), "v1 two identifiers");
    assert_eq!(
        (e.layer, e.offset),
        (Layer::V1, 66),
        "v1 two identifiers: position"
    );
    assert!(
        matches!(e.kind, DecodeErrorKind::Unexpected { .. }),
        "v1 two identifiers: {e:?}"
    );

    // Uppercase hex headers are accepted.
    let upper = v1_packets(&sized().to_v1_bytes().expect("v1"))
        .into_iter()
        .map(|mut p| {
            p[..4].make_ascii_uppercase();
            p
        })
        .collect::<Vec<_>>()
        .concat();
    assert_eq!(
        from_v1(&upper).as_ref(),
        Ok(&sized()),
        "v1 uppercase hex headers accepted"
    );
}

// ---------------------------------------------------------------------------------------------
// Malformed JSON
// ---------------------------------------------------------------------------------------------

const TV4_V2J: &str = r#"{"v":2,"l":"http://example.org/","i":"keyid","c":[{"i":"account = 3735928559"},{"i":"user = alice"}],"s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw"}"#;

fn json_error(text: &str, at: usize, kind: DecodeErrorKind, ctx: &str) {
    let e = decode_err(Macaroon::parse(text), ctx);
    assert_eq!(
        (e.layer, e.offset, &e.kind),
        (Layer::Json, at, &kind),
        "[{ctx}] {text}"
    );
}

#[test]
fn json_malformed() {
    parse_ok(TV4_V2J, "TV4 V2J");
    let insert = |after: &str, what: &str| TV4_V2J.replacen(after, &format!("{after}{what}"), 1);

    let t = insert(r#""l":"http://example.org/","#, r#""l":"x","#);
    let at = t.match_indices(r#""l":"#).nth(1).expect("second l").0;
    json_error(
        &t,
        at,
        DecodeErrorKind::Duplicate { field: "l".into() },
        "JSON duplicate field l",
    );

    let t = insert(r#""i":"keyid","#, r#""i64":"a2V5aWQ","#);
    let at = t.find(r#""i64""#).expect("i64");
    json_error(
        &t,
        at,
        DecodeErrorKind::Duplicate {
            field: "i/i64".into(),
        },
        "JSON both i and i64",
    );

    let t = insert(
        r#""s64":"S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw""#,
        r#","s":"x""#,
    );
    let at = t.find(r#""s":"#).expect("s");
    json_error(
        &t,
        at,
        DecodeErrorKind::Duplicate {
            field: "s/s64".into(),
        },
        "JSON both s and s64",
    );

    let t = insert(r#"{"v":2,"#, r#""x":1,"#);
    json_error(
        &t,
        7,
        DecodeErrorKind::UnknownField { field: "x".into() },
        "JSON unknown top-level key",
    );

    let t = TV4_V2J.replacen(
        r#"{"i":"user = alice"}"#,
        r#"{"i":"user = alice","q":"z"}"#,
        1,
    );
    let at = t.find(r#""q""#).expect("q");
    json_error(
        &t,
        at,
        DecodeErrorKind::UnknownField { field: "q".into() },
        "JSON unknown caveat key",
    );

    for (v, found) in [("3", "3"), (r#""3""#, "3"), ("1", "1"), ("2.0", "2.0")] {
        let t = TV4_V2J.replacen(r#""v":2"#, &format!(r#""v":{v}"#), 1);
        json_error(
            &t,
            5,
            DecodeErrorKind::UnsupportedVersion {
                found: found.into(),
            },
            &format!("JSON \"v\":{v}"),
        );
    }
    // Accepted variants (§8.2): "v":"2", no v, null values.
    for (what, t) in [
        (
            "string version",
            TV4_V2J.replacen(r#""v":2"#, r#""v":"2""#, 1),
        ),
        ("no version", TV4_V2J.replacen(r#""v":2,"#, "", 1)),
        ("null i64", insert(r#""i":"keyid","#, r#""i64":null,"#)),
    ] {
        assert_eq!(
            parse_ok(&t, what).signature_hex(),
            "4be967cd1ea0c6b26baf6a4a94ee9b05b15886da0ba85e8c42a93c8d0e125efc",
            "JSON {what} accepted: {t}"
        );
    }

    let t = format!("{TV4_V2J} x");
    json_error(
        &t,
        TV4_V2J.len() + 1,
        DecodeErrorKind::TrailingData,
        "JSON trailing data",
    );

    let t = TV4_V2J.replacen(
        r#""S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXvw""#,
        r#""S-lnzR6gxrJrr2pKlO6bBbFYhtoLqF6MQqk8jQ4SXg""#,
        1,
    );
    let at = t.find(r#""S-"#).expect("s64");
    json_error(
        &t,
        at,
        DecodeErrorKind::SignatureLength { found: 31 },
        "JSON signature of 31 bytes",
    );

    let t = TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"{}"#, 1);
    let e = decode_err(Macaroon::parse(&t), "JSON caveat without i");
    assert_eq!(e.layer, Layer::Json, "JSON caveat without i: layer");
    assert!(
        matches!(e.kind, DecodeErrorKind::Missing { .. }),
        "JSON caveat without i: {e:?}"
    );

    // Legacy v1 JSON with both identifier and i.
    let t = r#"{"identifier":"id","i":"id","signature":"00"}"#;
    let e = decode_err(Macaroon::parse(t), "JSON identifier and i");
    assert_eq!(e.layer, Layer::Json, "JSON identifier and i: layer");
    assert!(
        matches!(&e.kind, DecodeErrorKind::Duplicate { .. }),
        "JSON identifier and i: {e:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Text layers
// ---------------------------------------------------------------------------------------------

#[test]
fn base64_bad_padding() {
    // TV3 "test = acaveat": 136 bytes, so the text needs exactly two '='.
    let text = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxN2NpZCB0ZXN0ID0gYWNhdmVhdAowMDJmc2lnbmF0dXJlIJRJ_V3WNJQnqlVq5eez7spnltwU_AXs8NIRY739sHooCg";
    let n = text.len();
    assert_eq!(n % 4, 2, "TV3 padding case");
    parse_ok(&format!("{text}=="), "TV3 with correct padding");
    for (what, bad, at) in [
        ("one '='", format!("{text}="), n),
        ("three '='", format!("{text}==="), n),
        ("'=' inside", format!("{}={}", &text[..8], &text[8..]), 8),
        (
            "'==' then data",
            format!("{}=={}", &text[..n - 2], &text[n - 2..]),
            n - 2,
        ),
    ] {
        let ctx = format!("base64 with {what}");
        let e = decode_err(Macaroon::parse(&bad), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (Layer::Base64, at, DecodeErrorKind::InvalidPadding),
            "[{ctx}]"
        );
    }
    // A 180-character text needs no padding at all (SPEC §11.3 RS note).
    let full = "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkKMDAxNmNpZCB0ZXN0ID0gY2F2ZWF0CjAwMmZzaWduYXR1cmUgGXusegRK8zMyhluSZuJtSTvdZopmDkTYjOGpmMI9vWcK";
    let e = decode_err(Macaroon::parse(&format!("{full}==")), "base64 180 + '=='");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (Layer::Base64, 180, DecodeErrorKind::InvalidPadding),
        "base64 180 characters + '=='"
    );
    // A final group of one character, and a character outside both alphabets.
    let e = decode_err(Macaroon::parse(&format!("{full}Q")), "base64 length");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (Layer::Base64, 180, DecodeErrorKind::Base64Length),
        "base64 length 1 mod 4"
    );
    let bad = format!("{}*{}", &full[..20], &full[21..]);
    let e = decode_err(Macaroon::parse(&bad), "base64 '*'");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base64,
            20,
            DecodeErrorKind::InvalidCharacter { ch: '*' }
        ),
        "base64 '*'"
    );
}

#[test]
fn base62_escape_errors() {
    let data = load("onedata.json");
    let text = s(&data["tokens"][2], "text", "TV7 registerOneprovider");
    // Escapes of this text start at 11, 128, 192 (01) and 200 (02).
    for at in [11usize, 128, 192, 200] {
        assert_eq!(&text[at..at + 1], "0", "TV7 escape at {at}");
    }
    for (prefix, shift) in [("", 0usize), ("opw-", 4), ("  ", 2)] {
        for at in [128usize, 192, 200] {
            let bad = format!("{prefix}{}9{}", &text[..at + 1], &text[at + 2..]);
            let ctx = format!("TV7 with escape 09 at {at}, prefix {prefix:?}");
            let e = decode_err(Macaroon::parse(&bad), &ctx);
            assert_eq!(
                (e.layer, e.offset, e.kind),
                (
                    Layer::Base62,
                    at + shift,
                    DecodeErrorKind::InvalidEscape { pair: ['0', '9'] }
                ),
                "[{ctx}]"
            );
        }
        let bad = format!("{prefix}{text}0");
        let ctx = format!("TV7 with a dangling 0, prefix {prefix:?}");
        let e = decode_err(Macaroon::parse(&bad), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (
                Layer::Base62,
                text.len() + shift,
                DecodeErrorKind::DanglingEscape
            ),
            "[{ctx}]"
        );
        let bad = format!("{prefix}{}_{}", &text[..150], &text[151..]);
        let ctx = format!("TV7 with '_' at 150, prefix {prefix:?}");
        let e = decode_err(Macaroon::parse(&bad), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (
                Layer::Base62,
                150 + shift,
                DecodeErrorKind::InvalidCharacter { ch: '_' }
            ),
            "[{ctx}]"
        );
    }
    // A service indication other than opw/opp.
    for svc in ["ozw", "ozp", "abc"] {
        let ctx = format!("TV7 with service {svc}-");
        let e = decode_err(Macaroon::parse(&format!("{svc}-{text}")), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (
                Layer::Base62,
                0,
                DecodeErrorKind::InvalidServicePrefix { prefix: svc.into() }
            ),
            "[{ctx}]"
        );
    }
    // The public unescape reports the same.
    let e = macaroon_mint::base62_unescape("ab09").unwrap_err();
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base62,
            2,
            DecodeErrorKind::InvalidEscape { pair: ['0', '9'] }
        ),
        "base62_unescape(ab09)"
    );
    let e = macaroon_mint::base62_unescape("0").unwrap_err();
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (Layer::Base62, 0, DecodeErrorKind::DanglingEscape),
        "base62_unescape(0)"
    );
}

#[test]
fn empty_input() {
    for text in ["", " ", "\n\t \r"] {
        let e = decode_err(Macaroon::parse(text), &format!("empty input {text:?}"));
        assert_eq!(
            (e.layer, e.kind),
            (Layer::Input, DecodeErrorKind::Empty),
            "empty input {text:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Secrets stay out of Debug
// ---------------------------------------------------------------------------------------------

#[test]
fn debug_redacts_keys_and_signatures() {
    let secret = "this is our super secret key; only we should know it";
    let k = key(secret);
    let derived = "a96173391e6bfa0356bbf095621b8af1510968e770e4d27d62109b7dc374814b";
    let derived_bytes = unhex(derived, "derived");
    let dbg = format!("{k:?} {k:#?}");
    for needle in [
        secret.to_owned(),
        derived.to_owned(),
        derived.to_uppercase(),
        b64_encode(&derived_bytes, true, false),
        b64_encode(&derived_bytes, false, false),
        format!("{derived_bytes:?}"),
        format!("{}", derived_bytes[0]),
    ] {
        assert!(
            !dbg.contains(&needle),
            "RootKey Debug leaks {needle:?}: {dbg}"
        );
    }

    let m = tv1();
    let sig = m.signature().to_vec();
    let t = third_party("cid-1");
    let bound = t.discharge.bind_to(&t.root);
    let ds = [bound.clone()];
    let verified = tp_verifier()
        .verify(&t.key, &t.root, &ds)
        .expect("verifies");
    let parsed =
        Parsed::from_text(&serialize_ok(&m, Format::V1, "TV1"), &Limits::default()).expect("parse");
    for (what, dbg, sig) in [
        ("Macaroon", format!("{m:?} {m:#?}"), sig.clone()),
        ("Parsed", format!("{parsed:?}"), sig.clone()),
        (
            "root Macaroon",
            format!("{:?}", t.root),
            t.root.signature().to_vec(),
        ),
        (
            "Verified",
            format!("{verified:?}"),
            bound.signature().to_vec(),
        ),
    ] {
        for needle in [
            hex::encode(&sig),
            hex::encode(&sig[..8]),
            hex::encode(&sig).to_uppercase(),
            b64_encode(&sig, true, false),
            b64_encode(&sig, false, true),
            b64_encode(&sig[..12], true, false),
            format!("{sig:?}"),
            format!("{:?}", &sig[..4]),
        ] {
            assert!(
                !dbg.contains(&needle),
                "{what} Debug leaks {needle:?}: {dbg}"
            );
        }
    }
    // Errors never carry the expected signature either.
    let e = tp_verifier()
        .verify(&t.key, &t.root, std::slice::from_ref(&t.discharge))
        .map(|_| ())
        .unwrap_err();
    let expected = bound.signature();
    for text in [format!("{e:?}"), e.to_string()] {
        assert!(
            !text.contains(&hex::encode(expected)) && !text.contains(&hex::encode(&expected[..8])),
            "SignatureMismatch reveals the expected signature: {text}"
        );
    }
}

#[test]
fn no_backtracking_to_a_twin_discharge() {
    // §5.2: the first unused match is chosen; when it fails, its twin is not tried.
    let t = third_party("cid-1");
    let good = t.discharge.bind_to(&t.root);
    let bad = t.discharge.clone(); // not bound
    expect_verify(
        &tp_verifier().ignore_unused_discharges(),
        &t.key,
        &t.root,
        &[bad.clone(), good.clone()],
        discharge_mismatch("cid-1"),
        "failing first twin, good second twin",
    );
    expect_ok(
        &tp_verifier().ignore_unused_discharges(),
        &t.key,
        &t.root,
        &[good, bad],
        "good first twin",
    );
}

#[test]
fn binary_error_text_offsets_through_base64_and_base62() {
    // §13: a binary-layer error also gives the character where the base64 group holding the byte
    // starts: 4 * floor(byte / 3), plus skipped whitespace, plus one per base62 escape before it.
    let data = load("onedata.json");
    let text = s(&data["tokens"][0], "text", "TV7 access");
    let b64 = macaroon_mint::base62_unescape(text).expect("unescape");
    let mut bytes = b64_decode(&b64);
    let n = bytes.len();
    bytes.push(b'\n'); // one byte after the signature packet
    let b64 = b64_encode(&bytes, true, false);
    let group = n / 3 * 4;
    for (what, input, want_char) in [
        ("base64", b64.clone(), group),
        (
            "base64 wrapped at 76 columns",
            b64.as_bytes()
                .chunks(76)
                .map(|c| std::str::from_utf8(c).expect("ascii"))
                .collect::<Vec<_>>()
                .join("\n"),
            group + group / 76,
        ),
        (
            "Onedata base62",
            macaroon_mint::base62_escape(&b64),
            macaroon_mint::base62_escape(&b64[..group]).len(),
        ),
        (
            "Onedata base62 with opw-",
            format!("opw-{}", macaroon_mint::base62_escape(&b64)),
            4 + macaroon_mint::base62_escape(&b64[..group]).len(),
        ),
    ] {
        let ctx = format!("TV7 access + trailing LF, {what}");
        let e = decode_err(Macaroon::parse(&input), &ctx);
        assert_eq!(
            (e.layer, e.offset, e.kind, e.text_offset),
            (Layer::V1, n, DecodeErrorKind::TrailingData, Some(want_char)),
            "[{ctx}]"
        );
    }
    // A base64 defect is reported at its original character, whitespace counted.
    let wrapped = s(
        &load("negative.json")["vectors"][0],
        "text",
        "TV1 incompetent hackers",
    )
    .to_owned();
    let at = 100; // after the first line feed at 76
    let bad = format!("{}*{}", &wrapped[..at], &wrapped[at + 1..]);
    let e = decode_err(Macaroon::parse(&bad), "wrapped base64 with '*'");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base64,
            at,
            DecodeErrorKind::InvalidCharacter { ch: '*' }
        ),
        "wrapped base64 with '*' at {at}"
    );
    // Base62 is trimmed only at the ends: inner whitespace is a defect.
    let od = s(&data["tokens"][2], "text", "TV7 rop");
    let bad = format!("{} {}", &od[..150], &od[150..]);
    let e = decode_err(Macaroon::parse(&bad), "base62 with inner space");
    assert_eq!(
        (e.layer, e.offset, e.kind),
        (
            Layer::Base62,
            150,
            DecodeErrorKind::InvalidCharacter { ch: ' ' }
        ),
        "base62 with a space at 150"
    );
    assert!(
        Macaroon::parse(&format!("\n {od} \t")).is_ok(),
        "base62 trimmed at the ends"
    );
}

#[test]
fn json_offsets_count_characters() {
    // §0: text-layer offsets count characters, not bytes.
    let t = TV4_V2J.replacen("http://example.org/", "http://ëxämple.org/", 1);
    let t = t.replacen(r#""i":"keyid","#, r#""i":"keyid","x":1,"#, 1);
    let byte_at = t.find(r#""x""#).expect("x");
    let char_at = t[..byte_at].chars().count();
    assert_eq!(byte_at - char_at, 2, "two 2-byte characters before the key");
    json_error(
        &t,
        char_at,
        DecodeErrorKind::UnknownField { field: "x".into() },
        "JSON unknown key after non-ASCII",
    );
    // Leading whitespace counts.
    let t = format!("  \n{}", TV4_V2J.replacen(r#""v":2"#, r#""v":3"#, 1));
    json_error(
        &t,
        3 + 5,
        DecodeErrorKind::UnsupportedVersion { found: "3".into() },
        "JSON v:3 after leading whitespace",
    );
}

#[test]
fn json_shape_errors() {
    for (what, t) in [
        (
            "identifier is a number",
            TV4_V2J.replacen(r#""i":"keyid""#, r#""i":5"#, 1),
        ),
        (
            "c is an object",
            TV4_V2J
                .replacen(r#""c":["#, r#""c":{"a":["#, 1)
                .replacen("],", "]},", 1),
        ),
        (
            "caveat is an array",
            TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"["user = alice"]"#, 1),
        ),
        (
            "nested arrays",
            TV4_V2J.replacen(r#"{"i":"user = alice"}"#, r#"[[["x"]]]"#, 1),
        ),
        ("top level is an array", format!("[{TV4_V2J}]")),
        ("unterminated", TV4_V2J[..TV4_V2J.len() - 1].to_owned()),
        ("bad escape", TV4_V2J.replacen("keyid", r"key\qid", 1)),
        (
            "raw control character",
            TV4_V2J.replacen("keyid", "key\u{1}id", 1),
        ),
    ] {
        let e = decode_err(Macaroon::parse(&t), what);
        assert!(
            matches!(e.layer, Layer::Json | Layer::Base64 | Layer::V1),
            "[JSON {what}] layer {:?}: {e}",
            e.layer
        );
        if t.starts_with('{') {
            assert_eq!(e.layer, Layer::Json, "[JSON {what}] layer: {e}");
            assert!(e.offset <= t.chars().count(), "[JSON {what}] offset: {e}");
        }
    }
}

#[test]
fn v2_field_order() {
    let v2 = tv1_v2();
    // Identifier before location in the header.
    let mut t = vec![2u8];
    t.extend(&v2[17..41]);
    t.extend(&v2[1..17]);
    t.extend(&v2[41..]);
    let e = decode_err(from_bytes(&t), "v2 identifier before location");
    assert_eq!(
        (e.layer, e.offset),
        (Layer::V2, 25),
        "v2 identifier before location: {e}"
    );
    assert!(
        matches!(e.kind, DecodeErrorKind::Unexpected { .. }),
        "v2 identifier before location: {e:?}"
    );
    // No identifier in the header.
    let mut t = v2[..17].to_vec();
    t.extend(&v2[41..]);
    let e = decode_err(from_bytes(&t), "v2 without identifier");
    assert_eq!(
        (e.layer, e.kind),
        (
            Layer::V2,
            DecodeErrorKind::Missing {
                field: "identifier"
            }
        ),
        "v2 without identifier"
    );
}

#[test]
fn inspect_recovers_completed_fields_of_v2_and_json() {
    // §13 (3): V2 and JSON show the fields completed before the error.
    let m = tv1();
    let v2 = m.to_v2_bytes();
    let json = serialize_ok(&m, Format::V2Json, "TV1");
    // Cut inside the third caveat.
    let cut_v2 = find(&v2, b"email") + 3;
    let cut_json = json.find("email").expect("email") + 3;
    for (what, input) in [
        (
            "v2 text",
            b64_encode(&v2[..cut_v2], true, false).into_bytes(),
        ),
        ("raw v2", v2[..cut_v2].to_vec()),
        ("v2 JSON", json.as_bytes()[..cut_json].to_vec()),
    ] {
        let ctx = format!("inspect of TV1 {what} cut inside caveat 2");
        let report = macaroon_mint::Inspection::of_bytes(&input);
        assert!(report.parsed.is_err(), "[{ctx}] strict parse fails");
        let r = report
            .recovered
            .unwrap_or_else(|| panic!("[{ctx}] recovered fields"));
        assert_eq!(
            field_bytes(&r.location),
            Some((b"http://mybank/".to_vec(), false)),
            "[{ctx}] location"
        );
        assert_eq!(
            field_bytes(&r.identifier),
            Some((b"we used our secret key".to_vec(), false)),
            "[{ctx}] identifier"
        );
        assert_eq!(
            r.caveats
                .iter()
                .map(|c| String::from_utf8_lossy(&c.id.bytes).into_owned())
                .collect::<Vec<_>>(),
            TV1_PREDS[..2],
            "[{ctx}] the two completed caveats"
        );
        assert!(r.signature.is_none(), "[{ctx}] no signature");
    }
}

/// A token with more caveats than the one-pass path keeps (17 and more) under a lifetime cap:
/// `verify` and `verify_token` agree, and the cap reads the `time <` caveat from the second walk.
#[test]
fn long_caveat_lists_meet_the_lifetime_cap_on_both_paths() {
    use macaroon_mint::Clock;
    let k = key("k");
    let now = 1_700_000_000;
    for (extra, expiry, want) in [
        (16usize, now + 3600, Ok(())),
        (40, now + 3600, Ok(())),
        (
            16,
            now + 9000,
            Err(Error::Verify(VerifyError::LifetimeTooLong {
                expiry: now + 9000,
                now,
                max_ttl: 7200,
            })),
        ),
    ] {
        let predicates: Vec<String> = (0..extra).map(|i| format!("p = {i}")).collect();
        let mut m = Macaroon::mint(&k, "", "id")
            .expect("mint")
            .with_first_party(format!("time < {expiry}"))
            .expect("time");
        for p in &predicates {
            m = m.with_first_party(p).expect("caveat");
        }
        let verifier = Verifier::new()
            .satisfy_exact_all(&predicates)
            .with_clock(Clock::at(now).with_max_ttl(7200));
        assert_eq!(
            verifier.verify(&k, &m, &[]).map(|_| ()),
            want,
            "{} caveats, verify",
            extra + 1
        );
        for format in [Format::V1, Format::V2] {
            let text = m.serialize(format).expect("serialize");
            assert_eq!(
                verifier.verify_token(&k, &text, &[]).map(|_| ()),
                want,
                "{} caveats, verify_token {format}",
                extra + 1
            );
        }
    }
}
