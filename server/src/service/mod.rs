//! The token service's rules: users, spaces, tokens and keys, as plain Rust over a [`Store`]
//! and an authenticated [`Caller`]. Nothing here knows HTTP: `http/` authenticates with
//! [`Service::authenticate_basic`] / [`Service::authenticate_token`], calls one operation and
//! maps its [`Error`] to Onezone's answer.
//!
//! Operations that name an entity and take request data come in two steps, so the checks run
//! in the service's order — 404 (the entity), 403 (privileges), then 400 (the data): an
//! `authorize_*` step returns a proof of what may be done, and the operation takes that proof
//! with the already-parsed data.
//!
//! The rule that **no token mints or obtains a token stronger than itself** lives in
//! [`tokens`]: a token minted by a caller who authenticated with a token carries every caveat
//! of that token (so its expiry is no later), names it as its parent, and dies with it.

pub mod auth;
mod error;
pub mod keys;
pub(crate) mod memo;
pub mod privileges;
pub mod providers;
pub mod records;
mod spaces;
pub mod tokens;
mod users;

pub use self::auth::Request;
pub use self::spaces::SpacePrivilegesUpdate;
pub use self::users::{
    bootstrap_admin, check_full_name, check_username, AdminStatus, OzPrivilegesUpdate, UserCreation,
};

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use macaroon_mint::TypedCaveat;

pub use self::error::{Error, Invalid, Result, TokenError};
use macaroon_mint::onedata::Subject;

use crate::cache::{cached_only, CacheSettings, CachedStore};
use crate::metrics::{MeasuredStore, Metrics};
use crate::store::{
    ensure_root_key, Provider, RootKeyRecord, Store, StoreError, SubjectKind, User,
};

/// A clock: the current time in Unix seconds. Injected so that tests can move time; the
/// service reads it once per operation and hands it to the verifier.
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

    fn from_str(s: &str) -> std::result::Result<RegistrationPolicy, String> {
        match s {
            "open" => Ok(RegistrationPolicy::Open),
            "restricted" => Ok(RegistrationPolicy::Restricted),
            other => Err(format!(
                "unknown registration policy \"{other}\" (expected open or restricted)"
            )),
        }
    }
}

/// Per-user quotas: how many named tokens (access and invite) a user may hold and how many
/// spaces they may create. `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quotas {
    /// Named tokens per user (default 1,000).
    pub named_tokens_per_user: Option<u64>,
    /// Spaces created per user (default 1,000).
    pub spaces_per_user: Option<u64>,
    /// Providers registered with a user as their cluster's admin (default 100).
    pub providers_per_user: Option<u64>,
}

impl Default for Quotas {
    fn default() -> Quotas {
        Quotas {
            named_tokens_per_user: Some(1000),
            spaces_per_user: Some(1000),
            providers_per_user: Some(100),
        }
    }
}

/// The service's settings.
#[derive(Clone)]
pub struct Settings {
    /// The Onezone domain written as the tokens' location.
    pub domain: String,
    /// The zone's name, as `GET /configuration` shows it.
    pub zone_name: String,
    /// Who may ask for provider registration tokens.
    pub registration_policy: RegistrationPolicy,
    /// The longest lifetime of a temporary access token, in seconds.
    pub temporary_max_ttl: u64,
    /// Per-user quotas.
    pub quotas: Quotas,
    /// The time source.
    pub clock: Clock,
    /// The verification cache in front of the store.
    pub cache: CacheSettings,
}

impl Default for Settings {
    /// The defaults [`crate::Config::new`] starts from: domain `localhost`, zone
    /// `macaroon-mint`, restricted registration, temporary tokens up to 7 days, default quotas,
    /// the system clock, the default cache.
    ///
    /// ```
    /// use macaroon_mint_server::service::Settings;
    /// let settings = Settings { temporary_max_ttl: 3600, ..Settings::default() };
    /// assert_eq!(settings.domain, "localhost");
    /// ```
    fn default() -> Settings {
        Settings {
            domain: "localhost".to_owned(),
            zone_name: "macaroon-mint".to_owned(),
            registration_policy: RegistrationPolicy::Restricted,
            temporary_max_ttl: macaroon_mint::onedata::DEFAULT_TEMPORARY_MAX_TTL,
            quotas: Quotas::default(),
            clock: system_clock(),
            cache: CacheSettings::default(),
        }
    }
}

/// The authenticated caller of an operation.
#[derive(Debug, Clone)]
pub struct Caller {
    /// Who.
    pub user: User,
    /// The token they authenticated with; `None` for a password.
    pub token: Option<AuthToken>,
}

/// Who a token speaks for: a user or a Oneprovider.
#[derive(Debug, Clone)]
pub enum Principal {
    /// A user.
    User(User),
    /// A Oneprovider.
    Provider(Provider),
}

impl Principal {
    /// The user's or provider's id.
    pub fn id(&self) -> &str {
        match self {
            Principal::User(user) => &user.id,
            Principal::Provider(provider) => &provider.id,
        }
    }

    /// Which of the two it is.
    pub fn kind(&self) -> SubjectKind {
        match self {
            Principal::User(_) => SubjectKind::User,
            Principal::Provider(_) => SubjectKind::Provider,
        }
    }

    /// The subject a token of this principal names.
    pub fn subject(&self) -> Subject {
        match self {
            Principal::User(user) => Subject::User(user.id.clone()),
            Principal::Provider(provider) => Subject::Provider(provider.id.clone()),
        }
    }
}

/// A Oneprovider authenticated by one of its access tokens.
#[derive(Debug, Clone)]
pub struct ProviderCaller {
    /// Which provider.
    pub provider: Provider,
    /// The token it authenticated with.
    pub token: AuthToken,
}

/// Any authenticated caller: a user (password or token) or a Oneprovider (token).
#[derive(Debug, Clone)]
pub enum AnyCaller {
    /// A user.
    User(Caller),
    /// A Oneprovider.
    Provider(ProviderCaller),
}

/// Who asks for a token: the principal's id and kind, and the token it authenticated with
/// (`None`: a user's password), which every token it mints inherits.
#[derive(Debug, Clone, Copy)]
pub struct Minter<'a> {
    /// The id.
    pub id: &'a str,
    /// User or provider.
    pub kind: SubjectKind,
    /// The authenticating token.
    pub token: Option<&'a AuthToken>,
}

impl<'a> From<&'a Caller> for Minter<'a> {
    fn from(caller: &'a Caller) -> Minter<'a> {
        Minter {
            id: &caller.user.id,
            kind: SubjectKind::User,
            token: caller.token.as_ref(),
        }
    }
}

impl<'a> From<&'a ProviderCaller> for Minter<'a> {
    fn from(caller: &'a ProviderCaller) -> Minter<'a> {
        Minter {
            id: &caller.provider.id,
            kind: SubjectKind::Provider,
            token: Some(&caller.token),
        }
    }
}

/// The access token a caller authenticated with: what a token minted with it must inherit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthToken {
    /// Its caveats, in order (every one held for the request).
    pub caveats: Arc<[TypedCaveat]>,
    /// How tokens minted with it name it as their parent (see [`tokens::Parent`]).
    pub parent: tokens::Parent,
    /// How many tokens stand above it in its lineage (0: minted with a password).
    pub depth: usize,
}

/// The token service: its store and settings. Every method is synchronous (the store may
/// block); call it off the async threads.
pub struct Service {
    pub(crate) store: Arc<dyn Store>,
    /// The verification cache (also `store`, when enabled).
    cache: Option<Arc<CachedStore>>,
    /// Access tokens verified recently, parsed, with their secrets (see [`memo`]).
    pub(crate) parsed_tokens: Arc<memo::TokenMemo>,
    pub(crate) settings: Settings,
    pub(crate) metrics: Arc<Metrics>,
    /// The current root key's id as last seen (0: none yet), to log a rotation once.
    current_key_id: std::sync::atomic::AtomicI64,
    /// Verified against when the username is unknown, so both cases take as long.
    dummy_hash: String,
}

impl fmt::Debug for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Service")
            .field("domain", &self.settings.domain)
            .field("registration_policy", &self.settings.registration_policy)
            .field("temporary_max_ttl", &self.settings.temporary_max_ttl)
            .field("quotas", &self.settings.quotas)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `store`, with its own [`Metrics`] (every store operation timed) and,
    /// when `settings.cache` enables it and the store keeps a change feed
    /// ([`Store::has_change_feed`]), a verification cache in front of the store with its feed
    /// reader (a thread, stopped when the service is dropped).
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the password hasher cannot run.
    pub fn new(store: Arc<dyn Store>, settings: Settings) -> Result<Service> {
        let dummy_hash = hash_password("macaroon-mint: no such user")?;
        let metrics = Arc::new(Metrics::new());
        let measured: Arc<dyn Store> = Arc::new(MeasuredStore::new(store, Arc::clone(&metrics)));
        // A store without a change feed could never tell the cache what changed, nor the
        // parsed tokens that a root key was retired: neither is kept then.
        let caching = settings.cache.enabled() && measured.has_change_feed();
        let parsed_tokens = Arc::new(if caching {
            memo::TokenMemo::new(
                settings.cache.parsed_tokens,
                settings.cache.parsed_token_bytes,
            )
        } else {
            memo::TokenMemo::new(0, 0)
        });
        let cache = caching.then(|| {
            CachedStore::start(
                Arc::clone(&measured),
                settings.cache,
                Arc::clone(&metrics),
                Arc::clone(&parsed_tokens),
            )
        });
        Ok(Service {
            store: match &cache {
                Some(cache) => Arc::clone(cache) as Arc<dyn Store>,
                None => measured,
            },
            cache,
            parsed_tokens,
            settings,
            metrics,
            current_key_id: std::sync::atomic::AtomicI64::new(0),
            dummy_hash,
        })
    }

    /// The current root key (creating the first), logging when it differs from the one seen
    /// last: a `keys rotate` by another process shows in this instance's log when it takes
    /// effect here.
    pub(crate) fn current_key(&self, now: u64) -> std::result::Result<RootKeyRecord, StoreError> {
        let key = ensure_root_key(&*self.store, now)?;
        let previous = self
            .current_key_id
            .swap(key.id, std::sync::atomic::Ordering::Relaxed);
        if previous != key.id {
            if previous == 0 {
                tracing::info!(key_id = key.id, "minting under root key {}", key.id);
            } else {
                tracing::info!(
                    key_id = key.id,
                    previous_key_id = previous,
                    "root key rotated: minting under key {} (was {previous})",
                    key.id
                );
            }
        }
        Ok(key)
    }

    /// The service's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// The current time (Unix seconds).
    pub fn now(&self) -> u64 {
        (self.settings.clock)()
    }

    /// The store (through the verification cache, when there is one).
    pub fn store(&self) -> &dyn Store {
        &*self.store
    }

    /// Runs `work` answering every store read from the verification cache, so that it may run
    /// on an async thread: `None` when it needed the store (a miss, an untrusted cache, a
    /// write, no cache), and the work must then run where blocking is allowed. `work` must
    /// have no side effect but its store calls, and others only once its reads all succeeded
    /// (a miss is a store error, so work that stops at the first error is safe): token
    /// authentication remembers a token that verified, and forgets one that a successful read
    /// showed invalid or revoked.
    pub(crate) fn answer_from_cache<T>(&self, work: impl FnOnce() -> T) -> Option<T> {
        self.cache.as_ref()?;
        cached_only(work)
    }

    /// Whether the verification cache is trusted now (the change feed was read up to its head
    /// within the trust window); `None` without a cache.
    pub fn cache_trusted(&self) -> Option<bool> {
        self.cache.as_ref().map(|cache| cache.trusted())
    }

    /// The last change feed revision the cache applied (`None` without a cache or before
    /// the first read) and how many seconds ago the feed was last read up to its head.
    pub fn feed_state(&self) -> Option<(i64, Option<f64>)> {
        let cache = self.cache.as_ref()?;
        let revision = cache.revision();
        (revision >= 0).then(|| (revision, cache.feed_age()))
    }

    /// The service's settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether the service can serve requests: its store answers a query.
    ///
    /// # Errors
    ///
    /// [`Error::Internal`] when the store does not answer.
    pub fn ready(&self) -> Result<()> {
        self.store.ping()?;
        Ok(())
    }
}

/// Hashes a password with Argon2id (default parameters) and a random 16-byte salt.
///
/// # Errors
///
/// [`Error::Internal`] when the random number generator or the hasher fails.
pub fn hash_password(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(|e| Error::internal("random salt", &e))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| Error::internal("salt", &e))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| Error::internal("password hashing", &e))
}

/// Whether `password` matches the stored Argon2 hash (a malformed hash matches nothing).
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| {
        Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok()
    })
}

/// The longest name (of a space or a token) accepted, in characters (Onezone's
/// `NAME_MAXIMUM_LENGTH`).
pub const MAX_NAME_CHARS: usize = 128;

/// Checks a space or token name as Onezone does: 2 to [`MAX_NAME_CHARS`] characters of
/// letters, digits, `_`, `(` and `)`, with spaces, `.` and `-` allowed inside.
///
/// ```
/// use macaroon_mint_server::service::check_name;
/// assert!(check_name("name", "My space (2024)").is_ok());
/// assert!(check_name("name", "Łódź_data-1.2").is_ok());
/// for bad in ["x", " lead", "trail.", "-dash", "tab\tin", "semi;colon", &"a".repeat(129)] {
///     assert!(check_name("name", bad).is_err(), "{bad}");
/// }
/// ```
///
/// # Errors
///
/// [`Invalid::Name`] for `key`.
pub fn check_name(key: &'static str, name: &str) -> Result<(), Invalid> {
    let edge = |c: &char| c.is_alphanumeric() || matches!(c, '_' | '(' | ')');
    let middle = |c: char| edge(&c) || matches!(c, ' ' | '.' | '-');
    let count = name.chars().count();
    let valid = (2..=MAX_NAME_CHARS).contains(&count)
        && name.chars().next().as_ref().is_some_and(edge)
        && name.chars().last().as_ref().is_some_and(edge)
        && name.chars().all(middle);
    if valid {
        Ok(())
    } else {
        Err(Invalid::Name { key })
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A service on a fresh SQLite store in a temporary directory, for unit tests.

    use std::path::PathBuf;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    use std::sync::Arc;

    use super::*;
    use crate::store::ensure_root_key;

    pub(crate) const START: u64 = 1_700_000_000;

    pub(crate) struct TestService {
        pub(crate) service: Service,
        pub(crate) clock: Arc<AtomicU64>,
        dir: PathBuf,
    }

    impl Drop for TestService {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }

    impl std::ops::Deref for TestService {
        type Target = Service;
        fn deref(&self) -> &Service {
            &self.service
        }
    }

    pub(crate) fn service() -> TestService {
        service_with(CacheSettings::default())
    }

    impl TestService {
        /// Another connection to the same database (another process, as the service sees it).
        pub(crate) fn second_store(&self) -> Arc<dyn Store> {
            Arc::new(crate::store::open_sqlite_for_tests(&self.dir))
        }
    }

    /// A test service with these cache settings; with a cache, once it is trusted (its feed
    /// reader has read the feed once, which empties the cache and the parsed tokens).
    pub(crate) fn service_with(cache: CacheSettings) -> TestService {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!(
            "macaroon-mint-service-test-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let store: Arc<dyn Store> = Arc::new(crate::store::open_sqlite_for_tests(&dir));
        ensure_root_key(&*store, START).unwrap();
        let clock = Arc::new(AtomicU64::new(START));
        let reading = Arc::clone(&clock);
        let settings = Settings {
            domain: "onezone.test".into(),
            temporary_max_ttl: 3600,
            clock: Arc::new(move || reading.load(Ordering::SeqCst)),
            cache,
            ..Settings::default()
        };
        let service = Service::new(store, settings).unwrap();
        let started = std::time::Instant::now();
        while service.cache_trusted() == Some(false) {
            assert!(
                started.elapsed().as_secs() < 10,
                "the feed reader never read"
            );
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        TestService {
            service,
            clock,
            dir,
        }
    }

    /// A user with these admin privileges and a caller authenticated by password.
    pub(crate) fn user(service: &Service, name: &str, oz: &[privileges::OzPrivilege]) -> Caller {
        let key = ensure_root_key(service.store(), service.now()).unwrap();
        let user = service
            .store()
            .create_user(
                name,
                "not a hash",
                &privileges::OzPrivilege::names(oz.iter().copied()),
                key.id,
                service.now(),
                "",
            )
            .unwrap();
        Caller { user, token: None }
    }
}
