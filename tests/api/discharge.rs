//! Third-party caveats and discharges (SPEC §5; TV2, TV3, TV5): binding, discharges that are
//! missing, unused, reused, unbound, minted with the wrong key or cyclic, twins, and trees.

use crate::common::*;
use crate::support::*;
use macaroon_mint::{
    Error, Format, LimitError, Limits, Macaroon, MacaroonRole, RootKey, Verifier, VerifyError,
};
use serde_json::Value;

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

/// A discharge that requires itself, directly or through others (TV5 / §11.3), is refused as
/// `DischargeCycle` at the discharge met again, in every order the discharges are given and
/// whether or not unused discharges are ignored.
#[test]
fn discharge_cycles() {
    let k = key("root");
    // names[i] requires names[i + 1], the last requires the first; the root requires the first.
    let ring = |names: &[&str]| {
        let ks: Vec<RootKey> = names.iter().map(|n| key(&format!("key {n}"))).collect();
        let root = Macaroon::mint(&k, "", "root")
            .expect("mint")
            .with_third_party_nonce("", &ks[0], names[0], [0; 24])
            .expect("tp");
        let ring: Vec<Macaroon> = (0..names.len())
            .map(|i| {
                let next = (i + 1) % names.len();
                Macaroon::mint(&ks[i], "", names[i])
                    .expect("mint")
                    .with_third_party_nonce("", &ks[next], names[next], [i as u8; 24])
                    .expect("tp")
                    .bind_to(&root)
            })
            .collect();
        (root, ring)
    };
    for names in [&["me"][..], &["a", "b"], &["a", "b", "c"]] {
        let n = names.len();
        let (root, ring) = ring(names);
        let cycle = Err(Error::Verify(VerifyError::DischargeCycle {
            caveat_id: names[0].as_bytes().to_vec(),
        }));
        // Every order of the discharges: the sequences over 0..n with no repeat.
        let orders = (0..n.pow(n as u32)).filter_map(|code| {
            let order: Vec<usize> = (0..n).map(|d| code / n.pow(d as u32) % n).collect();
            let mut seen = vec![false; n];
            order
                .iter()
                .all(|&i| !std::mem::replace(&mut seen[i], true))
                .then_some(order)
        });
        for order in orders {
            let ds: Vec<Macaroon> = order.iter().map(|&i| ring[i].clone()).collect();
            let ctx = format!("cycle {names:?} given as {order:?}");
            assert_eq!(
                verify_with(Limits::default(), &k, &root, &ds),
                cycle,
                "[{ctx}]"
            );
            assert_eq!(
                Verifier::new()
                    .ignore_unused_discharges()
                    .verify(&k, &root, &ds)
                    .map(|_| ()),
                cycle,
                "[{ctx}] ignoring unused discharges"
            );
        }
    }
    let (root, ring) = ring(&["a", "b", "c"]);
    // The cycle is found at depth 3; a depth limit of 2 stops the walk first, at c.
    assert_eq!(
        verify_with(limits(|l| l.max_depth = 2), &k, &root, &ring),
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 2,
            caveat_id: b"c".to_vec()
        }))
    );

    // A self-requiring discharge given many times: each copy is used once, so the walk goes as
    // deep as there are copies and then reports the cycle, or hits the depth limit first.
    let ck = key("self");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &ck, "me", [0; 24])
        .expect("tp");
    let me = Macaroon::mint(&ck, "", "me")
        .expect("mint")
        .with_third_party_nonce("", &ck, "me", [1; 24])
        .expect("tp")
        .bind_to(&root);
    let copies = vec![me; 64];
    assert_eq!(
        verify_with(Limits::default(), &k, &root, &copies),
        Err(Error::Limit(LimitError::DepthExceeded {
            limit: 16,
            caveat_id: b"me".to_vec()
        })),
        "64 copies, default depth"
    );
    assert_eq!(
        verify_with(limits(|l| l.max_depth = 64), &k, &root, &copies),
        Err(Error::Verify(VerifyError::DischargeCycle {
            caveat_id: b"me".to_vec()
        })),
        "64 copies, depth 64"
    );
}

/// Many discharges sharing one identifier (the worst case for matching) are handled in
/// bounded time and with the specific error.
#[test]
fn many_twins() {
    let k = key("root");
    let ck = key("ck");
    let root = Macaroon::mint(&k, "", "root")
        .expect("mint")
        .with_third_party_nonce("", &ck, "same", [0; 24])
        .expect("tp");
    let d = Macaroon::mint(&ck, "", "same").expect("mint");
    let mut ds = vec![d.clone(); 63]; // unbound: each would fail
    ds.push(d.bind_to(&root));
    // The first unused match is chosen and fails; no backtracking to the good twin (§5.2).
    assert_eq!(
        Verifier::new()
            .ignore_unused_discharges()
            .verify(&k, &root, &ds)
            .map(|_| ()),
        Err(Error::Verify(VerifyError::SignatureMismatch {
            macaroon: discharge_role("same"),
            reason: None
        }))
    );
    ds.rotate_right(1);
    assert_eq!(
        verify_with(Limits::default(), &k, &root, &ds),
        Err(Error::Verify(VerifyError::DischargeUnused {
            index: 1,
            identifier: b"same".to_vec()
        }))
    );
}

/// The TV2 root built with the API (zero nonce), after every step.
fn tv2_root(tv2: &Value, name: &str) -> Vec<Macaroon> {
    let mut m = Macaroon::mint(
        &key(s(tv2, "root_key", name)),
        s(tv2, "location", name),
        s(tv2, "identifier", name),
    )
    .unwrap_or_else(|e| panic!("[{name}] mint: {e}"));
    let mut out = Vec::new();
    for (i, step) in arr(tv2, "steps", name).iter().enumerate() {
        let ctx = format!("{name} step {i}");
        m = apply_step(m, step, &ctx);
        assert_eq!(
            m.signature_hex(),
            s(step, "signature_hex", &ctx),
            "[{ctx}] signature"
        );
        out.push(m.clone());
    }
    out
}

fn tv2_discharge(tv2: &Value, name: &str) -> Macaroon {
    let d = tv2.get("discharge").expect("discharge");
    let mut m = Macaroon::mint(
        &key(s(d, "root_key", name)),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .unwrap_or_else(|e| panic!("[{name}] mint discharge: {e}"));
    assert_eq!(
        m.signature_hex(),
        s(d, "s0_hex", name),
        "[{name}] discharge s0 = HMAC(Kc, cid)"
    );
    for c in strings(d.get("caveats").expect("caveats"), name) {
        m = m.with_first_party(&c).expect("first party");
    }
    assert_eq!(
        m.signature_hex(),
        s(d, "signature_hex", name),
        "[{name}] unbound discharge signature"
    );
    m
}

#[test]
fn tv2_third_party_discharge_and_binding() {
    let data = load("third_party.json");
    let tv2 = data.get("tv2").expect("tv2");
    let name = s(tv2, "name", "third_party.json");
    let roots = tv2_root(tv2, name);
    let root = roots.last().expect("root").clone();

    // The third-party step in detail.
    let step = &arr(tv2, "steps", name)[1];
    let ctx = format!("{name} third-party step");
    let c = &root.caveats()[1];
    let vid = c.verification_id().expect("vid");
    assert_eq!(
        hex::encode(vid),
        s(step, "vid_hex", &ctx),
        "[{ctx}] vid hex"
    );
    assert_eq!(
        b64_encode(vid, true, false),
        s(step, "vid_b64url", &ctx),
        "[{ctx}] vid base64url"
    );
    assert_eq!(
        hex::encode(&vid[..24]),
        s(step, "vid_nonce_hex", &ctx),
        "[{ctx}] nonce"
    );
    assert_eq!(
        hex::encode(&vid[24..40]),
        s(step, "vid_tag_hex", &ctx),
        "[{ctx}] tag (tag first)"
    );
    assert_eq!(
        hex::encode(&vid[40..]),
        s(step, "vid_ciphertext_hex", &ctx),
        "[{ctx}] encrypted Kc"
    );
    for wrong in ["wrong_h2_cid_first_hex", "wrong_flat_vid_cid_hex"] {
        assert_ne!(
            root.signature_hex(),
            s(step, wrong, &ctx),
            "[{ctx}] signature must differ from {wrong}"
        );
    }
    // Kc, the derived caveat key, is the discharge's HMAC key (§3.4).
    let kc = unhex32(s(step, "derived_caveat_key_hex", &ctx), &ctx);
    let d = tv2.get("discharge").expect("discharge");
    let via_kc = Macaroon::mint(
        &RootKey::from_derived(kc),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .expect("mint");
    assert_eq!(
        via_kc.signature_hex(),
        s(d, "s0_hex", name),
        "[{ctx}] RootKey::from_derived(Kc) mints the discharge s0"
    );

    // Discharge and binding.
    let discharge = tv2_discharge(tv2, name);
    let b = tv2.get("binding").expect("binding");
    assert_eq!(
        root.signature_hex(),
        s(b, "root_signature_hex", name),
        "[{name}] binding input: root"
    );
    assert_eq!(
        discharge.signature_hex(),
        s(b, "discharge_signature_hex", name),
        "[{name}] binding input: discharge"
    );
    let bound = discharge.bind_to(&root);
    assert_eq!(
        bound.signature_hex(),
        s(b, "bound_hex", name),
        "[{name}] bound signature"
    );
    assert_eq!(
        bound.identifier(),
        discharge.identifier(),
        "[{name}] bind keeps id"
    );
    assert_eq!(
        bound.location(),
        discharge.location(),
        "[{name}] bind keeps location"
    );
    assert_eq!(
        caveat_ids(&bound),
        caveat_ids(&discharge),
        "[{name}] bind keeps caveats"
    );
    for wrong in ["wrong_discharge_first_hex", "wrong_flat_concat_hex"] {
        assert_ne!(
            bound.signature_hex(),
            s(b, wrong, name),
            "[{name}] bound signature must differ from {wrong}"
        );
    }
    // Binding the other way round must not give the same value either.
    assert_ne!(
        root.bind_to(&discharge).signature_hex(),
        s(b, "bound_hex", name),
        "[{name}] binding is ordered"
    );

    // Serializations.
    let sers = tv2.get("serializations").expect("serializations");
    for (field, format, expected) in [
        ("root_v1", Format::V1, &root),
        ("root_v2", Format::V2, &root),
        ("root_v2j", Format::V2Json, &root),
        ("bound_discharge_v1", Format::V1, &bound),
        ("bound_discharge_v2", Format::V2, &bound),
        ("unbound_discharge_v1", Format::V1, &discharge),
    ] {
        let ctx = format!("{name} {field}");
        check_serialization(s(sers, field, &ctx), format, expected, &ctx);
        check_conversions(expected, &ctx);
    }

    // Verification.
    let ver = tv2.get("verification").expect("verification");
    let preds = strings(ver.get("satisfied_predicates").expect("preds"), name);
    let verifier = preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(p));
    let root_key = key(s(tv2, "root_key", name));
    let parsed_root = parse_ok(s(sers, "root_v1", name), name);
    let parsed_bound = parse_ok(s(sers, "bound_discharge_v1", name), name);
    let parsed_bound_v2 = parse_ok(s(sers, "bound_discharge_v2", name), name);
    let parsed_unbound = parse_ok(s(sers, "unbound_discharge_v1", name), name);
    for (what, d) in [("v1", &parsed_bound), ("v2", &parsed_bound_v2)] {
        let discharges = [d.clone()];
        let ok = verifier
            .verify(&root_key, &parsed_root, &discharges)
            .unwrap_or_else(|e| panic!("[{name}] root + bound discharge ({what}) verifies: {e}"));
        assert_eq!(ok.discharges().len(), 1, "[{name}] one discharge used");
        assert_eq!(
            ok.first_party_predicates().collect::<Vec<_>>(),
            preds.iter().map(String::as_bytes).collect::<Vec<_>>(),
            "[{name}] predicates checked"
        );
    }
    let unbound = [parsed_unbound];
    let e = verify_err(verifier.verify(&root_key, &parsed_root, &unbound), name);
    match &e {
        VerifyError::SignatureMismatch {
            macaroon: MacaroonRole::Discharge { identifier },
            ..
        } => assert_eq!(
            identifier.as_slice(),
            s(d, "identifier", name).as_bytes(),
            "[{name}] the mismatch names the discharge"
        ),
        other => panic!(
            "[{name}] unbound discharge: expected discharge SignatureMismatch, got {other:?}"
        ),
    }
    // Without the time predicate the bound discharge still authenticates, then fails the caveat.
    let e = verify_err(
        Verifier::new().satisfy_exact(&preds[0]).verify(
            &root_key,
            &parsed_root,
            std::slice::from_ref(&parsed_bound),
        ),
        name,
    );
    assert_eq!(
        e,
        VerifyError::CaveatNotSatisfied {
            macaroon: discharge_role(s(d, "identifier", name)),
            index: 0,
            caveat: preds[1].as_bytes().to_vec(),
            reason: macaroon_mint::Unmet::NoRule,
        },
        "[{name}] discharge caveat unsatisfied"
    );
}

#[test]
fn tv3_prepare_for_request() {
    let data = load("third_party.json");
    let tv2 = data.get("tv2").expect("tv2");
    let v = data.get("tv3_prepare_for_request").expect("tv3");
    let name = s(v, "name", "third_party.json");
    let root = tv2_root(tv2, name).pop().expect("root");
    assert_eq!(
        root.signature_hex(),
        s(v, "root_signature_hex", name),
        "[{name}] root signature"
    );
    let d = v.get("discharge").expect("discharge");
    let mut discharge = Macaroon::mint(
        &key(s(d, "root_key", name)),
        s(d, "location", name),
        s(d, "identifier", name),
    )
    .expect("mint");
    for c in strings(d.get("caveats").expect("caveats"), name) {
        discharge = discharge.with_first_party(&c).expect("caveat");
    }
    assert_eq!(
        discharge.signature_hex(),
        s(d, "signature_hex", name),
        "[{name}] discharge signature"
    );
    let bound = discharge.bind_to(&root);
    assert_eq!(
        bound.signature_hex(),
        s(v, "bound_signature_hex", name),
        "[{name}] bound signature"
    );
    let preds = ["account = 3735928559", "time < 2015-01-01T00:00"];
    let verifier = preds
        .iter()
        .fold(Verifier::new(), |v, p| v.satisfy_exact(p));
    let discharges = [bound];
    verifier
        .verify(&key(s(tv2, "root_key", name)), &root, &discharges)
        .unwrap_or_else(|e| panic!("[{name}] verifies: {e}"));
}

#[test]
fn binding_always_hashes() {
    // §4: GO and ERL skip binding when the signatures are equal; we always hash.
    let k = key("same");
    let root = Macaroon::mint(&k, "", "x").expect("mint");
    let twin = Macaroon::mint(&k, "", "x").expect("mint");
    assert_eq!(root.signature(), twin.signature(), "equal signatures");
    assert_ne!(
        twin.bind_to(&root).signature(),
        root.signature(),
        "binding equal signatures still hashes"
    );
}
