//! One criterion run measuring, side by side: the HMAC-chain floor, our mint and verify, the
//! `macaroon` crate doing the same work (equal work: key derivation and verifier construction in
//! the loop on both sides; cached variants labelled `cached_*`), our parse/serialize per format,
//! a third-party discharge verify, typed (Onedata) verification, and server-loop throughput on 1
//! and 2 threads.
//!
//! `scripts/bench` runs this and prints each median with its ratio to `floor` of the same group.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, Mac};
use macaroon_mint::{Format, Macaroon, RootKey, Verifier};
use sha2::Sha256;

const SECRET: &[u8; 32] = b"0123456789abcdef0123456789abcdef";
const LOCATION: &str = "https://auth.example.com/";
const IDENTIFIER: &str = "token-2026-11-23-0000001";
/// Realistic first-party predicates, 10 to 40 bytes.
const PREDICATES: [&str; 5] = [
    "time < 1700003600",
    "account = 3735928559",
    "user = alice@example.org",
    "ip = 192.168.100.200/32",
    "operation in read,write,list,delete",
];
const CAVEAT_COUNTS: [usize; 3] = [0, 3, 10];

fn predicates(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{} #{i}", PREDICATES[i % PREDICATES.len()]))
        .collect()
}

/// The unavoidable cost: n + 2 dependent HMAC-SHA256s, each with a fresh 32-byte key.
fn floor_chain(key: &[u8; 32], identifier: &[u8], caveats: &[String]) -> [u8; 32] {
    let hmac = |k: &[u8; 32], m: &[u8]| -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(k).expect("any key length");
        mac.update(m);
        mac.finalize().into_bytes().into()
    };
    let mut s = hmac(key, identifier);
    for c in caveats {
        s = hmac(&s, c.as_bytes());
    }
    hmac(&s, identifier)
}

fn ours_mint(key: &RootKey, caveats: &[String]) -> String {
    let mut m = Macaroon::mint(key, LOCATION, IDENTIFIER).expect("mint");
    for c in caveats {
        m = m.with_first_party(c).expect("caveat");
    }
    m.serialize(Format::V1).expect("v1")
}

fn rs_mint(key: &macaroon::MacaroonKey, caveats: &[String]) -> String {
    let mut m =
        macaroon::Macaroon::create(Some(LOCATION.into()), key, IDENTIFIER.into()).expect("rs mint");
    for c in caveats {
        m.add_first_party_caveat(c.as_str().into());
    }
    m.serialize(macaroon::Format::V1).expect("rs v1")
}

/// Builds our verifier the way a server does per request: n exact satisfiers, borrowed, added
/// at once.
fn our_verifier(caveats: &[String]) -> Verifier<'_> {
    Verifier::new().satisfy_exact_all(caveats)
}

fn rs_verifier(caveats: &[String]) -> macaroon::Verifier {
    let mut verifier = macaroon::Verifier::default();
    for p in caveats {
        verifier.satisfy_exact(p.as_str().into());
    }
    verifier
}

/// Equal work: every measured closure derives the root key from the secret, builds its verifier
/// with n exact satisfiers and parses + verifies (or mints + serializes) v1 text, as a server
/// that derives one secret per token pays it; so does the floor (n + 2 keyed HMACs). The
/// `cached_*` rows keep the key (and verifier) outside the loop, on both sides, and say so.
fn chain(c: &mut Criterion) {
    macaroon::initialize().expect("sodiumoxide");
    for n in CAVEAT_COUNTS {
        let caveats = predicates(n);
        let key = RootKey::new(SECRET);
        let rs_key = macaroon::MacaroonKey::generate(SECRET);
        let token = ours_mint(&key, &caveats);
        let rs_token = rs_mint(&rs_key, &caveats);
        // The same token (the crate pads its base64).
        assert_eq!(
            token,
            rs_token.trim_end_matches('='),
            "both sides mint the same token"
        );
        our_verifier(&caveats)
            .verify_token(&key, &token, &[])
            .expect("our token verifies");

        let mut g = c.benchmark_group(format!("chain/n={n}"));
        g.bench_function("floor", |b| {
            b.iter(|| floor_chain(black_box(SECRET), IDENTIFIER.as_bytes(), &caveats))
        });
        g.bench_function("verify_token", |b| {
            b.iter(|| {
                let key = RootKey::new(black_box(SECRET));
                our_verifier(&caveats)
                    .verify_token(&key, black_box(&token), &[])
                    .is_ok()
            })
        });
        g.bench_function("parse_then_verify", |b| {
            b.iter(|| {
                let key = RootKey::new(black_box(SECRET));
                let m = Macaroon::parse(black_box(&token)).expect("parse");
                our_verifier(&caveats).verify(&key, &m, &[]).is_ok()
            })
        });
        g.bench_function("mint_v1", |b| {
            b.iter(|| ours_mint(&RootKey::new(black_box(SECRET)), &caveats))
        });
        g.bench_function("macaroon_crate_verify", |b| {
            b.iter(|| {
                let key = macaroon::MacaroonKey::generate(black_box(SECRET));
                let m = macaroon::Macaroon::deserialize(black_box(&rs_token)).expect("rs parse");
                rs_verifier(&caveats).verify(&m, &key, Vec::new()).is_ok()
            })
        });
        g.bench_function("macaroon_crate_mint", |b| {
            b.iter(|| {
                rs_mint(
                    &macaroon::MacaroonKey::generate(black_box(SECRET)),
                    &caveats,
                )
            })
        });

        let verifier = our_verifier(&caveats);
        let rs_cached = rs_verifier(&caveats);
        g.bench_function("cached_key_and_verifier/verify_token", |b| {
            b.iter(|| verifier.verify_token(&key, black_box(&token), &[]).is_ok())
        });
        g.bench_function("cached_key/mint_v1", |b| {
            b.iter(|| ours_mint(black_box(&key), &caveats))
        });
        g.bench_function("cached_key_and_verifier/macaroon_crate_verify", |b| {
            b.iter(|| {
                let m = macaroon::Macaroon::deserialize(black_box(&rs_token)).expect("rs parse");
                rs_cached.verify(&m, &rs_key, Vec::new()).is_ok()
            })
        });
        g.bench_function("cached_key/macaroon_crate_mint", |b| {
            b.iter(|| rs_mint(black_box(&rs_key), &caveats))
        });
        g.finish();
    }
}

fn formats(c: &mut Criterion) {
    let key = RootKey::new(SECRET);
    let caveats = predicates(3);
    let mut m = Macaroon::mint(&key, LOCATION, IDENTIFIER).expect("mint");
    for p in &caveats {
        m = m.with_first_party(p).expect("caveat");
    }
    let mut g = c.benchmark_group("formats/n=3");
    g.bench_function("floor", |b| {
        b.iter(|| floor_chain(black_box(SECRET), IDENTIFIER.as_bytes(), &caveats))
    });
    for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
        let text = m.serialize(format).expect("serialize");
        g.bench_function(BenchmarkId::new("parse", format), |b| {
            b.iter(|| Macaroon::parse(black_box(&text)).expect("parse"))
        });
        g.bench_function(BenchmarkId::new("serialize", format), |b| {
            b.iter(|| black_box(&m).serialize(format).expect("serialize"))
        });
    }
    g.finish();
}

fn third_party(c: &mut Criterion) {
    let key = RootKey::new(SECRET);
    let caveat_key = RootKey::new("shared with the auth service");
    let root = Macaroon::mint(&key, LOCATION, IDENTIFIER)
        .and_then(|m| m.with_first_party(PREDICATES[0]))
        .and_then(|m| m.with_third_party("https://auth.example.com/", &caveat_key, "user is alice"))
        .expect("root");
    let discharge = Macaroon::mint(&caveat_key, "https://auth.example.com/", "user is alice")
        .and_then(|d| d.with_first_party(PREDICATES[1]))
        .expect("discharge")
        .bind_to(&root);
    let root_text = root.serialize(Format::V1).expect("v1");
    let discharges = [discharge];
    let verifier = Verifier::new()
        .satisfy_exact(PREDICATES[0])
        .satisfy_exact(PREDICATES[1]);
    verifier
        .verify_token(&key, &root_text, &discharges)
        .expect("verifies");
    let mut g = c.benchmark_group("third_party");
    g.bench_function("floor", |b| {
        // root: id, caveat, 3rd-party (3 HMACs); discharge: id, caveat, bind (3 HMACs) + final
        let caveats = predicates(5);
        b.iter(|| floor_chain(black_box(SECRET), IDENTIFIER.as_bytes(), &caveats))
    });
    g.bench_function("verify_discharge_v1", |b| {
        b.iter(|| verifier.verify_token(&key, black_box(&root_text), &discharges))
    });
    g.finish();
}

/// A server verifying an Onedata access token whose five caveats are checked by the typed
/// checkers against the request context (no exact satisfiers).
fn typed(c: &mut Criterion) {
    use macaroon_mint::caveat::{ConsumerKind, Interface, ServiceKind};
    use macaroon_mint::{AuthContext, Consumer, Service};
    let key = RootKey::new(SECRET);
    let caveats: Vec<String> = [
        "time < 1700003600",
        "ip = 192.168.0.0/16|10.0.0.0/8",
        "interface = rest",
        "service = ozw-onezone|opw-*",
        "consumer = usr-alice|grp-admins",
    ]
    .map(String::from)
    .to_vec();
    let mut m =
        Macaroon::mint(&key, LOCATION, "2/tmp-1/usr-alice/act/token-2026-0000001").expect("mint");
    for c in &caveats {
        m = m.with_first_party(c).expect("caveat");
    }
    let token = m.serialize(Format::Onedata).expect("onedata");
    let token_v1 = m.serialize(Format::V1).expect("v1");
    let ctx = AuthContext::new()
        .with_ip("10.1.2.3".parse().expect("ip"))
        .with_interface(Interface::Rest)
        .with_service(Service::new(ServiceKind::OneproviderWorker, "p1"))
        .with_consumer(Consumer::new(ConsumerKind::User, "alice"), Vec::new());
    let verifier = Verifier::new().at_time(1_700_000_000).with_context(&ctx);
    verifier
        .verify_token(&key, &token, &[])
        .expect("typed token verifies");
    let mut g = c.benchmark_group("typed/n=5");
    g.bench_function("floor", |b| {
        b.iter(|| floor_chain(black_box(SECRET), IDENTIFIER.as_bytes(), &caveats))
    });
    g.bench_function("verify_onedata_typed", |b| {
        b.iter(|| verifier.verify_token(&key, black_box(&token), &[]))
    });
    g.bench_function("verify_v1_typed", |b| {
        b.iter(|| verifier.verify_token(&key, black_box(&token_v1), &[]))
    });
    g.finish();
}

fn throughput(c: &mut Criterion) {
    const TOKENS: usize = 1_000;
    let key = RootKey::new(SECRET);
    let caveats = predicates(3);
    let tokens: Vec<String> = (0..TOKENS)
        .map(|i| {
            let mut m = Macaroon::mint(&key, LOCATION, format!("{IDENTIFIER}-{i}")).expect("mint");
            for p in &caveats {
                m = m.with_first_party(p).expect("caveat");
            }
            m.serialize(Format::V1).expect("v1")
        })
        .collect();
    let verify_all = |slice: &[String]| {
        let mut verifier = Verifier::new();
        for p in &caveats {
            verifier = verifier.satisfy_exact(p);
        }
        slice
            .iter()
            .filter(|t| verifier.verify_token(&key, t, &[]).is_ok())
            .count()
    };
    let mut g = c.benchmark_group("throughput/n=3");
    g.throughput(Throughput::Elements(TOKENS as u64));
    for threads in [1usize, 2] {
        g.bench_function(BenchmarkId::new("verify_threads", threads), |b| {
            b.iter(|| {
                std::thread::scope(|s| {
                    let chunk = TOKENS.div_ceil(threads);
                    let handles: Vec<_> = tokens
                        .chunks(chunk)
                        .map(|part| s.spawn(|| verify_all(part)))
                        .collect();
                    let ok: usize = handles.into_iter().map(|h| h.join().expect("thread")).sum();
                    assert_eq!(ok, TOKENS);
                })
            })
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(50);
    targets = chain, formats, third_party, typed, throughput
}
criterion_main!(benches);
