//! Who is calling: HTTP basic credentials, or an access token minted by this service (verified
//! with `macaroon_mint` against the request's context).

use std::net::IpAddr;

use axum::http::{header, HeaderMap};
use base64::Engine as _;
use macaroon_mint::caveat::{Interface, Operation, ServiceKind};
use macaroon_mint::onedata::{
    OnedataError, OnedataToken, ParsedIdentifier, Persistence, Subject, TokenType,
};
use macaroon_mint::{
    ApiCall, AuthContext, Error as MacaroonError, Limits, RootKey, TimePolicy, Verifier,
    VerifyError,
};

use crate::api::State;
use crate::error::ApiError;
use crate::keys;
use crate::store::{RootKeyRecord, User};
use crate::verify_password;

/// Onedata's `max_token_size` (SPEC §10.1).
pub(crate) const MAX_TOKEN_SIZE: usize = 1_048_576;

/// The caveat forms an access token may carry (SPEC §10.4; `authorization = none` only in
/// identity scope, which this service never grants).
pub(crate) const ACCESS_CAVEATS: [&str; 12] = [
    "time",
    "ip",
    "asn",
    "geo.country",
    "geo.region",
    "service",
    "consumer",
    "interface",
    "api",
    "data.readonly",
    "data.path",
    "data.objectid",
];

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// `Authorization: Basic …`.
    Basic { username: String, password: String },
    /// `X-Auth-Token`, `Authorization: Bearer …` or the deprecated `Macaroon` header.
    Token(String),
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub(crate) user: User,
}

/// The request an access token's caveats are checked against.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) client_ip: IpAddr,
    pub(crate) operation: Operation,
    pub(crate) entity_type: &'static str,
    pub(crate) entity_id: String,
    pub(crate) aspect: &'static str,
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    match headers.get(name) {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim()))
            .map_err(|_| ApiError::unauthorized_because(ApiError::bad_token())),
    }
}

/// The credentials a request carries; 401 when there are none or they cannot be read.
pub(crate) fn credentials(headers: &HeaderMap) -> Result<Credentials, ApiError> {
    if let Some(token) = header_text(headers, "x-auth-token")? {
        return Ok(Credentials::Token(token.to_owned()));
    }
    if let Some(value) = header_text(headers, header::AUTHORIZATION.as_str())? {
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Credentials::Token(rest.to_owned()));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(rest)
                .map_err(|_| ApiError::unauthorized())?;
            let text = String::from_utf8(decoded).map_err(|_| ApiError::unauthorized())?;
            let (username, password) = text.split_once(':').ok_or_else(ApiError::unauthorized)?;
            return Ok(Credentials::Basic {
                username: username.to_owned(),
                password: password.to_owned(),
            });
        }
        return Err(ApiError::unauthorized());
    }
    if let Some(token) = header_text(headers, "macaroon")? {
        return Ok(Credentials::Token(token.to_owned()));
    }
    Err(ApiError::unauthorized())
}

/// Authenticates the caller (blocking: store, Argon2).
pub(crate) fn authenticate(
    state: &State,
    credentials: &Credentials,
    request: &Request,
) -> Result<Caller, ApiError> {
    match credentials {
        Credentials::Basic { username, password } => {
            match state.store.user_by_username(username)? {
                Some(user) if verify_password(password, &user.password_hash) => Ok(Caller { user }),
                Some(_) => Err(ApiError::unauthorized()),
                None => {
                    // Same cost as a wrong password, so usernames cannot be probed by timing.
                    let _ = verify_password(password, &state.dummy_hash);
                    Err(ApiError::unauthorized())
                }
            }
        }
        Credentials::Token(text) => verify_access_token(state, text, request)
            .map(|user| Caller { user })
            .map_err(ApiError::unauthorized_because),
    }
}

/// The root key a token names (by its record, or in its temporary id): `tokenInvalid` when it
/// names none, or an unknown or retired key, which verify nothing.
pub(crate) fn token_root_key(
    state: &State,
    key_id: Option<i64>,
) -> Result<RootKeyRecord, ApiError> {
    match key_id.map(|id| state.store.root_key(id)).transpose()? {
        Some(Some(key)) if key.retired.is_none() => Ok(key),
        _ => Err(ApiError::token_invalid()),
    }
}

/// Verifies an access token; the error is the `authError` of the 401.
fn verify_access_token(state: &State, text: &str, request: &Request) -> Result<User, ApiError> {
    if text.len() > MAX_TOKEN_SIZE {
        return Err(ApiError::token_too_large(MAX_TOKEN_SIZE));
    }
    let limits = Limits {
        max_token_bytes: MAX_TOKEN_SIZE,
        ..Limits::DEFAULT
    };
    let token =
        OnedataToken::parse_with_limits(text, &limits).map_err(|_| ApiError::bad_token())?;
    let ParsedIdentifier::V2(id) = token.identifier() else {
        return Err(ApiError::token_invalid());
    };
    match id.token_type() {
        TokenType::Access { .. } => {}
        other => return Err(ApiError::not_an_access_token(&other.to_string())),
    }
    let Subject::User(user_id) = id.subject() else {
        return Err(ApiError::token_invalid());
    };
    let Some(user) = state.store.user_by_id(user_id)? else {
        return Err(ApiError::token_invalid());
    };
    let (key, max_ttl, revoked) = match id.persistence() {
        Persistence::Named => {
            let record = match state.store.named_token(id.id())? {
                Some(record) if record.kind == "act" && record.subject == user.id => record,
                _ => return Err(ApiError::token_invalid()),
            };
            let root = token_root_key(state, Some(record.key_id))?;
            let secret = keys::named_token_secret(&root, &record.id)?;
            (secret, None, record.revoked)
        }
        Persistence::Temporary { generation } => {
            let Some(current) = state.store.temporary_generation(&user.id)? else {
                return Err(ApiError::token_invalid());
            };
            // Checked before the signature (SPEC §10.3): the error must say "revoked".
            if generation != current.generation {
                return Err(ApiError::token_revoked());
            }
            let root = token_root_key(state, keys::key_of_temporary_token_id(id.id()))?;
            let secret = keys::temporary_secret(&root, &user.id, generation)?;
            (secret, Some(state.temporary_max_ttl), false)
        }
    };
    let checked = check_signature_and_caveats(state, &token, &key, max_ttl, request);
    // A named token's revoked flag is told only to who holds a genuine token: a forgery with a
    // known token id learns nothing.
    match checked {
        Err(e) if e.id == "tokenInvalid" => Err(e),
        _ if revoked => Err(ApiError::token_revoked()),
        other => other.map(|()| user),
    }
}

fn check_signature_and_caveats(
    state: &State,
    token: &OnedataToken,
    key: &RootKey,
    max_ttl: Option<u64>,
    request: &Request,
) -> Result<(), ApiError> {
    let context = AuthContext::new((state.clock)())
        .with_ip(request.client_ip)
        .with_interface(Interface::Rest)
        .with_api(ApiCall {
            service: ServiceKind::OnezoneWorker,
            operation: request.operation,
            entity_type: request.entity_type.to_owned(),
            id: request.entity_id.clone(),
            aspect: request.aspect.to_owned(),
            scope: "private".to_owned(),
        });
    let verifier = Verifier::new()
        .with_context(&context)
        .with_supported_caveats(&ACCESS_CAVEATS, "access")
        .with_time_policy(TimePolicy { leeway: 0, max_ttl });
    match verifier.verify(key, token.macaroon(), &[]) {
        Ok(_) => Ok(()),
        Err(e) => Err(macaroon_error(&e)),
    }
}

/// Onezone's error for a token that fails verification.
pub(crate) fn macaroon_error(e: &MacaroonError) -> ApiError {
    let printable = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    match e {
        MacaroonError::Verify(VerifyError::CaveatNotSatisfied { caveat, .. })
        | MacaroonError::Verify(VerifyError::Expired { caveat, .. }) => {
            ApiError::caveat(false, &printable(caveat))
        }
        MacaroonError::Verify(
            VerifyError::UnknownCaveat { caveat, .. } | VerifyError::MalformedCaveat { caveat, .. },
        ) => ApiError::caveat(true, &printable(caveat)),
        MacaroonError::Verify(
            VerifyError::NoExpiry { max_ttl } | VerifyError::LifetimeTooLong { max_ttl, .. },
        ) => ApiError::time_caveat_required(*max_ttl),
        _ => ApiError::token_invalid(),
    }
}

/// Onezone's error for an invite token that fails [`OnedataToken::verify_invite`].
pub(crate) fn onedata_error(e: &OnedataError) -> Option<ApiError> {
    match e {
        OnedataError::Revoked { .. } => Some(ApiError::token_revoked()),
        OnedataError::Macaroon(inner) => Some(macaroon_error(inner)),
        _ => None,
    }
}
