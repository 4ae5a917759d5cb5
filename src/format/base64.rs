//! Lenient-but-exact base64 reading (SPEC §6.3) and canonical URL-safe writing.
//!
//! Reading accepts both alphabets (even mixed), optional padding that must be correct when
//! present, and ASCII whitespace anywhere; it rejects a final group of one character and
//! non-zero trailing bits. Offsets in errors are indices into the text given to the decoder.

use crate::error::{DecodeError, DecodeErrorKind, Layer};

/// URL-safe base64 without padding: the form every format here emits.
///
/// Through `base64-simd` (SIMD where the CPU has it): the benchmark showed the `base64` crate's
/// scalar engine costing a tenth of a mint.
pub(crate) fn encode_url(bytes: &[u8]) -> String {
    base64_simd::URL_SAFE_NO_PAD.encode_to_string(bytes)
}

const INVALID: u8 = 0xff;
const SKIP: u8 = 0xfe;
const PAD: u8 = 0xfd;

/// Each byte's 6-bit value in either alphabet, or a marker for whitespace, padding and invalid.
// Evaluated at compile time: an out-of-bounds index would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const TABLE: [u8; 256] = {
    let mut t = [INVALID; 256];
    let mut i = 0u8;
    while i < 26 {
        t[(b'A' + i) as usize] = i;
        t[(b'a' + i) as usize] = 26 + i;
        i += 1;
    }
    let mut d = 0u8;
    while d < 10 {
        t[(b'0' + d) as usize] = 52 + d;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t[b' ' as usize] = SKIP;
    t[b'\t' as usize] = SKIP;
    t[b'\r' as usize] = SKIP;
    t[b'\n' as usize] = SKIP;
    t[b'=' as usize] = PAD;
    t
};

/// Set in a [`GROUP`] entry for a byte that is not a data character.
const NOT_DATA: u32 = 0x8000_0000;

/// For each position in a group of four, every byte's 6-bit value already shifted into place (or
/// [`NOT_DATA`]): a group decodes as the OR of four independent lookups.
// Evaluated at compile time: an out-of-bounds index would fail the build, not panic.
#[allow(clippy::indexing_slicing)]
const GROUP: [[u32; 256]; 4] = {
    let mut g = [[NOT_DATA; 256]; 4];
    let mut position = 0;
    while position < 4 {
        let mut c = 0;
        while c < 256 {
            let v = TABLE[c];
            if v < 64 {
                g[position][c] = (v as u32) << (18 - 6 * position);
            }
            c += 1;
        }
        position += 1;
    }
    g
};

/// Character `c`'s bits at `position` in its group, or [`NOT_DATA`] (a `u8` always indexes the
/// table, so the check compiles away).
fn bits(position: usize, c: u8) -> u32 {
    GROUP
        .get(position)
        .and_then(|table| table.get(usize::from(c)))
        .copied()
        .unwrap_or(NOT_DATA)
}

/// The 6-bit value of a base64 character in either alphabet.
fn sextet(c: u8) -> Option<u8> {
    let v = TABLE.get(usize::from(c)).copied().unwrap_or(INVALID);
    (v < 64).then_some(v)
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

/// The error for a character not allowed at byte `at`: the character, or the raw byte when the
/// text is not valid UTF-8 there.
pub(crate) fn invalid_at(text: &[u8], at: usize) -> DecodeErrorKind {
    match char_at(text, at) {
        char::REPLACEMENT_CHARACTER
            if !text
                .get(at..)
                .unwrap_or_default()
                .starts_with("\u{fffd}".as_bytes()) =>
        {
            DecodeErrorKind::InvalidByte {
                byte: text.get(at).copied().unwrap_or(0),
            }
        }
        ch => DecodeErrorKind::InvalidCharacter { ch },
    }
}

/// How many bytes `text` decodes to at most (for reserving without trusting the input).
pub(crate) fn decoded_len_bound(text_len: usize) -> usize {
    text_len / 4 * 3 + 3
}

/// Decodes the base64 text held in `buf` in place, returning the decoded length.
///
/// Decoded bytes are written behind the read position (three for every four characters read),
/// so the text still to be read, and any character an error names, is never overwritten.
/// Offsets in errors are byte indices into `buf`.
pub(crate) fn decode_in_place(buf: &mut [u8]) -> Result<usize, DecodeError> {
    // As in `decode`: canonical text through `base64-simd`, checked first so that a failure
    // leaves the buffer untouched for the exact decoder and its error offsets.
    let fast = base64_simd::URL_SAFE_NO_PAD;
    if fast.check(buf).is_ok() {
        if let Ok(decoded) = fast.decode_inplace(buf) {
            return Ok(decoded.len());
        }
    }
    decode_exact_in_place(buf)
}

/// The lenient-but-exact decoder, in place (see [`decode_in_place`]).
fn decode_exact_in_place(buf: &mut [u8]) -> Result<usize, DecodeError> {
    let err = |at: usize, kind| DecodeError::new(Layer::Base64, at, kind);
    let mut write = 0usize;
    let mut read = 0usize;
    // Fast path: two groups (eight data characters, six bytes) at a time, each character's bits
    // placed by its own table so the lookups are independent; anything else (whitespace,
    // padding, an invalid character) sets a flag bit and leaves the rest to the slow path. The
    // eight bytes written (six decoded, two scratch) end before the next unread character.
    while let Some(&[a, b, c, d, e, f, g, h]) = buf.get(read..read + 8) {
        let hi = bits(0, a) | bits(1, b) | bits(2, c) | bits(3, d);
        let lo = bits(0, e) | bits(1, f) | bits(2, g) | bits(3, h);
        if (hi | lo) & NOT_DATA != 0 {
            break;
        }
        let six = (u64::from(hi) << 40) | (u64::from(lo) << 16);
        if let Some(dst) = buf.get_mut(write..write + 8) {
            dst.copy_from_slice(&six.to_be_bytes());
        }
        write += 6;
        read += 8;
    }
    // Slow path: whitespace, padding, the final partial group and errors.
    let mut acc: u32 = 0;
    let mut in_group = 0usize;
    let mut data_chars = 0usize;
    let mut last_data_at = 0usize;
    let mut padding_at: Option<usize> = None;
    let mut pads = 0usize;
    while let Some(&c) = buf.get(read) {
        let i = read;
        read += 1;
        match TABLE.get(usize::from(c)).copied().unwrap_or(INVALID) {
            SKIP => continue,
            PAD => {
                padding_at.get_or_insert(i);
                pads += 1;
                continue;
            }
            INVALID => return Err(err(i, invalid_at(buf, i))),
            v => {
                if let Some(p) = padding_at {
                    return Err(err(p, DecodeErrorKind::InvalidPadding));
                }
                acc = (acc << 6) | u32::from(v);
                in_group += 1;
                data_chars += 1;
                last_data_at = i;
                if in_group == 4 {
                    let [_, x, y, z] = acc.to_be_bytes();
                    if let Some(dst) = buf.get_mut(write..write + 3) {
                        dst.copy_from_slice(&[x, y, z]);
                    }
                    write += 3;
                    acc = 0;
                    in_group = 0;
                }
            }
        }
    }
    if let Some(p) = padding_at {
        // Padding, when present, must complete the final group exactly.
        let expected = (4 - data_chars % 4) % 4;
        if pads != expected || expected == 0 {
            return Err(err(p, DecodeErrorKind::InvalidPadding));
        }
    }
    let tail: &[u8] = match in_group {
        0 => &[],
        1 => return Err(err(last_data_at, DecodeErrorKind::Base64Length)),
        2 if acc & 0x0f != 0 => {
            let ch = char_at(buf, last_data_at);
            return Err(err(last_data_at, DecodeErrorKind::TrailingBits { ch }));
        }
        3 if acc & 0x03 != 0 => {
            let ch = char_at(buf, last_data_at);
            return Err(err(last_data_at, DecodeErrorKind::TrailingBits { ch }));
        }
        2 => &[(acc >> 4) as u8],
        _ => &[(acc >> 10) as u8, (acc >> 2) as u8],
    };
    if let Some(dst) = buf.get_mut(write..write + tail.len()) {
        dst.copy_from_slice(tail);
    }
    Ok(write + tail.len())
}

/// Decodes `text` into a new buffer.
pub(crate) fn decode(text: &[u8]) -> Result<Vec<u8>, DecodeError> {
    // Canonical text (URL-safe, unpadded, no whitespace: what every format here emits) decodes
    // through `base64-simd`, whose strict mode accepts exactly that and decodes it to the same
    // bytes; anything else, and every error, takes the lenient-but-exact decoder below.
    if let Ok(bytes) = base64_simd::URL_SAFE_NO_PAD.decode_to_vec(text) {
        return Ok(bytes);
    }
    let mut out = text.to_vec();
    let len = decode_in_place(&mut out)?;
    out.truncate(len);
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
    fn round_trips_every_length_alphabet_padding_and_whitespace() {
        use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
        use base64::Engine;
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for len in 0..200usize {
            let data: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            for text in [URL_SAFE_NO_PAD.encode(&data), STANDARD.encode(&data)] {
                assert_eq!(decode(text.as_bytes()).unwrap(), data, "{text}");
                // Whitespace anywhere, including inside the eight-character fast path.
                let mut spaced = text.clone().into_bytes();
                let at = (next() as usize) % (spaced.len() + 1);
                spaced.insert(at, b"\n \t\r"[(next() % 4) as usize]);
                assert_eq!(decode(&spaced).unwrap(), data, "{spaced:?}");
                // An invalid character anywhere is reported exactly where it is.
                let mut broken = text.clone().into_bytes();
                let at = (next() as usize) % (broken.len() + 1);
                broken.insert(at, b'*');
                let e = decode(&broken).unwrap_err();
                assert_eq!(
                    (e.kind, e.offset),
                    (DecodeErrorKind::InvalidCharacter { ch: '*' }, at),
                    "{broken:?}"
                );
            }
        }
    }

    #[test]
    fn maps_decoded_bytes_to_group_starts() {
        assert_eq!(text_index_of_byte(b"AAAA AAAA", 3), 5);
        assert_eq!(text_index_of_byte(b"AAAAAAAA", 5), 4);
    }
}

#[cfg(test)]
mod fast_path_tests {
    use super::*;

    /// The SIMD fast path and the exact decoder agree on every canonical text, and the fast path
    /// refuses everything the exact decoder refuses (non-zero trailing bits, a lone final
    /// character), so the exact decoder names the error.
    #[test]
    fn the_fast_path_decodes_as_the_exact_decoder() {
        let bytes: Vec<u8> = (0..400u32).map(|i| (i * 197 + 11) as u8).collect();
        for len in 0..=bytes.len() {
            let text = encode_url(&bytes[..len]);
            let fast = base64_simd::URL_SAFE_NO_PAD
                .decode_to_vec(text.as_bytes())
                .unwrap();
            let mut exact = text.clone().into_bytes();
            let n = decode_exact_in_place(&mut exact).unwrap();
            assert_eq!(fast, &exact[..n], "{len} bytes");
            assert_eq!(
                decode(text.as_bytes()).unwrap(),
                &bytes[..len],
                "{len} bytes"
            );
            let mut in_place = text.clone().into_bytes();
            let n = decode_in_place(&mut in_place).unwrap();
            assert_eq!(&in_place[..n], &bytes[..len], "{len} bytes in place");
        }
        for bad in ["QR", "QUJ", "A", "QUJDR", "QUJD="] {
            assert!(
                base64_simd::URL_SAFE_NO_PAD.check(bad.as_bytes()).is_err(),
                "{bad}: the fast path must refuse it"
            );
            assert!(decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }
}

/// Malformed input this decoder meets, through the public entry points: each error names its
/// layer, offset and kind, raw and through the text layers above.
#[cfg(test)]
mod decode_errors {
    use crate::error::{DecodeErrorKind, Layer};
    use crate::format::testing::*;
    use crate::macaroon::Macaroon;

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
}
