//! Prometheus metrics of one service instance, served as text at `GET /metrics`.
//!
//! Every series has a bounded set of label values, whatever clients send: routes are the
//! router's templates (`/api/v3/onezone/users/{id}`, or `unmatched`), methods the standard ones
//! (or `other`), statuses the service's own, refusal reasons Onedata's error ids and store
//! operations the [`Store`] trait's methods. A flood of made-up paths or methods therefore
//! cannot grow the registry.
//!
//! | Metric | Kind | Labels |
//! |---|---|---|
//! | `macaroon_mint_http_requests_total` | counter | `method`, `route`, `status` |
//! | `macaroon_mint_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `macaroon_mint_http_connections_refused_total` | counter | — (over the connection limits) |
//! | `macaroon_mint_tokens_minted_total` | counter | `persistence` (`named`, `temporary`), `type` (`access`, `identity`, `invite`) |
//! | `macaroon_mint_token_refusals_total` | counter | `reason` (`badToken`, `tokenInvalid`, `tokenRevoked`, …) |
//! | `macaroon_mint_password_checks_waiting` | gauge | — (Argon2 queue depth) |
//! | `macaroon_mint_password_checks_running` | gauge | — |
//! | `macaroon_mint_store_operation_duration_seconds` | histogram | `operation` |
//! | `macaroon_mint_store_errors_total` | counter | `operation` |
//! | `macaroon_mint_cache_lookups_total` | counter | `result` (`hit`, `miss`, `untrusted`) |
//! | `macaroon_mint_cache_entries` | gauge | — |
//! | `macaroon_mint_cache_trusted` | gauge | — (1 while the change feed is heard within the trust window) |
//! | `macaroon_mint_feed_revision` | gauge | — (the last change feed revision applied) |
//!
//! A service's metrics belong to it (no global registry), so several instances in one process
//! (tests, embedding) each count their own.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::store::{Store, StoreError};

/// Seconds: from half a millisecond (a cached token check) to the request timeout.
const REQUEST_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Seconds: from 50 µs (an SQLite read in the page cache) to a second (a stalled pool).
const STORE_BUCKETS: [f64; 12] = [
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.25, 1.0,
];

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: &'static str,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: &'static str,
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct MintLabels {
    persistence: &'static str,
    r#type: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabels {
    operation: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// The metrics of one service instance.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: HistogramFamily<RouteLabels>,
    connections_refused: Counter,
    minted: Family<MintLabels, Counter>,
    refusals: Family<ReasonLabels, Counter>,
    passwords_waiting: Gauge,
    passwords_running: Gauge,
    store_seconds: HistogramFamily<OperationLabels>,
    store_errors: Family<OperationLabels, Counter>,
    /// The three series of `cache_lookups`, held so that a lookup (several per request) counts
    /// without the family's lock and hash.
    cache_hits: Counter,
    cache_misses: Counter,
    cache_untrusted: Counter,
    cache_entries: Gauge,
    cache_trusted: Gauge,
    feed_revision: Gauge,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// The label of a request's method: the standard methods by name, anything else `other`.
pub(crate) fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Empty metrics, every family registered.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("macaroon_mint");
        let requests = Family::<RequestLabels, Counter>::default();
        let request_seconds: HistogramFamily<RouteLabels> =
            Family::new_with_constructor(|| Histogram::new(REQUEST_BUCKETS));
        let connections_refused = Counter::default();
        let minted = Family::<MintLabels, Counter>::default();
        let refusals = Family::<ReasonLabels, Counter>::default();
        let passwords_waiting = Gauge::default();
        let passwords_running = Gauge::default();
        let store_seconds: HistogramFamily<OperationLabels> =
            Family::new_with_constructor(|| Histogram::new(STORE_BUCKETS));
        let store_errors = Family::<OperationLabels, Counter>::default();
        let cache_lookups = Family::<ResultLabels, Counter>::default();
        let cache_entries = Gauge::default();
        let cache_trusted = Gauge::default();
        let feed_revision = Gauge::default();
        let series = |result| {
            cache_lookups
                .get_or_create(&ResultLabels { result })
                .clone()
        };
        let (cache_hits, cache_misses, cache_untrusted) =
            (series("hit"), series("miss"), series("untrusted"));
        registry.register(
            "cache_lookups",
            "Verification cache lookups: hit, miss (read from the store and kept), untrusted (the change feed is silent: read through)",
            cache_lookups.clone(),
        );
        registry.register(
            "cache_entries",
            "Entries in the verification cache",
            cache_entries.clone(),
        );
        registry.register(
            "cache_trusted",
            "1 while the change feed was read up to its head within the trust window, else 0",
            cache_trusted.clone(),
        );
        registry.register(
            "feed_revision",
            "The last change feed revision this instance applied",
            feed_revision.clone(),
        );
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status",
            requests.clone(),
        );
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's headers to its answer, by method and route template",
            request_seconds.clone(),
        );
        registry.register(
            "http_connections_refused",
            "Connections refused over the connection limits (total or per client address)",
            connections_refused.clone(),
        );
        registry.register(
            "tokens_minted",
            "Tokens minted, by persistence and token type",
            minted.clone(),
        );
        registry.register(
            "token_refusals",
            "Tokens refused, by Onedata's error id (the authError of a 401, or the error of a verify endpoint)",
            refusals.clone(),
        );
        registry.register(
            "password_checks_waiting",
            "Password checks waiting for an Argon2 slot",
            passwords_waiting.clone(),
        );
        registry.register(
            "password_checks_running",
            "Password checks holding an Argon2 slot",
            passwords_running.clone(),
        );
        registry.register(
            "store_operation_duration_seconds",
            "Time of one store operation (one transaction), by operation",
            store_seconds.clone(),
        );
        registry.register(
            "store_errors",
            "Store operations that failed in the backend (I/O, SQL, connection), by operation",
            store_errors.clone(),
        );
        Metrics {
            registry,
            requests,
            request_seconds,
            connections_refused,
            minted,
            refusals,
            passwords_waiting,
            passwords_running,
            store_seconds,
            store_errors,
            cache_hits,
            cache_misses,
            cache_untrusted,
            cache_entries,
            cache_trusted,
            feed_revision,
        }
    }

    /// Counts a verification cache lookup served from memory.
    pub(crate) fn cache_hit(&self) {
        self.cache_hits.inc();
    }

    /// Counts a lookup read from the store and kept.
    pub(crate) fn cache_miss(&self) {
        self.cache_misses.inc();
    }

    /// Counts a lookup read through an untrusted cache.
    pub(crate) fn cache_untrusted(&self) {
        self.cache_untrusted.inc();
    }

    /// Sets the number of cached entries.
    pub(crate) fn cache_entries(&self, entries: usize) {
        self.cache_entries
            .set(i64::try_from(entries).unwrap_or(i64::MAX));
    }

    /// Sets whether the cache is trusted and the feed revision applied.
    pub(crate) fn feed_state(&self, trusted: bool, revision: i64) {
        self.cache_trusted.set(i64::from(trusted));
        self.feed_revision.set(revision);
    }

    /// Sets the feed revision applied.
    pub(crate) fn feed_revision(&self, revision: i64) {
        self.feed_revision.set(revision);
    }

    /// Counts an answered request.
    pub(crate) fn request(
        &self,
        method: &axum::http::Method,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let method = method_label(method);
        let route = route.to_owned();
        self.request_seconds
            .get_or_create(&RouteLabels {
                method,
                route: route.clone(),
            })
            .observe(elapsed.as_secs_f64());
        self.requests
            .get_or_create(&RequestLabels {
                method,
                route,
                status,
            })
            .inc();
    }

    /// Counts a connection refused over the limits.
    pub(crate) fn connection_refused(&self) {
        self.connections_refused.inc();
    }

    /// Counts a minted token.
    pub(crate) fn minted(&self, persistence: &'static str, token_type: &'static str) {
        self.minted
            .get_or_create(&MintLabels {
                persistence,
                r#type: token_type,
            })
            .inc();
    }

    /// Counts a refused token by its error id.
    pub(crate) fn token_refused(&self, reason: &'static str) {
        self.refusals.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// Sets the Argon2 queue gauges.
    pub(crate) fn password_checks(&self, waiting: usize, running: usize) {
        let gauge = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.passwords_waiting.set(gauge(waiting));
        self.passwords_running.set(gauge(running));
    }

    fn store_operation(&self, operation: &'static str, elapsed: Duration, failed: bool) {
        let labels = OperationLabels { operation };
        self.store_seconds
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        if failed {
            self.store_errors.get_or_create(&labels).inc();
        }
    }

    /// The metrics in Prometheus' text exposition format (OpenMetrics text, version 1.0.0).
    ///
    /// ```
    /// let metrics = macaroon_mint_server::metrics::Metrics::new();
    /// let text = metrics.render();
    /// assert!(text.contains("# TYPE macaroon_mint_password_checks_waiting gauge"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// A [`Store`] that times every operation into [`Metrics`] and logs backend failures (their
/// text with any URL password replaced by `***`).
pub(crate) struct MeasuredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeasuredStore {
    pub(crate) fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> MeasuredStore {
        MeasuredStore { inner, metrics }
    }

    fn observe<T>(
        &self,
        operation: &'static str,
        started: Instant,
        result: Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let failed = matches!(result, Err(StoreError::Backend(_)));
        self.metrics
            .store_operation(operation, started.elapsed(), failed);
        if let Err(StoreError::Backend(message)) = &result {
            tracing::error!(
                operation,
                error = %crate::store::redact_credentials(message),
                "store operation failed"
            );
        }
        result
    }
}

/// One method of [`Store`] for [`MeasuredStore`] (of [`crate::for_each_store_method!`]): the
/// inner store's, timed under the method's name.
macro_rules! measured {
    ($kind:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            let started = Instant::now();
            let result = self.inner.$name($($arg),*);
            self.observe(stringify!($name), started, result)
        }
    };
}

impl Store for MeasuredStore {
    fn has_change_feed(&self) -> bool {
        self.inner.has_change_feed()
    }

    crate::for_each_store_method!(measured);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_stay_bounded_whatever_the_method() {
        let metrics = Metrics::new();
        for method in ["GET", "BREW", "PROPFIND", "X-ANYTHING"] {
            let method = axum::http::Method::from_bytes(method.as_bytes()).unwrap();
            metrics.request(&method, "unmatched", 404, Duration::from_millis(1));
        }
        let text = metrics.render();
        assert!(text.contains(
            r#"macaroon_mint_http_requests_total{method="other",route="unmatched",status="404"} 3"#
        ));
        assert!(text.contains(
            r#"macaroon_mint_http_requests_total{method="GET",route="unmatched",status="404"} 1"#
        ));
        assert!(!text.contains("BREW"), "{text}");
    }

    #[test]
    fn store_operations_are_timed() {
        let dir = std::env::temp_dir().join(format!(
            "macaroon-mint-metrics-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let metrics = Arc::new(Metrics::new());
        let inner: Arc<dyn Store> = Arc::new(crate::store::open_sqlite_for_tests(&dir));
        let store = MeasuredStore::new(inner, Arc::clone(&metrics));
        store.ping().unwrap();
        assert_eq!(store.user_by_id("nobody").unwrap(), None);
        assert!(store.root_keys().unwrap().is_empty());
        let text = metrics.render();
        for operation in ["ping", "user_by_id", "root_keys"] {
            assert!(
                text.contains(&format!(
                    "macaroon_mint_store_operation_duration_seconds_count{{operation=\"{operation}\"}} 1"
                )),
                "{operation}: {text}"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
