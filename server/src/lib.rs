//! `macaroon-mint-server`: a reference Onezone-style token service built on `macaroon_mint`.
//!
//! It serves Onezone's two token endpoints (SPEC §10.5) with the same paths, status codes and
//! JSON shapes, plus the few supporting endpoints needed to use them end to end:
//!
//! | Method and path (under `/api/v3/onezone`) | Body | Answer | Allowed |
//! |---|---|---|---|
//! | `POST /users/{id}/clusters/provider_registration_token` | ignored | `200 {"token"}` (`rop:<id>:`) | open policy: user `id` themself; otherwise `oz_providers_invite` |
//! | `POST /spaces/{id}/providers/token` | ignored | `200 {"token"}` (`ssp:<id>:ge`) | `space_add_support` on the space, or `oz_spaces_add_relationships` |
//! | `POST /users` | `{"username","password"}` | `201 {"id"}` | `oz_users_create` |
//! | `POST /user/spaces` | `{"name"}` | `201 {"id"}` | any user (the creator gets every space privilege) |
//! | `PATCH /users/{id}/privileges` | `{"grant"?,"revoke"?}` | `204` | `oz_set_privileges` |
//! | `PATCH /spaces/{id}/users/{uid}/privileges` | `{"grant"?,"revoke"?}` | `204` | `space_set_privileges` on the space, or `oz_spaces_set_privileges`; makes `uid` a member if needed |
//! | `POST /tokens/verify_invite_token` | `{"token","expectedInviteType"?}` | `200` claims | anyone (no authentication) |
//!
//! Both tokens are named invite tokens (SPEC §10.3) whose subject is the caller: a fresh
//! 32-byte secret (64 lowercase hex characters) is stored with the token record, and the token's
//! location is the configured domain. Authentication is HTTP basic with Argon2id password
//! hashes. Checks run in this order: 401 (credentials), 404 (the user or space in the path),
//! 403 (privileges), 400 (body); errors are `{"error": {"id", "details"?, "description"}}`, and
//! a 500 never carries its cause (which goes to standard error).

mod api;
pub mod error;
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
pub use crate::store::{SqliteStore, Store, StoreError};

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
    /// Directory of the SQLite database (created on first run).
    pub data_dir: PathBuf,
    /// The Onezone domain written as the tokens' location.
    pub domain: String,
    /// Who may ask for provider registration tokens.
    pub registration_policy: RegistrationPolicy,
    /// `(username, password)` of an admin holding every `oz_*` privilege, created if no user has
    /// that name (an existing user is left as it is).
    pub admin: Option<(String, String)>,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("domain", &self.domain)
            .field("registration_policy", &self.registration_policy)
            .field("admin", &self.admin.as_ref().map(|(user, _)| user))
            .finish()
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
    /// Opens the SQLite store in `config.data_dir`, creates the admin if asked, and binds
    /// `listen`.
    ///
    /// # Errors
    ///
    /// [`ServerError`] when the store cannot be opened, the admin cannot be created or the
    /// address cannot be bound.
    pub async fn bind(listen: SocketAddr, config: Config) -> Result<Server, ServerError> {
        let data_dir = config.data_dir.clone();
        let store = tokio::task::spawn_blocking(move || SqliteStore::open(&data_dir))
            .await
            .map_err(|e| ServerError::Store(StoreError::Backend(e.to_string())))??;
        Server::bind_with_store(listen, config, Arc::new(store)).await
    }

    /// As [`Server::bind`], with any [`Store`] (`config.data_dir` is unused).
    ///
    /// # Errors
    ///
    /// As [`Server::bind`].
    pub async fn bind_with_store(
        listen: SocketAddr,
        config: Config,
        store: Arc<dyn Store>,
    ) -> Result<Server, ServerError> {
        let admin = match config.admin.clone() {
            None => AdminStatus::NotRequested,
            Some((username, password)) => {
                let store = Arc::clone(&store);
                tokio::task::spawn_blocking(move || bootstrap_admin(&*store, &username, &password))
                    .await
                    .map_err(|e| ServerError::Hash(e.to_string()))??
            }
        };
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let dummy_hash = hash_password("macaroon-mint: no such user")?;
        let state = Arc::new(api::State {
            store,
            domain: config.domain,
            registration_policy: config.registration_policy,
            dummy_hash,
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
        axum::serve(self.listener, api::router(self.state))
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
) -> Result<AdminStatus, ServerError> {
    if store.user_by_username(username)?.is_some() {
        return Ok(AdminStatus::Existing);
    }
    let hash = hash_password(password)?;
    let privileges = privileges::OZ_PRIVILEGES
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
    let temporary = store::random_hex(32)?;
    match store.create_user(username, &hash, &privileges, &temporary) {
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
