//! HTTP: the routes, authentication ([`caller`]), typed bodies (`body.rs`), errors ([`error`])
//! and the limits that keep the service reachable under abuse:
//!
//! - **connections**: at most [`HttpLimits::max_connections`] open, and
//!   [`HttpLimits::max_connections_per_ip`] from one address; one more is answered
//!   `503 serviceUnavailable` (with `Retry-After`) and closed;
//! - **slow clients**: the request headers must arrive within
//!   [`HttpLimits::header_read_timeout`] (else the connection is closed), a keep-alive
//!   connection may idle as long, and a whole request (body included) must be handled within
//!   [`HttpLimits::request_timeout`] (else `408 requestTimeout`);
//! - **load**: at most [`HttpLimits::max_in_flight`] requests are handled at once; more are
//!   answered `503` at once rather than queued;
//! - **bodies**: at most [`MAX_BODY_BYTES`] (`413 payloadTooLarge`), read only after
//!   the caller is authenticated;
//! - **passwords**: rate limits per address and per username (`429 tooManyRequests`), and a
//!   bounded wait for an Argon2 slot (`503`); see [`caller::PasswordLimits`].

pub(crate) mod body;
pub use self::body::MAX_BODY_BYTES;
pub mod caller;
pub mod caveats;
pub mod error;
mod inspector;
pub(crate) mod observe;
pub use self::observe::REQUEST_ID;
mod owned_tokens;
mod providers;
mod routes;

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::error_handling::HandleErrorLayer;
use axum::extract::{ConnectInfo, DefaultBodyLimit};
use axum::routing::{get, patch, post};
use axum::{BoxError, Router};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::response::IntoResponse as _;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceBuilder;

use self::caller::{PasswordGate, PasswordLimits};
use self::error::ApiError;
use crate::metrics::Metrics;
use crate::service::Service;

/// The path prefix of Onezone's REST API.
pub(crate) const PREFIX: &str = "/api/v3/onezone";

/// Limits of the HTTP layer (see the module documentation). "Per client address" means per
/// IPv4 address, or per IPv6 /64 (one host usually holds a whole /64).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Open connections at most (default 1,024).
    pub max_connections: usize,
    /// Open connections from one client address at most (default 64).
    pub max_connections_per_ip: usize,
    /// Requests handled at once at most (default 256).
    pub max_in_flight: usize,
    /// Requests handled at once for one client address at most (default 16), so that one
    /// address cannot take every in-flight slot.
    pub max_in_flight_per_ip: usize,
    /// Time for a request's headers to arrive, and for a keep-alive connection to idle
    /// (default 10 s).
    pub header_read_timeout: Duration,
    /// Time for a request's body to arrive once the handler asks for it (default 5 s).
    pub body_timeout: Duration,
    /// Time to read and handle a whole request (default 15 s).
    pub request_timeout: Duration,
    /// Time a response write may stay blocked on a client that does not read (default 10 s);
    /// past it the connection is closed.
    pub write_timeout: Duration,
    /// Password checks.
    pub passwords: PasswordLimits,
}

impl Default for HttpLimits {
    fn default() -> HttpLimits {
        HttpLimits {
            max_connections: 1024,
            max_connections_per_ip: 64,
            max_in_flight: 256,
            max_in_flight_per_ip: 16,
            header_read_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            write_timeout: Duration::from_secs(10),
            passwords: PasswordLimits::default(),
        }
    }
}

/// The key of a client address for per-address limits: an IPv4 address (IPv4-mapped IPv6
/// included) as it is, an IPv6 address by its /64.
///
/// ```
/// # use std::net::IpAddr;
/// use macaroon_mint_server::http::client_key;
/// let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
/// let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
/// assert_eq!(client_key(a), client_key(b));
/// assert_eq!(client_key("::ffff:10.0.0.1".parse().unwrap()), "10.0.0.1".parse::<IpAddr>().unwrap());
/// assert_ne!(client_key("10.0.0.1".parse().unwrap()), client_key("10.0.0.2".parse().unwrap()));
/// ```
pub fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let bits = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(std::net::Ipv6Addr::from(bits))
            }
        },
    }
}

/// What every handler shares.
#[derive(Clone)]
pub(crate) struct App {
    pub(crate) service: Arc<Service>,
    pub(crate) passwords: Arc<PasswordGate>,
}

/// Runs blocking work (the store, Argon2) off the async worker threads.
pub(crate) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(crate::service::Error::internal("blocking task", &e).into()),
    }
}

/// The router with its limits.
pub(crate) fn router(service: Arc<Service>, limits: &HttpLimits) -> Router {
    let app = App {
        service,
        passwords: Arc::new(PasswordGate::new(limits.passwords)),
    };
    let forgetting = Arc::downgrade(&app.passwords);
    // The rate limiters keep a cell per client: forget idle ones now and then.
    if let Ok(handle) = tokio::runtime::Handle::try_current() {
        handle.spawn(async move {
            let mut ticks = tokio::time::interval(Duration::from_secs(10));
            loop {
                ticks.tick().await;
                match forgetting.upgrade() {
                    Some(gate) => gate.forget_idle_clients(),
                    None => break,
                }
            }
        });
    }
    let p = |path: &str| format!("{PREFIX}{path}");
    Router::new()
        .route(&p("/configuration"), get(routes::configuration))
        .route("/metrics", get(routes::metrics))
        .route("/", get(inspector::page))
        .route("/inspect", get(inspector::page).post(inspector::inspect))
        .route("/health", get(routes::health))
        .route("/ready", get(routes::ready))
        .route(&p("/user"), get(routes::current_user))
        .route(&p("/users"), post(routes::create_user))
        .route(
            &p("/users/{id}/privileges"),
            patch(routes::update_user_privileges),
        )
        .route(
            &p("/users/{id}/clusters/provider_registration_token"),
            post(routes::provider_registration),
        )
        .route(
            &p("/user/clusters/provider_registration_token"),
            post(routes::own_provider_registration),
        )
        .route(
            &p("/users/{id}/tokens/temporary"),
            post(owned_tokens::create_temporary)
                .get(owned_tokens::generation)
                .delete(owned_tokens::revoke_temporary),
        )
        .route(
            &p("/users/{id}/tokens/named"),
            post(owned_tokens::create_named)
                .get(owned_tokens::list_named)
                .delete(owned_tokens::delete_named),
        )
        .route(
            &p("/users/{id}/tokens/named/name/{name}"),
            get(owned_tokens::named_by_name),
        )
        .route(&p("/user/spaces"), post(routes::create_space))
        .route(
            &p("/user/tokens/temporary"),
            post(owned_tokens::create_temporary)
                .get(owned_tokens::generation)
                .delete(owned_tokens::revoke_temporary),
        )
        .route(
            &p("/user/tokens/named"),
            post(owned_tokens::create_named)
                .get(owned_tokens::list_named)
                .delete(owned_tokens::delete_named),
        )
        .route(
            &p("/user/tokens/named/name/{name}"),
            get(owned_tokens::named_by_name),
        )
        .route(&p("/tokens/named"), get(routes::list_all_named))
        .route(
            &p("/tokens/named/{id}"),
            patch(routes::update_named)
                .get(routes::named_by_id)
                .delete(routes::delete_named),
        )
        .route(&p("/tokens/named/{id}/status"), get(routes::named_status))
        .route(
            &p("/spaces/{id}/providers/token"),
            post(routes::space_support),
        )
        .route(
            &p("/spaces/{id}/users/{uid}/privileges"),
            patch(routes::update_space_privileges),
        )
        .route(
            &p("/tokens/verify_invite_token"),
            post(routes::verify_invite_token),
        )
        .route(
            &p("/providers"),
            post(providers::register).get(providers::list),
        )
        .route(
            &p("/providers/{id}"),
            get(providers::details).delete(providers::remove),
        )
        .route(
            &p("/providers/{id}/tokens/named"),
            post(owned_tokens::create_named)
                .get(owned_tokens::list_named)
                .delete(owned_tokens::delete_named),
        )
        .route(
            &p("/providers/{id}/tokens/named/name/{name}"),
            get(owned_tokens::named_by_name),
        )
        .route(
            &p("/providers/{id}/tokens/temporary"),
            post(owned_tokens::create_temporary)
                .get(owned_tokens::generation)
                .delete(owned_tokens::revoke_temporary),
        )
        .route(
            &p("/provider"),
            get(providers::own_details)
                .patch(providers::update_own)
                .delete(providers::unregister_own),
        )
        .route(&p("/provider/spaces"), get(providers::own_spaces))
        .route(
            &p("/provider/spaces/support"),
            post(providers::support_space),
        )
        .route(
            &p("/provider/spaces/{sid}"),
            axum::routing::delete(providers::cease_own_support),
        )
        .route(
            &p("/provider/tokens/named"),
            post(owned_tokens::create_named)
                .get(owned_tokens::list_named)
                .delete(owned_tokens::delete_named),
        )
        .route(
            &p("/provider/tokens/named/name/{name}"),
            get(owned_tokens::named_by_name),
        )
        .route(
            &p("/provider/tokens/temporary"),
            post(owned_tokens::create_temporary)
                .get(owned_tokens::generation)
                .delete(owned_tokens::revoke_temporary),
        )
        .route(&p("/spaces/{id}/providers"), get(providers::of_space))
        .route(
            &p("/spaces/{id}/providers/{pid}"),
            get(providers::of_space_by_id).delete(providers::cease_support),
        )
        .route(&p("/tokens/examine"), post(routes::examine_token))
        .route(&p("/tokens/confine"), post(routes::confine_token))
        .route(
            &p("/tokens/infer_access_token_scope"),
            post(providers::infer_scope),
        )
        .route(
            &p("/tokens/verify_access_token"),
            post(routes::verify_access_token),
        )
        .route(
            &p("/tokens/verify_identity_token"),
            post(routes::verify_identity_token),
        )
        // Every route above records its template for the request's log line and metrics.
        .route_layer(axum::middleware::from_fn(observe::record_route))
        .fallback(|| async { ApiError::not_found() })
        .method_not_allowed_fallback(|request: axum::extract::Request| async move {
            // The path matched a route (not its method): its template goes in the log line.
            observe::note_route(&request);
            ApiError::method_not_allowed()
        })
        .with_state(app)
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(|e: BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        ApiError::request_timeout()
                    } else {
                        // Overloaded: more requests in flight than allowed.
                        ApiError::service_unavailable(1)
                    }
                }))
                .load_shed()
                // One semaphore for every route (a plain concurrency limit would give each
                // route its own).
                .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
                    limits.max_in_flight.max(1),
                ))
                .timeout(limits.request_timeout),
        )
}

/// Counts open connections per client address.
#[derive(Default)]
struct PerIp(Mutex<HashMap<IpAddr, usize>>);

/// One open connection of an address; counted down on drop.
struct IpSlot {
    table: Arc<PerIp>,
    ip: IpAddr,
}

impl PerIp {
    /// One more for `ip`'s key ([`client_key`]), unless it already has `max`.
    fn enter(table: &Arc<PerIp>, ip: IpAddr, max: usize) -> Option<IpSlot> {
        let ip = client_key(ip);
        let mut counts = table
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = counts.entry(ip).or_insert(0);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(IpSlot {
            table: Arc::clone(table),
            ip,
        })
    }
}

impl Drop for IpSlot {
    fn drop(&mut self) {
        let mut counts = self
            .table
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// A connection whose writes must make progress: a write (or flush) blocked longer than the
/// limit fails, so a client that stops reading its responses cannot pin the connection.
struct WriteDeadline {
    stream: TcpStream,
    limit: Duration,
    /// Running while a write is blocked.
    blocked: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl WriteDeadline {
    fn new(stream: TcpStream, limit: Duration) -> WriteDeadline {
        WriteDeadline {
            stream,
            limit,
            blocked: None,
        }
    }

    /// After a write attempt: clears the deadline on progress, arms it when blocked, and fails
    /// once it has passed.
    fn progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        attempt: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match attempt {
            Poll::Ready(result) => {
                self.blocked = None;
                Poll::Ready(result)
            }
            Poll::Pending => {
                let limit = self.limit;
                let deadline = self
                    .blocked
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
                match deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client did not read its response in time",
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl AsyncRead for WriteDeadline {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for WriteDeadline {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.progress(cx, attempt)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.progress(cx, attempt)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_flush(cx);
        this.progress(cx, attempt)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let attempt = Pin::new(&mut this.stream).poll_shutdown(cx);
        this.progress(cx, attempt)
    }
}

/// Connections being answered 503 at once at most; more are closed without an answer.
const MAX_PENDING_REFUSALS: usize = 256;

/// Answers a connection over the limits with a 503 and closes it (bounded in time).
async fn refuse(mut stream: TcpStream) {
    let error = ApiError::service_unavailable(1);
    let body = error.body().to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), write).await;
}

/// Serves `router` on `listener` with the connection limits until `shutdown` completes, then
/// lets open requests finish (up to `request_timeout`).
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let ids = Arc::new(observe::RequestIds::new());
    let connections = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let in_flight_per_ip = Arc::new(PerIp::default());
    // Refusals answer politely while few are pending; past that a connection is just closed,
    // so a connection flood cannot pile up refusal tasks (each holds its socket up to 1 s).
    let refusals = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_REFUSALS));
    let refuse = |stream: TcpStream| {
        metrics.connection_refused();
        if let Ok(permit) = Arc::clone(&refusals).try_acquire_owned() {
            tokio::spawn(async move {
                refuse(stream).await;
                drop(permit);
            });
        }
    };
    let per_ip = Arc::new(PerIp::default());
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors or a connection reset before accept: wait a
                    // moment rather than spin.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => {
                tracing::info!("shutting down: no new connections; draining requests in flight");
                break;
            }
        };
        let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
            refuse(stream);
            continue;
        };
        let Some(slot) = PerIp::enter(&per_ip, peer.ip(), limits.max_connections_per_ip) else {
            refuse(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let in_flight_per_ip = Arc::clone(&in_flight_per_ip);
        let (ids, metrics) = (Arc::clone(&ids), Arc::clone(&metrics));
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            let start = observe::Start::of(&ids, peer.ip(), &mut request);
            request.extensions_mut().insert(ConnectInfo(peer));
            request
                .extensions_mut()
                .insert(body::BodyTimeout(limits.body_timeout));
            let slot = PerIp::enter(&in_flight_per_ip, peer.ip(), limits.max_in_flight_per_ip);
            let (router, metrics) = (router.clone(), Arc::clone(&metrics));
            async move {
                let mut response = match slot {
                    None => ApiError::service_unavailable(1).into_response(),
                    Some(slot) => {
                        let request = request.map(axum::body::Body::new);
                        let Ok(response) = tower::ServiceExt::oneshot(router, request).await;
                        drop(slot);
                        response
                    }
                };
                start.finish(&metrics, &mut response);
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let stream = WriteDeadline::new(stream, limits.write_timeout);
        let connection = http.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _held = (permit, slot);
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_s = limits.request_timeout.as_secs(),
            "requests still in flight after the drain timeout were cut off"
        );
    }
    Ok(())
}
