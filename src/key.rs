//! Root keys: the secret behind a macaroon's signature chain.

use core::fmt;

use zeroize::Zeroizing;

use crate::crypto;
use crate::hmac_sha256::KeyedHmac;

/// A root key (or third-party caveat key), stored only in derived form.
///
/// [`RootKey::new`] applies the derivation every peer library uses
/// (`HMAC-SHA256(key = "macaroons-key-generator", data = secret)`, SPEC §3.1), so a secret of any
/// length gives the same signatures as libmacaroons, pymacaroons and Onedata.
/// [`RootKey::from_derived`] takes an already derived 32-byte key, like libmacaroons' `*_raw`
/// calls. The derived key and the keyed HMAC state computed from it once (which is as good as the
/// key) are zeroized on drop and never printed.
///
/// ```
/// use macaroon_mint::RootKey;
///
/// let key = RootKey::new(b"this is our super secret key; only we should know it");
/// assert_eq!(format!("{key:?}"), "RootKey(<redacted>)");
/// ```
pub struct RootKey {
    derived: Zeroizing<[u8; 32]>,
    keyed: KeyedHmac,
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
        Self::from_derived_key(crypto::derive_key(secret.as_ref()))
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
        Self::from_derived_key(Zeroizing::new(derived))
    }

    fn from_derived_key(derived: Zeroizing<[u8; 32]>) -> Self {
        let keyed = KeyedHmac::new(&derived);
        RootKey { derived, keyed }
    }

    pub(crate) fn derived(&self) -> &[u8; 32] {
        &self.derived
    }

    /// `s0 = HMAC(Kd, identifier)`, from the keyed state computed once.
    pub(crate) fn sign_identifier(&self, identifier: &[u8]) -> [u8; 32] {
        self.keyed.mac(identifier)
    }
}

// No `Drop` here: both fields wipe themselves, the derived key as `Zeroizing` and the keyed
// state (as good as the key) as a `KeyedHmac`, which zeroizes on drop.

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}
