//! `parse_any`: arbitrary bytes through format detection, every decoder, the lenient inspector
//! and the Onedata readers. Nothing may panic; every error offset lies inside the input; the
//! entry points that share the detector agree with each other; tighter limits only ever turn a
//! success into a `LimitError`, never into a different macaroon.

use macaroon_mint::onedata::{OnedataError, OnedataIdentifier, OnedataToken};
use macaroon_mint::{Encoding, Error, Inspection, LimitError, Limits, Macaroon, Parsed};

use crate::check_error;

/// The `parse_any` oracle.
pub fn parse_any(data: &[u8]) {
    let detected = Parsed::from_bytes(data, &Limits::default());
    if let Err(e) = &detected {
        check_error(e, data.len(), "from_bytes");
    }
    // Sniffing from the first characters names the encoding a full parse finds.
    if let Ok(p) = &detected {
        assert_eq!(
            Encoding::sniff(data).as_ref(),
            Some(&p.encoding),
            "Encoding::sniff disagrees with detection"
        );
    }

    // The inspector runs the same strict parse, and recovers something only on failure.
    let inspection = Inspection::of_bytes(data);
    assert_eq!(
        inspection.parsed, detected,
        "Inspection::of_bytes disagrees with Parsed::from_bytes"
    );
    match (&inspection.parsed, &inspection.recovered) {
        (Ok(_), Some(_)) => panic!("inspect recovered fields from a valid token"),
        (Err(Error::Limit(LimitError::TokenTooLarge { .. })), Some(_)) => {
            panic!("inspect walked an oversized token")
        }
        (_, Some(r)) => {
            // Everything recovered comes out of the input: never more bytes than it had.
            assert!(
                r.decoded.len() <= data.len(),
                "recovered more bytes than given"
            );
            let _ = format!("{r:?}");
        }
        _ => {}
    }

    // The JSON report (inspect --json, the service's inspector) reads anything, with every
    // Onedata reading forced on, and agrees with the strict parse.
    let report = macaroon_mint::report::inspect(data, true);
    assert_eq!(
        report.error().is_some(),
        detected.is_err(),
        "report::inspect disagrees with Parsed::from_bytes"
    );
    assert!(report.json.is_object(), "the report is not a JSON object");
    assert_eq!(
        report.json.get("error").is_some(),
        detected.is_err(),
        "the report's JSON names no error for damaged input, or one for a valid token"
    );

    assert_eq!(
        Macaroon::parse_bytes(data),
        detected.clone().map(|p| p.macaroon),
        "Macaroon::parse_bytes disagrees with Parsed::from_bytes"
    );

    if let Ok(text) = core::str::from_utf8(data) {
        // Text reads as bytes do, except raw v1 packets (four hex digits, then a `location ` or
        // `identifier ` key), which only the byte entry points take.
        let as_text = Parsed::from_text(text, &Limits::default());
        if let Err(e) = &as_text {
            check_error(e, data.len(), "from_text");
        }
        if matches!(detected, Ok(Parsed { encoding: Encoding::V1Binary, .. })) || raw_v1(data) {
            assert!(
                raw_v1(data),
                "raw v1 found in input that does not start like packets"
            );
        } else {
            assert_eq!(
                as_text, detected,
                "Parsed::from_text disagrees with Parsed::from_bytes"
            );
        }
        assert_eq!(
            Macaroon::parse(text),
            as_text.clone().map(|p| p.macaroon),
            "Macaroon::parse disagrees with Parsed::from_text"
        );
        assert_eq!(
            Inspection::of_text(text).parsed,
            as_text,
            "Inspection::of_text disagrees with Parsed::from_text"
        );
        onedata_token(text, &as_text);
    }

    match OnedataIdentifier::parse_bytes(data) {
        Ok(id) => {
            // Printing and re-reading is stable (the `ssp` parameters are normalised).
            let printed = id.to_string();
            let again = OnedataIdentifier::parse(&printed).unwrap_or_else(|e| {
                panic!("identifier {id:?} prints as {printed:?}, which fails: {e}")
            });
            assert_eq!(again, id, "identifier print/parse is not stable");
        }
        Err(e) => {
            let _ = e.to_string();
            assert!(
                e.offset <= data.len(),
                "identifier error offset {e:?} outside input"
            );
        }
    }

    tight_limits(data, &detected);
}

fn onedata_token(text: &str, detected: &Result<macaroon_mint::Parsed, Error>) {
    match OnedataToken::parse(text) {
        Ok(token) => {
            let Ok(parsed) = detected else {
                panic!("OnedataToken parsed what Macaroon::parse rejects")
            };
            assert!(matches!(parsed.encoding, Encoding::Onedata { .. }));
            assert_eq!(token.macaroon(), &parsed.macaroon);
            assert_eq!(
                token.identifier(),
                &OnedataIdentifier::parse_bytes(parsed.macaroon.identifier())
                    .expect("identifier parsed once")
            );
        }
        Err(OnedataError::Macaroon(e)) => {
            check_error(&e, text.len(), "OnedataToken::parse");
            assert_eq!(
                detected.as_ref().err(),
                Some(&e),
                "OnedataToken error differs"
            );
        }
        Err(OnedataError::Identifier(e)) => {
            let id_len = detected
                .as_ref()
                .map_or(0, |p| p.macaroon.identifier().len());
            assert!(
                e.offset <= id_len,
                "identifier error offset {e:?} outside it"
            );
        }
        Err(other) => {
            let _ = other.to_string();
        }
    }
}

/// Limits picked from the input itself, so the fuzzer explores both sides of each bound.
fn tight_limits(data: &[u8], detected: &Result<macaroon_mint::Parsed, Error>) {
    let pick = |i: usize, scale: usize| data.get(i).map_or(1, |&b| usize::from(b) * scale);
    let limits = Limits {
        max_token_bytes: pick(0, 8),
        max_field_bytes: pick(1, 1),
        max_caveats: pick(2, 1) % 8,
        ..Limits::default()
    };
    match Parsed::from_bytes(data, &limits) {
        Ok(p) => {
            assert_eq!(Ok(&p), detected.as_ref(), "tight limits changed the result");
            let m = &p.macaroon;
            assert!(data.len() <= limits.max_token_bytes);
            assert!(
                m.caveats().len() <= limits.max_caveats,
                "max_caveats not enforced"
            );
            let mut fields = vec![m.location(), m.identifier()];
            for c in m.caveats() {
                fields.extend([c.id(), c.location()]);
                fields.extend(c.verification_id());
            }
            for f in fields {
                assert!(
                    f.len() <= limits.max_field_bytes,
                    "max_field_bytes not enforced"
                );
            }
        }
        Err(e) => {
            check_error(&e, data.len(), "from_bytes (tight limits)");
            // A limit can only turn success into a LimitError; a malformed input stays so.
            if detected.is_ok() {
                assert!(matches!(e, Error::Limit(_)), "tight limits gave {e:?}");
            }
        }
    }
}

/// Whether `data` starts like raw v1 packets: four hex digits, then a `location ` or
/// `identifier ` key (the rule the byte entry points apply, written out independently).
fn raw_v1(data: &[u8]) -> bool {
    data.len() >= 4
        && data[..4].iter().all(u8::is_ascii_hexdigit)
        && (data[4..].starts_with(b"location ") || data[4..].starts_with(b"identifier "))
}
