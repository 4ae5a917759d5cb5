//! Token secrets derived from root keys.
//!
//! A token's secret is never stored: it is `hex(HMAC-SHA256(root key, label))`, 64 lowercase
//! hex characters as Onedata secrets are (SPEC §10.3), whose ASCII text is the macaroon key. The
//! label binds it to one named token (its id) or to one user's temporary-token generation, so
//! bumping a generation changes the secret, and retiring a root key invalidates exactly the
//! tokens derived from it.

use hmac::{Hmac, KeyInit, Mac};
use macaroon_mint::RootKey;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::store::{RootKeyRecord, StoreError, SubjectKind};

fn derive(root: &RootKeyRecord, label: &[&[u8]]) -> Result<RootKey, StoreError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(&root.material)
        .map_err(|_| StoreError::Backend(format!("root key {}: unusable material", root.id)))?;
    for part in label {
        // Length-prefixed parts: no two labels share an encoding.
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    // The HMAC state (key⊕pad blocks) and its output wipe themselves on drop (`zeroize`
    // features of `hmac` and `sha2`).
    let digest = mac.finalize();
    let secret = Zeroizing::new(hex::encode(digest.as_bytes().as_slice()));
    Ok(RootKey::new(secret.as_bytes()))
}

/// The secret of the named token `token_id`.
///
/// # Errors
///
/// [`StoreError::Backend`] when the key material is unusable.
pub fn named_token_secret(root: &RootKeyRecord, token_id: &str) -> Result<RootKey, StoreError> {
    derive(root, &[b"macaroon-mint named token", token_id.as_bytes()])
}

/// The secret shared by `user_id`'s temporary tokens of `generation`.
///
/// # Errors
///
/// [`StoreError::Backend`] when the key material is unusable.
pub fn temporary_secret(
    root: &RootKeyRecord,
    user_id: &str,
    generation: u64,
) -> Result<RootKey, StoreError> {
    derive(
        root,
        &[
            b"macaroon-mint temporary tokens",
            user_id.as_bytes(),
            &generation.to_be_bytes(),
        ],
    )
}

/// The secret shared by the temporary tokens of `generation` of a user or a provider (a
/// provider's under a label of its own, so no user's secret is ever a provider's).
///
/// # Errors
///
/// [`StoreError::Backend`] when the key material is unusable.
pub fn temporary_secret_of(
    root: &RootKeyRecord,
    kind: SubjectKind,
    id: &str,
    generation: u64,
) -> Result<RootKey, StoreError> {
    match kind {
        SubjectKind::User => temporary_secret(root, id, generation),
        SubjectKind::Provider => derive(
            root,
            &[
                b"macaroon-mint provider temporary tokens",
                id.as_bytes(),
                &generation.to_be_bytes(),
            ],
        ),
    }
}

/// The id of a new temporary token: the root key it is derived from, 16 random bytes in hex,
/// and, for a token minted with a named token, that token's id (`k3-5f2b…` or
/// `k3-5f2b…-9a0c…`). Temporary tokens have no record, so the id carries what verification
/// needs; it is part of the signed identifier, so changing it breaks the signature.
pub fn temporary_token_id(key_id: i64, random_hex: &str, parent: Option<&str>) -> String {
    match parent {
        None => format!("k{key_id}-{random_hex}"),
        Some(parent) => format!("k{key_id}-{random_hex}-{parent}"),
    }
}

/// The root key id and the parent named token a temporary token id names, if it has the form
/// of [`temporary_token_id`].
///
/// ```
/// use macaroon_mint_server::keys::{parse_temporary_token_id, temporary_token_id};
/// assert_eq!(parse_temporary_token_id(&temporary_token_id(12, "ab", None)), Some((12, None)));
/// assert_eq!(
///     parse_temporary_token_id(&temporary_token_id(3, "ab", Some("cd"))),
///     Some((3, Some("cd")))
/// );
/// assert_eq!(parse_temporary_token_id("12-ab"), None);
/// assert_eq!(parse_temporary_token_id("k-ab"), None);
/// assert_eq!(parse_temporary_token_id("k+1-ab"), None);
/// assert_eq!(parse_temporary_token_id("k1-ab-"), None);
/// assert_eq!(parse_temporary_token_id("k1-ab-cd-ef"), None);
/// ```
pub fn parse_temporary_token_id(token_id: &str) -> Option<(i64, Option<&str>)> {
    let mut parts = token_id.strip_prefix('k')?.split('-');
    let key = parts.next()?;
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let key = key.parse().ok()?;
    let random = parts.next()?;
    let parent = parts.next();
    if random.is_empty() || parent.is_some_and(str::is_empty) || parts.next().is_some() {
        return None;
    }
    Some((key, parent))
}

#[cfg(test)]
mod tests {
    use super::*;
    use macaroon_mint::Macaroon;

    /// Same signature as a macaroon minted under the secret given as text.
    fn same_key(derived: &RootKey, expected_hex: &str) -> bool {
        let mint = |key: &RootKey| Macaroon::mint(key, "l", "i").unwrap().signature().to_vec();
        mint(derived) == mint(&RootKey::new(expected_hex))
    }

    /// Known answers computed independently (Python's `hmac` over the length-prefixed label),
    /// so the derivation of every existing token's secret stays what it was.
    #[test]
    fn secrets_match_known_answers() {
        let root = RootKeyRecord {
            id: 1,
            material: Zeroizing::new(vec![1u8; 32]),
            created: 0,
            retired: None,
        };
        assert!(same_key(
            &named_token_secret(&root, "abc").unwrap(),
            "1a7c21cccc01f7a657a14268f6f26cdc9233cc42102c2eadd43786e145567429"
        ));
        assert!(same_key(
            &temporary_secret(&root, "u1", 7).unwrap(),
            "2b891b4b5d38bad8380603217f9cfb7634d6c66be762393f9ea15a4d290ad4ce"
        ));
        assert!(!same_key(
            &temporary_secret(&root, "u1", 8).unwrap(),
            "2b891b4b5d38bad8380603217f9cfb7634d6c66be762393f9ea15a4d290ad4ce"
        ));
    }
}
