//! The service's domain errors. They say what went wrong in the service's terms; `http/` maps
//! each to Onezone's status, error id and details.

use std::fmt;

use macaroon_mint::onedata::TokenType;

use crate::store::StoreError;

/// Why a token was refused (Onezone's token error ids). Inside [`Error::Unauthenticated`] it is
/// the `authError` of a 401; inside [`Error::Token`] a 400 about a token in the request data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenError {
    /// `badToken`: the text does not decode as an Onedata token.
    Malformed,
    /// `tokenTooLarge`: over `limit` bytes.
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `tokenInvalid`: unknown to this service, forged, or under a retired key.
    Invalid,
    /// `tokenRevoked`: genuine, but revoked (itself, its generation, or the token it was
    /// minted with).
    Revoked,
    /// `notAnAccessToken`: an invite or identity token used to authenticate.
    NotAnAccessToken {
        /// The token type received.
        received: TokenType,
    },
    /// `notAnIdentityToken`: another type where an identity token was expected.
    NotAnIdentityToken {
        /// The token type received (`None`: a legacy token without one).
        received: Option<TokenType>,
    },
    /// `notAnInviteToken`: not an invite of the expected type.
    NotAnInviteToken {
        /// The expected invite type's Onezone name (empty: any).
        expected: String,
        /// The token type received (`None`: a legacy token without one).
        received: Option<TokenType>,
    },
    /// `tokenCaveatUnverified`: a caveat does not hold for this request.
    CaveatUnverified {
        /// The caveat text.
        caveat: String,
    },
    /// `tokenCaveatUnknown`: a caveat this service does not understand or allow.
    CaveatUnknown {
        /// The caveat text.
        caveat: String,
    },
    /// `tokenTimeCaveatRequired`: a temporary token without an expiry at most `max_ttl` ahead.
    TimeCaveatRequired {
        /// The longest lifetime allowed, in seconds.
        max_ttl: u64,
    },
}

/// Request data the service refuses (400s other than token errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalid {
    /// `badValueUsername`.
    Username,
    /// `badValueName` for `key`: empty, too long, or characters Onezone does not allow.
    Name {
        /// The field.
        key: &'static str,
    },
    /// `badValueIdentifierOccupied` for `key` (e.g. a username that exists).
    Occupied {
        /// The field.
        key: &'static str,
    },
    /// `inviteTokenTargetIdInvalid`: the entity an invite would be to does not exist here.
    InviteTarget {
        /// The target id as given.
        id: String,
    },
    /// `badData` for `key`, with a hint: a field that does not apply to this request.
    NotApplicable {
        /// The field.
        key: &'static str,
        /// Why it does not apply.
        hint: &'static str,
    },
    /// `badValueCaveats`: caveat `index` of the request is not acceptable.
    Caveat {
        /// Its index in the request's list.
        index: usize,
        /// Why.
        reason: String,
    },
}

/// A failed service operation.
#[derive(Debug)]
pub enum Error {
    /// 401: no credentials (`None`), or a refused token.
    Unauthenticated(Option<TokenError>),
    /// 401: a wrong username or password (Onezone's `badBasicCredentials`).
    BadBasicCredentials,
    /// 403: authenticated, but not allowed; the hint (if any) says why.
    Forbidden(Option<String>),
    /// 404: an entity named in the request does not exist.
    NotFound,
    /// 409: the entity exists.
    AlreadyExists,
    /// 400: the caller already has a named token of that name.
    NameOccupied,
    /// 400 `inviteTokenSubjectNotAuthorized`: the invite's issuer may no longer issue it.
    InviteIssuerNotAuthorized,
    /// 400 `inviteTokenUsageLimitReached`: the invite has been used as often as it may.
    UsageLimitReached,
    /// 400: a token given in the request data was refused.
    Token(TokenError),
    /// 400: other request data was refused.
    Invalid(Invalid),
    /// 500: the store or the system failed. The text is for the log only.
    Internal(String),
    /// 503: the store failed while the change feed was silent (neither the cache nor the
    /// store can answer). The text is for the log only.
    Unavailable(String),
}

impl Error {
    /// 403 with a hint.
    pub fn forbidden_because(hint: impl Into<String>) -> Error {
        Error::Forbidden(Some(hint.into()))
    }

    /// 403 without a hint.
    pub fn forbidden() -> Error {
        Error::Forbidden(None)
    }

    /// A 500 whose cause goes to the log.
    pub fn internal(context: &str, cause: &dyn fmt::Display) -> Error {
        Error::Internal(format!("{context}: {cause}"))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Error {
        match e {
            StoreError::Unavailable(cause) => Error::Unavailable(cause),
            other => Error::internal("store", &other),
        }
    }
}

impl From<Invalid> for Error {
    fn from(e: Invalid) -> Error {
        Error::Invalid(e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Unauthenticated(None) => f.write_str("unauthenticated"),
            Error::BadBasicCredentials => f.write_str("bad basic credentials"),
            Error::NameOccupied => f.write_str("name occupied"),
            Error::Unauthenticated(Some(e)) => write!(f, "unauthenticated: {e:?}"),
            Error::Forbidden(None) => f.write_str("forbidden"),
            Error::Forbidden(Some(hint)) => write!(f, "forbidden: {hint}"),
            Error::NotFound => f.write_str("not found"),
            Error::AlreadyExists => f.write_str("already exists"),
            Error::InviteIssuerNotAuthorized => f.write_str("invite issuer not authorized"),
            Error::UsageLimitReached => f.write_str("invite usage limit reached"),
            Error::Token(e) => write!(f, "token refused: {e:?}"),
            Error::Invalid(e) => write!(f, "invalid request data: {e:?}"),
            Error::Internal(cause) => write!(f, "internal error: {cause}"),
            Error::Unavailable(cause) => write!(f, "unavailable: {cause}"),
        }
    }
}

impl std::error::Error for Error {}

/// A service result.
pub type Result<T, E = Error> = std::result::Result<T, E>;
