//! Lenient-but-exact base64 reading (SPEC §6.3) and canonical URL-safe writing.
//!
//! Reading accepts both alphabets (even mixed), optional padding that must be correct when
//! present, and ASCII whitespace anywhere; it rejects a final group of one character and
//! non-zero trailing bits. Offsets in errors are indices into the text given to the decoder.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::error::{DecodeError, DecodeErrorKind, Layer};

/// URL-safe base64 without padding: the form every format here emits.
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The 6-bit value of a base64 character in either alphabet.
fn sextet(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' | b'-' => Some(62),
        b'/' | b'_' => Some(63),
        _ => None,
    }
}

pub(crate) fn is_skipped_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// The character at byte `at` of `text`, for error messages.
pub(crate) fn char_at(text: &[u8], at: usize) -> char {
    let tail = text.get(at..).unwrap_or_default();
    let len = tail.len().min(4);
    (1..=len)
        .find_map(|n| {
            core::str::from_utf8(tail.get(..n).unwrap_or_default())
                .ok()
                .and_then(|s| s.chars().next())
        })
        .unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// How many bytes `text` decodes to at most (for reserving without trusting the input).
pub(crate) fn decoded_len_bound(text_len: usize) -> usize {
    text_len / 4 * 3 + 3
}

/// Decodes `text`, appending to `out`. Offsets in errors are byte indices into `text`.
pub(crate) fn decode_into(text: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    let err = |at: usize, kind| DecodeError::new(Layer::Base64, at, kind);
    let mut acc: u32 = 0;
    let mut in_group = 0usize; // data characters in the current group
    let mut data_chars = 0usize;
    let mut last_data_at = 0usize;
    let mut padding_at: Option<usize> = None;
    let mut pads = 0usize;
    for (i, &c) in text.iter().enumerate() {
        if is_skipped_whitespace(c) {
            continue;
        }
        if c == b'=' {
            padding_at.get_or_insert(i);
            pads += 1;
            continue;
        }
        let Some(v) = sextet(c) else {
            return Err(err(
                i,
                DecodeErrorKind::InvalidCharacter {
                    ch: char_at(text, i),
                },
            ));
        };
        if let Some(p) = padding_at {
            return Err(err(p, DecodeErrorKind::InvalidPadding));
        }
        acc = (acc << 6) | u32::from(v);
        in_group += 1;
        data_chars += 1;
        last_data_at = i;
        if in_group == 4 {
            let [_, a, b, c] = acc.to_be_bytes();
            out.extend_from_slice(&[a, b, c]);
            acc = 0;
            in_group = 0;
        }
    }
    if let Some(p) = padding_at {
        // Padding, when present, must complete the final group exactly.
        let expected = (4 - data_chars % 4) % 4;
        if pads != expected || expected == 0 {
            return Err(err(p, DecodeErrorKind::InvalidPadding));
        }
    }
    let trailing_ch = || DecodeErrorKind::TrailingBits {
        ch: char_at(text, last_data_at),
    };
    match in_group {
        0 => {}
        1 => return Err(err(last_data_at, DecodeErrorKind::Base64Length)),
        2 => {
            if acc & 0x0f != 0 {
                return Err(err(last_data_at, trailing_ch()));
            }
            out.push((acc >> 4) as u8);
        }
        _ => {
            if acc & 0x03 != 0 {
                return Err(err(last_data_at, trailing_ch()));
            }
            let v = acc >> 2;
            out.extend_from_slice(&[(v >> 8) as u8, v as u8]);
        }
    }
    Ok(())
}

/// Decodes `text` into a new buffer.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(decoded_len_bound(text.len()));
    decode_into(text, &mut out)?;
    Ok(out)
}

/// Lenient decode for inspection: complete groups and a final partial group, trailing bits
/// ignored, stopping at the first character that is not base64 or whitespace.
pub(crate) fn decode_lenient(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(decoded_len_bound(text.len()));
    let mut acc: u32 = 0;
    let mut in_group = 0;
    for &c in text {
        if is_skipped_whitespace(c) {
            continue;
        }
        let Some(v) = sextet(c) else { break };
        acc = (acc << 6) | u32::from(v);
        in_group += 1;
        if in_group == 4 {
            let [_, a, b, c] = acc.to_be_bytes();
            out.extend_from_slice(&[a, b, c]);
            acc = 0;
            in_group = 0;
        }
    }
    match in_group {
        2 => out.push((acc >> 4) as u8),
        3 => {
            let v = acc >> 2;
            out.extend_from_slice(&[(v >> 8) as u8, v as u8]);
        }
        _ => {}
    }
    out
}

/// Index in `text` of the first character of the base64 group that holds decoded byte `byte`.
pub(crate) fn text_index_of_byte(text: &[u8], byte: usize) -> usize {
    let target = byte / 3 * 4;
    let mut data = 0usize;
    for (i, &c) in text.iter().enumerate() {
        if is_skipped_whitespace(c) || c == b'=' {
            continue;
        }
        if data == target {
            return i;
        }
        data += 1;
    }
    text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_both_alphabets_mixed_padded_and_wrapped() {
        assert_eq!(decode(b"-_+/").unwrap(), vec![0xfb, 0xff, 0xbf]);
        assert_eq!(decode(b"YQ==").unwrap(), b"a");
        assert_eq!(decode(b"YQ").unwrap(), b"a");
        assert_eq!(decode(b"Y W\nJ j").unwrap(), b"abc");
    }

    #[test]
    fn rejects_bad_padding_length_and_trailing_bits() {
        let kind = |t: &[u8]| decode(t).unwrap_err();
        assert_eq!(kind(b"YQ=").kind, DecodeErrorKind::InvalidPadding);
        assert_eq!(kind(b"YWJj=").kind, DecodeErrorKind::InvalidPadding);
        assert_eq!(kind(b"Y=Q=").offset, 1);
        let e = kind(b"YWJjZ");
        assert_eq!((e.kind, e.offset), (DecodeErrorKind::Base64Length, 4));
        let e = kind(b"YR");
        assert_eq!(
            (e.kind, e.offset),
            (DecodeErrorKind::TrailingBits { ch: 'R' }, 1)
        );
        let e = kind(b"YW*");
        assert_eq!(
            (e.kind, e.offset),
            (DecodeErrorKind::InvalidCharacter { ch: '*' }, 2)
        );
    }

    #[test]
    fn maps_decoded_bytes_to_group_starts() {
        assert_eq!(text_index_of_byte(b"AAAA AAAA", 3), 5);
        assert_eq!(text_index_of_byte(b"AAAAAAAA", 5), 4);
    }
}
