//! Errors of the Onedata profile helpers (minting and verifying invite tokens).

use crate::caveat::CaveatError;
use crate::error::Error;

use super::identifier::{IdentifierError, InviteType, TokenType};

/// Why an Onedata invite token could not be minted, read or verified.
///
/// Errors of the underlying layers are wrapped: [`OnedataError::Macaroon`] for decoding, limits
/// and verification of the macaroon itself (signature, caveats, expiry, lifetime), and
/// [`OnedataError::Identifier`] for an identifier that is not a valid Onedata identifier. The other
/// variants are the profile's own checks (SPEC §10.2–§10.4). Each message names what was wrong.
///
/// ```
/// use macaroon_mint::onedata::{InviteType, OnedataError};
///
/// let err = OnedataError::WrongInviteType {
///     expected: InviteType::RegisterOneprovider,
///     found: InviteType::SupportSpace,
/// };
/// assert_eq!(
///     err.to_string(),
///     "wrong invite type: expected rop (register Oneprovider), found ssp (support space)"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OnedataError {
    /// The macaroon layer failed: malformed text, a limit, or verification (wrong key, a caveat
    /// that does not hold, an expired token, a lifetime over the policy's cap).
    #[error(transparent)]
    Macaroon(#[from] Error),
    /// The identifier is not a valid Onedata token identifier.
    #[error(transparent)]
    Identifier(#[from] IdentifierError),
    /// The text is a macaroon, but not in Onedata's token text form (base62-escaped v1, SPEC
    /// §10.1), which is the only form Onezone accepts.
    #[error(
        "the token is {found} text, not Onedata token text (base62-escaped v1, optionally \
         prefixed by opw- or opp-)"
    )]
    NotOnedataText {
        /// The encoding found (as in [`Encoding::name`](crate::Encoding::name)).
        found: &'static str,
    },
    /// A legacy (version 1) identifier: it carries no token type, so it cannot be an invite.
    #[error(
        "legacy (version 1) token \"{}\": its identifier has no token type, so it is not an \
         invite token",
        .token_id.escape_debug()
    )]
    LegacyToken {
        /// The legacy token id (the whole identifier).
        token_id: String,
    },
    /// The token is not an invite token (an access or identity token).
    #[error("wrong token type: expected an invite token, found {} token (type \"{}\")", type_kind(.found), .found.to_string().escape_debug())]
    WrongTokenType {
        /// The token's type.
        found: TokenType,
    },
    /// An invite token of another kind than the one required (an `ssp` token where a `rop` token
    /// is required, say).
    #[error(
        "wrong invite type: expected {} ({}), found {} ({})",
        .expected, invite_name(.expected), .found, invite_name(.found)
    )]
    WrongInviteType {
        /// The invite type the caller required.
        expected: InviteType,
        /// The token's invite type.
        found: InviteType,
    },
    /// An invite code this library does not know (in the token, or asked for by the caller);
    /// Onedata rejects such tokens, and so does this helper.
    #[error("unknown invite type code \"{}\" (Onedata accepts only its known invite types)", .code.escape_debug())]
    UnknownInviteType {
        /// The code.
        code: String,
    },
    /// A temporary token of a generation other than the subject's current one: every temporary
    /// token of that generation has been revoked (SPEC §10.3). Checked before the signature.
    #[error(
        "temporary token of generation {generation} has been revoked (the current generation is \
         {current})"
    )]
    Revoked {
        /// The token's generation.
        generation: u64,
        /// The subject's current generation.
        current: u64,
    },
    /// A temporary token, but the policy does not say the subject's current generation
    /// ([`InvitePolicy::current_generation`](super::InvitePolicy::current_generation) is
    /// `None`), so it cannot be checked for revocation.
    #[error(
        "temporary token of generation {generation}: the current generation of its subject's \
         temporary tokens is needed to check revocation, and none was given"
    )]
    GenerationUnknown {
        /// The token's generation.
        generation: u64,
    },
    /// A third-party caveat: Onedata tokens carry first-party caveats only.
    #[error(
        "caveat {index} is a third-party caveat; Onedata tokens carry first-party caveats only"
    )]
    ThirdPartyCaveat {
        /// The caveat's index.
        index: usize,
    },
    /// Minting a temporary token without an expiry (Onezone requires a `time <` caveat on
    /// temporary tokens).
    #[error(
        "a temporary token needs an expiry: give one (Onezone requires a \"time < N\" caveat on \
         temporary tokens)"
    )]
    TemporaryWithoutExpiry,
    /// A ttl of 0: the token would be expired when minted.
    #[error(
        "the ttl must be at least 1 second (a ttl of 0 gives a token that is already expired)"
    )]
    ZeroTtl,
    /// `now + ttl` does not fit in a `u64`.
    #[error("the expiry now + ttl ({now} + {ttl}) overflows a 64-bit number of seconds")]
    ExpiryOverflow {
        /// The minting time.
        now: u64,
        /// The ttl.
        ttl: u64,
    },
    /// A caveat given for minting whose form invite tokens do not support (SPEC §10.4).
    #[error(
        "caveat {index} (\"{}\"): the {form} form is not supported on invite tokens \
         (supported: time, ip, asn, geo.country, geo.region, consumer)",
        .text.escape_debug()
    )]
    UnsupportedCaveat {
        /// The caveat's index among the caveats given.
        index: usize,
        /// The caveat's form.
        form: crate::caveat::Form,
        /// The caveat text.
        text: String,
    },
    /// A caveat given for minting that matches no caveat form ([`TypedCaveat::Unknown`]):
    /// Onezone would reject the token.
    ///
    /// [`TypedCaveat::Unknown`]: crate::TypedCaveat::Unknown
    #[error(
        "caveat {index} (\"{}\") matches no Onedata caveat form; Onezone would reject the token",
        .text.escape_debug()
    )]
    UnknownCaveat {
        /// The caveat's index among the caveats given.
        index: usize,
        /// The caveat text (lossy for bytes that are not UTF-8).
        text: String,
    },
    /// A caveat given for minting that cannot be written as given (an empty list, say).
    #[error("caveat {index}: {error}")]
    InvalidCaveat {
        /// The caveat's index among the caveats given.
        index: usize,
        /// What is wrong.
        error: CaveatError,
    },
}

impl OnedataError {
    /// This error's [`ErrorClass`](crate::ErrorClass): a token that does not read is
    /// `Malformed`, one that reads but does not grant what was asked `NotAuthorized`, minting
    /// options that cannot be honoured `Misuse`.
    ///
    /// ```
    /// use macaroon_mint::onedata::{OnedataError, OnedataToken};
    /// use macaroon_mint::ErrorClass;
    ///
    /// let err = OnedataToken::parse("MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8").unwrap_err();
    /// assert_eq!(err.class(), ErrorClass::Malformed);
    /// assert_eq!(OnedataError::Revoked { generation: 1, current: 2 }.class(), ErrorClass::NotAuthorized);
    /// assert_eq!(OnedataError::ZeroTtl.class(), ErrorClass::Misuse);
    /// ```
    pub fn class(&self) -> crate::ErrorClass {
        use crate::ErrorClass as C;
        match self {
            OnedataError::Macaroon(e) => e.class(),
            OnedataError::Identifier(_) | OnedataError::NotOnedataText { .. } => C::Malformed,
            OnedataError::TemporaryWithoutExpiry
            | OnedataError::ZeroTtl
            | OnedataError::ExpiryOverflow { .. }
            | OnedataError::UnsupportedCaveat { .. }
            | OnedataError::UnknownCaveat { .. }
            | OnedataError::InvalidCaveat { .. } => C::Misuse,
            OnedataError::LegacyToken { .. }
            | OnedataError::WrongTokenType { .. }
            | OnedataError::WrongInviteType { .. }
            | OnedataError::UnknownInviteType { .. }
            | OnedataError::Revoked { .. }
            | OnedataError::GenerationUnknown { .. }
            | OnedataError::ThirdPartyCaveat { .. } => C::NotAuthorized,
        }
    }
}

/// `access` / `identity` / `an invite` for a token type.
fn type_kind(t: &TokenType) -> &'static str {
    match t {
        TokenType::Access { .. } => "an access",
        TokenType::Identity => "an identity",
        TokenType::Invite { .. } => "an invite",
    }
}

/// A readable name for an invite type.
pub(crate) fn invite_name(t: &InviteType) -> &'static str {
    match t {
        InviteType::UserJoinGroup => "user join group",
        InviteType::GroupJoinGroup => "group join group",
        InviteType::UserJoinSpace => "user join space",
        InviteType::GroupJoinSpace => "group join space",
        InviteType::SupportSpace => "support space",
        InviteType::HarvesterJoinSpace => "harvester join space",
        InviteType::RegisterOneprovider => "register Oneprovider",
        InviteType::UserJoinCluster => "user join cluster",
        InviteType::GroupJoinCluster => "group join cluster",
        InviteType::UserJoinHarvester => "user join harvester",
        InviteType::GroupJoinHarvester => "group join harvester",
        InviteType::SpaceJoinHarvester => "space join harvester",
        InviteType::UserJoinAtmInventory => "user join automation inventory",
        InviteType::GroupJoinAtmInventory => "group join automation inventory",
        InviteType::Other(_) => "unknown invite type",
    }
}
