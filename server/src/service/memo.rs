//! Access tokens this instance verified recently, kept parsed: a request that presents the same
//! token text again skips decoding it and typing its caveats.
//!
//! Only the parse is skipped. Parsing is a pure function of the text, so an entry can never be
//! stale; every request still looks up the token's subject, record, generation and root key,
//! derives its secret, recomputes the HMAC chain and checks every caveat against that request
//! (time, `ip`, `interface`, `api`, the lifetime cap). So a revocation, an expiry or a request
//! from outside a token's `ip` caveat refuses a remembered token exactly as a fresh one.
//!
//! What an attacker could do with it is bounded: only a token that passed verification is
//! remembered (forgeries, expired and revoked tokens never enter), the entries are bounded in
//! number and estimated bytes (oldest out first), and tokens over 16 KiB are never kept. Entries
//! are found by a keyed hash of the text (a per-process random key) and confirmed by a
//! constant-time comparison of the whole text, so the time a lookup takes says nothing about
//! how much of a remembered token a guess matches. A remembered text is wiped when it leaves.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, RwLock};

use macaroon_mint::onedata::OnedataToken;
use macaroon_mint::TypedCaveat;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Tokens longer than this are parsed on every request (as the async fast path's limit).
pub(crate) const MAX_REMEMBERED_TEXT: usize = 16 * 1024;

/// A verified token's parse.
pub(crate) struct ParsedToken {
    text: Zeroizing<String>,
    /// The token.
    pub(crate) token: OnedataToken,
    /// Its caveats, typed (every one of a supported form: it verified).
    pub(crate) caveats: Arc<[TypedCaveat]>,
    /// Its estimated size in memory.
    cost: usize,
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
    /// Insertion order, oldest first (every key in `entries` exactly once).
    order: VecDeque<u64>,
    bytes: usize,
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
        let key = self.hasher.hash_one(text);
        let entry = Arc::clone(self.read().entries.get(&key)?);
        // Two texts sharing a 64-bit keyed hash: the other one is not this token.
        bool::from(entry.text.as_bytes().ct_eq(text.as_bytes())).then_some(entry)
    }

    /// Remembers the parse of `text`, which has just verified.
    pub(crate) fn remember(&self, text: &str, token: OnedataToken, caveats: Arc<[TypedCaveat]>) {
        if self.max_entries == 0 || text.len() > MAX_REMEMBERED_TEXT {
            return;
        }
        // The text, its decoded bytes and their parse (identifier, caveats, typed caveats):
        // about four times the text, and a fixed part for the allocations.
        let cost = 4 * text.len() + 256;
        if cost > self.max_bytes {
            return;
        }
        let key = self.hasher.hash_one(text);
        let entry = Arc::new(ParsedToken {
            text: Zeroizing::new(text.to_owned()),
            token,
            caveats,
            cost,
        });
        let mut inner = self.write();
        if inner.entries.contains_key(&key) {
            // Remembered by a concurrent request (or a hash collision: the first stays).
            return;
        }
        while inner.entries.len() >= self.max_entries || inner.bytes + cost > self.max_bytes {
            let Some(oldest) = inner.order.pop_front() else {
                break;
            };
            if let Some(old) = inner.entries.remove(&oldest) {
                inner.bytes -= old.cost;
            }
        }
        inner.entries.insert(key, entry);
        inner.order.push_back(key);
        inner.bytes += cost;
    }

    /// How many tokens are remembered, and their estimated bytes.
    #[cfg(test)]
    pub(crate) fn size(&self) -> (usize, usize) {
        let inner = self.read();
        (inner.entries.len(), inner.bytes)
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
    use macaroon_mint::{Format, Macaroon, RootKey};

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

    #[test]
    fn finds_exactly_the_remembered_text() {
        let memo = TokenMemo::new(10, 1 << 20);
        let (text, parsed) = token(1);
        assert!(memo.get(&text).is_none());
        memo.remember(
            &text,
            parsed,
            vec![TypedCaveat::parse(b"interface = rest").unwrap()].into(),
        );
        let entry = memo.get(&text).expect("remembered");
        assert_eq!(entry.caveats.len(), 1);
        assert_eq!(
            entry.token.macaroon().identifier(),
            OnedataToken::parse(&text).unwrap().macaroon().identifier()
        );
        // A different text (one character changed, a prefix, the text extended) is not it.
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
    fn bounded_in_entries_and_bytes_oldest_out_first() {
        let memo = TokenMemo::new(3, 1 << 20);
        let tokens: Vec<_> = (0..5).map(token).collect();
        for (text, parsed) in &tokens {
            memo.remember(text, parsed.clone(), Vec::new().into());
        }
        assert_eq!(memo.size().0, 3);
        assert!(memo.get(&tokens[0].0).is_none() && memo.get(&tokens[1].0).is_none());
        assert!(tokens[2..].iter().all(|(text, _)| memo.get(text).is_some()));

        let cost = 4 * tokens[0].0.len() + 256;
        let memo = TokenMemo::new(100, 2 * cost + cost / 2);
        for (text, parsed) in &tokens {
            memo.remember(text, parsed.clone(), Vec::new().into());
        }
        assert_eq!(memo.size(), (2, 2 * cost));
        assert!(memo.get(&tokens[3].0).is_some() && memo.get(&tokens[4].0).is_some());
    }

    #[test]
    fn keeps_nothing_when_off_or_too_long() {
        let (text, parsed) = token(1);
        let off = TokenMemo::new(0, 1 << 20);
        off.remember(&text, parsed.clone(), Vec::new().into());
        assert!(off.get(&text).is_none());
        let memo = TokenMemo::new(10, 1 << 30);
        let long = format!("{text}{}", "A".repeat(MAX_REMEMBERED_TEXT));
        memo.remember(&long, parsed, Vec::new().into());
        assert_eq!(memo.size(), (0, 0));
    }
}
