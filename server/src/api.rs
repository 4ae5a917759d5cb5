//! The HTTP handlers.
//!
//! Every authenticated handler checks, in this order: 401 (credentials), 404 (the entities in
//! the path), 403 (privileges), 400 (the body). Store access and Argon2 run on blocking threads.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{
    ConnectInfo, FromRequest, FromRequestParts, Path, Request as AxumRequest, State as Extract,
};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Json, Router};
use macaroon_mint::caveat::Operation;
use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, InviteOptions, InvitePolicy, InviteType,
    MintedToken, OnedataError, OnedataIdentifier, OnedataToken, ParsedIdentifier, Persistence,
    Subject, TokenType,
};
use macaroon_mint::{AuthContext, Format, Macaroon, RootKey, TypedCaveat};
use serde::de::DeserializeOwned;
use serde_json::{json, Map, Value};

use crate::auth::{self, Caller, Credentials, Request, ACCESS_CAVEATS, MAX_TOKEN_SIZE};
use crate::caveats;
use crate::error::ApiError;
use crate::keys;
use crate::privileges::{
    invite_type_by_name, invite_type_name, INVITE_TYPE_NAMES, OZ_PRIVILEGES, SPACE_PRIVILEGES,
};
use crate::store::{ensure_root_key, random_hex, NamedToken, Store, StoreError, User};
use crate::{hash_password, Clock, RegistrationPolicy};

pub(crate) struct State {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) domain: String,
    pub(crate) registration_policy: RegistrationPolicy,
    /// Verified against when the username is unknown, so both cases take as long.
    pub(crate) dummy_hash: String,
    /// The longest lifetime of a temporary token, in seconds.
    pub(crate) temporary_max_ttl: u64,
    /// Unix seconds; injected so tests can move time.
    pub(crate) clock: Clock,
    /// Bounds concurrent Argon2 checks (each takes ~19 MiB and tens of milliseconds), so a flood
    /// of basic-auth requests queues instead of exhausting memory.
    pub(crate) password_checks: Arc<tokio::sync::Semaphore>,
}

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/api/v3/onezone/user", get(current_user))
        .route("/api/v3/onezone/users", post(create_user))
        .route(
            "/api/v3/onezone/users/{id}/privileges",
            patch(update_user_privileges),
        )
        .route(
            "/api/v3/onezone/users/{id}/clusters/provider_registration_token",
            post(provider_registration),
        )
        .route(
            "/api/v3/onezone/users/{id}/tokens/temporary",
            delete(revoke_temporary_of_user),
        )
        .route("/api/v3/onezone/user/spaces", post(create_space))
        .route(
            "/api/v3/onezone/user/tokens/temporary",
            post(create_temporary).delete(revoke_own_temporary),
        )
        .route("/api/v3/onezone/user/tokens/named", post(create_named))
        .route("/api/v3/onezone/tokens/named/{id}", patch(update_named))
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
        .method_not_allowed_fallback(|| async { ApiError::method_not_allowed() })
        .with_state(state)
}

type Answer = Result<Response, ApiError>;

pub(crate) fn internal(context: &str, e: &dyn std::fmt::Display) -> ApiError {
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

/// Authenticates the caller of `operation` on `entity_type.entity_id.aspect` (the GRI an `api`
/// caveat is matched against) and runs `work` on a blocking thread.
async fn as_caller<T: Send + 'static>(
    state: Shared,
    client: SocketAddr,
    headers: &HeaderMap,
    gri: (Operation, &'static str, String, &'static str),
    work: impl FnOnce(&State, Caller) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    let credentials: Credentials = auth::credentials(headers)?;
    let (operation, entity_type, entity_id, aspect) = gri;
    let request = Request {
        client_ip: client.ip(),
        operation,
        entity_type,
        entity_id,
        aspect,
    };
    let permit = match credentials {
        Credentials::Basic { .. } => Some(
            Arc::clone(&state.password_checks)
                .acquire_owned()
                .await
                .map_err(|e| internal("password check semaphore", &e))?,
        ),
        Credentials::Token(_) => None,
    };
    blocking(move || {
        // Held until the work ends, even if the client went away meanwhile.
        let _permit = permit;
        let caller = auth::authenticate(&state, &credentials, &request)?;
        work(&state, caller)
    })
    .await
}

/// As [`as_caller`], for a path that names an entity: an id that did not decode is answered
/// 404 after authentication, like an unknown one.
async fn as_caller_on<I: Send + 'static, T: Send + 'static>(
    state: Shared,
    client: SocketAddr,
    headers: &HeaderMap,
    gri: (Operation, &'static str, String, &'static str),
    id: Option<I>,
    work: impl FnOnce(&State, Caller, I) -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    as_caller(state, client, headers, gri, move |state, caller| match id {
        Some(id) => work(state, caller, id),
        None => Err(ApiError::not_found()),
    })
    .await
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

fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A path parameter, `None` when it does not decode (not UTF-8): such an entity cannot exist,
/// so the handler answers 404 after authenticating, in the usual order.
pub(crate) struct PathId<T>(Option<T>);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for PathId<T> {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Ok(PathId(
            Path::<T>::from_request_parts(parts, state)
                .await
                .ok()
                .map(|Path(value)| value),
        ))
    }
}

/// The entity id an `api` caveat sees for a path parameter.
fn entity(id: &Option<String>) -> String {
    id.clone().unwrap_or_else(|| UNDEFINED.to_owned())
}

/// The request body as bytes; a body over the limit (2 MiB) is a JSON `413`, not axum's text.
pub(crate) struct Body(Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = ApiError;

    async fn from_request(request: AxumRequest, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(request, state)
            .await
            .map(Body)
            .map_err(|e| {
                if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::payload_too_large()
                } else {
                    ApiError::bad_message()
                }
            })
    }
}

const UNDEFINED: &str = "undefined";

/// `GET /user` → `{"userId", "username"}`: who the credentials authenticate.
async fn current_user(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Answer {
    let gri = (Operation::Get, "user", UNDEFINED.to_owned(), "instance");
    as_caller(state, client, &headers, gri, |_, caller| {
        Ok(
            Json(json!({ "userId": caller.user.id, "username": caller.user.username }))
                .into_response(),
        )
    })
    .await
}

/// `POST /users` `{"username","password"}` → `201 {"id"}`; needs `oz_users_create`.
async fn create_user(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (Operation::Create, "user", UNDEFINED.to_owned(), "instance");
    as_caller(state, client, &headers, gri, move |state, caller| {
        if !caller.user.oz_privileges.contains("oz_users_create") {
            return Err(ApiError::forbidden());
        }
        let body = json_object(&body)?;
        let username = string_field(&body, "username")?;
        // Basic credentials split at the first ':', so a username must not hold one.
        let valid = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if username.len() > 64 || !username.chars().all(valid) {
            return Err(ApiError::bad_username());
        }
        let password = string_field(&body, "password")?;
        let hash = hash_password(&password).map_err(|e| internal("hashing", &e))?;
        let key = ensure_root_key(&*state.store, (state.clock)())?;
        match state
            .store
            .create_user(&username, &hash, &BTreeSet::new(), key.id)
        {
            Ok(user) => Ok(created(json!({ "id": user.id }))),
            Err(StoreError::UsernameTaken) => Err(ApiError::occupied("username")),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `PATCH /users/{id}/privileges` `{"grant","revoke"}` → 204; needs `oz_set_privileges`.
async fn update_user_privileges(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (Operation::Update, "user", entity(&id), "oz_privileges");
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        id,
        move |state, caller, id| {
            if state.store.user_by_id(&id)?.is_none() {
                return Err(ApiError::not_found());
            }
            if !caller.user.oz_privileges.contains("oz_set_privileges") {
                return Err(ApiError::forbidden());
            }
            let (grant, revoke) = grant_revoke(&body, OZ_PRIVILEGES)?;
            match state.store.update_oz_privileges(&id, &grant, &revoke)? {
                Some(_) => Ok(no_content()),
                None => Err(ApiError::not_found()),
            }
        },
    )
    .await
}

/// `POST /user/spaces` `{"name"}` → `201 {"id"}`; the caller gets every space privilege.
async fn create_space(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (Operation::Create, "space", UNDEFINED.to_owned(), "instance");
    as_caller(state, client, &headers, gri, move |state, caller| {
        let body = json_object(&body)?;
        let name = string_field(&body, "name")?;
        let all = SPACE_PRIVILEGES.iter().map(|p| (*p).to_owned()).collect();
        let space = state.store.create_space(&name, &caller.user.id, &all)?;
        Ok(created(json!({ "id": space.id })))
    })
    .await
}

/// `PATCH /spaces/{id}/users/{uid}/privileges` → 204; needs `space_set_privileges` on the space
/// or `oz_spaces_set_privileges`.
async fn update_space_privileges(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(ids): PathId<(String, String)>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let space_id = ids.as_ref().map(|(s, _)| s.clone());
    let gri = (
        Operation::Update,
        "space",
        entity(&space_id),
        "user_privileges",
    );
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        ids,
        move |state, caller, (space_id, user_id)| {
            if state.store.space_by_id(&space_id)?.is_none()
                || state.store.user_by_id(&user_id)?.is_none()
            {
                return Err(ApiError::not_found());
            }
            let in_space = state
                .store
                .space_privileges(&space_id, &caller.user.id)?
                .unwrap_or_default();
            if !in_space.contains("space_set_privileges")
                && !caller
                    .user
                    .oz_privileges
                    .contains("oz_spaces_set_privileges")
            {
                return Err(ApiError::forbidden());
            }
            let (grant, revoke) = grant_revoke(&body, SPACE_PRIVILEGES)?;
            state
                .store
                .update_space_privileges(&space_id, &user_id, &grant, &revoke)?;
            Ok(no_content())
        },
    )
    .await
}

/// An auto-generated, per-subject unique token name, as Onezone gives its invite tokens.
fn generated_name(label: &str, token_id: &str) -> String {
    format!("{label} {token_id}")
}

/// Mints a named invite token under the current root key and stores its record.
fn mint_named_invite(
    state: &State,
    caller: &User,
    target: &str,
    label: &str,
    mint: impl FnOnce(&RootKey, &str, &InviteOptions) -> Result<MintedToken, OnedataError>,
) -> Answer {
    let root = ensure_root_key(&*state.store, (state.clock)())?;
    let token_id = random_hex(16)?;
    let secret = keys::named_token_secret(&root, &token_id)?;
    let options = InviteOptions {
        token_id: Some(token_id.clone()),
        ..InviteOptions::default()
    };
    let minted =
        mint(&secret, &state.domain, &options).map_err(|e| internal("minting a token", &e))?;
    let kind = minted
        .identifier
        .invite_kind()
        .map_or("", InviteType::code)
        .to_owned();
    state.store.insert_named_token(&NamedToken {
        name: generated_name(label, &token_id),
        id: token_id,
        kind,
        subject: caller.id.clone(),
        target: target.to_owned(),
        key_id: root.id,
        revoked: false,
        created: (state.clock)(),
    })?;
    Ok(Json(json!({ "token": minted.token })).into_response())
}

/// `POST /users/{id}/clusters/provider_registration_token` → `200 {"token"}` (`rop:<id>:`).
async fn provider_registration(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    headers: HeaderMap,
) -> Answer {
    let gri = (
        Operation::Create,
        "user",
        entity(&id),
        "provider_registration_token",
    );
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        id,
        move |state, caller, id| {
            if state.store.user_by_id(&id)?.is_none() {
                return Err(ApiError::not_found());
            }
            let caller = caller.user;
            let for_self = state.registration_policy == RegistrationPolicy::Open && caller.id == id;
            if !for_self && !caller.oz_privileges.contains("oz_providers_invite") {
                return Err(ApiError::forbidden());
            }
            let label = "Provider registration token";
            mint_named_invite(state, &caller, &id, label, |key, domain, options| {
                provider_registration_token(key, domain, &caller.id, &id, options)
            })
        },
    )
    .await
}

/// `POST /spaces/{id}/providers/token` → `200 {"token"}` (`ssp:<id>:ge`).
async fn space_support(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    headers: HeaderMap,
) -> Answer {
    let gri = (
        Operation::Create,
        "space",
        entity(&id),
        "space_support_token",
    );
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        id,
        move |state, caller, id| {
            if state.store.space_by_id(&id)?.is_none() {
                return Err(ApiError::not_found());
            }
            let caller = caller.user;
            let in_space = state
                .store
                .space_privileges(&id, &caller.id)?
                .unwrap_or_default();
            if !in_space.contains("space_add_support")
                && !caller.oz_privileges.contains("oz_spaces_add_relationships")
            {
                return Err(ApiError::forbidden());
            }
            let label = "Space support token";
            mint_named_invite(state, &caller, &id, label, |key, domain, options| {
                let issuer = Subject::User(caller.id.clone());
                space_support_token(key, domain, issuer, &id, options)
            })
        },
    )
    .await
}

/// The token type of a token-creation body: only `{"accessToken": {}}` (the default) here.
fn access_type(body: &Map<String, Value>) -> Result<(), ApiError> {
    match body.get("type") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::Object(t))
            if t.len() == 1 && t.get("accessToken").is_some_and(Value::is_object) =>
        {
            Ok(())
        }
        Some(_) => Err(ApiError::bad_token_type()),
    }
}

/// Mints an access token (`act`) for `user`.
fn mint_access(
    state: &State,
    user: &User,
    persistence: Persistence,
    token_id: &str,
    key: &RootKey,
    caveats: &[TypedCaveat],
) -> Result<String, ApiError> {
    let fail = |e: &dyn std::fmt::Display| internal("minting an access token", e);
    let identifier = OnedataIdentifier::new(
        persistence,
        Subject::User(user.id.clone()),
        TokenType::Access { session: None },
        token_id,
    )
    .map_err(|e| fail(&e))?;
    let mut macaroon =
        Macaroon::mint(key, &state.domain, identifier.to_string()).map_err(|e| fail(&e))?;
    for caveat in caveats {
        macaroon = macaroon
            .with_first_party(caveat.to_bytes())
            .map_err(|e| fail(&e))?;
    }
    macaroon.serialize(Format::Onedata).map_err(|e| fail(&e))
}

/// `POST /user/tokens/temporary` `{"type"?, "caveats"}` → `201 {"token"}`: a temporary access
/// token, which must carry `time < N` at most `temporary_max_ttl` ahead.
async fn create_temporary(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (
        Operation::Create,
        "token",
        UNDEFINED.to_owned(),
        "user_temporary_token",
    );
    as_caller(state, client, &headers, gri, move |state, caller| {
        let Some(generation) = state.store.temporary_generation(&caller.user.id)? else {
            return Err(ApiError::not_found());
        };
        let body = json_object(&body)?;
        access_type(&body)?;
        let caveats = caveats::from_body(&body, &ACCESS_CAVEATS)?;
        let now = (state.clock)();
        match TypedCaveat::earliest_expiry(&caveats) {
            Some(n) if n <= now.saturating_add(state.temporary_max_ttl) => {}
            _ => return Err(ApiError::time_caveat_required(state.temporary_max_ttl)),
        }
        let user = caller.user;
        let root = ensure_root_key(&*state.store, now)?;
        let secret = keys::temporary_secret(&root, &user.id, generation.generation)?;
        let persistence = Persistence::Temporary {
            generation: generation.generation,
        };
        let token_id = keys::temporary_token_id(root.id, &random_hex(16)?);
        let token = mint_access(state, &user, persistence, &token_id, &secret, &caveats)?;
        Ok(created(json!({ "token": token })))
    })
    .await
}

/// `POST /user/tokens/named` `{"name", "type"?, "caveats"?}` → `201 {"tokenId", "token"}`.
async fn create_named(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (Operation::Create, "token", UNDEFINED.to_owned(), "instance");
    as_caller(state, client, &headers, gri, move |state, caller| {
        let body = json_object(&body)?;
        let name = string_field(&body, "name")?;
        access_type(&body)?;
        let caveats = caveats::from_body(&body, &ACCESS_CAVEATS)?;
        let user = caller.user;
        let root = ensure_root_key(&*state.store, (state.clock)())?;
        let token_id = random_hex(16)?;
        let secret = keys::named_token_secret(&root, &token_id)?;
        let token = mint_access(
            state,
            &user,
            Persistence::Named,
            &token_id,
            &secret,
            &caveats,
        )?;
        let record = NamedToken {
            id: token_id.clone(),
            name,
            kind: "act".to_owned(),
            subject: user.id.clone(),
            target: String::new(),
            key_id: root.id,
            revoked: false,
            created: (state.clock)(),
        };
        match state.store.insert_named_token(&record) {
            Ok(()) => Ok(created(json!({ "tokenId": token_id, "token": token }))),
            Err(StoreError::TokenNameTaken) => Err(ApiError::already_exists()),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// `PATCH /tokens/named/{id}` `{"revoked": bool}` → 204. Revoking: the token's subject, or a
/// holder of `oz_tokens_manage`; un-revoking: `oz_tokens_manage` only.
async fn update_named(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    headers: HeaderMap,
    Body(body): Body,
) -> Answer {
    let gri = (Operation::Update, "token", entity(&id), "instance");
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        id,
        move |state, caller, id| {
            let Some(record) = state.store.named_token(&id)? else {
                return Err(ApiError::not_found());
            };
            let manager = caller.user.oz_privileges.contains("oz_tokens_manage");
            if record.subject != caller.user.id && !manager {
                return Err(ApiError::forbidden());
            }
            let body = json_object(&body)?;
            let revoked = match body.get("revoked") {
                None => return Err(ApiError::missing("revoked")),
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(ApiError::bad_boolean("revoked")),
            };
            // Revocation is for stolen tokens: whoever stole the owner's password or another of
            // their tokens must not undo it, so only a token manager may un-revoke.
            if !revoked && record.revoked && !manager {
                return Err(ApiError::forbidden());
            }
            if !state.store.set_named_token_revoked(&id, revoked)? {
                return Err(ApiError::not_found());
            }
            Ok(no_content())
        },
    )
    .await
}

/// Bumps `user_id`'s temporary-token generation under the current root key.
fn bump_generation(state: &State, user_id: &str) -> Answer {
    let key = ensure_root_key(&*state.store, (state.clock)())?;
    match state.store.bump_temporary_generation(user_id, key.id)? {
        Some(_) => Ok(no_content()),
        None => Err(ApiError::not_found()),
    }
}

/// `DELETE /user/tokens/temporary` → 204: revokes all the caller's temporary tokens.
async fn revoke_own_temporary(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Answer {
    let gri = (
        Operation::Delete,
        "token",
        UNDEFINED.to_owned(),
        "user_temporary_tokens",
    );
    as_caller(state, client, &headers, gri, move |state, caller| {
        bump_generation(state, &caller.user.id)
    })
    .await
}

/// `DELETE /users/{id}/tokens/temporary` → 204: revokes all of user `id`'s temporary tokens;
/// the user themself, or a holder of `oz_tokens_manage`.
async fn revoke_temporary_of_user(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    PathId(id): PathId<String>,
    headers: HeaderMap,
) -> Answer {
    let gri = (Operation::Delete, "user", entity(&id), "temporary_tokens");
    as_caller_on(
        state,
        client,
        &headers,
        gri,
        id,
        move |state, caller, id| {
            if state.store.user_by_id(&id)?.is_none() {
                return Err(ApiError::not_found());
            }
            if caller.user.id != id && !caller.user.oz_privileges.contains("oz_tokens_manage") {
                return Err(ApiError::forbidden());
            }
            bump_generation(state, &id)
        },
    )
    .await
}

/// Maps an invite verification failure to Onezone's 400 errors.
fn invite_error(e: &OnedataError, expected: &InviteType) -> ApiError {
    match e {
        OnedataError::WrongInviteType { .. }
        | OnedataError::WrongTokenType { .. }
        | OnedataError::LegacyToken { .. }
        | OnedataError::UnknownInviteType { .. } => {
            ApiError::not_an_invite_token(&invite_type_name(expected))
        }
        other => auth::onedata_error(other).unwrap_or_else(ApiError::token_invalid),
    }
}

/// The secret of a token, found by its identifier: with the current generation (temporary) or
/// the revoked flag (named).
fn invite_secret(
    state: &State,
    token: &OnedataToken,
) -> Result<(RootKey, Option<u64>, bool), ApiError> {
    let id = match token.identifier() {
        ParsedIdentifier::V2(id) => id,
        _ => return Err(ApiError::token_invalid()),
    };
    match id.persistence() {
        Persistence::Named => match state.store.named_token(id.id())? {
            None => Err(ApiError::token_invalid()),
            Some(record) => Ok((
                keys::named_token_secret(
                    &auth::token_root_key(state, Some(record.key_id))?,
                    &record.id,
                )?,
                None,
                record.revoked,
            )),
        },
        Persistence::Temporary { .. } => {
            let Subject::User(user) = id.subject() else {
                return Err(ApiError::token_invalid());
            };
            let Some(current) = state.store.temporary_generation(user)? else {
                return Err(ApiError::token_invalid());
            };
            let key = auth::token_root_key(state, keys::key_of_temporary_token_id(id.id()))?;
            let secret = keys::temporary_secret(&key, user, current.generation)?;
            Ok((secret, Some(current.generation), false))
        }
    }
}

/// `POST /tokens/verify_invite_token` `{"token", "expectedInviteType"?, "peerIp"?}` → the
/// claims. No authentication (as in Onezone); `peerIp` (default: the connecting client) is
/// what `ip` caveats are checked against.
async fn verify_invite_token(
    Extract(state): Extract<Shared>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    Body(body): Body,
) -> Answer {
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
    let peer_ip: IpAddr = match body.get("peerIp") {
        None | Some(Value::Null) => client.ip(),
        Some(Value::String(ip)) => ip.parse().map_err(|_| ApiError::bad_ip("peerIp"))?,
        Some(_) => return Err(ApiError::bad_ip("peerIp")),
    };
    if text.len() > MAX_TOKEN_SIZE {
        return Err(ApiError::token_too_large(MAX_TOKEN_SIZE));
    }
    let token = OnedataToken::parse(&text).map_err(|_| ApiError::bad_token())?;
    let expected = match (expected, token.identifier()) {
        (Some(expected), _) => expected,
        (None, ParsedIdentifier::V2(id)) => match id.token_type() {
            TokenType::Invite { invite, .. } => invite.clone(),
            _ => return Err(ApiError::not_an_invite_token("")),
        },
        (None, _) => return Err(ApiError::not_an_invite_token("")),
    };
    blocking(move || {
        if let ParsedIdentifier::V2(id) = token.identifier() {
            if !matches!(id.token_type(), TokenType::Invite { .. }) {
                return Err(ApiError::not_an_invite_token(&invite_type_name(&expected)));
            }
        }
        let (secret, current_generation, revoked) = invite_secret(&state, &token)?;
        let policy = InvitePolicy {
            current_generation,
            temporary_max_ttl: state.temporary_max_ttl,
            ..InvitePolicy::default()
        };
        let context = AuthContext::new((state.clock)()).with_ip(peer_ip);
        let verified = token.verify_invite(&secret, expected.clone(), &context, &policy);
        // The revoked flag is told only to who holds a genuine token (see auth.rs).
        let claims = match verified.map_err(|e| invite_error(&e, &expected)) {
            Err(e) if e.id == "tokenInvalid" => return Err(e),
            _ if revoked => return Err(ApiError::token_revoked()),
            other => other?,
        };
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
