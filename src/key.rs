//! Root keys: the secret behind a macaroon's signature chain.

use core::fmt;

use zeroize::Zeroizing;

use crate::crypto;

/// A root key (or third-party caveat key), stored only in derived form.
///
/// [`RootKey::new`] applies the derivation every peer library uses
/// (`HMAC-SHA256(key = "macaroons-key-generator", data = secret)`, SPEC §3.1), so a secret of any
/// length gives the same signatures as libmacaroons, pymacaroons and Onedata.
/// [`RootKey::from_derived`] takes an already derived 32-byte key, like libmacaroons' `*_raw`
/// calls. The derived key is zeroized on drop and never printed. (No keyed HMAC state is cached:
/// `hmac` 0.12 cannot zeroize it, and it is as good as the key.)
///
/// ```
/// use macaroon_mint::RootKey;
///
/// let key = RootKey::new(b"this is our super secret key; only we should know it");
/// assert_eq!(format!("{key:?}"), "RootKey(<redacted>)");
/// ```
pub struct RootKey {
    derived: Zeroizing<[u8; 32]>,
}

impl RootKey {
    /// Derives a root key from secret bytes of any length (even empty).
    ///
    /// ```
    /// use macaroon_mint::RootKey;
    /// let key = RootKey::new("correct horse battery staple");
    /// # let _ = key;
    /// ```
    pub fn new(secret: impl AsRef<[u8]>) -> Self {
        RootKey {
            derived: crypto::derive_key(secret.as_ref()),
        }
    }

    /// Uses 32 bytes as the derived key directly, without the derivation step.
    ///
    /// Only for interop with APIs that hand out derived keys (libmacaroons' `*_raw` functions, the
    /// `macaroon` crate's `MacaroonKey::from([u8; 32])`).
    ///
    /// ```
    /// use macaroon_mint::RootKey;
    /// let key = RootKey::from_derived([7u8; 32]);
    /// # let _ = key;
    /// ```
    pub fn from_derived(derived: [u8; 32]) -> Self {
        RootKey {
            derived: Zeroizing::new(derived),
        }
    }

    pub(crate) fn derived(&self) -> &[u8; 32] {
        &self.derived
    }

    /// `s0 = HMAC(Kd, identifier)`.
    pub(crate) fn sign_identifier(&self, identifier: &[u8]) -> [u8; 32] {
        crypto::hmac(&self.derived, identifier)
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}
