//! Explicit, configurable bounds on untrusted input (SPEC §12).

/// Bounds applied to untrusted input while decoding and verifying.
///
/// Every limit is checked before memory is allocated from a length the input declares, and each
/// violation is its own [`LimitError`](crate::LimitError) naming the limit and the size found.
/// The defaults suit tokens sent in HTTP headers (Onedata's own cap is 1 MiB).
///
/// ```
/// use macaroon_mint::Limits;
///
/// let strict = Limits { max_caveats: 32, max_depth: 4, ..Limits::default() };
/// assert_eq!(strict.max_token_bytes, 1 << 20);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest token accepted, measured on the input as given (before trimming or decoding).
    /// Default 1,048,576 (1 MiB).
    pub max_token_bytes: usize,
    /// Largest location, identifier, caveat id, vid or caveat location. Default 65,535.
    pub max_field_bytes: usize,
    /// Most caveats (first- and third-party) in one macaroon. Default 1,024.
    pub max_caveats: usize,
    /// Most discharges passed to one verification. Default 64.
    pub max_discharges: usize,
    /// Deepest discharge nesting; the root is depth 0. Default 16.
    pub max_depth: usize,
}

impl Limits {
    /// The default limits, usable in `const` contexts.
    pub const DEFAULT: Limits = Limits {
        max_token_bytes: 1 << 20,
        max_field_bytes: 65_535,
        max_caveats: 1_024,
        max_discharges: 64,
        max_depth: 16,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}
