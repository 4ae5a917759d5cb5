//! The [`Caller`] extractor: authentication before anything else of the request is read.
//!
//! Basic credentials pass the per-address and per-username rate limits and then wait (a
//! bounded time, in a bounded queue) for one of the few Argon2 slots; tokens are verified
//! against the API call the route stands for (`api_call`).

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use base64::Engine as _;
use governor::clock::{Clock as _, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use macaroon_mint::caveat::Operation;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use zeroize::Zeroizing;

use super::error::ApiError;
use super::observe::Trail;
use super::{blocking, App};
use crate::service::{AnyCaller, Caller, Error as ServiceError, ProviderCaller, Request, Service};

/// A rate: a burst, refilled at `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// Requests allowed at once.
    pub burst: u32,
    /// Requests added back per second.
    pub per_second: u32,
}

/// Limits on password (HTTP basic) authentication, which costs an Argon2 hash each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordLimits {
    /// Argon2 checks running at once (default: the number of cores, at least 2).
    pub concurrent: usize,
    /// Checks waiting for a slot at most; more are answered 503 at once (default 64).
    pub queue: usize,
    /// The longest wait for a slot before a 503 (default 2 s).
    pub max_wait: Duration,
    /// Per client address (default burst 20, 10/s); `None`: unlimited.
    pub per_ip: Option<Rate>,
    /// Per username tried (default burst 20, 5/s); `None`: unlimited.
    pub per_username: Option<Rate>,
}

impl Default for PasswordLimits {
    fn default() -> PasswordLimits {
        PasswordLimits {
            concurrent: std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            queue: 64,
            max_wait: Duration::from_secs(2),
            per_ip: Some(Rate {
                burst: 20,
                per_second: 10,
            }),
            per_username: Some(Rate {
                burst: 20,
                per_second: 5,
            }),
        }
    }
}

fn limiter<K: std::hash::Hash + Eq + Clone>(
    rate: Option<Rate>,
) -> Option<DefaultKeyedRateLimiter<K>> {
    let rate = rate?;
    let per_second = std::num::NonZeroU32::new(rate.per_second.max(1))?;
    let burst = std::num::NonZeroU32::new(rate.burst.max(1))?;
    Some(governor::RateLimiter::keyed(
        Quota::per_second(per_second).allow_burst(burst),
    ))
}

/// Keys (addresses, usernames) a rate limiter tracks before it drops those back at a full
/// burst at once rather than at the next periodic sweep.
const MAX_TRACKED_KEYS: usize = 100_000;

/// The gate in front of Argon2: rate limits, then a bounded wait for a slot.
pub(crate) struct PasswordGate {
    slots: Arc<Semaphore>,
    waiting: AtomicUsize,
    limits: PasswordLimits,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_username: Option<DefaultKeyedRateLimiter<String>>,
}

impl PasswordGate {
    pub(crate) fn new(limits: PasswordLimits) -> PasswordGate {
        PasswordGate {
            slots: Arc::new(Semaphore::new(limits.concurrent.max(1))),
            waiting: AtomicUsize::new(0),
            limits,
            per_ip: limiter(limits.per_ip),
            per_username: limiter(limits.per_username),
        }
    }

    /// Password checks waiting for an Argon2 slot, and checks holding one.
    pub(crate) fn load(&self) -> (usize, usize) {
        let running = self
            .limits
            .concurrent
            .max(1)
            .saturating_sub(self.slots.available_permits());
        (self.waiting.load(Ordering::Relaxed), running)
    }

    /// Drops the rate limiters' state of keys that are back to a full burst (bounds memory).
    pub(crate) fn forget_idle_clients(&self) {
        if let Some(l) = &self.per_ip {
            l.retain_recent();
        }
        if let Some(l) = &self.per_username {
            l.retain_recent();
        }
    }

    fn check_rates(&self, client: IpAddr, username: &str) -> Result<(), ApiError> {
        let retry = |not_until: governor::NotUntil<_>| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::too_many_requests(wait.as_secs_f64().ceil() as u64)
        };
        if let Some(l) = &self.per_ip {
            if l.len() > MAX_TRACKED_KEYS {
                l.retain_recent();
            }
            l.check_key(&super::client_key(client)).map_err(retry)?;
        }
        if let Some(l) = &self.per_username {
            if l.len() > MAX_TRACKED_KEYS {
                l.retain_recent();
            }
            // Usernames are at most 32 bytes; longer ones share a key (they match no user).
            let key: String = username.chars().take(64).collect();
            l.check_key(&key).map_err(retry)?;
        }
        Ok(())
    }

    /// Admits one password check: the rate limits, then a slot within the bounded wait.
    async fn admit(
        &self,
        client: IpAddr,
        username: &str,
    ) -> Result<OwnedSemaphorePermit, ApiError> {
        self.check_rates(client, username)?;
        if let Ok(permit) = Arc::clone(&self.slots).try_acquire_owned() {
            return Ok(permit);
        }
        let waiting = Waiting::enter(&self.waiting);
        if waiting.ahead >= self.limits.queue {
            return Err(ApiError::service_unavailable(1));
        }
        // `waiting` leaves the queue when this future ends or is dropped (the client went
        // away), so the count cannot leak.
        let acquired = tokio::time::timeout(
            self.limits.max_wait,
            Arc::clone(&self.slots).acquire_owned(),
        )
        .await;
        drop(waiting);
        match acquired {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(ApiError::service_unavailable(1)),
        }
    }
}

/// A place in the password queue, left on drop.
struct Waiting<'a> {
    count: &'a AtomicUsize,
    /// How many were waiting before this one.
    ahead: usize,
}

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Waiting<'a> {
        let ahead = count.fetch_add(1, Ordering::SeqCst);
        Waiting { count, ahead }
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.count.fetch_sub(1, Ordering::SeqCst);
    }
}

/// How the caller proves who they are.
enum Credentials {
    /// `Authorization: Basic …`.
    Basic {
        username: String,
        password: Zeroizing<String>,
    },
    /// `X-Auth-Token`, `Authorization: Bearer …` or the deprecated `Macaroon` header.
    Token(Zeroizing<String>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &"<redacted>")
                .finish(),
            Credentials::Token(_) => f.debug_tuple("Token").field(&"<redacted>").finish(),
        }
    }
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
fn credentials(headers: &HeaderMap) -> Result<Option<Credentials>, ApiError> {
    if let Some(token) = header_text(headers, "x-auth-token")? {
        return Ok(Some(Credentials::Token(Zeroizing::new(token.to_owned()))));
    }
    if let Some(value) = header_text(headers, header::AUTHORIZATION.as_str())? {
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("bearer") {
            return Ok(Some(Credentials::Token(Zeroizing::new(rest.to_owned()))));
        }
        if scheme.eq_ignore_ascii_case("basic") {
            let bad = || ApiError::unauthorized_because(ApiError::bad_basic_credentials());
            let decoded = Zeroizing::new(
                base64::engine::general_purpose::STANDARD
                    .decode(rest)
                    .map_err(|_| bad())?,
            );
            let text = std::str::from_utf8(&decoded).map_err(|_| bad())?;
            let (username, password) = text.split_once(':').ok_or_else(bad)?;
            return Ok(Some(Credentials::Basic {
                username: username.to_owned(),
                password: Zeroizing::new(password.to_owned()),
            }));
        }
        return Err(ApiError::unauthorized());
    }
    if let Some(token) = header_text(headers, "macaroon")? {
        return Ok(Some(Credentials::Token(Zeroizing::new(token.to_owned()))));
    }
    Ok(None)
}

/// The entity id an `api` caveat sees where the path names none, or a path parameter that
/// does not decode.
pub(crate) const UNDEFINED: &str = "undefined";

/// The API call a route stands for: operation, entity type, the path parameter holding the
/// entity id (if any) and aspect — what `api` caveats are matched against. Two routes for one
/// operation (`/user/tokens/…` and `/users/{id}/tokens/…`, `/provider/tokens/…` and
/// `/providers/{id}/tokens/…`) stand for the same call, as in Onezone (a token entity with a
/// `user_*` or `provider_*` aspect), so an `api` caveat answers both alike.
fn api_call(
    method: &Method,
    route: &str,
) -> Option<(Operation, &'static str, Option<&'static str>, &'static str)> {
    use Operation::{Create, Delete, Get, Update};
    let route = route.strip_prefix(super::PREFIX)?;
    // axum answers HEAD with the GET handler: the same API call.
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    Some(match (method, route) {
        ("GET", "/user") => (Get, "user", None, "instance"),
        ("POST", "/users") => (Create, "user", None, "instance"),
        ("PATCH", "/users/{id}/privileges") => (Update, "user", Some("id"), "oz_privileges"),
        ("POST", "/users/{id}/clusters/provider_registration_token") => {
            (Create, "user", Some("id"), "provider_registration_token")
        }
        ("POST", "/user/clusters/provider_registration_token") => {
            (Create, "user", None, "provider_registration_token")
        }
        ("POST", "/users/{id}/tokens/temporary") => (Create, "token", None, "user_temporary_token"),
        ("GET", "/users/{id}/tokens/temporary") => {
            (Get, "token", None, "user_temporary_token_generation")
        }
        ("DELETE", "/users/{id}/tokens/temporary") => {
            (Delete, "token", None, "user_temporary_tokens")
        }
        ("POST", "/users/{id}/tokens/named") => (Create, "token", None, "user_named_token"),
        ("GET", "/users/{id}/tokens/named") => (Get, "token", None, "user_named_tokens"),
        ("DELETE", "/users/{id}/tokens/named") => (Delete, "token", None, "user_named_tokens"),
        ("GET", "/users/{id}/tokens/named/name/{name}") => (Get, "token", None, "user_named_token"),
        ("POST", "/user/spaces") => (Create, "space", None, "instance"),
        ("POST", "/user/tokens/temporary") => (Create, "token", None, "user_temporary_token"),
        ("DELETE", "/user/tokens/temporary") => (Delete, "token", None, "user_temporary_tokens"),
        ("GET", "/user/tokens/temporary") => {
            (Get, "token", None, "user_temporary_token_generation")
        }
        ("DELETE", "/user/tokens/named") => (Delete, "token", None, "user_named_tokens"),
        ("GET", "/tokens/named") => (Get, "token", None, "list"),
        ("DELETE", "/tokens/named/{id}") => (Delete, "token", Some("id"), "instance"),
        ("GET", "/tokens/named/{id}/status") => (Get, "token", Some("id"), "status"),
        ("POST", "/user/tokens/named") => (Create, "token", None, "user_named_token"),
        ("GET", "/user/tokens/named") => (Get, "token", None, "user_named_tokens"),
        ("GET", "/user/tokens/named/name/{name}") => (Get, "token", None, "user_named_token"),
        ("GET", "/tokens/named/{id}") => (Get, "token", Some("id"), "instance"),
        ("PATCH", "/tokens/named/{id}") => (Update, "token", Some("id"), "instance"),
        ("GET", "/provider") => (Get, "provider", None, "instance"),
        ("PATCH", "/provider") => (Update, "provider", None, "instance"),
        ("DELETE", "/provider") => (Delete, "provider", None, "instance"),
        ("GET", "/provider/spaces") => (Get, "provider", None, "spaces"),
        ("DELETE", "/provider/spaces/{sid}") => (Delete, "provider", None, "space"),
        ("POST", "/provider/spaces/support") => (Create, "provider", None, "support"),
        ("POST", "/provider/tokens/named") => (Create, "token", None, "provider_named_token"),
        ("GET", "/provider/tokens/named") => (Get, "token", None, "provider_named_tokens"),
        ("DELETE", "/provider/tokens/named") => (Delete, "token", None, "provider_named_tokens"),
        ("GET", "/provider/tokens/named/name/{name}") => {
            (Get, "token", None, "provider_named_token")
        }
        ("POST", "/provider/tokens/temporary") => {
            (Create, "token", None, "provider_temporary_token")
        }
        ("GET", "/provider/tokens/temporary") => {
            (Get, "token", None, "provider_temporary_token_generation")
        }
        ("DELETE", "/provider/tokens/temporary") => {
            (Delete, "token", None, "provider_temporary_tokens")
        }
        ("GET", "/providers") => (Get, "provider", None, "list"),
        ("POST", "/providers/{id}/tokens/named") => (Create, "token", None, "provider_named_token"),
        ("GET", "/providers/{id}/tokens/named") => (Get, "token", None, "provider_named_tokens"),
        ("DELETE", "/providers/{id}/tokens/named") => {
            (Delete, "token", None, "provider_named_tokens")
        }
        ("GET", "/providers/{id}/tokens/named/name/{name}") => {
            (Get, "token", None, "provider_named_token")
        }
        ("POST", "/providers/{id}/tokens/temporary") => {
            (Create, "token", None, "provider_temporary_token")
        }
        ("GET", "/providers/{id}/tokens/temporary") => {
            (Get, "token", None, "provider_temporary_token_generation")
        }
        ("DELETE", "/providers/{id}/tokens/temporary") => {
            (Delete, "token", None, "provider_temporary_tokens")
        }
        ("GET", "/providers/{id}") => (Get, "provider", Some("id"), "instance"),
        ("DELETE", "/providers/{id}") => (Delete, "provider", Some("id"), "instance"),
        ("GET", "/spaces/{id}/providers") => (Get, "space", Some("id"), "providers"),
        ("GET", "/spaces/{id}/providers/{pid}") => (Get, "space", Some("id"), "provider"),
        ("DELETE", "/spaces/{id}/providers/{pid}") => (Delete, "space", Some("id"), "provider"),
        ("POST", "/spaces/{id}/providers/token") => {
            (Create, "space", Some("id"), "space_support_token")
        }
        ("PATCH", "/spaces/{id}/users/{uid}/privileges") => {
            (Update, "space", Some("id"), "user_privileges")
        }
        _ => return None,
    })
}

/// The credentials of a request and the API call it stands for.
async fn credentials_for(
    parts: &mut Parts,
    app: &App,
) -> Result<(Credentials, Request, IpAddr), ApiError> {
    let credentials = credentials(&parts.headers)?;
    let client = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .ok_or_else(|| {
            ApiError::from(crate::service::Error::Internal("no client address".into()))
        })?;
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    // A route and method this table lacks is not served (no authentication runs for it; a
    // request without credentials hears 401 first, as before any route).
    let (operation, entity_type, id_param, aspect) = match api_call(&parts.method, &route) {
        Some(call) => call,
        None if credentials.is_none() => return Err(ApiError::unauthorized()),
        None => return Err(ApiError::method_not_allowed()),
    };
    let entity_id = match id_param {
        None => UNDEFINED.to_owned(),
        Some(name) => match RawPathParams::from_request_parts(parts, app).await {
            Ok(params) => params
                .iter()
                .find(|(key, _)| *key == name)
                .map_or_else(|| UNDEFINED.to_owned(), |(_, value)| value.to_owned()),
            Err(_) => UNDEFINED.to_owned(),
        },
    };
    let Some(credentials) = credentials else {
        // Onezone's order without credentials: the entity the path names is fetched first, so
        // an unknown one is 404; a known one is 401. (Credentials that fail are 401 whatever
        // the path names.)
        if id_param.is_some() {
            let service = Arc::clone(&app.service);
            let exists = blocking(move || {
                service
                    .entity_exists(entity_type, &entity_id)
                    .map_err(ApiError::from)
            })
            .await?;
            if !exists {
                return Err(ApiError::not_found());
            }
        }
        return Err(ApiError::unauthorized());
    };
    let request = Request {
        client_ip: client,
        operation,
        entity_type,
        entity_id,
        aspect,
    };
    Ok((credentials, request, client))
}

/// Tokens up to this size are first authenticated on the async thread (a few microseconds);
/// a larger one (up to Onedata's 1 MiB) goes straight to the blocking pool, so that a flood of
/// large tokens cannot hold the async threads, nor be parsed twice.
const CACHED_PATH_MAX_TOKEN: usize = 16 * 1024;

/// Runs token authentication right here when the verification cache answers every read it
/// makes (no store, no blocking: a few microseconds of HMAC), else on the blocking pool.
async fn token_caller<T: Send + 'static>(
    app: &App,
    token_len: usize,
    work: impl Fn(&Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ApiError> {
    if token_len <= CACHED_PATH_MAX_TOKEN {
        if let Some(result) = app.service.answer_from_cache(|| work(&app.service)) {
            return result.map_err(ApiError::from);
        }
    }
    let service = Arc::clone(&app.service);
    blocking(move || work(&service).map_err(ApiError::from)).await
}

/// Checks a username and password (rate-limited, queued for an Argon2 slot).
async fn password_caller(
    app: &App,
    client: IpAddr,
    username: String,
    password: Zeroizing<String>,
) -> Result<Caller, ApiError> {
    let permit = app.passwords.admit(client, &username).await?;
    let service = Arc::clone(&app.service);
    blocking(move || {
        // Held until the check ends, even if the client went away meanwhile.
        let _permit = permit;
        service
            .authenticate_basic(&username, &password)
            .map_err(ApiError::from)
    })
    .await
}

impl FromRequestParts<App> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Caller, ApiError> {
        let (credentials, request, client) = credentials_for(parts, app).await?;
        let caller = match credentials {
            Credentials::Basic { username, password } => {
                password_caller(app, client, username, password).await
            }
            Credentials::Token(token) => {
                token_caller(app, token.len(), move |service| {
                    service.authenticate_token(&token, &request)
                })
                .await
            }
        }?;
        Trail::caller(&parts.extensions, format!("user:{}", caller.user.id));
        Ok(caller)
    }
}

/// Routes both users and Oneproviders call (`/tokens/named/{id}`): a user by password or
/// token, or a provider by token.
impl FromRequestParts<App> for AnyCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<AnyCaller, ApiError> {
        let (credentials, request, client) = credentials_for(parts, app).await?;
        let caller = match credentials {
            Credentials::Basic { username, password } => {
                AnyCaller::User(password_caller(app, client, username, password).await?)
            }
            Credentials::Token(token) => {
                token_caller(app, token.len(), move |service| {
                    service.authenticate_any_token(&token, &request)
                })
                .await?
            }
        };
        let who = match &caller {
            AnyCaller::User(user) => format!("user:{}", user.user.id),
            AnyCaller::Provider(provider) => format!("provider:{}", provider.provider.id),
        };
        Trail::caller(&parts.extensions, who);
        Ok(caller)
    }
}

/// The `/provider/…` routes: a Oneprovider authenticated by one of its tokens. Credentials of a
/// user are checked as usual and then refused with 403 (authenticated, but not a provider).
impl FromRequestParts<App> for ProviderCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<ProviderCaller, ApiError> {
        let (credentials, request, client) = credentials_for(parts, app).await?;
        match credentials {
            Credentials::Basic { username, password } => {
                let user = password_caller(app, client, username, password).await?;
                Trail::caller(&parts.extensions, format!("user:{}", user.user.id));
                Err(ApiError::forbidden_because(
                    "this operation is a Oneprovider's: authenticate with the provider's token",
                ))
            }
            Credentials::Token(token) => {
                let caller = token_caller(app, token.len(), move |service| {
                    service.authenticate_provider_token(&token, &request)
                })
                .await?;
                Trail::caller(
                    &parts.extensions,
                    format!("provider:{}", caller.provider.id),
                );
                Ok(caller)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_debug_redacts_secrets() {
        let mut headers = HeaderMap::new();
        // alice:hunter2
        headers.insert(
            "authorization",
            "Basic YWxpY2U6aHVudGVyMg==".parse().unwrap(),
        );
        let shown = format!("{:?}", credentials(&headers).unwrap());
        assert!(
            shown.contains("alice") && !shown.contains("hunter2"),
            "{shown}"
        );
        let mut headers = HeaderMap::new();
        headers.insert("x-auth-token", "MDAxsecret".parse().unwrap());
        let shown = format!("{:?}", credentials(&headers).unwrap());
        assert!(!shown.contains("MDAxsecret"), "{shown}");
    }

    /// Review finding: waiters that go away must leave the password queue.
    #[test]
    fn abandoned_waiters_leave_the_queue() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let gate = Arc::new(PasswordGate::new(PasswordLimits {
                concurrent: 1,
                queue: 2,
                max_wait: Duration::from_secs(30),
                per_ip: None,
                per_username: None,
            }));
            let client: IpAddr = "127.0.0.1".parse().unwrap();
            let held = gate.admit(client, "a").await.unwrap();
            for _ in 0..5 {
                let waiting = Arc::clone(&gate);
                let waiter =
                    tokio::spawn(async move { waiting.admit(client, "a").await.map(drop) });
                tokio::time::sleep(Duration::from_millis(20)).await;
                assert_eq!(gate.waiting.load(Ordering::SeqCst), 1);
                waiter.abort();
                let _ = waiter.await;
                assert_eq!(gate.waiting.load(Ordering::SeqCst), 0);
            }
            // The queue still takes a waiter, who gets the slot once it is free.
            let waiting = Arc::clone(&gate);
            let waiter = tokio::spawn(async move { waiting.admit(client, "a").await.map(drop) });
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(held);
            assert!(waiter.await.unwrap().is_ok());
        });
    }

    #[test]
    fn every_route_has_an_api_call() {
        for (method, route) in [
            (Method::GET, "/user"),
            (Method::POST, "/user/tokens/named"),
            (Method::GET, "/user/tokens/named"),
            (Method::PATCH, "/spaces/{id}/users/{uid}/privileges"),
            (Method::HEAD, "/user"),
            (Method::HEAD, "/user/tokens/named"),
            (Method::HEAD, "/tokens/named/{id}"),
        ] {
            let route = format!("{}{route}", super::super::PREFIX);
            assert!(api_call(&method, &route).is_some(), "{method} {route}");
        }
        assert!(api_call(&Method::PUT, "/api/v3/onezone/user").is_none());
    }
}
