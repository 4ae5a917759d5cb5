//! Minting Onedata invite tokens: provider registration (`rop`) and space support (`ssp`)
//! tokens, as Onezone's two REST endpoints return them (SPEC §10.5).

use core::fmt;

use crate::caveat::{Form, TypedCaveat};
use crate::error::{EncodeError, Error};
use crate::format::Format;
use crate::key::RootKey;
use crate::macaroon::Macaroon;

use super::error::OnedataError;
use super::identifier::{InviteType, OnedataIdentifier, Persistence, Subject, TokenType};

/// The caveat forms an invite token supports (SPEC §10.4): `time`, `ip`, `asn`, `geo.country`,
/// `geo.region`, `consumer`.
///
/// ```
/// use macaroon_mint::caveat::Form;
/// use macaroon_mint::onedata::INVITE_CAVEATS;
///
/// assert!(INVITE_CAVEATS.contains(&Form::Time));
/// assert!(!INVITE_CAVEATS.contains(&Form::Interface));
/// ```
pub const INVITE_CAVEATS: [Form; 6] = [
    Form::Time,
    Form::Ip,
    Form::Asn,
    Form::GeoCountry,
    Form::GeoRegion,
    Form::Consumer,
];

/// The caveat forms an access token supports (SPEC §10.4), but `authorization = none`: it only
/// holds in identity scope, which an access token is not used in.
///
/// ```
/// use macaroon_mint::caveat::Form;
/// use macaroon_mint::onedata::ACCESS_CAVEATS;
///
/// assert!(ACCESS_CAVEATS.contains(&Form::Api));
/// assert!(!ACCESS_CAVEATS.contains(&Form::Authorization));
/// ```
pub const ACCESS_CAVEATS: [Form; 12] = [
    Form::Time,
    Form::Ip,
    Form::Asn,
    Form::GeoCountry,
    Form::GeoRegion,
    Form::Service,
    Form::Consumer,
    Form::Interface,
    Form::Api,
    Form::DataReadonly,
    Form::DataPath,
    Form::DataObjectId,
];

/// The caveat forms an identity token supports (SPEC §10.4).
///
/// ```
/// use macaroon_mint::caveat::Form;
/// use macaroon_mint::onedata::IDENTITY_CAVEATS;
///
/// assert!(IDENTITY_CAVEATS.contains(&Form::Interface));
/// assert!(!IDENTITY_CAVEATS.contains(&Form::Api));
/// ```
pub const IDENTITY_CAVEATS: [Form; 7] = [
    Form::Time,
    Form::Ip,
    Form::Asn,
    Form::GeoCountry,
    Form::GeoRegion,
    Form::Consumer,
    Form::Interface,
];

/// Length in lowercase hex characters of a generated token id (16 random bytes).
const TOKEN_ID_HEX_LEN: usize = 32;

/// How to mint an invite token.
///
/// A plain struct; `Default` is what Onezone's REST endpoints mint: a named token (`nmd`) with a
/// random 32-character lowercase hex token id, no expiry and no caveats.
///
/// - `persistence`: [`Persistence::Named`] (default) or [`Persistence::Temporary`] with the
///   subject's current generation. A temporary token needs an expiry (`expiry`, or a
///   [`TypedCaveat::Time`] among `caveats`): Onezone requires one.
/// - `token_id`: `None` (default) draws 32 random lowercase hex characters from the operating
///   system's CSPRNG.
/// - `expiry`: adds `time < N` as the first caveat, `N` given ([`Expiry::At`]) or counted from
///   the minting time ([`Expiry::after`]: the library never reads the clock, so a ttl always
///   comes with its `now`); `None` (default) adds no expiry.
/// - `caveats`: further caveats, in order, after the expiry. Only the invite token's supported
///   forms ([`INVITE_CAVEATS`]) are accepted.
///
/// ```
/// use macaroon_mint::onedata::{Expiry, InviteOptions, Persistence};
///
/// let defaults = InviteOptions::default();
/// assert_eq!(defaults.persistence, Persistence::Named);
/// assert_eq!((defaults.token_id, defaults.expiry), (None, None));
/// assert!(defaults.caveats.is_empty());
///
/// let temporary = InviteOptions {
///     persistence: Persistence::Temporary { generation: 3 },
///     expiry: Some(Expiry::after(3600, 1_700_000_000)),
///     ..InviteOptions::default()
/// };
/// assert_eq!(temporary.expiry.unwrap().time(), Ok(1_700_003_600));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InviteOptions {
    /// Named (default) or temporary with a generation.
    pub persistence: Persistence,
    /// The token id; `None` generates 32 random lowercase hex characters.
    pub token_id: Option<String>,
    /// The expiry, written as the first caveat; `None`: none.
    pub expiry: Option<Expiry>,
    /// Further caveats, in order (invite-supported forms only).
    pub caveats: Vec<TypedCaveat>,
}

/// When a minted token expires: the `N` of its `time < N` caveat.
///
/// ```
/// use macaroon_mint::onedata::{Expiry, OnedataError};
///
/// assert_eq!(Expiry::At(1_700_000_000).time(), Ok(1_700_000_000));
/// assert_eq!(Expiry::after(60, 1_700_000_000).time(), Ok(1_700_000_060));
/// assert_eq!(Expiry::after(0, 1_700_000_000).time(), Err(OnedataError::ZeroTtl));
/// assert!(matches!(Expiry::after(u64::MAX, 1).time(), Err(OnedataError::ExpiryOverflow { .. })));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Expiry {
    /// At this time (Unix seconds). Not checked against any clock (the library has none when
    /// minting): a time already past mints a token that is expired from the start.
    At(u64),
    /// `ttl` seconds after the minting time `now` (Unix seconds).
    After {
        /// The lifetime in seconds (at least 1).
        ttl: u64,
        /// The minting time.
        now: u64,
    },
}

impl Expiry {
    /// `ttl` seconds after `now`.
    pub const fn after(ttl: u64, now: u64) -> Expiry {
        Expiry::After { ttl, now }
    }

    /// The expiry time.
    ///
    /// # Errors
    ///
    /// [`OnedataError::ZeroTtl`] for a ttl of 0 (the token would be expired when minted);
    /// [`OnedataError::ExpiryOverflow`] when `now + ttl` does not fit in a `u64`.
    pub fn time(self) -> Result<u64, OnedataError> {
        match self {
            Expiry::At(time) => Ok(time),
            Expiry::After { ttl: 0, .. } => Err(OnedataError::ZeroTtl),
            Expiry::After { ttl, now } => now
                .checked_add(ttl)
                .ok_or(OnedataError::ExpiryOverflow { now, ttl }),
        }
    }
}

impl Default for Persistence {
    /// [`Persistence::Named`], what Onezone's REST endpoints mint.
    fn default() -> Persistence {
        Persistence::Named
    }
}

/// A freshly minted Onedata token: its text, the macaroon and the identifier.
///
/// `Debug` redacts the token text (a bearer credential), as [`Macaroon`]'s `Debug` redacts the
/// signature.
///
/// ```
/// use macaroon_mint::onedata::{provider_registration_token, InviteOptions};
/// use macaroon_mint::RootKey;
///
/// let key = RootKey::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
/// let minted = provider_registration_token(&key, "onezone.example", "u1", "u1", &InviteOptions::default())?;
/// assert_eq!(minted.identifier.id().len(), 32);
/// assert_eq!(minted.macaroon.location(), b"onezone.example");
/// assert!(format!("{minted:?}").contains("<redacted>"));
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct MintedToken {
    /// The token text (Onedata base62 form, no service prefix), as Onezone returns it in
    /// `{"token": "…"}`.
    pub token: String,
    /// The macaroon.
    pub macaroon: Macaroon,
    /// The identifier written into it.
    pub identifier: OnedataIdentifier,
    /// The expiry (`time < N`) added from [`InviteOptions::expiry`], if any.
    pub expiry: Option<u64>,
}

impl fmt::Debug for MintedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MintedToken")
            .field("token", &"<redacted>")
            .field("macaroon", &self.macaroon)
            .field("identifier", &self.identifier)
            .field("expiry", &self.expiry)
            .finish()
    }
}

/// Mints a provider registration token (`rop`, SPEC §10.5): issued by the user
/// `issuer_user_id`, registering a Oneprovider whose cluster admin will be `admin_user_id`.
///
/// Onezone's endpoint issues it with the caller as subject, so for a user registering their own
/// provider both ids are the same. `location` is the Onezone domain; `key` is the token secret
/// (Onedata secrets are 64 lowercase hex characters whose ASCII text is the key).
///
/// # Errors
///
/// [`OnedataError::Identifier`] for ids that cannot be written into an identifier (a `/` or `:`),
/// and the option errors of [`InviteOptions`] (see [`invite_token`]).
///
/// ```
/// use macaroon_mint::onedata::{provider_registration_token, InviteOptions};
/// use macaroon_mint::RootKey;
///
/// // SPEC §11.7 (TV7): the published registerOneprovider token, byte for byte.
/// let options = InviteOptions {
///     token_id: Some("1234567890example-id1234567890e".into()),
///     ..InviteOptions::default()
/// };
/// let minted = provider_registration_token(
///     &RootKey::new("verySecretSecret5"),
///     "domain.example.com",
///     "invitation-sender",
///     "AdminUserId",
///     &options,
/// )?;
/// assert!(minted.token.starts_with("MDAyMGxvY2F00aW9uIGRvbWFpbi5leGFtcGxlLmNvbQowMDVj"));
/// assert_eq!(
///     minted.macaroon.signature_hex(),
///     "7aa0198cefd5f629c487e3d791e4488f6db9e960fbd53c51c815cbae52ea1b8b"
/// );
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
pub fn provider_registration_token(
    key: &RootKey,
    location: &str,
    issuer_user_id: &str,
    admin_user_id: &str,
    options: &InviteOptions,
) -> Result<MintedToken, OnedataError> {
    invite_token(
        key,
        location,
        Subject::User(issuer_user_id.to_owned()),
        InviteType::RegisterOneprovider,
        admin_user_id,
        options,
    )
}

/// Mints a space support token (`ssp`, SPEC §10.5): lets a Oneprovider support `space_id`;
/// issued by `issuer` (the user who asked for it). Its invite parameters are written `ge`.
///
/// # Errors
///
/// As [`provider_registration_token`].
///
/// ```
/// use macaroon_mint::onedata::{space_support_token, Expiry, InviteOptions, InviteType, Subject};
/// use macaroon_mint::RootKey;
///
/// let options = InviteOptions { expiry: Some(Expiry::after(86_400, 1_700_000_000)), ..InviteOptions::default() };
/// let minted = space_support_token(
///     &RootKey::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"),
///     "onezone.example",
///     Subject::User("alice".into()),
///     "space1",
///     &options,
/// )?;
/// assert_eq!(minted.identifier.invite_kind(), Some(&InviteType::SupportSpace));
/// assert_eq!(minted.macaroon.caveats()[0].id(), b"time < 1700086400");
/// assert_eq!(minted.expiry, Some(1_700_086_400));
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
pub fn space_support_token(
    key: &RootKey,
    location: &str,
    issuer: Subject,
    space_id: &str,
    options: &InviteOptions,
) -> Result<MintedToken, OnedataError> {
    invite_token(
        key,
        location,
        issuer,
        InviteType::SupportSpace,
        space_id,
        options,
    )
}

/// Mints an invite token of any known kind: subject `issuer`, type `<code>:<target>:<parameters>`
/// with the parameters Onedata writes for `invite` ([`InviteType::default_parameters`]).
///
/// The caveats are, in order: `time < N` when `options.expiry` is set, then
/// `options.caveats`. The token text is Onedata's base62 form without a service prefix.
///
/// # Errors
///
/// - [`OnedataError::UnknownInviteType`] for [`InviteType::Other`];
/// - [`OnedataError::Identifier`] for a subject, target or token id that cannot be written into
///   an identifier;
/// - [`OnedataError::TemporaryWithoutExpiry`] for a temporary token with neither a ttl nor a
///   `time` caveat; [`OnedataError::ZeroTtl`]; [`OnedataError::ExpiryOverflow`] (see
///   [`Expiry::time`]);
/// - [`OnedataError::UnknownCaveat`], [`OnedataError::UnsupportedCaveat`] and
///   [`OnedataError::InvalidCaveat`] for a caveat that is not a well-formed invite caveat;
/// - [`OnedataError::Macaroon`] when the operating system's random number generator fails or a
///   field is too large.
///
/// ```
/// use macaroon_mint::onedata::{invite_token, InviteOptions, InviteType, OnedataError, Persistence, Subject};
/// use macaroon_mint::caveat::{Form, Interface};
/// use macaroon_mint::{RootKey, TypedCaveat};
///
/// let key = RootKey::new("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef");
/// let user = || Subject::User("alice".into());
/// let minted = invite_token(&key, "oz", user(), InviteType::UserJoinGroup, "group1", &InviteOptions::default())?;
/// assert_eq!(minted.identifier.invite_target(), Some("group1"));
///
/// let temporary = InviteOptions { persistence: Persistence::Temporary { generation: 1 }, ..InviteOptions::default() };
/// let err = invite_token(&key, "oz", user(), InviteType::UserJoinGroup, "group1", &temporary).unwrap_err();
/// assert_eq!(err, OnedataError::TemporaryWithoutExpiry);
///
/// let rest_only = InviteOptions { caveats: vec![TypedCaveat::Interface(Interface::Rest)], ..InviteOptions::default() };
/// let err = invite_token(&key, "oz", user(), InviteType::UserJoinGroup, "group1", &rest_only).unwrap_err();
/// assert!(matches!(err, OnedataError::UnsupportedCaveat { index: 0, form: Form::Interface, .. }));
/// # Ok::<(), macaroon_mint::onedata::OnedataError>(())
/// ```
pub fn invite_token(
    key: &RootKey,
    location: &str,
    issuer: Subject,
    invite: InviteType,
    target: &str,
    options: &InviteOptions,
) -> Result<MintedToken, OnedataError> {
    if let InviteType::Other(code) = &invite {
        return Err(OnedataError::UnknownInviteType { code: code.clone() });
    }
    let caveats = check_caveats(&options.caveats)?;
    let expiry = options.expiry.map(Expiry::time).transpose()?;
    let has_time_caveat = options
        .caveats
        .iter()
        .any(|c| matches!(c, TypedCaveat::Time(_)));
    if matches!(options.persistence, Persistence::Temporary { .. })
        && expiry.is_none()
        && !has_time_caveat
    {
        return Err(OnedataError::TemporaryWithoutExpiry);
    }
    let token_id = match &options.token_id {
        Some(id) => id.clone(),
        None => random_token_id()?,
    };
    let identifier = OnedataIdentifier::new(
        options.persistence,
        issuer,
        TokenType::invite(invite, target),
        token_id,
    )?;

    let mut macaroon = Macaroon::mint(key, location, identifier.to_string())?;
    if let Some(n) = expiry {
        macaroon = macaroon.with_first_party(TypedCaveat::Time(n))?;
    }
    for caveat in caveats {
        macaroon = macaroon.with_first_party(caveat)?;
    }
    let token = macaroon.serialize(Format::Onedata)?;
    Ok(MintedToken {
        token,
        macaroon,
        identifier,
        expiry,
    })
}

/// The bytes of each caveat, refusing what an invite token cannot carry.
fn check_caveats(caveats: &[TypedCaveat]) -> Result<Vec<Vec<u8>>, OnedataError> {
    caveats
        .iter()
        .enumerate()
        .map(|(index, caveat)| {
            if let TypedCaveat::Unknown(bytes) = caveat {
                return Err(OnedataError::UnknownCaveat {
                    index,
                    text: String::from_utf8_lossy(bytes).into_owned(),
                });
            }
            let Some(form) = caveat.form() else {
                return Err(OnedataError::UnknownCaveat {
                    index,
                    text: caveat.to_string(),
                });
            };
            if !INVITE_CAVEATS.contains(&form) {
                return Err(OnedataError::UnsupportedCaveat {
                    index,
                    form,
                    text: caveat.to_string(),
                });
            }
            caveat
                .encode()
                .map_err(|error| OnedataError::InvalidCaveat { index, error })
        })
        .collect()
}

/// 32 random lowercase hex characters (16 bytes from the operating system's CSPRNG).
fn random_token_id() -> Result<String, OnedataError> {
    let mut bytes = [0u8; TOKEN_ID_HEX_LEN / 2];
    getrandom::getrandom(&mut bytes).map_err(|_| Error::Encode(EncodeError::Random))?;
    Ok(crate::util::hex(&bytes))
}
