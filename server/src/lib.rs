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
//! "description"}}`, and a 500 never carries its cause (which goes to standard error, without
//! key material).
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

mod api;
mod auth;
mod caveats;
pub mod error;
pub mod keys;
pub mod privileges;
pub mod store;

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

pub use crate::error::ApiError;
pub use crate::store::{PostgresStore, SqliteStore, Store, StoreError};

/// A clock: the current time in Unix seconds. Injected so that tests can move time; the
/// service reads it once per request and hands it to the verifier.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// Who may ask for a provider registration token for themself (SPEC §10.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RegistrationPolicy {
    /// Any user, for themself; another user's token needs `oz_providers_invite`.
    Open,
    /// Only holders of `oz_providers_invite` (the default, as in Onezone).
    #[default]
    Restricted,
}

impl fmt::Display for RegistrationPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RegistrationPolicy::Open => "open",
            RegistrationPolicy::Restricted => "restricted",
        })
    }
}

impl std::str::FromStr for RegistrationPolicy {
    type Err = String;

    fn from_str(s: &str) -> Result<RegistrationPolicy, String> {
        match s {
            "open" => Ok(RegistrationPolicy::Open),
            "restricted" => Ok(RegistrationPolicy::Restricted),
            other => Err(format!(
                "unknown registration policy \"{other}\" (expected open or restricted)"
            )),
        }
    }
}

/// The service's settings.
#[derive(Clone)]
pub struct Config {
    /// Directory of the SQLite database (created on first run); unused with `database_url`.
    pub data_dir: PathBuf,
    /// A `postgres://…` URL: use PostgreSQL instead of SQLite (several instances may share it).
    pub database_url: Option<String>,
    /// The Onezone domain written as the tokens' location.
    pub domain: String,
    /// Who may ask for provider registration tokens.
    pub registration_policy: RegistrationPolicy,
    /// `(username, password)` of an admin holding every `oz_*` privilege, created if no user has
    /// that name (an existing user is left as it is).
    pub admin: Option<(String, String)>,
    /// The longest lifetime of a temporary access token, in seconds (default 7 days).
    pub temporary_max_ttl: u64,
    /// The time source.
    pub clock: Clock,
}

impl Config {
    /// The defaults: data directory `macaroon-mint-data`, SQLite, domain `localhost`,
    /// restricted registration, no admin, temporary tokens up to 7 days, the system clock.
    pub fn new() -> Config {
        Config {
            data_dir: PathBuf::from("macaroon-mint-data"),
            database_url: None,
            domain: "localhost".to_owned(),
            registration_policy: RegistrationPolicy::Restricted,
            admin: None,
            temporary_max_ttl: macaroon_mint::onedata::DEFAULT_TEMPORARY_MAX_TTL,
            clock: system_clock(),
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

    /// Opens the configured store (creating the SQLite directory, or the PostgreSQL tables).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when it cannot be opened.
    pub fn open_store(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match &self.database_url {
            Some(url) => Arc::new(PostgresStore::connect(url)?),
            None => Arc::new(SqliteStore::open(&self.data_dir)?),
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
            .field("registration_policy", &self.registration_policy)
            .field("admin", &self.admin.as_ref().map(|(user, _)| user))
            .field("temporary_max_ttl", &self.temporary_max_ttl)
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
    /// Password hashing failed.
    Hash(String),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Store(e) => write!(f, "{e}"),
            ServerError::Io(e) => write!(f, "{e}"),
            ServerError::Hash(e) => write!(f, "password hashing: {e}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<StoreError> for ServerError {
    fn from(e: StoreError) -> ServerError {
        ServerError::Store(e)
    }
}

impl From<std::io::Error> for ServerError {
    fn from(e: std::io::Error) -> ServerError {
        ServerError::Io(e)
    }
}

/// Hashes a password with Argon2id (default parameters) and a random 16-byte salt.
///
/// # Errors
///
/// When the random number generator or the hasher fails.
pub fn hash_password(password: &str) -> Result<String, ServerError> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| ServerError::Hash(e.to_string()))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServerError::Hash(e.to_string()))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ServerError::Hash(e.to_string()))
}

/// Whether `password` matches the stored Argon2 hash (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// What happened to the `--admin` account at start-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminStatus {
    /// No admin was asked for.
    NotRequested,
    /// It was created with every `oz_*` privilege.
    Created,
    /// A user of that name already existed and was left unchanged.
    Existing,
}

/// A bound, not yet serving, token service.
pub struct Server {
    listener: tokio::net::TcpListener,
    state: Arc<api::State>,
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
            tokio::task::spawn_blocking(move || {
                let key = store::ensure_root_key(&*store, now)?;
                match admin {
                    None => Ok(AdminStatus::NotRequested),
                    Some((username, password)) => {
                        bootstrap_admin(&*store, &username, &password, key.id)
                    }
                }
            })
            .await
            .map_err(|e| ServerError::Hash(e.to_string()))??
        };
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let dummy_hash = hash_password("macaroon-mint: no such user")?;
        let state = Arc::new(api::State {
            store,
            domain: config.domain,
            registration_policy: config.registration_policy,
            dummy_hash,
            temporary_max_ttl: config.temporary_max_ttl,
            clock: config.clock,
            password_checks: Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(2, |n| n.get().max(2)),
            )),
        });
        Ok(Server {
            listener,
            state,
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
        // Connection info gives handlers the client address that `ip` caveats are checked on.
        let app = api::router(self.state).into_make_service_with_connect_info::<SocketAddr>();
        axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await
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

fn bootstrap_admin(
    store: &dyn Store,
    username: &str,
    password: &str,
    key_id: i64,
) -> Result<AdminStatus, ServerError> {
    if store.user_by_username(username)?.is_some() {
        return Ok(AdminStatus::Existing);
    }
    let hash = hash_password(password)?;
    let privileges = privileges::OZ_PRIVILEGES
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    match store.create_user(username, &hash, &privileges, key_id) {
        Ok(_) => Ok(AdminStatus::Created),
        Err(StoreError::UsernameTaken) => Ok(AdminStatus::Existing),
        Err(e) => Err(e.into()),
    }
}

/// Runs the service on its own multi-threaded runtime until Ctrl-C, calling `on_ready` once it
/// is bound (for printing the settings).
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
        server
            .run_until(async {
                // A failure to install the handler leaves the server running until killed.
                if tokio::signal::ctrl_c().await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await?;
        Ok(())
    })
}
