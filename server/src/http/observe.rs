//! What every request leaves behind: one log line (target `macaroon_mint_server::request`), its
//! metrics, and an `X-Request-Id` header on the answer.
//!
//! The line carries the request id, client address, method, route template (never the path
//! itself: paths hold entity ids and a flood of made-up ones must not make new labels), status,
//! latency, the caller (`user:<id>`, `provider:<id>` or `anonymous`), and for an error its
//! Onedata id and the `authError` id of a refused credential. Headers, bodies, tokens and
//! passwords are never read here.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use crate::metrics::Metrics;

/// The header carrying a request's id, both ways.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route of a request that matched none.
const UNMATCHED: &str = "unmatched";

/// The longest request id taken from a client.
const MAX_CLIENT_ID: usize = 64;

/// Onedata's error ids that say a token was refused (as `authError`, or as the error of a
/// verification endpoint), counted by `macaroon_mint_token_refusals_total`.
pub(crate) const TOKEN_REFUSALS: &[&str] = &[
    "badToken",
    "tokenTooLarge",
    "tokenInvalid",
    "tokenRevoked",
    "notAnAccessToken",
    "notAnIdentityToken",
    "notAnInviteToken",
    "tokenCaveatUnverified",
    "tokenCaveatUnknown",
    "tokenTimeCaveatRequired",
    "tokenServiceForbidden",
    "inviteTokenSubjectNotAuthorized",
    "inviteTokenUsageLimitReached",
];

/// `id` as one of the ids this module knows (a token refusal or `badBasicCredentials`), else
/// `other`: a log field or label from a fixed set.
pub(crate) fn error_id(id: &str) -> &'static str {
    TOKEN_REFUSALS
        .iter()
        .chain(&["badBasicCredentials"])
        .find(|known| **known == id)
        .copied()
        .unwrap_or("other")
}

/// The error an answer carries, put in the response's extensions by
/// [`ApiError`](super::error::ApiError)'s conversion.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Failure {
    pub(crate) id: &'static str,
    /// The `authError` id of a 401 (`None` for a missing credential).
    pub(crate) auth_error: Option<&'static str>,
    /// The `tokenError` id of a `badValueToken` (a token in the request data refused).
    pub(crate) token_error: Option<&'static str>,
}

/// What the handlers learn of a request that its log line needs.
#[derive(Clone, Default)]
pub(crate) struct Trail(Arc<Mutex<Learned>>);

#[derive(Default)]
struct Learned {
    route: Option<MatchedPath>,
    caller: Option<String>,
}

impl Trail {
    fn with<T>(&self, f: impl FnOnce(&mut Learned) -> T) -> T {
        f(&mut self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Records who the request's credentials proved to be (`user:<id>`, `provider:<id>`).
    pub(crate) fn caller(extensions: &axum::http::Extensions, who: String) {
        if let Some(trail) = extensions.get::<Trail>() {
            trail.with(|learned| learned.caller = Some(who));
        }
    }
}

/// Records the route template `request` matched, if any.
pub(crate) fn note_route(request: &Request) {
    if let (Some(trail), Some(route)) = (
        request.extensions().get::<Trail>(),
        request.extensions().get::<MatchedPath>(),
    ) {
        let route = route.clone();
        trail.with(|learned| learned.route = Some(route));
    }
}

/// Middleware on every route: records the route template the request matched.
pub(crate) async fn record_route(request: Request, next: Next) -> Response {
    note_route(&request);
    next.run(request).await
}

/// Gives requests their ids: always `<instance>-<counter>` (16 random hex digits per process
/// start), unique to the request whatever a client sends; and the client's own `X-Request-Id`
/// beside it when it is 1 to 64 characters of `[A-Za-z0-9._:-]` (so a proxy's id follows the
/// request, and nothing else can reach a log line through it). A client's id is only a label:
/// anyone can send another's.
pub(crate) struct RequestIds {
    instance: String,
    next: AtomicU64,
}

impl RequestIds {
    pub(crate) fn new() -> RequestIds {
        let instance = crate::store::random_hex(8).unwrap_or_else(|_| {
            // No randomness: the start time still tells restarts apart.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos());
            format!("{:016x}", now as u64)
        });
        RequestIds {
            instance,
            next: AtomicU64::new(1),
        }
    }

    /// The service's id for a request, and the client's when it is harmless.
    pub(crate) fn of(&self, headers: &HeaderMap) -> (String, Option<String>) {
        let client = headers
            .get(&REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|id| {
                (1..=MAX_CLIENT_ID).contains(&id.len())
                    && id
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._:-".contains(&b))
            })
            .map(str::to_owned);
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        (format!("{}-{n}", self.instance), client)
    }
}

/// One request's start: its ids, method and time.
pub(crate) struct Start {
    id: String,
    client_id: Option<String>,
    method: Method,
    client: IpAddr,
    started: Instant,
    trail: Trail,
}

impl Start {
    /// Starts observing `request` (puts its [`Trail`] in the extensions).
    pub(crate) fn of<B>(
        ids: &RequestIds,
        client: IpAddr,
        request: &mut axum::http::Request<B>,
    ) -> Start {
        let trail = Trail::default();
        request.extensions_mut().insert(trail.clone());
        let (id, client_id) = ids.of(request.headers());
        Start {
            id,
            client_id,
            method: request.method().clone(),
            client,
            started: Instant::now(),
            trail,
        }
    }

    /// Logs and counts the answer, and gives it the request id.
    pub(crate) fn finish(self, metrics: &Metrics, response: &mut Response) {
        let elapsed = self.started.elapsed();
        let (route, caller) = self.trail.with(|learned| {
            (
                learned
                    .route
                    .as_ref()
                    .map_or(UNMATCHED, MatchedPath::as_str)
                    .to_owned(),
                learned.caller.take(),
            )
        });
        let status = response.status().as_u16();
        let failure = response.extensions().get::<Failure>().copied();
        metrics.request(&self.method, &route, status, elapsed);
        if let Some(reason) = failure.and_then(|f| {
            f.auth_error
                .or(f.token_error)
                .or(Some(f.id))
                .filter(|id| TOKEN_REFUSALS.contains(id))
        }) {
            metrics.token_refused(reason);
        }
        // The client's id back when it sent one (it correlates by it), else the service's.
        if let Ok(value) = HeaderValue::from_str(self.client_id.as_deref().unwrap_or(&self.id)) {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        let caller = caller.as_deref().unwrap_or("anonymous");
        let latency_ms = (elapsed.as_secs_f64() * 1e6).round() / 1e3;
        macro_rules! line {
            ($level:ident) => {
                tracing::$level!(
                    target: "macaroon_mint_server::request",
                    request_id = %self.id,
                    client_request_id = self.client_id.as_deref(),
                    client = %self.client,
                    method = crate::metrics::method_label(&self.method),
                    route = %route,
                    status,
                    latency_ms,
                    caller,
                    error = failure.map(|f| f.id),
                    auth_error = failure.and_then(|f| f.auth_error),
                    token_error = failure.and_then(|f| f.token_error),
                    "request"
                )
            };
        }
        if status >= 500 {
            line!(error);
        } else {
            line!(info);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_request_ids_are_kept_only_when_harmless() {
        let ids = RequestIds::new();
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(REQUEST_ID, HeaderValue::from_str(value).unwrap());
            ids.of(&headers)
        };
        let (ours, theirs) = with("abc-123_x.y:z");
        assert_eq!(theirs.as_deref(), Some("abc-123_x.y:z"));
        let (instance, n) = ours.rsplit_once('-').unwrap();
        assert_eq!(instance.len(), 16);
        assert!(n.parse::<u64>().is_ok());
        // A client sending another request's id gets its own id all the same.
        let (again, theirs) = with(&ours);
        assert_ne!(again, ours);
        assert_eq!(theirs.as_deref(), Some(ours.as_str()));
        for hostile in ["", "a b", "x\" injected=\"1", "tab\there", &"a".repeat(65)] {
            let (id, theirs) = with(hostile);
            assert!(
                id.starts_with(instance) && theirs.is_none(),
                "{hostile:?} kept as {theirs:?}"
            );
        }
        assert_ne!(ids.of(&HeaderMap::new()).0, ids.of(&HeaderMap::new()).0);
    }
}
