//! The macaroon value: minting, attenuation and discharge binding.

use core::fmt;
use std::borrow::Cow;

use crate::crypto::{self, NONCE_LEN};
use crate::error::{EncodeError, Error};
use crate::format::CaveatRef;
use crate::key::RootKey;

/// The largest location, identifier or caveat field any format can carry.
pub const MAX_FIELD_BYTES: usize = 65_535;

/// A macaroon: location, identifier, caveats and the signature chaining them.
///
/// A `Macaroon` is an immutable value. Adding a caveat consumes it and returns the attenuated
/// macaroon, so a half-updated token can never be observed. A parsed macaroon is *untrusted*: its
/// fields can be inspected, but only [`Verifier::verify`](crate::Verifier::verify) says whether it
/// authorizes anything.
///
/// `Debug` redacts the signature (it is a bearer credential). `PartialEq` compares every field,
/// the signature included, and is meant for tests and bookkeeping, not for verification.
///
/// ```
/// use macaroon_mint::{Format, Macaroon, RootKey};
///
/// let key = RootKey::new(b"this is our super secret key; only we should know it");
/// let m = Macaroon::mint(&key, "http://mybank/", "we used our secret key")?
///     .with_first_party("account = 3735928559")?;
/// assert_eq!(
///     m.serialize(Format::V1)?,
///     "MDAxY2xvY2F0aW9uIGh0dHA6Ly9teWJhbmsvCjAwMjZpZGVudGlmaWVyIHdlIHVzZWQgb3VyIHNlY3JldCBrZXkK\
///      MDAxZGNpZCBhY2NvdW50ID0gMzczNTkyODU1OQowMDJmc2lnbmF0dXJlIB7-R2PykNvODB0IR3Nn4R9O7kVqZJM89mLXl3LbuCEoCg"
/// );
/// assert_eq!(Macaroon::parse(&m.serialize(Format::V2)?)?, m);
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Macaroon {
    pub(crate) location: Vec<u8>,
    pub(crate) identifier: Vec<u8>,
    pub(crate) caveats: Vec<Caveat>,
    pub(crate) signature: [u8; 32],
}

/// One caveat of a macaroon.
///
/// A first-party caveat is a predicate (`id`) checked by the verifier. A third-party caveat also
/// has a verification id (`vid`: the caveat key encrypted under the signature at that point) and
/// the third party's location; it is satisfied by a discharge macaroon whose identifier is `id`.
#[derive(Clone, PartialEq, Eq)]
pub struct Caveat {
    pub(crate) id: Vec<u8>,
    pub(crate) verification_id: Option<Vec<u8>>,
    pub(crate) location: Vec<u8>,
}

impl Caveat {
    /// The predicate (first-party) or caveat identifier (third-party).
    pub fn id(&self) -> &[u8] {
        &self.id
    }

    /// The verification id of a third-party caveat; `None` for a first-party caveat.
    pub fn verification_id(&self) -> Option<&[u8]> {
        self.verification_id.as_deref()
    }

    /// The third party's location (empty if none was given). Not covered by the signature.
    pub fn location(&self) -> &[u8] {
        &self.location
    }

    /// Whether this caveat must be discharged by a third party.
    pub fn is_third_party(&self) -> bool {
        self.verification_id.is_some()
    }
}

impl fmt::Debug for Caveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Caveat");
        d.field("id", &DebugBytes(&self.id));
        if let Some(vid) = &self.verification_id {
            d.field("verification_id", &DebugBytes(vid));
            d.field("location", &DebugBytes(&self.location));
        }
        d.finish()
    }
}

impl fmt::Debug for Macaroon {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Macaroon")
            .field("location", &DebugBytes(&self.location))
            .field("identifier", &DebugBytes(&self.identifier))
            .field("caveats", &self.caveats)
            .field("signature", &"<redacted>")
            .finish()
    }
}

struct DebugBytes<'a>(&'a [u8]);

impl fmt::Debug for DebugBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", crate::util::Printable(self.0))
    }
}

/// What [`Macaroon::with_first_party`] takes: predicate bytes (`&str`, `String`, `&[u8]`, …) as
/// they are, or a [`TypedCaveat`](crate::TypedCaveat) (or a reference to one), written with
/// [`TypedCaveat::encode`](crate::TypedCaveat::encode) so a hand-built value that would not parse
/// back to itself never reaches a token.
///
/// ```
/// use macaroon_mint::caveat::{Interface, List, TypedCaveat};
/// use macaroon_mint::{Error, Macaroon, RootKey};
///
/// let key = RootKey::new("k");
/// let m = Macaroon::mint(&key, "", "id")?
///     .with_first_party(TypedCaveat::Time(1_700_003_600))?
///     .with_first_party(&TypedCaveat::Interface(Interface::Rest))?
///     .with_first_party("user = alice")?;
/// assert_eq!(m.caveats()[0].id(), b"time < 1700003600");
///
/// // A typed value that does not print back to itself is refused, not written.
/// let hidden = TypedCaveat::Unknown(b"ip = 10.0.0.1".to_vec());
/// assert!(matches!(m.with_first_party(hidden), Err(Error::Caveat(_))));
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
pub trait AsPredicate {
    /// The predicate's bytes.
    ///
    /// # Errors
    ///
    /// [`Error::Caveat`] for a typed caveat that does not encode.
    fn predicate(&self) -> Result<Cow<'_, [u8]>, Error>;
}

impl<T: AsRef<[u8]> + ?Sized> AsPredicate for T {
    fn predicate(&self) -> Result<Cow<'_, [u8]>, Error> {
        Ok(Cow::Borrowed(self.as_ref()))
    }
}

#[cfg(feature = "caveats")]
impl AsPredicate for crate::TypedCaveat {
    fn predicate(&self) -> Result<Cow<'_, [u8]>, Error> {
        self.encode().map(Cow::Owned).map_err(Error::Caveat)
    }
}

#[cfg(feature = "caveats")]
impl AsPredicate for &crate::TypedCaveat {
    fn predicate(&self) -> Result<Cow<'_, [u8]>, Error> {
        (**self).predicate()
    }
}

fn check_field(field: &'static str, value: &[u8]) -> Result<(), Error> {
    if value.len() > MAX_FIELD_BYTES {
        return Err(EncodeError::FieldTooLarge {
            field,
            len: value.len(),
            max: MAX_FIELD_BYTES,
        }
        .into());
    }
    Ok(())
}

impl Macaroon {
    /// Mints a new macaroon: `signature = HMAC(root key, identifier)`.
    ///
    /// The location is an unsigned hint; the identifier tells the minter which root key to use.
    /// Both are arbitrary bytes (empty, binary and non-UTF-8 allowed) of at most 65,535 bytes.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let key = RootKey::new(b"this is the key");
    /// let m = Macaroon::mint(&key, "http://example.org/", "keyid")?;
    /// assert_eq!(
    ///     m.signature_hex(),
    ///     "7cdee792511c5bc6f528485805dfe9b24e785e28e2a99301f9d711c609e38ef7"
    /// );
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn mint(
        key: &RootKey,
        location: impl AsRef<[u8]>,
        identifier: impl AsRef<[u8]>,
    ) -> Result<Macaroon, Error> {
        let (location, identifier) = (location.as_ref(), identifier.as_ref());
        check_field("location", location)?;
        check_field("identifier", identifier)?;
        Ok(Macaroon {
            location: location.to_vec(),
            identifier: identifier.to_vec(),
            caveats: Vec::new(),
            signature: key.sign_identifier(identifier),
        })
    }

    /// Adds a first-party caveat (a predicate the verifier must satisfy): bytes or text as given,
    /// or a [`TypedCaveat`](crate::TypedCaveat) in its checked encoding (see [`AsPredicate`]).
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let key = RootKey::new(b"this is the key");
    /// let m = Macaroon::mint(&key, "http://example.org/", "keyid")?
    ///     .with_first_party("account = 3735928559")?;
    /// assert_eq!(m.caveats().len(), 1);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_first_party(mut self, predicate: impl AsPredicate) -> Result<Macaroon, Error> {
        let predicate = predicate.predicate()?;
        let predicate: &[u8] = &predicate;
        check_field("caveat id", predicate)?;
        let caveat = Caveat {
            id: predicate.to_vec(),
            verification_id: None,
            location: Vec::new(),
        };
        self.signature = crypto::fold(&self.signature, CaveatRef::from(&caveat));
        self.caveats.push(caveat);
        Ok(self)
    }

    /// Adds a third-party caveat, encrypting the caveat key under a nonce from the OS CSPRNG.
    ///
    /// `caveat_key` is the root key the third party will mint the discharge with; `caveat_id`
    /// tells the third party which key and predicate to use (typically it is itself encrypted for
    /// the third party). The discharge must be minted as
    /// `Macaroon::mint(caveat_key, location, caveat_id)` and bound with [`Macaroon::bind_to`].
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey, Verifier};
    ///
    /// let key = RootKey::new(b"root secret");
    /// let caveat_key = RootKey::new(b"shared with the auth service");
    /// let root = Macaroon::mint(&key, "http://mybank/", "id")?
    ///     .with_third_party("http://auth.mybank/", &caveat_key, "user is alice")?;
    /// let discharge = Macaroon::mint(&caveat_key, "http://auth.mybank/", "user is alice")?
    ///     .bind_to(&root);
    /// Verifier::new().verify(&key, &root, &[discharge])?;
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_third_party(
        self,
        location: impl AsRef<[u8]>,
        caveat_key: &RootKey,
        caveat_id: impl AsRef<[u8]>,
    ) -> Result<Macaroon, Error> {
        let nonce = crypto::random_nonce()?;
        self.with_third_party_nonce(location, caveat_key, caveat_id, nonce)
    }

    /// Adds a third-party caveat with a caller-chosen nonce.
    ///
    /// Only for reproducible test vectors: reusing a nonce under the same signature reveals the
    /// relation between caveat keys. Use [`Macaroon::with_third_party`] otherwise.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let key = RootKey::new("this is a different super-secret key; never use the same secret twice");
    /// let m = Macaroon::mint(&key, "http://mybank/", "we used our other secret key")?
    ///     .with_first_party("account = 3735928559")?
    ///     .with_third_party_nonce(
    ///         "http://auth.mybank/",
    ///         &RootKey::new("4; guaranteed random by a fair toss of the dice"),
    ///         "this was how we remind auth of key/pred",
    ///         [0u8; 24],
    ///     )?;
    /// assert_eq!(
    ///     m.signature_hex(),
    ///     "d27db2fd1f22760e4c3dae8137e2d8fc1df6c0741c18aed4b97256bf78d1f55c"
    /// );
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn with_third_party_nonce(
        mut self,
        location: impl AsRef<[u8]>,
        caveat_key: &RootKey,
        caveat_id: impl AsRef<[u8]>,
        nonce: [u8; NONCE_LEN],
    ) -> Result<Macaroon, Error> {
        let (location, caveat_id) = (location.as_ref(), caveat_id.as_ref());
        check_field("caveat location", location)?;
        check_field("caveat id", caveat_id)?;
        let vid = crypto::seal_caveat_key(&self.signature, &nonce, caveat_key.derived());
        let caveat = Caveat {
            id: caveat_id.to_vec(),
            verification_id: Some(vid.to_vec()),
            location: location.to_vec(),
        };
        self.signature = crypto::fold(&self.signature, CaveatRef::from(&caveat));
        self.caveats.push(caveat);
        Ok(self)
    }

    /// Binds this discharge to the root macaroon it will be presented with.
    ///
    /// The result's signature is `HMAC(0³², HMAC(0³², root sig) ‖ HMAC(0³², discharge sig))`;
    /// all other fields are copied. Bind every discharge, at every depth, to the *root*.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let root = Macaroon::mint(&RootKey::new("a"), "", "root")?;
    /// let discharge = Macaroon::mint(&RootKey::new("b"), "", "cid")?;
    /// let bound = discharge.bind_to(&root);
    /// assert_eq!(bound.identifier(), discharge.identifier());
    /// assert_ne!(bound.signature(), discharge.signature());
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    #[must_use]
    pub fn bind_to(&self, root: &Macaroon) -> Macaroon {
        let mut bound = self.clone();
        bound.signature = crypto::bind(&root.signature, &self.signature);
        bound
    }

    /// Whether this macaroon's own signature chain was computed from `key` (constant time).
    ///
    /// This checks authorship only: it evaluates no caveat and needs no discharge, so it must not
    /// be used to authorize anything — that is [`Verifier::verify`](crate::Verifier::verify). It
    /// lets a minter confirm a token is its own before attenuating it further.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    ///
    /// let key = RootKey::new("k");
    /// let m = Macaroon::mint(&key, "", "id")?.with_first_party("anything")?;
    /// assert!(m.is_signed_by(&key));
    /// assert!(!m.is_signed_by(&RootKey::new("other")));
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn is_signed_by(&self, key: &RootKey) -> bool {
        let signature = self
            .caveats
            .iter()
            .fold(key.sign_identifier(&self.identifier), |signature, c| {
                crypto::fold(&signature, CaveatRef::from(c))
            });
        crypto::signatures_equal(&signature, &self.signature)
    }

    /// The location hint (empty if none). Not covered by the signature.
    pub fn location(&self) -> &[u8] {
        &self.location
    }

    /// The identifier.
    pub fn identifier(&self) -> &[u8] {
        &self.identifier
    }

    /// The caveats, in the order they were added.
    pub fn caveats(&self) -> &[Caveat] {
        &self.caveats
    }

    /// The 32-byte signature.
    pub fn signature(&self) -> &[u8; 32] {
        &self.signature
    }

    /// The signature as lowercase hex.
    ///
    /// ```
    /// use macaroon_mint::{Macaroon, RootKey};
    /// let m = Macaroon::mint(&RootKey::new("k"), "", "i")?;
    /// assert_eq!(m.signature_hex().len(), 64);
    /// # Ok::<(), macaroon_mint::Error>(())
    /// ```
    pub fn signature_hex(&self) -> String {
        crate::util::hex(&self.signature)
    }

    /// Builds a macaroon from parts without computing anything (decoders use this).
    pub(crate) fn from_parts(
        location: Vec<u8>,
        identifier: Vec<u8>,
        caveats: Vec<Caveat>,
        signature: [u8; 32],
    ) -> Macaroon {
        Macaroon {
            location,
            identifier,
            caveats,
            signature,
        }
    }
}
