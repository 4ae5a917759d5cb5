//! The handlers: each takes the [`Caller`] (authentication: 401), then calls the service on a
//! blocking thread — the entity and privilege checks first (404, 403), then the body (400),
//! then the operation.

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use macaroon_mint::onedata::{InviteType, ParsedIdentifier, Persistence, Subject, TokenType};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::body::{
    ConfineToken, CreateSpace, CreateUser, ExamineToken, Grants, JsonBody, UpdateNamedToken,
    VerifyInviteToken, VerifyRequest, VerifyToken,
};
use super::caveats::caveat_json;
use super::error::{token_type_json, ApiError};
use super::{blocking, App, PREFIX};
use crate::service::auth::Bearer;
use crate::service::privileges::{OzPrivilege, SpacePrivilege};
use crate::service::tokens::{NewNamedToken, SeedInvite};
use crate::service::{AnyCaller, Caller, Error, Service, TokenError};
use crate::store::NamedToken;

pub(super) type Answer = Result<Response, ApiError>;

pub(super) fn created(body: Value) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// `201` with the `Location` of the new entity (as Onezone's swagger declares) and a body.
fn created_at(location: String, body: Value) -> Response {
    let mut response = created(body);
    if let Ok(value) = axum::http::HeaderValue::from_str(&location) {
        response
            .headers_mut()
            .insert(axum::http::header::LOCATION, value);
    }
    response
}

pub(super) fn no_content() -> Response {
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

impl<T> PathId<T> {
    pub(super) fn found(self) -> Result<T, ApiError> {
        self.0.ok_or_else(ApiError::not_found)
    }
}

/// `GET /user` → Onezone's `UserProtectedInfo` of who the credentials authenticate. This
/// service keeps no linked accounts or e-mail addresses (empty lists); a user created without
/// a full name shows the username; accounts older than the creation time read 0.
pub(crate) async fn current_user(caller: Caller) -> Answer {
    let user = caller.user;
    let full_name = if user.full_name.is_empty() {
        &user.username
    } else {
        &user.full_name
    };
    Ok(Json(UserProtectedInfo {
        basic_auth_enabled: !user.password_hash.is_empty(),
        blocked: false,
        creation_time: user.created,
        emails: [],
        full_name,
        linked_accounts: [],
        user_id: &user.id,
        username: &user.username,
    })
    .into_response())
}

/// Onezone's `UserProtectedInfo`, serialized straight from the record (the hot token-authenticated
/// answer: no intermediate JSON map). Fields in alphabetical order, as every other object this
/// service writes.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct UserProtectedInfo<'a> {
    basic_auth_enabled: bool,
    blocked: bool,
    creation_time: u64,
    emails: [&'a str; 0],
    full_name: &'a str,
    linked_accounts: [&'a str; 0],
    user_id: &'a str,
    username: &'a str,
}

/// `POST /users` `{"username","password"}` → `201 {"id"}`; needs `oz_users_create`.
pub(crate) async fn create_user(State(app): State<App>, caller: Caller, body: JsonBody) -> Answer {
    blocking(move || {
        let allowed = app.service.authorize_user_creation(&caller)?;
        let (username, password, full_name) = body.parse::<CreateUser>()?.fields()?;
        let user = app.service.create_user(
            allowed,
            &username,
            password.as_deref(),
            full_name.as_deref(),
        )?;
        let location = format!("{PREFIX}/users/{}", user.id);
        Ok(created_at(location, json!({ "id": user.id })))
    })
    .await
}

/// `PATCH /users/{id}/privileges` `{"grant","revoke"}` → 204; needs `oz_set_privileges`.
pub(crate) async fn update_user_privileges(
    State(app): State<App>,
    caller: Caller,
    id: PathId<String>,
    body: JsonBody,
) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let update = app.service.authorize_oz_privileges_update(&caller, &id)?;
        let (grant, revoke) = body.parse::<Grants>()?.privileges::<OzPrivilege>()?;
        app.service.update_oz_privileges(update, &grant, &revoke)?;
        Ok(no_content())
    })
    .await
}

/// `POST /user/spaces` `{"name"}` → `201 {"id"}`; the caller gets every space privilege.
pub(crate) async fn create_space(State(app): State<App>, caller: Caller, body: JsonBody) -> Answer {
    blocking(move || {
        let name = body.parse::<CreateSpace>()?.name()?;
        let space = app.service.create_space(&caller, &name)?;
        let location = format!("{PREFIX}/user/spaces/{}", space.id);
        Ok(created_at(location, json!({ "id": space.id })))
    })
    .await
}

/// `PATCH /spaces/{id}/users/{uid}/privileges` → 204; needs `space_set_privileges` in the
/// space or `oz_spaces_set_privileges`.
pub(crate) async fn update_space_privileges(
    State(app): State<App>,
    caller: Caller,
    ids: PathId<(String, String)>,
    body: JsonBody,
) -> Answer {
    let (space_id, user_id) = ids.found()?;
    blocking(move || {
        let update = app
            .service
            .authorize_space_privileges_update(&caller, &space_id, &user_id)?;
        let (grant, revoke) = body.parse::<Grants>()?.privileges::<SpacePrivilege>()?;
        app.service
            .update_space_privileges(update, &grant, &revoke)?;
        Ok(no_content())
    })
    .await
}

/// `POST /users/{id}/clusters/provider_registration_token` → `200 {"token"}` (`rop:<id>:`).
/// The body may be empty or any JSON object (ignored, as Onezone does); anything else is
/// `400 malformedData`.
pub(crate) async fn provider_registration(
    State(app): State<App>,
    caller: Caller,
    id: PathId<String>,
    body: JsonBody,
) -> Answer {
    let id = id.found()?;
    seed_invite(
        app,
        caller,
        id,
        body,
        Service::authorize_provider_registration,
    )
    .await
}

/// `POST /user/clusters/provider_registration_token` → `200 {"token"}`: as
/// [`provider_registration`] for the caller themself.
pub(crate) async fn own_provider_registration(
    State(app): State<App>,
    caller: Caller,
    body: JsonBody,
) -> Answer {
    let id = caller.user.id.clone();
    seed_invite(
        app,
        caller,
        id,
        body,
        Service::authorize_provider_registration,
    )
    .await
}

/// A seed endpoint: the authorization step (404, 403), the body (400), then the invite.
async fn seed_invite(
    app: App,
    caller: Caller,
    id: String,
    body: JsonBody,
    authorize: fn(&Service, &Caller, &str) -> crate::service::Result<SeedInvite>,
) -> Answer {
    blocking(move || {
        let invite = authorize(&app.service, &caller, &id)?;
        body.ignored()?;
        let token = app.service.mint_seed_invite(&caller, invite)?;
        Ok(Json(json!({ "token": token })).into_response())
    })
    .await
}

/// `POST /spaces/{id}/providers/token` → `200 {"token"}` (`ssp:<id>:ge`); the body as for
/// [`provider_registration`].
pub(crate) async fn space_support(
    State(app): State<App>,
    caller: Caller,
    id: PathId<String>,
    body: JsonBody,
) -> Answer {
    let id = id.found()?;
    seed_invite(app, caller, id, body, Service::authorize_space_support).await
}

/// `201` for a new named token: its `Location`, `{"tokenId", "token"}`.
pub(super) fn named_created(token: &NewNamedToken) -> Response {
    let location = format!("{PREFIX}/tokens/named/{}", token.id);
    created_at(
        location,
        json!({ "tokenId": token.id, "token": token.token }),
    )
}

/// A named token's record as Onezone's `NamedToken` (without `token`: the record is readable
/// with a restricted token, which must not obtain an unrestricted one), plus `parent`.
pub(super) fn named_token_json(record: &NamedToken) -> Value {
    let token_type = match record.kind.as_str() {
        "act" => TokenType::Access { session: None },
        "idn" => TokenType::Identity,
        code => TokenType::invite(InviteType::from_code(code), record.target.clone()),
    };
    let mut metadata = json!({ "creationTime": record.created });
    if let Ok(custom @ Value::Object(_)) = serde_json::from_str::<Value>(&record.custom_metadata) {
        metadata["custom"] = custom;
    }
    if matches!(token_type, TokenType::Invite { .. }) {
        metadata["usageLimit"] = record.usage_limit.map_or(json!("infinity"), Value::from);
        metadata["usageCount"] = Value::from(record.usage_count);
        if let Some(privileges) = &record.privileges {
            metadata["privileges"] = json!(privileges);
        }
    }
    json!({
        "id": record.id,
        "name": record.name,
        "subject": { "type": record.subject_type.as_str(), "id": record.subject },
        "type": token_type_json(&token_type),
        "caveats": record.caveats.iter().map(|c| caveat_json(c)).collect::<Vec<_>>(),
        "revoked": record.revoked,
        "metadata": metadata,
        "parent": record.parent,
    })
}

/// `{"tokens": [ids]}` (Onezone's `Tokens`).
pub(super) fn token_ids(tokens: &[NamedToken]) -> Response {
    let ids: Vec<&str> = tokens.iter().map(|t| t.id.as_str()).collect();
    Json(json!({ "tokens": ids })).into_response()
}

/// `GET /tokens/named` → every named token's id; `oz_tokens_manage`.
pub(crate) async fn list_all_named(State(app): State<App>, caller: Caller) -> Answer {
    blocking(move || Ok(token_ids(&app.service.all_named_tokens(&caller)?))).await
}

/// `GET /tokens/named/{id}` → the record; its subject or a token manager.
pub(crate) async fn named_by_id(
    State(app): State<App>,
    caller: AnyCaller,
    id: PathId<String>,
) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let record = app.service.named_token_as(&caller, &id)?;
        Ok(Json(named_token_json(&record)).into_response())
    })
    .await
}

/// `GET /tokens/named/{id}/status` → `{"revoked"}` (Onezone's `NamedTokenStatus`).
pub(crate) async fn named_status(
    State(app): State<App>,
    caller: AnyCaller,
    id: PathId<String>,
) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let record = app.service.named_token_as(&caller, &id)?;
        Ok(Json(json!({ "revoked": record.revoked })).into_response())
    })
    .await
}

/// `PATCH /tokens/named/{id}` (`NamedTokenUpdateRequest`: `name`, `customMetadata`,
/// `revoked`) → 204.
pub(crate) async fn update_named(
    State(app): State<App>,
    caller: AnyCaller,
    id: PathId<String>,
    body: JsonBody,
) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let update = app.service.authorize_named_token_update_as(&caller, &id)?;
        let change = body.parse::<UpdateNamedToken>()?.change()?;
        app.service.update_named_token(update, change)?;
        Ok(no_content())
    })
    .await
}

/// `DELETE /tokens/named/{id}` → 204.
pub(crate) async fn delete_named(
    State(app): State<App>,
    caller: AnyCaller,
    id: PathId<String>,
) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let update = app.service.authorize_named_token_update_as(&caller, &id)?;
        app.service.delete_named_token(update)?;
        Ok(no_content())
    })
    .await
}

/// A token given in request data under `key` that does not decode is
/// `badValueToken {key, tokenError}` (Onezone's order: before any lookup).
pub(super) fn undecodable_as(key: &'static str) -> impl Fn(Error) -> ApiError {
    move |e| match e {
        Error::Token(cause @ (TokenError::Malformed | TokenError::TooLarge { .. })) => {
            ApiError::bad_value_token(key, &cause.into())
        }
        other => other.into(),
    }
}

/// `POST /tokens/confine` `{"token", "caveats"}` → `{"token"}`: the token with the caveats
/// added. Public; nothing is verified or stored.
pub(crate) async fn confine_token(State(app): State<App>, body: JsonBody) -> Answer {
    let (text, caveats) = body.parse::<ConfineToken>()?.fields()?;
    blocking(move || {
        let token = app
            .service
            .confine(&text, &caveats)
            .map_err(undecodable_as("token"))?;
        Ok(Json(json!({ "token": token })).into_response())
    })
    .await
}

/// The consumer (and service) a verify request names, by their identity tokens.
fn bearer_of(service: &Service, request: VerifyRequest) -> Result<(String, Bearer), ApiError> {
    let seen = Bearer {
        peer_ip: request.peer_ip,
        interface: request.interface,
        ..Bearer::default()
    };
    let consumer = match &request.consumer_token {
        Some(text) => Some(proven_identity(service, "consumerToken", text, &seen)?),
        None => None,
    };
    // A service is a Oneprovider (its worker), proven by its identity token; a user is none.
    let service_provider = match &request.service_token {
        Some(text) => match proven_identity(service, "serviceToken", text, &seen)? {
            Subject::Provider(id) => Some(id),
            other => {
                let cause = ApiError::service_forbidden(subject_json(&other));
                return Err(ApiError::bad_value_token("serviceToken", &cause));
            }
        },
        None => None,
    };
    let bearer = Bearer {
        peer_ip: request.peer_ip,
        interface: request.interface,
        service_provider,
        consumer,
        allow_data_access_caveats: request.allow_data_access_caveats,
        ignore_service_and_interface: false,
    };
    Ok((request.token, bearer))
}

/// Who an identity token given in request data under `key` (`consumerToken`,
/// `serviceToken`) proves its bearer to be; a token that does not verify is
/// `badValueToken {key, tokenError}`.
pub(super) fn proven_identity(
    service: &Service,
    key: &'static str,
    text: &str,
    bearer: &Bearer,
) -> Result<Subject, ApiError> {
    match service.verify_identity_token(text, bearer) {
        Ok(verified) => Ok(verified.subject),
        Err(Error::Token(cause)) => Err(ApiError::bad_value_token(key, &cause.into())),
        Err(other) => Err(other.into()),
    }
}

/// Onezone's `VerifyTokenResponse`: the subject and the time left (null: no expiry).
fn verified_json(service: &Service, subject: &Subject, expiry: Option<u64>) -> Response {
    let ttl = expiry.map(|expiry| expiry.saturating_sub(service.now()));
    Json(json!({ "subject": subject_json(subject), "ttl": ttl })).into_response()
}

/// `POST /tokens/verify_access_token` (`VerifyAccessTokenRequest`) → `{"subject", "ttl"}`.
/// Public, as in Onezone.
pub(crate) async fn verify_access_token(State(app): State<App>, body: JsonBody) -> Answer {
    let request = body.parse::<VerifyToken>()?.fields(true)?;
    blocking(move || {
        let (text, bearer) = bearer_of(&app.service, request)?;
        let verified = app
            .service
            .verify_access_token_for(&text, &bearer)
            .map_err(undecodable_as("token"))?;
        Ok(verified_json(
            &app.service,
            &verified.subject,
            verified.expiry,
        ))
    })
    .await
}

/// `POST /tokens/verify_identity_token` (`VerifyIdentityTokenRequest`) → `{"subject", "ttl"}`.
/// Public, as in Onezone.
pub(crate) async fn verify_identity_token(State(app): State<App>, body: JsonBody) -> Answer {
    let request = body.parse::<VerifyToken>()?.fields(false)?;
    blocking(move || {
        let (text, bearer) = bearer_of(&app.service, request)?;
        let verified = app
            .service
            .verify_identity_token(&text, &bearer)
            .map_err(undecodable_as("token"))?;
        Ok(verified_json(
            &app.service,
            &verified.subject,
            verified.expiry,
        ))
    })
    .await
}

/// `POST /tokens/verify_invite_token` `{"token", "expectedInviteType"?, "peerIp"?}` → the
/// claims. No authentication (as in Onezone).
pub(crate) async fn verify_invite_token(State(app): State<App>, body: JsonBody) -> Answer {
    let (text, expected, peer_ip) = body.parse::<VerifyInviteToken>()?.fields()?;
    blocking(move || {
        let claims = app
            .service
            .verify_invite_token(&text, expected, peer_ip)
            .map_err(undecodable_as("token"))?;
        Ok(verified_json(&app.service, &claims.subject, claims.expiry))
    })
    .await
}

/// A token's subject as Onezone writes it: `{"type": "user" | "oneprovider", "id"}`.
pub(super) fn subject_json(subject: &Subject) -> Value {
    match subject {
        Subject::User(id) => json!({ "type": "user", "id": id }),
        Subject::Provider(id) => json!({ "type": "oneprovider", "id": id }),
        other => json!({ "type": "nobody", "id": other.id() }),
    }
}

/// `POST /tokens/examine` `{"token"}` → what the token says about itself (Onezone's
/// `ExaminedToken`: domain, id, persistence, subject, type, caveats). Public, and nothing is
/// verified or looked up: this is the token's own claim.
pub(crate) async fn examine_token(body: JsonBody) -> Answer {
    let text = body.parse::<ExamineToken>()?.token()?;
    let token = crate::service::auth::parse_token(&text).map_err(undecodable_as("token"))?;
    let ParsedIdentifier::V2(id) = token.identifier() else {
        let cause = ApiError::bad_token();
        return Err(ApiError::bad_value_token("token", &cause));
    };
    let persistence = match id.persistence() {
        Persistence::Named => "named",
        Persistence::Temporary { .. } => "temporary",
    };
    let caveats: Vec<Value> = token
        .macaroon()
        .caveats()
        .iter()
        .map(|c| caveat_json(&String::from_utf8_lossy(c.id())))
        .collect();
    Ok(Json(json!({
        "onezoneDomain": String::from_utf8_lossy(token.macaroon().location()),
        "id": id.id(),
        "persistence": persistence,
        "subject": subject_json(id.subject()),
        "type": token_type_json(id.token_type()),
        "caveats": caveats,
    }))
    .into_response())
}

/// `GET /configuration` → Onezone's public `Configuration`: the zone's name and domain, this
/// service's version and build, and what it supports. No Oneprovider version is listed as
/// compatible and no compatibility registry is kept (revision 0): this service implements the
/// token API, not a data zone's provider handshake; the only identity provider is basic
/// authentication (`basicAuth`, no offline access); no space tags are configured.
pub(crate) async fn configuration(State(app): State<App>) -> Answer {
    let settings = app.service.settings();
    Ok(Json(json!({
        "name": settings.zone_name,
        "domain": settings.domain,
        "version": env!("CARGO_PKG_VERSION"),
        "build": concat!("macaroon-mint-server ", env!("CARGO_PKG_VERSION")),
        "subdomainDelegationSupported": false,
        "compatibleOneproviderVersions": [],
        "compatibilityRegistryRevision": 0,
        "supportedIdPs": [{ "id": "basicAuth", "offlineAccess": false }],
        "availableSpaceTags": {},
    }))
    .into_response())
}

/// `GET /health` → 200 while the process serves HTTP (liveness): nothing else is consulted,
/// so a slow database does not get a live process restarted.
pub(crate) async fn health() -> Answer {
    Ok(Json(json!({ "status": "ok" })).into_response())
}

/// `GET /ready` → 200 when the store answers a query, else `503 serviceUnavailable` (readiness:
/// a load balancer stops sending requests this instance cannot serve). The cause stays in the
/// service: the answer names no database, host or error text.
pub(crate) async fn ready(State(app): State<App>) -> Answer {
    blocking(move || match app.service.ready() {
        Ok(()) => Ok(Json(json!({ "status": "ready" })).into_response()),
        Err(e) => {
            tracing::warn!(
                cause = %crate::store::redact_credentials(&e.to_string()),
                "not ready: the store does not answer"
            );
            Err(ApiError::service_unavailable(1))
        }
    })
    .await
}

/// `GET /metrics` → the instance's Prometheus metrics (text exposition format). Public and
/// read-only like the probes: counts and latencies by route template, no ids, names or
/// addresses.
pub(crate) async fn metrics(State(app): State<App>) -> Answer {
    let (waiting, running) = app.passwords.load();
    let metrics = app.service.metrics();
    metrics.password_checks(waiting, running);
    let mut response = metrics.render().into_response();
    response.headers_mut().insert(
        axum::http::header::CONTENT_TYPE,
        axum::http::HeaderValue::from_static(
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        ),
    );
    Ok(response)
}
