//! Root keys at rest: sealed under a key-encryption key ([`MasterKey`]) with
//! XChaCha20-Poly1305, or plain hex ([`KeyProtection::Plain`], the legacy form).
//!
//! The `material` column holds `v1:<hex nonce>:<hex ciphertext>` for a sealed key (a random
//! 24-byte nonce per key; the associated data names the key id, so a sealed row copied onto
//! another id does not open), plain lowercase hex for a plain one, and the empty string for a
//! retired key (wiped). A store opened [`KeyProtection::Sealed`] still reads plain keys (the
//! migration path: `keys rotate` then adds sealed ones, and retiring the plain ones wipes them).

use std::fmt;
use std::path::Path;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

use super::{material_from_hex, random_bytes, StoreError};

/// The prefix of a sealed key's stored text.
const SEALED_PREFIX: &str = "v1:";
/// XChaCha20-Poly1305's nonce length.
const NONCE_LEN: usize = 24;

/// A key-encryption key: 32 bytes that seal root keys at rest.
///
/// Wiped from memory on drop; `Debug` shows `<redacted>`.
#[derive(Clone)]
pub struct MasterKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

impl MasterKey {
    /// A master key of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> MasterKey {
        MasterKey(Zeroizing::new(bytes))
    }

    /// A fresh random master key.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the random number generator fails.
    pub fn generate() -> Result<MasterKey, StoreError> {
        let bytes = random_bytes(32)?;
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&bytes);
        Ok(MasterKey(key))
    }

    /// Parses 64 hex characters (surrounding whitespace ignored), e.g. the value of
    /// `MACAROON_MINT_MASTER_KEY`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the text is not 64 hex characters (the message never
    /// quotes it).
    pub fn from_hex(text: &str) -> Result<MasterKey, StoreError> {
        let text = text.trim();
        let invalid = || StoreError::Backend("a master key must be 64 hex characters".into());
        if text.len() != 64 {
            return Err(invalid());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, &mut key[..]).map_err(|_| invalid())?;
        Ok(MasterKey(key))
    }

    /// Reads a master key file: 64 hex characters (surrounding whitespace ignored) or 32 raw
    /// bytes. The file must not be accessible by the group or others (on Unix).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the file cannot be read, is group- or world-accessible, or
    /// holds neither form.
    pub fn from_file(path: &Path) -> Result<MasterKey, StoreError> {
        let shown = path.display();
        check_private(path, "the master key file", "600")?;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| {
            StoreError::Backend(format!("reading the master key file {shown}: {e}"))
        })?);
        if bytes.len() == 32 {
            let mut key = Zeroizing::new([0u8; 32]);
            key.copy_from_slice(&bytes);
            return Ok(MasterKey(key));
        }
        std::str::from_utf8(&bytes)
            .map_err(|_| ())
            .and_then(|text| MasterKey::from_hex(text).map_err(|_| ()))
            .map_err(|()| {
                StoreError::Backend(format!(
                    "the master key file {shown} must hold 64 hex characters or 32 raw bytes"
                ))
            })
    }

    /// The key as 64 lowercase hex characters (for writing a key file), wiped on drop.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(&self.0[..]))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&*self.0).into())
    }
}

/// Refuses a path that the group or others may access (`mode & 0o077 != 0`), saying how to fix
/// it; `what` names it in the message, `mode` is the `chmod` mode to suggest.
#[cfg(unix)]
pub(crate) fn check_private(path: &Path, what: &str, mode: &str) -> Result<(), StoreError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let metadata = std::fs::metadata(path)
        .map_err(|e| StoreError::Backend(format!("reading {what} {shown}: {e}")))?;
    let current = metadata.permissions().mode() & 0o777;
    if current & 0o077 != 0 {
        return Err(StoreError::Backend(format!(
            "{what} {shown} is accessible by other users (mode {current:o}): \
             run `chmod {mode} {shown}`"
        )));
    }
    Ok(())
}

/// Elsewhere permissions are left to the platform.
#[cfg(not(unix))]
pub(crate) fn check_private(_path: &Path, _what: &str, _mode: &str) -> Result<(), StoreError> {
    Ok(())
}

/// How a store keeps root key material at rest.
#[derive(Debug, Clone)]
pub enum KeyProtection {
    /// Sealed under this master key (XChaCha20-Poly1305); plain keys already in the store are
    /// still read.
    Sealed(MasterKey),
    /// Plain hex, readable by whoever can read the database (the legacy form).
    Plain,
}

impl From<Option<MasterKey>> for KeyProtection {
    fn from(key: Option<MasterKey>) -> KeyProtection {
        key.map_or(KeyProtection::Plain, KeyProtection::Sealed)
    }
}

/// The associated data of root key `id`: binds a sealed row to its id.
fn associated_data(id: i64) -> Vec<u8> {
    format!("macaroon-mint root key {id}").into_bytes()
}

fn sealed_error(id: i64) -> StoreError {
    StoreError::Backend(format!(
        "root key {id} is sealed: wrong or missing master key"
    ))
}

impl KeyProtection {
    /// The text to store for root key `id`'s material (wiped on drop).
    pub(crate) fn seal(&self, id: i64, material: &[u8]) -> Result<Zeroizing<String>, StoreError> {
        match self {
            KeyProtection::Plain => Ok(Zeroizing::new(hex::encode(material))),
            KeyProtection::Sealed(master) => {
                let nonce = random_bytes(NONCE_LEN)?;
                let sealed = master
                    .cipher()
                    .encrypt(
                        XNonce::from_slice(&nonce),
                        Payload {
                            msg: material,
                            aad: &associated_data(id),
                        },
                    )
                    .map_err(|_| StoreError::Backend(format!("root key {id}: sealing failed")))?;
                Ok(Zeroizing::new(format!(
                    "{SEALED_PREFIX}{}:{}",
                    hex::encode(&*nonce),
                    hex::encode(sealed)
                )))
            }
        }
    }

    /// Root key `id`'s material from its stored text: opened when sealed, decoded when plain,
    /// empty when wiped.
    pub(crate) fn open(&self, id: i64, stored: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let Some(sealed) = stored.strip_prefix(SEALED_PREFIX) else {
            return material_from_hex(id, stored);
        };
        let KeyProtection::Sealed(master) = self else {
            return Err(sealed_error(id));
        };
        let corrupt = || StoreError::Backend(format!("root key {id}: corrupt sealed material"));
        let (nonce, ciphertext) = sealed.split_once(':').ok_or_else(corrupt)?;
        let nonce = hex::decode(nonce).map_err(|_| corrupt())?;
        let ciphertext = hex::decode(ciphertext).map_err(|_| corrupt())?;
        if nonce.len() != NONCE_LEN {
            return Err(corrupt());
        }
        master
            .cipher()
            .decrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: &ciphertext,
                    aad: &associated_data(id),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| sealed_error(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let master = KeyProtection::Sealed(MasterKey::from_bytes([7; 32]));
        let material = [0xab_u8; 32];
        let stored = master.seal(3, &material).unwrap();
        assert!(stored.starts_with("v1:"), "{}", stored.as_str());
        assert!(!stored.contains(&hex::encode(material)));
        assert_eq!(*master.open(3, &stored).unwrap(), material.to_vec());
        // Fresh nonce per seal.
        assert_ne!(*master.seal(3, &material).unwrap(), *stored);
        // Another id (a swapped row), another master key, no master key: refused.
        for (protection, id) in [
            (&master, 4),
            (&KeyProtection::Sealed(MasterKey::from_bytes([8; 32])), 3),
            (&KeyProtection::Plain, 3),
        ] {
            let text = protection.open(id, &stored).unwrap_err().to_string();
            assert!(text.contains("wrong or missing master key"), "{text}");
            assert!(!text.contains("abab"), "{text}");
        }
        // Plain and wiped texts are read in either mode.
        let plain = KeyProtection::Plain.seal(5, &material).unwrap();
        assert_eq!(*plain, hex::encode(material));
        assert_eq!(*master.open(5, &plain).unwrap(), material.to_vec());
        assert!(master.open(5, "").unwrap().is_empty());
        // Damaged sealed text is an error, not a panic.
        for bad in [
            "v1:",
            "v1:00:00",
            "v1:zz:00",
            &format!("v1:{}", "0".repeat(48)),
        ] {
            assert!(master.open(1, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn master_keys_parse_and_redact() {
        let hex_text = "0f".repeat(32);
        let key = MasterKey::from_hex(&format!(" {hex_text}\n")).unwrap();
        assert_eq!(*key.to_hex(), hex_text);
        assert_eq!(format!("{key:?}"), "MasterKey(<redacted>)");
        assert_eq!(
            format!("{:?}", KeyProtection::Sealed(key)),
            "Sealed(MasterKey(<redacted>))"
        );
        for bad in ["", "0f", &"zz".repeat(32), &"0f".repeat(33)] {
            let text = MasterKey::from_hex(bad).unwrap_err().to_string();
            assert!(!bad.is_empty() || text.contains("64 hex"), "{text}");
        }
        assert!(MasterKey::generate().unwrap().to_hex().len() == 64);
    }
}
