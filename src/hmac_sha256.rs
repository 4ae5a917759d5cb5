//! HMAC-SHA256 over `sha2`'s compression function (which uses the CPU's SHA extensions when it
//! has them, detected at run time, and portable code otherwise).
//!
//! Hand-written because the benchmark showed it matters: the keyed state (the compressed
//! `key ⊕ ipad` and `key ⊕ opad` blocks) can be computed once per root key, held in plain arrays
//! and zeroized on drop — the `hmac` crate's state can be neither cached safely nor zeroized.
//! `tests` checks it against the `hmac` crate for every message length up to three blocks.

use sha2::digest::generic_array::GenericArray;
use zeroize::{Zeroize, ZeroizeOnDrop};

const BLOCK: usize = 64;
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];

fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    sha2::compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

/// HMAC-SHA256 keyed with one key (at most one block long), ready for any number of messages.
///
/// The two compressed states are as good as the key, so every state is wiped on drop: the
/// long-lived one a [`RootKey`](crate::RootKey) owns and the short-lived ones (one per link of a
/// signature chain) alike. That is 64 bytes of stores, nothing next to four compressions.
#[derive(Clone)]
pub(crate) struct KeyedHmac {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl Zeroize for KeyedHmac {
    fn zeroize(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl Drop for KeyedHmac {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for KeyedHmac {}

impl KeyedHmac {
    /// Keys the state with a 32-byte key (every key of the chain is one: a derived root key, a
    /// signature, a caveat key or `bind`'s zero key).
    ///
    /// The padded block (`key ⊕ ipad`, then `key ⊕ opad`) is wiped before returning. No test can
    /// observe that (the buffer is gone from the stack frame once this returns), hence this note.
    pub(crate) fn new(key: &[u8; 32]) -> Self {
        Self::from_short_key(key)
    }

    /// Keys the state with a key of at most one block (longer keys are truncated to keep the
    /// function total; none is longer).
    fn from_short_key(key: &[u8]) -> Self {
        let mut pad = [0u8; BLOCK];
        for (p, k) in pad.iter_mut().zip(key) {
            *p = *k;
        }
        let mut keyed = KeyedHmac {
            inner: IV,
            outer: IV,
        };
        pad.iter_mut().for_each(|b| *b ^= 0x36);
        compress(&mut keyed.inner, &pad);
        pad.iter_mut().for_each(|b| *b ^= 0x36 ^ 0x5c);
        compress(&mut keyed.outer, &pad);
        wipe(&mut pad);
        keyed
    }

    /// `HMAC(key, message)`.
    ///
    /// The inner hash is wiped: under a public key (the generator key, `bind`'s zero key) it is as
    /// good as the result, which may be a derived key.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut inner_hash = finish(self.inner, message);
        let out = finish(self.outer, &inner_hash);
        wipe(&mut inner_hash);
        out
    }

    /// `HMAC(key, HMAC(key, a) ‖ HMAC(key, b))`, the two-level fold of third-party caveats and
    /// discharge binding.
    pub(crate) fn mac2(&self, a: &[u8], b: &[u8]) -> [u8; 32] {
        let mut both = [0u8; 64];
        let (left, right) = both.split_at_mut(32);
        left.copy_from_slice(&self.mac(a));
        right.copy_from_slice(&self.mac(b));
        let out = self.mac(&both);
        wipe(&mut both);
        out
    }
}

/// The SHA-256 states after the pad blocks of the public derivation key `macaroons-key-generator`
/// (SPEC §3.1), computed once offline: deriving a root key then costs two compressions instead of
/// four. A unit test recomputes them.
const GENERATOR_INNER: [u32; 8] = [
    0x9077a15b, 0xd63d8c38, 0x24d70d8b, 0xa0d63f24, 0x48036cbf, 0x16ffae7d, 0x4857e31d, 0xbb1f1d67,
];
const GENERATOR_OUTER: [u32; 8] = [
    0xbdcc52d8, 0x514c306d, 0xa4614039, 0xaa6e3e88, 0xc98a3415, 0xb547216b, 0x5b2934f4, 0x80536d5f,
];

/// `HMAC(macaroons-key-generator, secret)`, the key derivation, from the precomputed pads.
///
/// The inner hash is wiped: under the public generator key it is as good as the derived key.
pub(crate) fn derive(secret: &[u8]) -> [u8; 32] {
    let mut inner_hash = finish(GENERATOR_INNER, secret);
    let out = finish(GENERATOR_OUTER, &inner_hash);
    wipe(&mut inner_hash);
    out
}

/// Wipes a buffer through the slice impl, which `zeroize` (1.9, on x86-64 and aarch64) does as one
/// `memset` and an optimisation barrier; the array impl writes byte by byte.
fn wipe(buf: &mut [u8]) {
    buf.zeroize();
}

/// Hashes `message` into a state that has already absorbed one block, and returns the digest.
///
/// The padded tail (the end of the message: a secret in `derive_key`, the inner hash in the outer
/// pass) and the working state are wiped before returning.
fn finish(mut state: [u32; 8], message: &[u8]) -> [u8; 32] {
    let mut blocks = message.chunks_exact(BLOCK);
    for block in blocks.by_ref() {
        if let Ok(block) = <&[u8; BLOCK]>::try_from(block) {
            compress(&mut state, block);
        }
    }
    let rest = blocks.remainder();
    let bits = ((BLOCK + message.len()) as u64).wrapping_mul(8);
    if rest.len() < BLOCK - 8 {
        // The common case (every chain link's second pass, short predicates): one padded block.
        let mut tail = [0u8; BLOCK];
        pad_into(&mut tail, rest, bits);
        compress(&mut state, &tail);
        wipe(&mut tail);
    } else {
        // The tail, 0x80, zeros and the 64-bit length fill two blocks.
        let mut tail = [0u8; 2 * BLOCK];
        pad_into(&mut tail, rest, bits);
        let (first, second) = tail.split_at(BLOCK);
        for block in [first, second] {
            if let Ok(block) = <&[u8; BLOCK]>::try_from(block) {
                compress(&mut state, block);
            }
        }
        wipe(&mut tail);
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state.iter()) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    wipe_words(&mut state);
    out
}

/// Writes `rest`, the 0x80 marker and the big-endian bit length into a zeroed `tail` of one or
/// two blocks.
fn pad_into(tail: &mut [u8], rest: &[u8], bits: u64) {
    let end = tail.len();
    if let Some(dst) = tail.get_mut(..rest.len()) {
        dst.copy_from_slice(rest);
    }
    if let Some(b) = tail.get_mut(rest.len()) {
        *b = 0x80;
    }
    if let Some(dst) = tail.get_mut(end - 8..) {
        dst.copy_from_slice(&bits.to_be_bytes());
    }
}

/// Wipes a working state as one slice (see [`wipe`]).
fn wipe_words(state: &mut [u32; 8]) {
    state.as_mut_slice().zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, Mac};

    fn reference(key: &[u8], message: &[u8]) -> [u8; 32] {
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).unwrap();
        mac.update(message);
        mac.finalize().into_bytes().into()
    }

    #[test]
    fn matches_the_hmac_crate_for_every_length() {
        let message: Vec<u8> = (0..200u32).map(|i| (i * 7 + 3) as u8).collect();
        for key_len in [0usize, 1, 23, 32, 63, 64] {
            let key: Vec<u8> = (0..key_len).map(|i| i as u8 ^ 0xa5).collect();
            let keyed = KeyedHmac::from_short_key(&key);
            for len in 0..=message.len() {
                assert_eq!(
                    keyed.mac(&message[..len]),
                    reference(&key, &message[..len]),
                    "key {key_len} bytes, message {len} bytes"
                );
            }
        }
    }

    #[test]
    fn the_precomputed_generator_pads_are_the_generator_key_s() {
        let keyed = KeyedHmac::from_short_key(crate::crypto::KEY_GENERATOR);
        assert_eq!(keyed.inner, GENERATOR_INNER);
        assert_eq!(keyed.outer, GENERATOR_OUTER);
        let message: Vec<u8> = (0..200u32).map(|i| (i * 5 + 1) as u8).collect();
        for len in 0..=message.len() {
            assert_eq!(
                derive(&message[..len]),
                reference(crate::crypto::KEY_GENERATOR, &message[..len]),
                "secret of {len} bytes"
            );
        }
    }

    #[test]
    fn zeroize_clears_both_states() {
        fn wipes_on_drop<T: ZeroizeOnDrop>(_: &T) {}
        let mut keyed = KeyedHmac::new(&[7u8; 32]);
        wipes_on_drop(&keyed);
        assert_ne!(keyed.inner, [0u32; 8]);
        assert_ne!(keyed.outer, [0u32; 8]);
        keyed.zeroize();
        assert_eq!(keyed.inner, [0u32; 8]);
        assert_eq!(keyed.outer, [0u32; 8]);
    }

    #[test]
    fn mac2_is_the_two_level_fold() {
        let k = KeyedHmac::new(&[b'k'; 32]);
        let mut both = reference(&[b'k'; 32], b"a").to_vec();
        both.extend_from_slice(&reference(&[b'k'; 32], b"b"));
        assert_eq!(k.mac2(b"a", b"b"), reference(&[b'k'; 32], &both));
    }
}
