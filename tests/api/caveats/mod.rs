//! Caveats as the verifier meets them: general satisfiers, expiry, unmet predicates, and the
//! lifetime cap on long caveat lists. The typed caveat language is in [`typed`].

use crate::common::*;
use crate::support::*;
use macaroon_mint::{Error, Format, Macaroon, MacaroonRole, Verifier, VerifyError};

#[cfg(feature = "caveats")]
mod typed;

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
