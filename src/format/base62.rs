//! Onedata's "base62" escape of base64url text (SPEC §10.1).
//!
//! `0`→`00`, `_`→`01`, `-`→`02`, `/`→`03`, `+`→`04`, `=`→`05`; every other character is itself,
//! so the result only holds `[A-Za-z0-9]`.

use crate::error::{DecodeError, DecodeErrorKind, Layer};

use super::base64::{char_at, invalid_at};

const ESCAPED: [u8; 6] = [b'0', b'_', b'-', b'/', b'+', b'='];

/// Escapes base64 text into Onedata's alphanumeric form.
///
/// ```
/// assert_eq!(macaroon_mint::base62_escape("a0_-/+=z"), "a000102030405z");
/// ```
pub fn escape(base64: &str) -> String {
    let mut out = Vec::with_capacity(base64.len() + base64.len() / 8);
    for &b in base64.as_bytes() {
        match ESCAPED.iter().position(|&e| e == b) {
            Some(code) => out.extend_from_slice(&[b'0', b'0' + code as u8]),
            None => out.push(b),
        }
    }
    // Only ASCII was replaced, so the bytes are the input's UTF-8 with escapes.
    String::from_utf8(out).unwrap_or_default()
}

/// Reverses [`escape`], stopping at the first defect.
///
/// Offsets in errors are characters of `text`.
///
/// ```
/// use macaroon_mint::{base62_unescape, DecodeErrorKind};
///
/// assert_eq!(base62_unescape("a000102030405z").unwrap(), "a0_-/+=z");
/// let e = base62_unescape("abc0").unwrap_err();
/// assert_eq!((e.kind, e.offset), (DecodeErrorKind::DanglingEscape, 3));
/// ```
pub fn unescape(text: &str) -> Result<String, DecodeError> {
    let mut out = Vec::with_capacity(text.len());
    unescape_into(text.as_bytes(), &mut out)?;
    // Only ASCII is ever pushed.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

pub(crate) fn unescape_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let err = |at: usize, kind| DecodeError::new(Layer::Base62, at, kind);
    let mut iter = text.iter().copied().enumerate();
    while let Some((i, c)) = iter.next() {
        match c {
            b'0' => match iter.next() {
                Some((_, d @ b'0'..=b'5')) => {
                    out.push(ESCAPED.get(usize::from(d - b'0')).copied().unwrap_or(b'0'))
                }
                Some((j, _)) => {
                    return Err(err(
                        i,
                        DecodeErrorKind::InvalidEscape {
                            pair: ['0', char_at(text, j)],
                        },
                    ))
                }
                None => return Err(err(i, DecodeErrorKind::DanglingEscape)),
            },
            c if c.is_ascii_alphanumeric() => out.push(c),
            _ => return Err(err(i, invalid_at(text, i))),
        }
    }
    Ok(())
}

/// Lenient unescape for inspection: everything up to the first defect.
pub(crate) fn unescape_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    // On error `out` holds the prefix decoded before the defect.
    let _ = unescape_into(text, &mut out);
    out
}

/// Index in the escaped `text` of the character that produced unescaped character `index`.
pub(crate) fn escaped_index(text: &[u8], index: usize) -> usize {
    let mut produced = 0usize;
    let mut i = 0usize;
    while i < text.len() {
        if produced == index {
            return i;
        }
        i += if text.get(i) == Some(&b'0') { 2 } else { 1 };
        produced += 1;
    }
    i.min(text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_vectors() {
        assert_eq!(escape("a0_-/+=z"), "a000102030405z");
        let e = unescape("0Y").unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (DecodeErrorKind::InvalidEscape { pair: ['0', 'Y'] }, 0)
        );
        let e = unescape("ab-c").unwrap_err();
        assert_eq!(
            (e.kind, e.offset),
            (DecodeErrorKind::InvalidCharacter { ch: '-' }, 2)
        );
    }

    #[test]
    fn maps_indices_back_through_escapes() {
        // "a00b01" unescapes to "a0b_"
        assert_eq!(escaped_index(b"a00b01", 0), 0);
        assert_eq!(escaped_index(b"a00b01", 1), 1);
        assert_eq!(escaped_index(b"a00b01", 2), 3);
        assert_eq!(escaped_index(b"a00b01", 3), 4);
    }
}

/// Malformed input this decoder meets, through the public entry points: each error names its
/// layer, offset and kind, raw and through the text layers above.
#[cfg(test)]
mod decode_errors {
    use super::*;
    use crate::error::{DecodeErrorKind, Layer};
    use crate::format::testing::*;
    use crate::macaroon::Macaroon;

    #[test]
    fn base62_escape_errors() {
        let text = &tv7_register_oneprovider_text();
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
        let e = unescape("ab09").unwrap_err();
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (
                Layer::Base62,
                2,
                DecodeErrorKind::InvalidEscape { pair: ['0', '9'] }
            ),
            "base62_unescape(ab09)"
        );
        let e = unescape("0").unwrap_err();
        assert_eq!(
            (e.layer, e.offset, e.kind),
            (Layer::Base62, 0, DecodeErrorKind::DanglingEscape),
            "base62_unescape(0)"
        );
    }
}
