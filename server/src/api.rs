//! The HTTP handlers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{Path, State as Extract};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use axum::{Json, Router};
use base64::Engine as _;
use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, InviteOptions, InvitePolicy, InviteType,
    MintedToken, OnedataError, OnedataToken, ParsedIdentifier, Persistence, Subject, TokenType,
};
use macaroon_mint::{AuthContext, Error as MacaroonError, RootKey, VerifyError};
use serde_json::{json, Map, Value};

use crate::error::ApiError;
use crate::privileges::{
    invite_type_by_name, invite_type_name, INVITE_TYPE_NAMES, OZ_PRIVILEGES, SPACE_PRIVILEGES,
};
use crate::store::{random_hex, NamedToken, Store, StoreError, User};
use crate::{hash_password, verify_password, RegistrationPolicy};

/// Onedata's `max_token_size` (SPEC §10.1).
const MAX_TOKEN_SIZE: usize = 1_048_576;

pub(crate) struct State {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) domain: String,
    pub(crate) registration_policy: RegistrationPolicy,
    /// Verified against when the username is unknown, so both cases take as long.
    pub(crate) dummy_hash: String,
}

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v3/onezone/users", post(create_user))
        .route(
            "/api/v3/onezone/users/{id}/privileges",
            patch(update_user_privileges),
        )
        .route(
            "/api/v3/onezone/users/{id}/clusters/provider_registration_token",
            post(provider_registration),
        )
        .route("/api/v3/onezone/user/spaces", post(create_space))
        .route(
            "/api/v3/onezone/spaces/{id}/providers/token",
            post(space_support),
        )
        .route(
            "/api/v3/onezone/spaces/{id}/users/{uid}/privileges",
            patch(update_space_privileges),
        )
        .route(
            "/api/v3/onezone/tokens/verify_invite_token",
            post(verify_invite_token),
        )
        .fallback(|| async { ApiError::not_found() })
        .with_state(state)
}

type Answer = Result<Response, ApiError>;

fn internal(context: &str, e: &dyn std::fmt::Display) -> ApiError {
    eprintln!("macaroon-mint-server: {context}: {e}");
    ApiError::internal()
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        internal("store", &e)
    }
}

/// Runs blocking work (store access, Argon2) off the async worker threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| internal("blocking task", &e))?
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// HTTP basic credentials from the `Authorization` header; anything else is 401.
fn basic_credentials(headers: &HeaderMap) -> Result<(String, String), ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(ApiError::unauthorized)?;
    let (scheme, encoded) = value
        .trim()
        .split_once(' ')
        .ok_or_else(ApiError::unauthorized)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(ApiError::unauthorized());
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map_err(|_| ApiError::unauthorized())?;
    let text = String::from_utf8(decoded).map_err(|_| ApiError::unauthorized())?;
    let (user, password) = text.split_once(':').ok_or_else(ApiError::unauthorized)?;
    Ok((user.to_owned(), password.to_owned()))
}

/// Authenticates the caller (blocking: store and Argon2).
fn authenticate(state: &State, credentials: &(String, String)) -> Result<User, ApiError> {
    let (username, password) = credentials;
    match state.store.user_by_username(username)? {
        Some(user) if verify_password(password, &user.password_hash) => Ok(user),
        Some(_) => Err(ApiError::unauthorized()),
        None => {
            // Same cost as a wrong password, so usernames cannot be probed by timing.
            let _ = verify_password(password, &state.dummy_hash);
            Err(ApiError::unauthorized())
        }
    }
}

fn json_object(body: &Bytes) -> Result<Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::bad_message()),
    }
}

fn string_field(body: &Map<String, Value>, key: &str) -> Result<String, ApiError> {
    match body.get(key) {
        None => Err(ApiError::missing(key)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(ApiError::bad_string(key)),
    }
}

fn privilege_list(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
) -> Result<BTreeSet<String>, ApiError> {
    let bad = || ApiError::bad_list(key, allowed);
    match body.get(key) {
        None => Ok(BTreeSet::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item {
                Value::String(p) if allowed.contains(&p.as_str()) => Ok(p.clone()),
                _ => Err(bad()),
            })
            .collect(),
        Some(_) => Err(bad()),
    }
}

fn grant_revoke(
    body: &Bytes,
    allowed: &[&str],
) -> Result<(BTreeSet<String>, BTreeSet<String>), ApiError> {
    let body = json_object(body)?;
    Ok((
        privilege_list(&body, "grant", allowed)?,
        privilege_list(&body, "revoke", allowed)?,
    ))
}

fn created(id: &str) -> Response {
    (StatusCode::CREATED, Json(json!({ "id": id }))).into_response()
}

/// `POST /users` `{"username","password"}` → `201 {"id"}`; needs `oz_users_create`.
async fn create_user(Extract(state): Extract<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        if !caller.oz_privileges.contains("oz_users_create") {
            return Err(ApiError::forbidden());
        }
        let body = json_object(&body)?;
        let username = string_field(&body, "username")?;
        let password = string_field(&body, "password")?;
        let hash = hash_password(&password).map_err(|e| internal("hashing", &e))?;
        let temporary = random_hex(32)?;
        match state
            .store
            .create_user(&username, &hash, &BTreeSet::new(), &temporary)
        {
            Ok(user) => Ok(created(&user.id)),
            Err(StoreError::UsernameTaken) => Err(ApiError::occupied("username")),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `PATCH /users/{id}/privileges` `{"grant","revoke"}` → 204; needs `oz_set_privileges`.
async fn update_user_privileges(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        if state.store.user_by_id(&id)?.is_none() {
            return Err(ApiError::not_found());
        }
        if !caller.oz_privileges.contains("oz_set_privileges") {
            return Err(ApiError::forbidden());
        }
        let (grant, revoke) = grant_revoke(&body, OZ_PRIVILEGES)?;
        match state.store.update_oz_privileges(&id, &grant, &revoke)? {
            Some(_) => Ok(StatusCode::NO_CONTENT.into_response()),
            None => Err(ApiError::not_found()),
        }
    })
    .await
}

/// `POST /user/spaces` `{"name"}` → `201 {"id"}`; the caller gets every space privilege.
async fn create_space(Extract(state): Extract<Shared>, headers: HeaderMap, body: Bytes) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        let body = json_object(&body)?;
        let name = string_field(&body, "name")?;
        let all = SPACE_PRIVILEGES.iter().map(|p| (*p).to_owned()).collect();
        let space = state.store.create_space(&name, &caller.id, &all)?;
        Ok(created(&space.id))
    })
    .await
}

/// `PATCH /spaces/{id}/users/{uid}/privileges` → 204; needs `space_set_privileges` on the space
/// or `oz_spaces_set_privileges`.
async fn update_space_privileges(
    Extract(state): Extract<Shared>,
    Path((space_id, user_id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        if state.store.space_by_id(&space_id)?.is_none()
            || state.store.user_by_id(&user_id)?.is_none()
        {
            return Err(ApiError::not_found());
        }
        let in_space = state
            .store
            .space_privileges(&space_id, &caller.id)?
            .unwrap_or_default();
        if !in_space.contains("space_set_privileges")
            && !caller.oz_privileges.contains("oz_spaces_set_privileges")
        {
            return Err(ApiError::forbidden());
        }
        let (grant, revoke) = grant_revoke(&body, SPACE_PRIVILEGES)?;
        state
            .store
            .update_space_privileges(&space_id, &user_id, &grant, &revoke)?;
        Ok(StatusCode::NO_CONTENT.into_response())
    })
    .await
}

/// Mints a named invite token with a fresh secret and stores its record.
fn mint_named(
    state: &State,
    caller: &User,
    target: &str,
    mint: impl FnOnce(&RootKey, &str) -> Result<MintedToken, OnedataError>,
) -> Answer {
    let secret = random_hex(32)?;
    let minted =
        mint(&RootKey::new(&secret), &state.domain).map_err(|e| internal("minting a token", &e))?;
    let kind = minted
        .identifier
        .invite_kind()
        .map_or("", InviteType::code)
        .to_owned();
    state.store.insert_named_token(&NamedToken {
        id: minted.identifier.id().to_owned(),
        kind,
        subject: caller.id.clone(),
        target: target.to_owned(),
        secret,
        revoked: false,
        created: now(),
    })?;
    Ok(Json(json!({ "token": minted.token })).into_response())
}

/// `POST /users/{id}/clusters/provider_registration_token` → `200 {"token"}` (`rop:<id>:`).
async fn provider_registration(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        if state.store.user_by_id(&id)?.is_none() {
            return Err(ApiError::not_found());
        }
        let for_self = state.registration_policy == RegistrationPolicy::Open && caller.id == id;
        if !for_self && !caller.oz_privileges.contains("oz_providers_invite") {
            return Err(ApiError::forbidden());
        }
        mint_named(&state, &caller, &id, |key, domain| {
            provider_registration_token(key, domain, &caller.id, &id, &InviteOptions::default())
        })
    })
    .await
}

/// `POST /spaces/{id}/providers/token` → `200 {"token"}` (`ssp:<id>:ge`).
async fn space_support(
    Extract(state): Extract<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    let credentials = basic_credentials(&headers)?;
    blocking(move || {
        let caller = authenticate(&state, &credentials)?;
        if state.store.space_by_id(&id)?.is_none() {
            return Err(ApiError::not_found());
        }
        let in_space = state
            .store
            .space_privileges(&id, &caller.id)?
            .unwrap_or_default();
        if !in_space.contains("space_add_support")
            && !caller.oz_privileges.contains("oz_spaces_add_relationships")
        {
            return Err(ApiError::forbidden());
        }
        mint_named(&state, &caller, &id, |key, domain| {
            let issuer = Subject::User(caller.id.clone());
            space_support_token(key, domain, issuer, &id, &InviteOptions::default())
        })
    })
    .await
}

fn printable(caveat: &[u8]) -> String {
    String::from_utf8_lossy(caveat).into_owned()
}

/// Maps a verification failure to Onezone's 400 errors.
fn verify_error(e: OnedataError, expected: &InviteType) -> ApiError {
    match e {
        OnedataError::WrongInviteType { .. }
        | OnedataError::WrongTokenType { .. }
        | OnedataError::LegacyToken { .. }
        | OnedataError::UnknownInviteType { .. } => {
            ApiError::not_an_invite_token(&invite_type_name(expected))
        }
        OnedataError::Revoked { .. } => ApiError::token_revoked(),
        OnedataError::Macaroon(MacaroonError::Verify(VerifyError::CaveatNotSatisfied {
            caveat,
            ..
        })) => ApiError::caveat(false, &printable(&caveat)),
        OnedataError::Macaroon(MacaroonError::Verify(
            VerifyError::UnknownCaveat { caveat, .. } | VerifyError::MalformedCaveat { caveat, .. },
        )) => ApiError::caveat(true, &printable(&caveat)),
        _ => ApiError::token_invalid(),
    }
}

/// `POST /tokens/verify_invite_token` `{"token","expectedInviteType"?}` → the claims.
async fn verify_invite_token(Extract(state): Extract<Shared>, body: Bytes) -> Answer {
    let body = json_object(&body)?;
    let text = string_field(&body, "token")?;
    let expected = match body.get("expectedInviteType") {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) => Some(invite_type_by_name(name).ok_or_else(|| {
            let allowed: Vec<&str> = INVITE_TYPE_NAMES.iter().map(|(n, _)| *n).collect();
            ApiError::not_allowed("expectedInviteType", &allowed)
        })?),
        Some(_) => return Err(ApiError::bad_string("expectedInviteType")),
    };
    if text.len() > MAX_TOKEN_SIZE {
        return Err(ApiError::token_too_large(MAX_TOKEN_SIZE));
    }
    let token = OnedataToken::parse(&text).map_err(|_| ApiError::bad_token())?;
    let ParsedIdentifier::V2(id) = token.identifier() else {
        return Err(ApiError::not_an_invite_token(
            &expected.as_ref().map(invite_type_name).unwrap_or_default(),
        ));
    };
    let expected = match (expected, id.token_type()) {
        (Some(expected), _) => expected,
        (None, TokenType::Invite { invite, .. }) => invite.clone(),
        (None, _) => return Err(ApiError::not_an_invite_token("")),
    };
    let id = id.clone();
    blocking(move || {
        let (secret, current_generation) = match id.persistence() {
            Persistence::Named => match state.store.named_token(id.id())? {
                None => return Err(ApiError::token_invalid()),
                Some(record) if record.revoked => return Err(ApiError::token_revoked()),
                Some(record) => (record.secret, None),
            },
            Persistence::Temporary { .. } => {
                let user = match id.subject() {
                    Subject::User(user) => user,
                    _ => return Err(ApiError::token_invalid()),
                };
                match state.store.temporary_secret(user)? {
                    None => return Err(ApiError::token_invalid()),
                    Some(t) => (t.secret, Some(t.generation)),
                }
            }
        };
        let policy = InvitePolicy {
            current_generation,
            ..InvitePolicy::default()
        };
        let claims = token
            .verify_invite(
                &RootKey::new(&secret),
                expected.clone(),
                &AuthContext::new(now()),
                &policy,
            )
            .map_err(|e| verify_error(e, &expected))?;
        let persistence = match claims.persistence {
            Persistence::Named => json!({ "type": "named" }),
            Persistence::Temporary { generation } => {
                json!({ "type": "temporary", "generation": generation })
            }
        };
        let caveats: Vec<String> = claims.caveats.iter().map(ToString::to_string).collect();
        Ok(Json(json!({
            "tokenId": claims.token_id,
            "subject": claims.subject.to_string(),
            "inviteType": invite_type_name(&claims.invite),
            "target": claims.target,
            "parameters": claims.parameters,
            "persistence": persistence,
            "expiry": claims.expiry,
            "location": claims.location,
            "caveats": caveats,
        }))
        .into_response())
    })
    .await
}
