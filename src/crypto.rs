//! The HMAC-SHA256 chain, third-party caveat encryption and discharge binding (SPEC §2–§4).

use crypto_secretbox::aead::{AeadInPlace, KeyInit};
use crypto_secretbox::XSalsa20Poly1305;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::format::CaveatRef;
use crate::hmac_sha256::{self, KeyedHmac};

/// The HMAC key used to derive every root key: `macaroons-key-generator`. Its pads are
/// precomputed in `hmac_sha256`; this text is what a test recomputes them from.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const KEY_GENERATOR: &[u8] = b"macaroons-key-generator";
/// Length of a signature and of every derived key.
pub const SIGNATURE_LEN: usize = 32;
/// Length of the nonce that starts a third-party caveat's verification id.
pub const NONCE_LEN: usize = 24;
/// Length of a verification id from every known minter: nonce, tag and encrypted key.
pub const VID_LEN: usize = NONCE_LEN + 16 + SIGNATURE_LEN;

/// `HMAC(key, msg)`.
pub(crate) fn hmac(key: &[u8; 32], msg: &[u8]) -> [u8; 32] {
    KeyedHmac::new(key).mac(msg)
}

/// `HMAC(GEN, secret)`: the derivation every public API applies to root and caveat keys (§3.1).
pub(crate) fn derive_key(secret: &[u8]) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(hmac_sha256::derive(secret))
}

/// One link of a signature chain (SPEC §2): `HMAC(sig, predicate)` for a first-party caveat,
/// `H2(sig, vid, id)` for a third-party one. The only fold: minting, attenuating, `is_signed_by`
/// and every verification path (a parsed macaroon, a discharge, a token walked straight from its
/// decoded bytes) go through it.
pub(crate) fn fold(signature: &[u8; 32], caveat: CaveatRef<'_>) -> [u8; 32] {
    match caveat.vid {
        None => hmac(signature, caveat.id),
        Some(vid) => hmac2(signature, vid, caveat.id),
    }
}

/// `H2(k, a, b) = HMAC(k, HMAC(k, a) ‖ HMAC(k, b))`, keying once for the three HMACs.
pub(crate) fn hmac2(key: &[u8; 32], a: &[u8], b: &[u8]) -> [u8; 32] {
    KeyedHmac::new(key).mac2(a, b)
}

/// Binds a discharge signature to the root signature (§4).
pub(crate) fn bind(root: &[u8; 32], discharge: &[u8; 32]) -> [u8; 32] {
    hmac2(&[0u8; 32], root, discharge)
}

/// Encrypts the derived caveat key under the running signature: `nonce ‖ tag ‖ ciphertext`.
pub(crate) fn seal_caveat_key(
    signature: &[u8; 32],
    nonce: &[u8; NONCE_LEN],
    caveat_key: &[u8; 32],
) -> [u8; VID_LEN] {
    let cipher = XSalsa20Poly1305::new(signature.into());
    let mut buf = Zeroizing::new(*caveat_key);
    let tag = cipher
        .encrypt_in_place_detached(nonce.into(), b"", buf.as_mut_slice())
        .unwrap_or_else(|_| unreachable!("secretbox encrypts 32 bytes"));
    let mut vid = [0u8; VID_LEN];
    vid[..NONCE_LEN].copy_from_slice(nonce);
    vid[NONCE_LEN..NONCE_LEN + 16].copy_from_slice(&tag);
    vid[NONCE_LEN + 16..].copy_from_slice(buf.as_slice());
    vid
}

/// Recovers the caveat key from a 72-byte vid, or `None` if it does not authenticate.
pub(crate) fn open_caveat_key(signature: &[u8; 32], vid: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let (nonce, rest) = vid.split_first_chunk::<NONCE_LEN>()?;
    let (tag, ciphertext) = rest.split_first_chunk::<16>()?;
    let ciphertext: &[u8; 32] = ciphertext.try_into().ok()?;
    let cipher = XSalsa20Poly1305::new(signature.into());
    let mut buf = Zeroizing::new(*ciphertext);
    cipher
        .decrypt_in_place_detached(nonce.into(), b"", buf.as_mut_slice(), tag.into())
        .ok()?;
    Some(buf)
}

/// Constant-time equality of two signatures.
pub(crate) fn signatures_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

/// 24 bytes from the operating system's CSPRNG.
pub(crate) fn random_nonce() -> Result<[u8; NONCE_LEN], crate::EncodeError> {
    let mut nonce = [0u8; NONCE_LEN];
    getrandom::getrandom(&mut nonce).map_err(|_| crate::EncodeError::Random)?;
    Ok(nonce)
}
