//! Access tokens this instance verified recently, kept parsed with the secret they verified
//! with: a request that presents the same token text again skips decoding it, typing its caveats
//! and deriving its secret.
//!
//! Nothing else is skipped. Parsing is a pure function of the text, so a parse can never be
//! stale; a token's secret is a function of its root key's material and of what its text names
//! (subject, generation or token id), so the remembered secret is taken only when the root key
//! read for this request has the same material (compared in constant time). Every request still
//! looks up the token's subject, record, generation and root key (a retired key refuses it),
//! recomputes the HMAC chain and checks every caveat against that request (time, `ip`,
//! `interface`, `api`, the lifetime cap). So a revocation, an expiry or a request from outside a
//! token's `ip` caveat refuses a remembered token exactly as a fresh one; a remembered token
//! refused as invalid or revoked is forgotten.
//!
//! It lives only beside the verification cache (`crate::cache`), whose feed reader empties it
//! when any root key changes (a retirement, from this instance or another process) or the cache
//! starts afresh. A verification that read a root key before such a change and finishes after
//! it remembers nothing (the memo counts its clearings, and a request remembers only under the
//! count it started with), so a retired key's material leaves this memory as it leaves the
//! store. The material is held once per root key, shared by the entries derived from it.
//!
//! What an attacker could do with it is bounded: only a token that passed verification is
//! remembered (forgeries, expired and revoked tokens never enter), the entries are bounded in
//! number and estimated bytes, and tokens over 16 KiB are never kept. Eviction is oldest first
//! with a second chance for an entry used since it was last passed over, so a stream of
//! single-use tokens (anyone can attenuate a token they hold into new texts) does not push out
//! the tokens in use. Entries are found by a keyed hash (a per-process random key) of the text's
//! length and its last 64 bytes (where the signature is: two tokens differ there) and confirmed
//! by a branch-free comparison of the whole text, so the time a lookup takes says nothing about
//! how much of a remembered token a guess matches. The remembered text, the secret and the root
//! key material are wiped when they leave; the parsed token is not (like the request's own
//! buffers, which held the same text).

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use macaroon_mint::onedata::OnedataToken;
use macaroon_mint::{RootKey, TypedCaveat};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Tokens longer than this are parsed on every request (as the async fast path's limit).
pub(crate) const MAX_REMEMBERED_TEXT: usize = 16 * 1024;

/// How many bytes at a text's end its map key hashes (a serialized macaroon ends with its
/// signature: 43 base64 characters and more in every text format).
const HASHED_TAIL: usize = 64;

/// Whether `a` and `b` are the same bytes, in a time that depends only on their lengths: eight
/// bytes at a time, differences accumulated without a branch (`subtle` compares byte by byte,
/// behind an optimization barrier each: a tenth of this path's time for a 400-byte token).
fn same_text(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let word = |chunk: &[u8]| {
        let mut bytes = [0u8; 8];
        bytes[..chunk.len()].copy_from_slice(chunk);
        u64::from_ne_bytes(bytes)
    };
    let difference = a
        .chunks(8)
        .zip(b.chunks(8))
        .fold(0u64, |acc, (x, y)| acc | (word(x) ^ word(y)));
    bool::from(difference.ct_eq(&0))
}

/// A root key's material, held once and shared.
pub(crate) type Material = Arc<Zeroizing<Vec<u8>>>;

/// The secret a token verified with, and the root key material it was derived from.
pub(crate) struct KnownSecret {
    /// The root key's material (compared with the root key's material at the next request).
    pub(crate) root_material: Material,
    /// The token's secret.
    pub(crate) key: Arc<RootKey>,
}

/// A verified token's parse.
pub(crate) struct ParsedToken {
    text: Zeroizing<String>,
    /// The token.
    pub(crate) token: OnedataToken,
    /// Its caveats, typed (every one of a supported form: it verified).
    pub(crate) caveats: Arc<[TypedCaveat]>,
    /// The secret it verified with.
    pub(crate) secret: KnownSecret,
    /// Its estimated size in memory.
    cost: usize,
    /// Found since eviction last passed over it (its second chance).
    used: AtomicBool,
}

/// The bounded map of [`ParsedToken`]s, by the text they came from.
pub(crate) struct TokenMemo {
    hasher: RandomState,
    max_entries: usize,
    max_bytes: usize,
    inner: RwLock<Inner>,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<u64, Arc<ParsedToken>>,
    /// Eviction order, oldest first: every key in `entries` exactly once.
    order: VecDeque<u64>,
    bytes: usize,
    /// The root keys' material the entries share, by root key id.
    materials: HashMap<i64, Material>,
    /// How many times the memo was emptied.
    clearings: u64,
}

/// What a request remembers when its token verified: the parse, the caveats, and the secret
/// with the root key it was derived from.
pub(crate) struct Verified<'m> {
    pub(crate) token: OnedataToken,
    pub(crate) caveats: Arc<[TypedCaveat]>,
    pub(crate) key: Arc<RootKey>,
    pub(crate) root_id: i64,
    pub(crate) root_material: &'m [u8],
}

impl TokenMemo {
    /// A memo of at most `max_entries` tokens taking about `max_bytes` (0: none kept).
    pub(crate) fn new(max_entries: usize, max_bytes: usize) -> TokenMemo {
        TokenMemo {
            hasher: RandomState::new(),
            max_entries,
            max_bytes,
            inner: RwLock::default(),
        }
    }

    /// The parse of `text`, if it verified here recently.
    pub(crate) fn get(&self, text: &str) -> Option<Arc<ParsedToken>> {
        if self.max_entries == 0 || text.len() > MAX_REMEMBERED_TEXT {
            return None;
        }
        let entry = Arc::clone(self.read().entries.get(&self.key(text))?);
        // Two texts sharing a key: the other one is not this token.
        if !same_text(entry.text.as_bytes(), text.as_bytes()) {
            return None;
        }
        if !entry.used.load(Ordering::Relaxed) {
            entry.used.store(true, Ordering::Relaxed);
        }
        Some(entry)
    }

    /// How many times the memo was emptied so far: read before a verification's first
    /// lookup, handed to [`TokenMemo::remember`].
    pub(crate) fn clearings(&self) -> u64 {
        self.read().clearings
    }

    /// Remembers the parse of `text`, which has just verified, unless the memo was emptied
    /// since `clearings` was read (the root key it read may have been retired meanwhile).
    pub(crate) fn remember(&self, text: &str, clearings: u64, verified: Verified<'_>) {
        if self.max_entries == 0 || text.len() > MAX_REMEMBERED_TEXT {
            return;
        }
        // The text, its decoded bytes and their parse (identifier, caveats, typed caveats):
        // about four times the text, and a fixed part for the allocations.
        let cost = 4 * text.len() + 256;
        if cost > self.max_bytes {
            return;
        }
        let key = self.key(text);
        let mut inner = self.write();
        if inner.clearings != clearings || inner.entries.contains_key(&key) {
            // Emptied meanwhile; or remembered by a concurrent request (or a hash collision:
            // the first stays).
            return;
        }
        let material = match inner.materials.get(&verified.root_id) {
            Some(held) if bool::from(held.as_slice().ct_eq(verified.root_material)) => {
                Arc::clone(held)
            }
            _ => {
                let material = Arc::new(Zeroizing::new(verified.root_material.to_vec()));
                inner
                    .materials
                    .insert(verified.root_id, Arc::clone(&material));
                material
            }
        };
        let mut passes = 0;
        while inner.entries.len() >= self.max_entries || inner.bytes + cost > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            // A second chance for an entry used since it was last passed over (one pass over
            // the whole order clears every flag, so this ends).
            let spared = passes < inner.entries.len()
                && inner
                    .entries
                    .get(&oldest)
                    .is_some_and(|entry| entry.used.swap(false, Ordering::Relaxed));
            if spared {
                passes += 1;
                inner.order.push_back(oldest);
            } else if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.cost;
            }
        }
        let entry = Arc::new(ParsedToken {
            text: Zeroizing::new(text.to_owned()),
            token: verified.token,
            caveats: verified.caveats,
            secret: KnownSecret {
                root_material: material,
                key: verified.key,
            },
            cost,
            used: AtomicBool::new(false),
        });
        inner.entries.insert(key, entry);
        inner.order.push_back(key);
        inner.bytes += cost;
    }

    /// Forgets `text`, if it is remembered (its token was just refused as invalid or revoked).
    pub(crate) fn forget(&self, text: &str) {
        let key = self.key(text);
        let mut inner = self.write();
        let remembered = inner
            .entries
            .get(&key)
            .is_some_and(|entry| same_text(entry.text.as_bytes(), text.as_bytes()));
        if remembered {
            if let Some(entry) = inner.entries.remove(&key) {
                inner.bytes -= entry.cost;
            }
            inner.order.retain(|k| *k != key);
        }
    }

    /// Forgets every token (their texts, secrets and root key material are wiped).
    pub(crate) fn clear(&self) {
        let mut inner = self.write();
        inner.entries.clear();
        inner.order.clear();
        inner.materials.clear();
        inner.bytes = 0;
        inner.clearings += 1;
    }

    /// The map key of `text`: a keyed hash of its length and its tail.
    fn key(&self, text: &str) -> u64 {
        let tail = text.len().saturating_sub(HASHED_TAIL);
        self.hasher
            .hash_one((text.len(), text.as_bytes().get(tail..).unwrap_or_default()))
    }

    /// How many tokens are remembered, and their estimated bytes.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        let inner = self.read();
        assert_eq!(inner.order.len(), inner.entries.len());
        (inner.entries.len(), inner.bytes)
    }

    /// How many root keys' material the memo holds.
    #[cfg(test)]
    pub(crate) fn materials(&self) -> usize {
        self.read().materials.len()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        // The map is consistent after every statement a panic could interrupt.
        self.inner.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use macaroon_mint::{Format, Macaroon};

    fn token(n: usize) -> (String, OnedataToken) {
        let key = RootKey::new("k");
        let text = Macaroon::mint(
            &key,
            "",
            format!("2/nmd/usr-alice/act/token{n:04}").as_str(),
        )
        .unwrap()
        .with_first_party("interface = rest")
        .unwrap()
        .serialize(Format::Onedata)
        .unwrap();
        let parsed = OnedataToken::parse(&text).unwrap();
        (text, parsed)
    }

    const MATERIAL: [u8; 32] = [1; 32];

    fn verified(token: &OnedataToken) -> Verified<'static> {
        Verified {
            token: token.clone(),
            caveats: Vec::new().into(),
            key: Arc::new(RootKey::new("secret")),
            root_id: 1,
            root_material: &MATERIAL,
        }
    }

    fn remember_all(memo: &TokenMemo, tokens: &[(String, OnedataToken)]) {
        for (text, parsed) in tokens {
            memo.remember(text, memo.clearings(), verified(parsed));
        }
    }

    #[test]
    fn finds_exactly_the_remembered_text() {
        let memo = TokenMemo::new(10, 1 << 20);
        let (text, parsed) = token(1);
        assert!(memo.get(&text).is_none());
        memo.remember(
            &text,
            memo.clearings(),
            Verified {
                caveats: vec![TypedCaveat::parse(b"interface = rest").unwrap()].into(),
                ..verified(&parsed)
            },
        );
        let entry = memo.get(&text).expect("remembered");
        assert_eq!(entry.caveats.len(), 1);
        assert_eq!(entry.token, parsed);
        // Remembered twice: still one entry.
        memo.remember(&text, memo.clearings(), verified(&parsed));
        assert_eq!(memo.size(), (1, 4 * text.len() + 256));

        // Changed before the hashed tail: the same map key, refused by the text comparison.
        assert!(text.len() > HASHED_TAIL + 8);
        for at in [0, 4, text.len() - HASHED_TAIL - 1] {
            let mut early = text.clone().into_bytes();
            early[at] = if early[at] == b'A' { b'B' } else { b'A' };
            let early = String::from_utf8(early).unwrap();
            assert_eq!(memo.key(&early), memo.key(&text));
            assert!(memo.get(&early).is_none(), "changed at {at}");
        }
        // Changed in the tail, shortened, extended: another key.
        let mut changed = text.clone().into_bytes();
        let last = changed.len() - 1;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        for other in [
            changed.as_str(),
            &text[..text.len() - 1],
            &format!("{text}A"),
        ] {
            assert!(memo.get(other).is_none(), "{other}");
        }
    }

    #[test]
    fn same_text_is_exact() {
        let text = b"MDAxY2xvY2F0aW9uIAowMDI0aWRlbnRpZmllciAyL25tZC91c3ItYWxpY2UvYWN0L3QxCg";
        for len in 0..text.len() {
            let a = &text[..len];
            assert!(same_text(a, a));
            for at in 0..len {
                let mut b = a.to_vec();
                b[at] ^= 1;
                assert!(!same_text(a, &b), "{len} {at}");
            }
            assert!(!same_text(a, &text[..len + 1]));
        }
    }

    #[test]
    fn bounded_in_entries_and_bytes_oldest_out_first() {
        let memo = TokenMemo::new(3, 1 << 20);
        let tokens: Vec<_> = (0..5).map(token).collect();
        remember_all(&memo, &tokens);
        assert_eq!(memo.size().0, 3);
        assert!(memo.get(&tokens[0].0).is_none() && memo.get(&tokens[1].0).is_none());
        assert!(tokens[2..].iter().all(|(text, _)| memo.get(text).is_some()));

        let cost = 4 * tokens[0].0.len() + 256;
        let memo = TokenMemo::new(100, 2 * cost + cost / 2);
        remember_all(&memo, &tokens);
        assert_eq!(memo.size(), (2, 2 * cost));
        assert!(memo.get(&tokens[3].0).is_some() && memo.get(&tokens[4].0).is_some());
    }

    /// A token in use survives a stream of tokens seen once.
    #[test]
    fn a_used_entry_gets_a_second_chance() {
        let memo = TokenMemo::new(3, 1 << 20);
        let tokens: Vec<_> = (0..40).map(token).collect();
        remember_all(&memo, &tokens[..1]);
        for stream in tokens[1..].chunks(2) {
            assert!(memo.get(&tokens[0].0).is_some());
            remember_all(&memo, stream);
        }
        assert!(memo.get(&tokens[0].0).is_some());
        assert_eq!(memo.size().0, 3);
        // Unused, it goes in turn.
        remember_all(&memo, &tokens[1..5]);
        assert!(memo.get(&tokens[0].0).is_none());
        // Every entry used: eviction still ends, oldest out.
        let memo = TokenMemo::new(3, 1 << 20);
        remember_all(&memo, &tokens[..3]);
        assert!(tokens[..3].iter().all(|(text, _)| memo.get(text).is_some()));
        remember_all(&memo, &tokens[3..4]);
        assert_eq!(memo.size().0, 3);
        assert!(memo.get(&tokens[0].0).is_none());
        assert!(tokens[1..4]
            .iter()
            .all(|(text, _)| memo.get(text).is_some()));
    }

    #[test]
    fn forget_and_clear() {
        let memo = TokenMemo::new(10, 1 << 20);
        let tokens: Vec<_> = (0..3).map(token).collect();
        remember_all(&memo, &tokens);
        memo.forget(&tokens[1].0);
        assert!(memo.get(&tokens[1].0).is_none());
        assert_eq!(memo.size().0, 2);
        // The material is held once for every entry derived from it.
        assert_eq!(memo.materials(), 1);
        let before = memo.clearings();
        memo.clear();
        assert_eq!((memo.size(), memo.materials()), ((0, 0), 0));
        // A verification that started before the clearing remembers nothing.
        memo.remember(&tokens[0].0, before, verified(&tokens[0].1));
        assert_eq!(memo.size().0, 0);
        memo.remember(&tokens[0].0, memo.clearings(), verified(&tokens[0].1));
        assert_eq!(memo.size().0, 1);
    }

    #[test]
    fn keeps_nothing_when_off_or_too_long() {
        let (text, parsed) = token(1);
        let off = TokenMemo::new(0, 1 << 20);
        off.remember(&text, 0, verified(&parsed));
        assert!(off.get(&text).is_none());
        let memo = TokenMemo::new(10, 1 << 30);
        let long = format!("{text}{}", "A".repeat(MAX_REMEMBERED_TEXT));
        memo.remember(&long, 0, verified(&parsed));
        assert_eq!(memo.size(), (0, 0));
    }
}
