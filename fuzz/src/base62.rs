//! `base62`: Onedata's escape and unescape are inverse on their domain; unescaping arbitrary text
//! never panics and reports the first defect at an offset inside the text.

use macaroon_mint::{base62_escape, base62_unescape, DecodeErrorKind, Layer};

/// The characters of URL-safe and standard base64 text, padding included: the escape's domain.
const DOMAIN: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=";

/// The `base62` target: the input as text, and the input mapped into the escape's domain.
pub fn base62(data: &[u8]) {
    if let Ok(text) = core::str::from_utf8(data) {
        unescape_any(text);
        escape_any(text);
    }
    let in_domain: String = data
        .iter()
        .map(|&b| char::from(DOMAIN[usize::from(b) % DOMAIN.len()]))
        .collect();
    escape_any(&in_domain);
}

/// Unescape of arbitrary text: Ok only for pure escapes of something, errors in range.
pub fn unescape_any(text: &str) {
    match base62_unescape(text) {
        Ok(plain) => {
            assert!(
                plain.bytes().all(|b| DOMAIN.contains(&b)),
                "unescape produced {plain:?}"
            );
            // Unescaping is injective: escaping the result gives back exactly the input.
            assert_eq!(base62_escape(&plain), text, "escape(unescape(t)) != t");
        }
        Err(e) => {
            let _ = e.to_string();
            assert_eq!(e.layer, Layer::Base62);
            assert!(
                e.offset < text.len(),
                "defect at {} of {} bytes",
                e.offset,
                text.len()
            );
            let at = text.as_bytes()[e.offset];
            match e.kind {
                DecodeErrorKind::InvalidEscape { pair } => {
                    assert_eq!(at, b'0');
                    assert_eq!(pair[0], '0');
                }
                DecodeErrorKind::DanglingEscape => {
                    assert_eq!((at, e.offset + 1), (b'0', text.len()));
                }
                DecodeErrorKind::InvalidCharacter { ch } => {
                    assert!(!ch.is_ascii_alphanumeric(), "{ch:?} rejected");
                    assert!(text.is_char_boundary(e.offset));
                    assert!(
                        text[e.offset..].starts_with(ch),
                        "{ch:?} is not at {}",
                        e.offset
                    );
                }
                ref other => panic!("unexpected base62 error kind {other:?}"),
            }
            // Everything before the defect is valid: it unescapes on its own.
            let prefix = &text[..e.offset];
            assert!(
                base62_unescape(prefix).is_ok(),
                "defect before offset {}",
                e.offset
            );
        }
    }
}

/// Escape of arbitrary text: alphanumeric output on the domain, and unescape inverts it.
pub fn escape_any(text: &str) {
    let escaped = base62_escape(text);
    let in_domain = text.bytes().all(|b| DOMAIN.contains(&b));
    match base62_unescape(&escaped) {
        Ok(back) => {
            assert!(in_domain, "unescape accepted the escape of {text:?}");
            assert_eq!(back, text, "unescape(escape(t)) != t");
        }
        Err(e) => assert!(
            !in_domain,
            "escape of domain text {text:?} does not unescape: {e}"
        ),
    }
    if in_domain {
        assert!(
            escaped.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{escaped:?}"
        );
    }
}
