//! Writes the seed corpus of every fuzz target into `fuzz/corpus/<target>/`.
//!
//! Run from the repository root: `cargo run --manifest-path fuzz/seedgen/Cargo.toml`.
//! Seeds are deterministic (fixed nonces), so re-running reproduces the committed files.
//! Nothing here mints with the verify_oracle's oracle key.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use macaroon_mint::{base62_escape, Format, Macaroon, RootKey};
use serde_json::Value;

type Seeds = BTreeMap<String, Vec<u8>>;

fn add(seeds: &mut Seeds, name: &str, bytes: impl AsRef<[u8]>) {
    seeds.insert(name.to_owned(), bytes.as_ref().to_vec());
}

/// Every string under `key` anywhere in a JSON document.
fn strings_under(v: &Value, key: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match x {
                    Value::String(s) if k == key => out.push(s.clone()),
                    Value::Array(items) if k == key => {
                        out.extend(items.iter().filter_map(|i| i.as_str().map(str::to_owned)))
                    }
                    _ => {}
                }
                strings_under(x, key, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|x| strings_under(x, key, out)),
        _ => {}
    }
}

fn json(root: &Path, file: &str) -> Value {
    let text = fs::read_to_string(root.join("tests/data").join(file)).expect("test data");
    serde_json::from_str(&text).expect("test data is JSON")
}

/// A small deterministic byte stream (xorshift) for the structured-mode seeds.
fn pseudo_random(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn minted(seeds: &mut Seeds) -> Result<Vec<(String, String)>, macaroon_mint::Error> {
    let mut pairs = Vec::new();
    let key = RootKey::new("seed corpus root key");
    let tv1 = Macaroon::mint(
        &RootKey::new("this is our super secret key; only we should know it"),
        "http://mybank/",
        "we used our secret key",
    )?
    .with_first_party("account = 3735928559")?
    .with_first_party("time < 2020-01-01T00:00")?
    .with_first_party("email = alice@example.org")?;

    // Third-party caveat, nested discharge, both bound.
    let auth_key = RootKey::new("auth service caveat key");
    let nested_key = RootKey::new("nested caveat key");
    let root = Macaroon::mint(&key, "http://service.example/", "root-id")?
        .with_first_party("time < 1700003600")?
        .with_third_party_nonce("http://auth.example/", &auth_key, "user is alice", [7; 24])?
        .with_first_party("ip = 10.0.0.0/8")?;
    let discharge = Macaroon::mint(&auth_key, "http://auth.example/", "user is alice")?
        .with_first_party("time < 1700000600")?
        .with_third_party_nonce("", &nested_key, "mfa done", [9; 24])?;
    let nested = Macaroon::mint(&nested_key, "", "mfa done")?;
    let bound = discharge.bind_to(&root);
    let nested_bound = nested.bind_to(&root);

    // Binary identifier, empty location, empty caveat id, non-UTF-8 caveat.
    let binary = Macaroon::mint(&key, "", [0u8, 0xad, 0xa8, 0xfa, 0xff, b'/', b'"', b'\\'])?
        .with_first_party([])?
        .with_first_party([0xffu8, 0xfe, b'\n', 0])?
        .with_third_party_nonce("", &auth_key, [1u8, 2, 3], [0; 24])?;

    // An Onedata-looking token with typed caveats.
    let onedata = Macaroon::mint(
        &RootKey::new("5f2b1c0e9d8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c"),
        "onezone.example",
        "2/tmp-3/usr-alice/act:sess/0123456789token-id0123456789",
    )?
    .with_first_party("time < 1700003600")?
    .with_first_party("service = opw-*|ozw-onezone")?
    .with_first_party("data.path = L3NwYWNlMS9maWxlMS50eHQ=")?;

    // Many caveats (near the header-size boundaries of v1: a 255-byte and a 256-byte caveat).
    let mut long = Macaroon::mint(&key, "l".repeat(300), "i".repeat(127))?;
    for n in [0usize, 1, 127, 128, 255, 256] {
        long = long.with_first_party("c".repeat(n))?;
    }

    let all = [
        ("tv1", &tv1),
        ("tp_root", &root),
        ("tp_discharge", &bound),
        ("tp_nested", &nested_bound),
        ("binary", &binary),
        ("onedata_access", &onedata),
        ("long_fields", &long),
    ];
    for (name, m) in all {
        for format in [Format::V1, Format::V2, Format::V2Json, Format::Onedata] {
            if let Ok(text) = m.serialize(format) {
                add(seeds, &format!("{name}.{format}"), &text);
                pairs.push((format!("{name}.{format}"), text));
            }
        }
        add(seeds, &format!("{name}.v2raw"), m.to_v2_bytes());
        if let Ok(v1) = m.to_v1_bytes() {
            add(seeds, &format!("{name}.v1raw"), v1);
        }
    }
    if let Ok(text) = onedata.serialize(Format::Onedata) {
        add(seeds, "onedata_access.opw", format!("opw-{text}"));
        add(seeds, "onedata_access.opp", format!("opp-{text}"));
    }
    // Root followed by its discharges (the verify_oracle separator).
    let joined = [&root, &bound, &nested_bound]
        .iter()
        .map(|m| m.serialize(Format::V2))
        .collect::<Result<Vec<_>, _>>()?
        .join("\n--\n");
    add(seeds, "tp_with_discharges.v2", joined);
    Ok(pairs)
}

fn edge_cases(seeds: &mut Seeds) {
    let cases: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("whitespace", b" \t\r\n "),
        ("v1_header_0000", b"MDAwMGxvY2F0aW9uIAo"),
        ("v1_header_ffff", b"ZmZmZmxvY2F0aW9uIAo"),
        ("v1_raw_header_ffff", b"fffflocation x\n"),
        ("v1_raw_header_0000", b"0000location \n"),
        ("v2_huge_varint", b"\x02\x02\xff\xff\xff\xff\x0f"),
        ("v2_varint_overflow", b"\x02\x02\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f"),
        ("v2_nonminimal_varint", b"\x02\x02\x80\x00\x00"),
        ("v2_only_version", b"\x02"),
        ("v2_text_only_version", b"Ag"),
        ("json_truncated", b"{\"v\":2,\"i\":\"x\",\"c\":[{\"i\":"),
        ("json_nested", b"{\"v\":2,\"i\":[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]}"),
        ("json_escapes", b"{\"v\":\"2\",\"i\":\"\\u00e9\\ud83d\\ude00\\n\",\"c\":null,\"s\":\"0123456789abcdef0123456789abcdef\"}"),
        ("json_rs_nulls", b"{\"v\":2,\"i\":null,\"i64\":\"aWQ=\",\"l\":null,\"l64\":null,\"c\":[],\"s\":null,\"s64\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\"}"),
        ("json_both_forms", b"{\"i\":\"a\",\"i64\":\"YQ\",\"s64\":\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}"),
        ("json_v1_legacy_huge_hex", b"{\"identifier\":\"x\",\"signature\":\"zz\"}"),
        ("quoted_empty", b"\"\""),
        ("quoted_unterminated", b"\"MDAx"),
        ("base62_dangling", b"MDAyMGxvY2F00"),
        ("base62_bad_prefix", b"ozw-MDAyMGxvY2F00aW9u"),
        ("opw_empty", b"opw-"),
        ("base64_len_1_mod_4", b"MDAxY"),
        ("base64_padding_middle", b"MD=xY2xv"),
        ("non_utf8", b"MDAx\xff\xfeY2xv"),
        ("unicode", "MDAx\u{e9}\u{1f600}".as_bytes()),
    ];
    for (name, bytes) in cases {
        add(seeds, name, bytes);
    }
    // A v1 token whose packets claim a 64 KiB identifier but stop short.
    add(
        seeds,
        "v1_truncated_packet",
        b"000elocation \nffffidentifier abc\n",
    );
}

fn data_tokens(root: &Path, seeds: &mut Seeds) {
    let mut texts = Vec::new();
    for (file, key) in [
        ("signatures.json", "text"),
        ("signatures.json", "also_accept"),
        ("micro.json", "text"),
        ("negative.json", "text"),
        ("negative.json", "discharge_texts"),
        ("onedata.json", "text"),
        ("damaged.json", "text"),
    ] {
        let mut found = Vec::new();
        strings_under(&json(root, file), key, &mut found);
        texts.extend(
            found
                .into_iter()
                .map(|t| (file.trim_end_matches(".json"), t)),
        );
    }
    let tp = json(root, "third_party.json");
    if let Some(map) = tp["tv2"]["serializations"].as_object() {
        for (name, v) in map {
            if let Some(s) = v.as_str() {
                add(seeds, &format!("third_party.{name}"), s);
            }
        }
    }
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (file, text) in texts {
        let n = counts.entry(file).or_default();
        *n += 1;
        add(seeds, &format!("{file}.{n}"), text);
    }
}

fn caveat_seeds(root: &Path, seeds: &mut Seeds) {
    let forms = [
        "time < 1700000000",
        "time < 0",
        "time < 18446744073709551615",
        "time < 18446744073709551616",
        "time < 007",
        "time < abc",
        "time < infinity",
        "ip = 10.0.0.0/8|192.168.1.7",
        "ip = 172.98.11.23/32",
        "ip = 0.0.0.0/0",
        "ip = 300.1.1.1",
        "ip = 10.0.0.0/33",
        "ip = ::1",
        "ip = 2001:db8::/32",
        "ip = ::0001",
        "asn = 322",
        "asn = 322|1|4294967295",
        "asn = 4294967296",
        "asn = ",
        "geo.country = PL|FR",
        "geo.country != DE",
        "geo.country = pl",
        "geo.region = Asia|EU",
        "geo.region != Europe|NorthAmerica|SouthAmerica|Africa|Antarctica|Oceania",
        "geo.region = Mars",
        "authorization = none",
        "scope = identity_token",
        "service = ozw-onezone",
        "service = opw-*|ozp-p1|opp-*",
        "service = xyz-1",
        "consumer = usr-user-id|grp-group-id",
        "consumer = prv-*|usr-*",
        "consumer = nobody",
        "interface = rest",
        "interface = oneclient",
        "interface = graphsync",
        "interface = soap",
        "api = all/all/*.*.*:*",
        "api = ozw/get/user.*.*|opw/create/space.s1.support:private",
        "api = all/run/*.*.*",
        "data.readonly",
        "data.path = L3NwYWNlMS9maWxlMS50eHQ=|L3NwYWNlMi9kaXIvZmlsZTIudHh0",
        "data.path = L3NwYWNlMS8=",
        "data.path = !!!",
        "data.objectid = 00000000000CDBDA677569642331323323616263",
        "data.objectid = xyz",
        "account = 3735928559",
        "user = alice",
        "",
        "time <",
        "ip =",
        "data.readonly ",
    ];
    for (i, f) in forms.iter().enumerate() {
        add(seeds, &format!("form.{i:02}"), f);
    }
    let mut caveats = Vec::new();
    strings_under(&json(root, "onedata.json"), "caveats", &mut caveats);
    for (i, c) in caveats.iter().enumerate() {
        add(seeds, &format!("tv7.{i:02}"), c);
    }
    add(seeds, "non_utf8", b"time < \xff");
    for i in 0..12 {
        let mut b = vec![b'B'];
        b.extend(pseudo_random(1000 + i, 24 + 16 * i as usize));
        add(seeds, &format!("built.{i:02}"), b);
    }
}

fn base62_seeds(seeds: &mut Seeds, pairs: &[(String, String)]) {
    for (name, text) in [
        ("escape_table", "a0_-/+=z"),
        ("escaped_table", "a000102030405z"),
        ("invalid_escape", "0Y"),
        ("dangling", "abc0"),
        ("invalid_char", "ab-c"),
        (
            "damaged_a",
            "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8",
        ),
        ("unicode", "a00\u{e9}0\u{1f600}"),
        ("empty", ""),
    ] {
        add(seeds, name, text);
    }
    for (name, text) in pairs.iter().filter(|(n, _)| n.ends_with(".v1")).take(3) {
        add(seeds, &format!("{name}.b64"), text);
        add(seeds, &format!("{name}.b62"), base62_escape(text));
    }
}

fn write(dir: &Path, seeds: &Seeds) {
    if dir.exists() {
        fs::remove_dir_all(dir).expect("clear old seeds");
    }
    fs::create_dir_all(dir).expect("corpus dir");
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes).expect("write seed");
    }
    println!("{}: {} seeds", dir.display(), seeds.len());
}

fn main() -> Result<(), macaroon_mint::Error> {
    let root: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let corpus = root.join("fuzz/corpus");

    let mut tokens = Seeds::new();
    let pairs = minted(&mut tokens)?;
    data_tokens(&root, &mut tokens);
    edge_cases(&mut tokens);

    write(&corpus.join("parse_any"), &tokens);
    write(&corpus.join("roundtrip"), &tokens);

    // verify_oracle: the tokens (random mode) and structured scenarios (`S` + bytes).
    let mut verify = tokens.clone();
    for i in 0..24 {
        let mut b = vec![b'S'];
        b.extend(pseudo_random(i, 48 + 24 * i as usize));
        add(&mut verify, &format!("scenario.{i:02}"), b);
    }
    write(&corpus.join("verify_oracle"), &verify);

    let mut caveats = Seeds::new();
    caveat_seeds(&root, &mut caveats);
    write(&corpus.join("caveat_parse"), &caveats);

    let mut b62 = Seeds::new();
    base62_seeds(&mut b62, &pairs);
    write(&corpus.join("base62"), &b62);
    Ok(())
}
