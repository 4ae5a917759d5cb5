//! Small helpers shared by the modules.

use core::fmt;

/// Displays bytes as text: valid UTF-8 is shown with control characters escaped, anything else
/// as a hex string prefixed by `0x`.
pub(crate) struct Printable<'a>(pub &'a [u8]);

impl fmt::Display for Printable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match core::str::from_utf8(self.0) {
            Ok(s) => {
                for c in s.chars() {
                    if c.is_control() || c == '"' || c == '\\' {
                        write!(f, "{}", c.escape_default())?;
                    } else {
                        f.write_fmt(format_args!("{c}"))?;
                    }
                }
                Ok(())
            }
            Err(_) => {
                f.write_str("0x")?;
                for b in self.0 {
                    write!(f, "{b:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// Whether `value` displays exactly as `text`, compared while it is written: no allocation
/// (the caveat parser's canonical-form checks are on the verifier's hot path).
#[cfg(feature = "caveats")]
pub(crate) fn displays_as(value: &impl fmt::Display, text: &str) -> bool {
    /// The text still to match; `None` for good once a piece did not match (so a `Display`
    /// that ignored the error it was given could not turn a mismatch into a match).
    struct Compare<'t> {
        rest: Option<&'t [u8]>,
    }
    impl fmt::Write for Compare<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.rest = self.rest.and_then(|rest| rest.strip_prefix(s.as_bytes()));
            self.rest.map(drop).ok_or(fmt::Error)
        }
    }
    let mut compare = Compare {
        rest: Some(text.as_bytes()),
    };
    fmt::write(&mut compare, format_args!("{value}")).is_ok() && compare.rest == Some(&[][..])
}

/// Lowercase hex of `bytes`.
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(hex_digit(b >> 4));
        out.push(hex_digit(b & 0x0f));
    }
    out
}

/// The lowercase hex digit for the low four bits of `nibble`.
pub(crate) fn hex_digit(nibble: u8) -> char {
    char::from_digit(u32::from(nibble & 0x0f), 16).unwrap_or('0')
}

/// Why text is not a canonical decimal number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecimalError {
    NotDigits,
    LeadingZeros,
    OutOfRange,
}

/// A canonical decimal number (digits only, no sign, no leading zero but `0` itself) of at most
/// `max`: the one rule for `time < N` and every number in the caveat language.
pub(crate) fn decimal(text: &str, max: u64) -> Result<u64, DecimalError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotDigits);
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(DecimalError::LeadingZeros);
    }
    match text.parse::<u64>() {
        Ok(n) if n <= max => Ok(n),
        _ => Err(DecimalError::OutOfRange),
    }
}

#[cfg(all(test, feature = "caveats"))]
mod tests {
    use super::displays_as;

    #[test]
    fn displays_as_compares_the_whole_text() {
        let v4: core::net::IpAddr = "10.0.0.1".parse().unwrap();
        assert!(displays_as(&v4, "10.0.0.1"));
        for other in ["10.0.0.10", "10.0.0.", "", "010.0.0.1", "10.0.0.1 "] {
            assert!(!displays_as(&v4, other), "{other:?}");
        }
        let v6: core::net::IpAddr = "2001:db8::1".parse().unwrap();
        assert!(displays_as(&v6, "2001:db8::1"));
        assert!(!displays_as(&v6, "2001:0db8::1"));
        assert!(!displays_as(&v6, "2001:DB8::1"));

        // A Display that goes on after an error it was given: a mismatch stays one.
        struct GoesOn;
        impl core::fmt::Display for GoesOn {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                let _ = f.write_str("ab");
                let _ = f.write_str("cd");
                Ok(())
            }
        }
        assert!(displays_as(&GoesOn, "abcd"));
        assert!(!displays_as(&GoesOn, "cd"));
    }
}
