//! `macaroon-mint-server`: a reference Onezone-style token service built on `macaroon_mint`.
//!
//! It serves Onezone's two token endpoints (SPEC §10.5) with the same paths, status codes and
//! JSON shapes, plus the few supporting endpoints needed to use them end to end:
//!
//! | Method and path (under `/api/v3/onezone`) | Body | Answer | Allowed |
//! |---|---|---|---|
//! | `POST /users/{id}/clusters/provider_registration_token` | ignored | `200 {"token"}` (`rop:<id>:`) | open policy: user `id` themself; otherwise `oz_providers_invite` |
//! | `POST /spaces/{id}/providers/token` | ignored | `200 {"token"}` (`ssp:<id>:ge`) | `space_add_support` on the space, or `oz_spaces_add_relationships` |
//! | `GET /user` | — | `200 {"userId","username"}` | any user |
//! | `POST /users` | `{"username","password"}` | `201 {"id"}` | `oz_users_create` |
//! | `POST /user/spaces` | `{"name"}` | `201 {"id"}` | any user (the creator gets every space privilege) |
//! | `PATCH /users/{id}/privileges` | `{"grant"?,"revoke"?}` | `204` | `oz_set_privileges` |
//! | `PATCH /spaces/{id}/users/{uid}/privileges` | `{"grant"?,"revoke"?}` | `204` | `space_set_privileges` on the space, or `oz_spaces_set_privileges`; makes `uid` a member if needed |
//! | `POST /user/tokens/temporary` | `{"type"?,"caveats"}` | `201 {"token"}` | any user; a `time` caveat at most `temporary_max_ttl` ahead is required |
//! | `POST /user/tokens/named` | `{"name","type"?,"caveats"?}` | `201 {"tokenId","token"}` | any user; names are unique per user (`409 alreadyExists`) |
//! | `PATCH /tokens/named/{id}` | `{"revoked": bool}` | `204` | revoke: the token's subject, or `oz_tokens_manage`; un-revoke: `oz_tokens_manage` |
//! | `DELETE /user/tokens/temporary` | — | `204` | any user: revokes all their temporary tokens (generation + 1) |
//! | `DELETE /users/{id}/tokens/temporary` | — | `204` | user `id`, or `oz_tokens_manage` |
//! | `POST /tokens/verify_invite_token` | `{"token","expectedInviteType"?,"peerIp"?}` | `200` claims | anyone (no authentication) |
//! | `GET /configuration` | — | `200` Onezone's `Configuration` | anyone |
//! | `GET /health`, `GET /ready` (outside the prefix) | — | `200 {"status"}`; `/ready` `503` when the store does not answer | anyone |
//! | `GET /metrics` (outside the prefix) | — | `200` Prometheus text ([`metrics`]) | anyone |
//! | `GET /`, `GET /inspect` (outside the prefix) | — | `200` the token inspector page | anyone |
//! | `POST /inspect` (outside the prefix) | `{"token"}` | `200` `macaroon_mint::report::inspect`'s JSON, valid or damaged | anyone; nothing stored or logged |
//!
//! Authentication is HTTP basic (Argon2id password hashes) or an access token minted by
//! `/user/tokens/*`, sent as `X-Auth-Token: <token>`, `Authorization: Bearer <token>` or the
//! deprecated `Macaroon: <token>`. A token is verified with `macaroon_mint` against the request:
//! the time (an injected [`Clock`]), the client IP, `interface = rest` and the API call
//! (`ozw/<operation>/<type>.<id>.<aspect>`); caveats about facts a direct REST call does not
//! carry (service, consumer, ASN, geography, data access) do not hold, so the verifier fails
//! closed. A refused token is `401 unauthorized` with `details.authError` saying why
//! (`badToken`, `tokenInvalid`, `tokenRevoked`, `notAnAccessToken`, `tokenCaveatUnverified`,
//! `tokenCaveatUnknown`, `tokenTimeCaveatRequired`).
//!
//! The invite tokens are named tokens (SPEC §10.3) whose subject is the caller. No token secret
//! is stored: each is derived from a root key ([`keys`]), and the token record names its key.
//! Rotating adds a new current key (old tokens keep verifying); retiring a key invalidates the
//! tokens minted under it. Checks run in this order: 401 (credentials), 404 (the user or space
//! in the path), 403 (privileges), 400 (body); errors are `{"error": {"id", "details"?,
//! "description"}}`, and a 500 never carries its cause (which goes to the log, without key
//! material).
//!
//! Each request leaves one `tracing` event (target `macaroon_mint_server::request`: request id,
//! client, method, route template, status, latency, caller, error and `authError` ids; never a
//! token, password or body), and the answer carries its `X-Request-Id`. The crate emits events
//! only: the embedding program installs a subscriber (the CLI's `serve` does, with
//! `--log-format text|json` and `RUST_LOG`).
//!
//! ```no_run
//! use macaroon_mint_server::{Config, RegistrationPolicy, Server};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config {
//!     domain: "onezone.example".into(),
//!     registration_policy: RegistrationPolicy::Open,
//!     admin: Some(("admin".into(), "change me".into())),
//!     ..Config::new() // SQLite in ./macaroon-mint-data, 7-day temporary tokens, system clock
//! };
//! let server = Server::bind("127.0.0.1:8080".parse()?, config).await?;
//! println!("listening on {}", server.local_addr()?);
//! server.run().await?;
//! # Ok(())
//! # }
//! ```

mod cache;
pub mod http;
pub mod metrics;
pub mod service;
pub mod store;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

pub use crate::cache::CacheSettings;
pub use crate::http::caller::{PasswordLimits, Rate};
pub use crate::http::error::ApiError;
pub use crate::http::HttpLimits;
pub use crate::service::{
    hash_password, keys, privileges, system_clock, verify_password, AdminStatus, Clock, Quotas,
    RegistrationPolicy, Service,
};
pub use crate::store::{PostgresStore, SqliteStore, Store, StoreError};

/// The service's settings.
#[derive(Clone)]
pub struct Config {
    /// Directory of the SQLite database (created on first run); unused with `database_url`.
    pub data_dir: PathBuf,
    /// A `postgres://…` URL: use PostgreSQL instead of SQLite (several instances may share it).
    pub database_url: Option<String>,
    /// The Onezone domain written as the tokens' location.
    pub domain: String,
    /// The zone's name, shown by `GET /configuration`.
    pub zone_name: String,
    /// Who may ask for provider registration tokens.
    pub registration_policy: RegistrationPolicy,
    /// `(username, password)` of an admin holding every `oz_*` privilege, created if no user has
    /// that name (an existing user is left as it is).
    pub admin: Option<(String, String)>,
    /// The longest lifetime of a temporary access token, in seconds (default 7 days).
    pub temporary_max_ttl: u64,
    /// Per-user quotas of named tokens and spaces.
    pub quotas: Quotas,
    /// Connection, request, body and password limits.
    pub limits: HttpLimits,
    /// The time source.
    pub clock: Clock,
    /// The key-encryption key that seals root keys at rest; `None` stores them as plain hex.
    pub master_key: Option<store::MasterKey>,
    /// The verification cache (on by default; [`CacheSettings::disabled`] reads the store on
    /// every request).
    pub cache: CacheSettings,
}

impl Config {
    /// The defaults: data directory `macaroon-mint-data`, SQLite, domain `localhost`,
    /// restricted registration, no admin, temporary tokens up to 7 days, the system clock.
    pub fn new() -> Config {
        // The service's own settings start from the same defaults.
        let service::Settings {
            domain,
            zone_name,
            registration_policy,
            temporary_max_ttl,
            quotas,
            clock,
            cache,
        } = service::Settings::default();
        Config {
            data_dir: PathBuf::from("macaroon-mint-data"),
            database_url: None,
            domain,
            zone_name,
            registration_policy,
            admin: None,
            temporary_max_ttl,
            quotas,
            limits: HttpLimits::default(),
            clock,
            master_key: None,
            cache,
        }
    }

    /// Where the data lives, for printing: the SQLite file, or the PostgreSQL URL without its
    /// password.
    pub fn storage_description(&self) -> String {
        match &self.database_url {
            Some(url) => format!("PostgreSQL {}", store::redact_url(url)),
            None => format!(
                "SQLite {}",
                self.data_dir.join(store::SQLITE_FILE).display()
            ),
        }
    }

    /// Opens the configured store (creating the SQLite directory, or the PostgreSQL tables),
    /// sealing root keys under `master_key` when one is set.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when it cannot be opened.
    pub fn open_store(&self) -> Result<Arc<dyn Store>, StoreError> {
        let protection = store::KeyProtection::from(self.master_key.clone());
        Ok(match &self.database_url {
            Some(url) => Arc::new(PostgresStore::connect(url, protection)?),
            None => Arc::new(SqliteStore::open(&self.data_dir, protection)?),
        })
    }
}

impl Default for Config {
    fn default() -> Config {
        Config::new()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field(
                "database_url",
                &self.database_url.as_deref().map(store::redact_url),
            )
            .field("domain", &self.domain)
            .field("zone_name", &self.zone_name)
            .field("registration_policy", &self.registration_policy)
            .field("admin", &self.admin.as_ref().map(|(user, _)| user))
            .field("temporary_max_ttl", &self.temporary_max_ttl)
            .field("quotas", &self.quotas)
            .field("limits", &self.limits)
            .field("master_key", &self.master_key)
            .finish_non_exhaustive()
    }
}

/// A failure to start the service.
#[derive(Debug)]
pub enum ServerError {
    /// The store could not be opened or the admin not created.
    Store(StoreError),
    /// Binding the listening socket or serving failed.
    Io(std::io::Error),
    /// The service could not start (password hashing, the admin account).
    Service(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Store(e) => write!(f, "{e}"),
            ServerError::Io(e) => write!(f, "{e}"),
            ServerError::Service(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> ServerError {
        ServerError::Store(e)
    }
}

impl From<service::Error> for ServerError {
    fn from(e: service::Error) -> ServerError {
        ServerError::Service(e.to_string())
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> ServerError {
        ServerError::Io(e)
    }
}

/// A bound, not yet serving, token service.
pub struct Server {
    listener: tokio::net::TcpListener,
    service: Arc<Service>,
    limits: HttpLimits,
    admin: AdminStatus,
}

impl fmt::Debug for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("listener", &self.listener)
            .field("admin", &self.admin)
            .finish_non_exhaustive()
    }
}

impl Server {
    /// Opens the configured store ([`Config::open_store`]), creates the first root key and the
    /// admin if needed, and binds `listen`.
    ///
    /// # Errors
    ///
    /// [`ServerError`] when the store cannot be opened, the admin cannot be created or the
    /// address cannot be bound.
    pub async fn bind(listen: SocketAddr, config: Config) -> Result<Server, ServerError> {
        let opening = config.clone();
        let store = tokio::task::spawn_blocking(move || opening.open_store())
            .await
            .map_err(|e| ServerError::Store(StoreError::Backend(e.to_string())))??;
        Server::bind_with_store(listen, config, store).await
    }

    /// As [`Server::bind`], with any [`Store`] (`config.data_dir` and `database_url` are
    /// unused).
    ///
    /// # Errors
    ///
    /// As [`Server::bind`].
    pub async fn bind_with_store(
        listen: SocketAddr,
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<Server, ServerError> {
        let now = (config.clock)();
        let admin = {
            let store = Arc::clone(&store);
            let admin = config.admin.clone();
            tokio::task::spawn_blocking(move || -> Result<AdminStatus, ServerError> {
                let key = store::ensure_root_key(&*store, now)?;
                Ok(match admin {
                    None => AdminStatus::NotRequested,
                    Some((username, password)) => {
                        service::bootstrap_admin(&*store, &username, &password, key.id, now)?
                    }
                })
            })
            .await
            .map_err(|e| ServerError::Service(e.to_string()))??
        };
        if let (AdminStatus::Created, Some((username, _))) = (admin, &config.admin) {
            tracing::info!(%username, "created the admin account");
        }
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let settings = service::Settings {
            domain: config.domain,
            zone_name: config.zone_name,
            registration_policy: config.registration_policy,
            temporary_max_ttl: config.temporary_max_ttl,
            quotas: config.quotas,
            clock: config.clock,
            cache: config.cache,
        };
        let service = Arc::new(Service::new(store, settings)?);
        Ok(Server {
            listener,
            service,
            limits: config.limits,
            admin,
        })
    }

    /// The bound address (with the actual port when port 0 was asked for).
    ///
    /// # Errors
    ///
    /// When the socket cannot report it.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// What happened to the admin account.
    pub fn admin_status(&self) -> AdminStatus {
        self.admin
    }

    /// Serves until `shutdown` completes.
    ///
    /// # Errors
    ///
    /// When serving fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let metrics = Arc::clone(&self.service.metrics);
        if let Ok(address) = self.listener.local_addr() {
            let settings = self.service.settings();
            tracing::info!(
                %address,
                domain = %settings.domain,
                registration_policy = %settings.registration_policy,
                "serving on http://{address}"
            );
        }
        let router = http::router(self.service, &self.limits);
        let served = http::serve(self.listener, router, self.limits, metrics, shutdown).await;
        // The router, and with it the service and its store, are dropped once the last
        // connection task has ended: the store's connections are closed by now.
        tracing::info!("stopped");
        served
    }

    /// Serves forever.
    ///
    /// # Errors
    ///
    /// When serving fails.
    pub async fn run(self) -> std::io::Result<()> {
        self.run_until(std::future::pending()).await
    }
}

/// Runs the service on its own multi-threaded runtime until Ctrl-C or SIGTERM, calling
/// `on_ready` once it is bound (for printing the settings). On either signal it stops
/// accepting connections, lets the requests in flight finish (for at most the request
/// timeout), then closes the store and returns.
///
/// # Errors
///
/// [`ServerError`] when the runtime cannot start, or as [`Server::bind`] and [`Server::run`].
pub fn serve_blocking(
    listen: SocketAddr,
    config: Config,
    on_ready: impl FnOnce(&Server),
) -> Result<(), ServerError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let server = Server::bind(listen, config).await?;
        on_ready(&server);
        server.run_until(shutdown_signal()).await?;
        Ok(())
    })
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM (what `kill`, systemd and container runtimes send).
/// A handler that cannot be installed leaves the other one, or none: the process then runs
/// until killed.
async fn shutdown_signal() {
    let interrupt = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!(signal = "SIGINT", "shutdown requested"),
        () = terminate => tracing::info!(signal = "SIGTERM", "shutdown requested"),
    }
}
