//! Storage behind the [`Store`] trait: the embedded SQLite backend ([`SqliteStore`], the
//! default) and PostgreSQL ([`PostgresStore`], for several server instances sharing one
//! database). Both keep the same schema and behave alike; `tests/store.rs` runs one suite
//! against each.
//!
//! The trait is synchronous: the HTTP handlers call it from `tokio::task::spawn_blocking`, so a
//! backend may block (SQLite file I/O, a PostgreSQL connection).
//!
//! No token secret is stored. Root keys are: a token's secret is derived from the root key its
//! record names ([`crate::keys`]), so rotating the root key needs no re-encryption and retiring
//! one invalidates exactly the tokens minted under it. Root keys are sealed at rest under a
//! [`MasterKey`] when the store is opened with [`KeyProtection::Sealed`] (`store/seal.rs` describes the
//! format); [`KeyProtection::Plain`] keeps the legacy plain hex. The SQLite backend also keeps
//! its directory and files private to the service's user.

mod ops;
mod postgres;
mod seal;
mod sql;
mod sqlite;

use std::collections::BTreeSet;
use std::fmt;

use zeroize::Zeroizing;

pub use self::postgres::PostgresStore;
pub use self::seal::{KeyProtection, MasterKey};
pub use self::sqlite::{SqliteStore, SQLITE_FILE};

/// How many changes a feed reader asks for at once.
pub(crate) const FEED_PAGE: usize = 1000;

/// A storage failure. Its text is for the server's log only; HTTP clients see
/// `internalServerError` without it. It never contains key material.
#[derive(Debug)]
pub enum StoreError {
    /// The backend failed (I/O, SQL, a connection, a corrupt row).
    Backend(String),
    /// The store failed while the change feed was silent: this instance can answer neither
    /// from its cache nor from the store (503; see [`crate::CacheSettings`]).
    Unavailable(String),
    /// A username is already taken.
    UsernameTaken,
    /// The subject already has a named token of this name.
    TokenNameTaken,
    /// A quota (named tokens per subject, spaces per creator) is used up.
    QuotaExceeded,
    /// The invite token to consume is used up.
    InviteUsedUp,
    /// The invite token to consume is revoked.
    InviteRevoked,
    /// The relation exists already (a space supported twice by one provider).
    RelationExists,
    /// An entity the operation names does not exist.
    Missing,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Backend(message) => write!(f, "storage error: {message}"),
            StoreError::Unavailable(message) => write!(f, "storage unavailable: {message}"),
            StoreError::UsernameTaken => f.write_str("the username is already taken"),
            StoreError::TokenNameTaken => f.write_str("a named token of that name exists"),
            StoreError::QuotaExceeded => f.write_str("the quota is exhausted"),
            StoreError::InviteUsedUp => f.write_str("the invite token is used up"),
            StoreError::InviteRevoked => f.write_str("the invite token is revoked"),
            StoreError::RelationExists => f.write_str("the relation exists"),
            StoreError::Missing => f.write_str("an entity named does not exist"),
        }
    }
}

impl std::error::Error for StoreError {}

/// A user account.
///
/// `Debug` redacts the password hash.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    /// The user id (32 lowercase hex characters).
    pub id: String,
    /// The login name (unique).
    pub username: String,
    /// The Argon2 password hash in PHC string form.
    pub password_hash: String,
    /// The Onezone admin privileges (`oz_*`).
    pub oz_privileges: BTreeSet<String>,
    /// When the account was created (Unix seconds; 0 for accounts older than this field).
    pub created: u64,
    /// The full name (empty when none was given).
    pub full_name: String,
}

impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"<redacted>")
            .field("oz_privileges", &self.oz_privileges)
            .field("created", &self.created)
            .field("full_name", &self.full_name)
            .finish()
    }
}

/// A space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// The space id (32 lowercase hex characters).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A named token's record (SPEC §10.3), looked up by token id. It holds no secret: the secret is
/// derived from the root key `key_id` and the token id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedToken {
    /// The token id written into the identifier.
    pub id: String,
    /// Its name, unique per subject.
    pub name: String,
    /// The token type's code: `act` (access), or the invite code (`rop`, `ssp`, …).
    pub kind: String,
    /// The subject's id: the issuing user, or the Oneprovider.
    pub subject: String,
    /// Whether the subject is a user or a Oneprovider.
    pub subject_type: SubjectKind,
    /// The invite target (the future cluster admin for `rop`, the space for `ssp`); empty for
    /// access tokens.
    pub target: String,
    /// The root key the secret is derived from.
    pub key_id: i64,
    /// Whether the token has been revoked.
    pub revoked: bool,
    /// When it was created (Unix seconds).
    pub created: u64,
    /// The caveats the token was minted with (their text form), in order. Stored as one JSON
    /// array.
    pub caveats: Vec<String>,
    /// An opaque text naming the token whose holder created this one; `None` when it was
    /// created with a password.
    pub parent: Option<String>,
    /// The owner's own metadata: a JSON object, as text (`{}` when none was given).
    pub custom_metadata: String,
    /// How many times an invite token may be consumed (`None`: no limit). Access and
    /// identity tokens have none.
    pub usage_limit: Option<u64>,
    /// How many times it has been consumed.
    pub usage_count: u64,
    /// The privileges an invite grants whoever consumes it (for invite types whose target has
    /// member privileges); `None` otherwise.
    pub privileges: Option<BTreeSet<String>>,
}

/// Who a token speaks for (Onezone's `Subject.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubjectKind {
    /// `user`.
    User,
    /// `oneprovider`.
    Provider,
}

impl SubjectKind {
    /// Onezone's name: `user` or `oneprovider`.
    ///
    /// ```
    /// use macaroon_mint_server::store::SubjectKind;
    /// assert_eq!(SubjectKind::Provider.as_str(), "oneprovider");
    /// assert_eq!(SubjectKind::parse("user"), Some(SubjectKind::User));
    /// assert_eq!(SubjectKind::parse("group"), None);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::User => "user",
            SubjectKind::Provider => "oneprovider",
        }
    }

    /// The kind of this name.
    pub fn parse(text: &str) -> Option<SubjectKind> {
        match text {
            "user" => Some(SubjectKind::User),
            "oneprovider" => Some(SubjectKind::Provider),
            _ => None,
        }
    }
}

/// A registered Oneprovider (Onezone's `ProviderDetails`, with what registration recorded).
#[derive(Debug, Clone, PartialEq)]
pub struct Provider {
    /// The provider id (also its cluster's id), 32 lowercase hex characters.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its domain (or IP address).
    pub domain: String,
    /// The contact e-mail address of its admin.
    pub admin_email: String,
    /// The data centre's latitude.
    pub latitude: f64,
    /// The data centre's longitude.
    pub longitude: f64,
    /// The user linked to the provider's cluster as its admin (the registration token's
    /// `adminUserId`).
    pub admin: String,
    /// When it was registered (Unix seconds).
    pub created: u64,
}

/// What a provider may change about itself (`PATCH /provider`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ProviderChange {
    /// A new name.
    pub name: Option<String>,
    /// A new latitude.
    pub latitude: Option<f64>,
    /// A new longitude.
    pub longitude: Option<f64>,
}

/// A change to a named token's record: each field given is set, the others kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NamedTokenChange {
    /// A new name (unique per subject).
    pub name: Option<String>,
    /// New custom metadata (a JSON object, as text).
    pub custom_metadata: Option<String>,
    /// A new revoked flag.
    pub revoked: Option<bool>,
}

/// The outcome of consuming one use of an invite token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consumed {
    /// The use was counted: the token has now been used this many times.
    Counted(u64),
    /// The token has been used as many times as its limit allows (or is revoked).
    Refused,
    /// There is no such token.
    Missing,
}

/// A user's temporary-token generation (SPEC §10.3).
///
/// A temporary token's secret is derived from the user, this generation and the root key named
/// in the token's own id (`k<key id>-…`), so tokens minted after a rotation use the new key
/// while older ones keep verifying under theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TemporaryGeneration {
    /// The current generation (starts at 1; revoking all temporary tokens increments it).
    pub generation: u64,
    /// The root key that was current when this generation started (a record for operators;
    /// verification reads the key from the token id).
    pub key_id: i64,
}

/// A root key: 32 random bytes from which token secrets are derived.
///
/// `Debug` redacts the material, which is wiped from memory on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct RootKeyRecord {
    /// The key id (increasing: the newest active key is the current one).
    pub id: i64,
    /// The key material.
    pub material: Zeroizing<Vec<u8>>,
    /// When it was created (Unix seconds).
    pub created: u64,
    /// When it was retired (Unix seconds); a retired key verifies nothing (and its material
    /// is empty: it is wiped on retirement).
    pub retired: Option<u64>,
}

/// What [`Store::retire_root_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Retirement {
    /// The key is retired now.
    Retired,
    /// There is no root key with that id.
    Unknown,
    /// The key was retired before.
    AlreadyRetired,
    /// The key is the only active one: retiring it would leave nothing to mint with (rotate
    /// first).
    LastActive,
}

impl fmt::Debug for RootKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RootKeyRecord")
            .field("id", &self.id)
            .field("material", &"<redacted>")
            .field("created", &self.created)
            .field("retired", &self.retired)
            .finish()
    }
}

/// What a change in the store's feed invalidates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeKind {
    /// A user's record (its privileges changed).
    User,
    /// A provider's record (changed or removed).
    Provider,
    /// A named token's record (revoked, renamed, its metadata or usage count changed, deleted).
    NamedToken,
    /// Every named token of a subject (deleted together).
    TokensOf,
    /// A subject's temporary-token generation (bumped or removed).
    Generation,
    /// A root key (retired).
    RootKey,
}

impl ChangeKind {
    /// The name stored in the feed.
    ///
    /// ```
    /// use macaroon_mint_server::store::ChangeKind;
    /// assert_eq!(ChangeKind::NamedToken.as_str(), "named_token");
    /// assert_eq!(ChangeKind::parse("generation"), Some(ChangeKind::Generation));
    /// assert_eq!(ChangeKind::parse("space"), None);
    /// ```
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::User => "user",
            ChangeKind::Provider => "provider",
            ChangeKind::NamedToken => "named_token",
            ChangeKind::TokensOf => "tokens_of",
            ChangeKind::Generation => "generation",
            ChangeKind::RootKey => "root_key",
        }
    }

    /// The kind of a stored name.
    pub fn parse(text: &str) -> Option<ChangeKind> {
        [
            ChangeKind::User,
            ChangeKind::Provider,
            ChangeKind::NamedToken,
            ChangeKind::TokensOf,
            ChangeKind::Generation,
            ChangeKind::RootKey,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

/// One entry of the change feed: every change that can invalidate what token authentication
/// read (a token revoked or deleted, a generation bumped, a root key retired, a user's or
/// provider's record changed, an invite used) appends one in the same transaction, under the
/// next revision. Revisions have no gaps: a reader that sees revision `n` has seen every one
/// before it (until old ones are pruned; see [`Store::changes_since`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Its place in the feed (1, 2, …).
    pub revision: i64,
    /// What it invalidates.
    pub kind: ChangeKind,
    /// Which one: a user, provider, token or subject id, or a root key id in decimal.
    pub entity: String,
}

/// Wakes a feed reader when changes are appended (PostgreSQL's `LISTEN`), so that it need not
/// poll often. A store without one is polled.
pub trait FeedListener: Send {
    /// Waits at most `timeout` for a notification; whether one came. A spurious wake-up is
    /// allowed (the reader then finds nothing new).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the listening connection is lost (the reader makes a new
    /// listener).
    fn wait(&mut self, timeout: std::time::Duration) -> Result<bool, StoreError>;
}

/// How many changes the feed keeps: a reader further behind than this finds a gap and must
/// forget everything it cached.
pub const FEED_RETAINED: i64 = 100_000;

/// The token service's storage. Every method is one atomic operation, safe to call from several
/// threads and (for PostgreSQL) several server processes at once.
pub trait Store: Send + Sync + 'static {
    /// Whether this store keeps the change feed ([`Store::feed_revision`],
    /// [`Store::changes_since`]). A service caches what token authentication reads only over
    /// a store that does; the default (a store written elsewhere) does not.
    fn has_change_feed(&self) -> bool {
        false
    }

    /// The feed's latest revision (0 before the first change).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`]; the default (a store without a feed) always fails, so a cache
    /// over it never trusts what it holds.
    fn feed_revision(&self) -> Result<i64, StoreError> {
        Err(StoreError::Backend(
            "this store keeps no change feed".into(),
        ))
    }

    /// At most `limit` changes after `revision`, oldest first. The first has revision
    /// `revision + 1` unless that one was pruned (the feed keeps the last [`FEED_RETAINED`]).
    ///
    /// # Errors
    ///
    /// As [`Store::feed_revision`].
    fn changes_since(&self, revision: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let _ = (revision, limit);
        Err(StoreError::Backend(
            "this store keeps no change feed".into(),
        ))
    }

    /// A listener woken by appended changes, or `None` when the store has none (its feed is
    /// polled).
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when it cannot be made (the database is unreachable).
    fn feed_listener(&self) -> Result<Option<Box<dyn FeedListener>>, StoreError> {
        Ok(None)
    }

    /// Creates a user with a fresh id, created at `created` (Unix seconds), with a full name
    /// (may be empty), and its temporary-token generation 1 under root key `key_id`. An empty
    /// `password_hash` makes an account without password login.
    ///
    /// # Errors
    ///
    /// [`StoreError::UsernameTaken`] when the username exists.
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        oz_privileges: &BTreeSet<String>,
        key_id: i64,
        created: u64,
        full_name: &str,
    ) -> Result<User, StoreError>;
    /// The user with this id.
    fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The user with this username.
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Grants then revokes `oz_*` privileges; the new set, or `None` for an unknown user.
    fn update_oz_privileges(
        &self,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<Option<BTreeSet<String>>, StoreError>;
    /// Creates a space whose only member is `creator` with `creator_privileges`, recording
    /// `creator` as its creator.
    ///
    /// # Errors
    ///
    /// [`StoreError::QuotaExceeded`] when `quota` is `Some(q)` and `creator` already created
    /// `q` or more spaces (checked atomically with the insert: concurrent calls cannot both
    /// pass at `q - 1`).
    fn create_space(
        &self,
        name: &str,
        creator: &str,
        creator_privileges: &BTreeSet<String>,
        quota: Option<u64>,
    ) -> Result<Space, StoreError>;
    /// The space with this id.
    fn space_by_id(&self, id: &str) -> Result<Option<Space>, StoreError>;
    /// The spaces `user_id` is a member of, by id.
    fn spaces_of_user(&self, user_id: &str) -> Result<Vec<Space>, StoreError>;
    /// The user's privileges in the space; `None` when not a member.
    fn space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
    ) -> Result<Option<BTreeSet<String>>, StoreError>;
    /// Grants then revokes space privileges of a user (making them a member if needed); the new
    /// set.
    fn update_space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, StoreError>;
    /// Stores a freshly minted named token.
    ///
    /// # Errors
    ///
    /// [`StoreError::TokenNameTaken`] when its subject has a token of that name;
    /// [`StoreError::QuotaExceeded`] when `quota` is `Some(q)` and the subject already has `q`
    /// or more named tokens (revoked ones count; checked atomically with the insert, so that
    /// concurrent inserts cannot both pass at `q - 1`).
    fn insert_named_token(&self, token: &NamedToken, quota: Option<u64>) -> Result<(), StoreError>;
    /// The named token with this id.
    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError>;
    /// Every named token of `subject`, ordered by creation time, then id.
    fn named_tokens_of(&self, subject: &str) -> Result<Vec<NamedToken>, StoreError>;
    /// Every named token, ordered by creation time, then id.
    fn all_named_tokens(&self) -> Result<Vec<NamedToken>, StoreError>;
    /// Changes a named token's name, custom metadata or revoked flag (one statement); whether
    /// the token exists.
    ///
    /// # Errors
    ///
    /// [`StoreError::TokenNameTaken`] when its subject has another token of the new name.
    fn update_named_token(&self, id: &str, change: &NamedTokenChange) -> Result<bool, StoreError>;
    /// Sets a named token's revoked flag; whether the token exists.
    fn set_named_token_revoked(&self, id: &str, revoked: bool) -> Result<bool, StoreError> {
        let change = NamedTokenChange {
            revoked: Some(revoked),
            ..NamedTokenChange::default()
        };
        self.update_named_token(id, &change)
    }
    /// Deletes a named token's record (the token then verifies nothing); whether it existed.
    fn delete_named_token(&self, id: &str) -> Result<bool, StoreError>;
    /// Deletes every named token of `subject`; how many there were.
    fn delete_named_tokens_of(&self, subject: &str) -> Result<u64, StoreError>;
    /// Registers a provider in one transaction: counts one use of the registration invite
    /// `invite` (a named token; `None` for a temporary one, which has no record), stores the
    /// provider, its temporary-token generation 1 under root key `key_id`, and its root token's
    /// record.
    ///
    /// # Errors
    ///
    /// [`StoreError::InviteUsedUp`], [`StoreError::InviteRevoked`] or
    /// [`StoreError::Missing`] when the invite cannot be consumed, [`StoreError::QuotaExceeded`]
    /// when `quota` is `Some(q)` and the admin already has `q` providers (checked atomically);
    /// nothing is stored or counted then.
    fn register_provider(
        &self,
        provider: &Provider,
        invite: Option<&str>,
        key_id: i64,
        root_token: &NamedToken,
        quota: Option<u64>,
    ) -> Result<(), StoreError>;
    /// The provider with this id.
    fn provider(&self, id: &str) -> Result<Option<Provider>, StoreError>;
    /// Every provider's id, oldest first.
    fn provider_ids(&self) -> Result<Vec<String>, StoreError>;
    /// Changes a provider's name or location; whether it exists.
    fn update_provider(&self, id: &str, change: &ProviderChange) -> Result<bool, StoreError>;
    /// Removes a provider with its space supports, its tokens and its temporary generation
    /// (one transaction); whether it existed.
    fn delete_provider(&self, id: &str) -> Result<bool, StoreError>;
    /// Records that `provider_id` supports `space_id` with `size` bytes, counting one use of
    /// the support invite `invite` (a named token; `None` for a temporary one) in the same
    /// transaction.
    ///
    /// # Errors
    ///
    /// [`StoreError::InviteUsedUp`], [`StoreError::InviteRevoked`],
    /// [`StoreError::RelationExists`] (the provider supports the space already),
    /// [`StoreError::Missing`] (no such space, provider or invite); nothing is stored or
    /// counted then.
    fn support_space(
        &self,
        space_id: &str,
        provider_id: &str,
        size: u64,
        invite: Option<&str>,
        created: u64,
    ) -> Result<(), StoreError>;
    /// The providers supporting a space, with their support sizes, oldest support first.
    fn supporters_of(&self, space_id: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// The spaces a provider supports, with the sizes, oldest support first.
    fn spaces_supported_by(&self, provider_id: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// Ends a provider's support of a space; whether there was one.
    fn remove_support(&self, space_id: &str, provider_id: &str) -> Result<bool, StoreError>;
    /// Counts one use of a named invite token, atomically against its usage limit and revoked
    /// flag: of concurrent consumers of the last use, exactly one is [`Consumed::Counted`].
    fn consume_invite(&self, id: &str) -> Result<Consumed, StoreError>;
    /// The user's temporary-token generation.
    fn temporary_generation(
        &self,
        user_id: &str,
    ) -> Result<Option<TemporaryGeneration>, StoreError>;
    /// Revokes all of the user's temporary tokens: increments the generation (atomically) and
    /// moves it to root key `key_id`. The new generation, or `None` for an unknown user.
    fn bump_temporary_generation(
        &self,
        user_id: &str,
        key_id: i64,
    ) -> Result<Option<TemporaryGeneration>, StoreError>;
    /// Stores a new root key (it becomes the current one).
    fn insert_root_key(&self, material: &[u8], created: u64) -> Result<RootKeyRecord, StoreError>;
    /// Every root key, oldest first.
    fn root_keys(&self) -> Result<Vec<RootKeyRecord>, StoreError>;
    /// Answers a trivial query on a connection: the store can serve requests (readiness).
    fn ping(&self) -> Result<(), StoreError>;
    /// The root key with this id.
    fn root_key(&self, id: i64) -> Result<Option<RootKeyRecord>, StoreError>;
    /// Retires an active root key at time `at`, or says why not: an unknown key, a retired one,
    /// or the last active one (decided atomically, so concurrent retirements cannot leave none,
    /// and the reason is read under the same lock). The key's material is wiped from the store
    /// in the same statement: a retired key reads back with empty `material` (it verifies
    /// nothing anyway).
    fn retire_root_key(&self, id: i64, at: u64) -> Result<Retirement, StoreError>;
}

/// Hands every method of [`Store`] but [`Store::has_change_feed`] to a macro, one call a
/// method, so that the types that implement the trait by delegating (the backends, the
/// metrics and cache wrappers, the tests' wrappers) write out no signature of their own: a new
/// method is added to the trait, to this list, and to the places that really implement it.
///
/// `for_each_store_method!(callback)` (`callback` may be a path) expands, in the trait's order,
/// to one `callback! { KIND fn NAME(&self, ARG: TYPE, …) -> RETURN }` a method, meant for the
/// body of an `impl Store for …` block. The callback matches `&self` as written and writes its
/// own (for `self` to resolve in the body it writes), and calls through with the `ARG`s it was
/// given. `KIND` lets a wrapper treat each kind alike:
///
/// * `feed`: the change feed's methods (their defaults fail, or have no listener);
/// * `read`: reads, which change nothing;
/// * `write`: changes (one transaction each), some appending to the feed;
/// * `provided`: a write the trait implements over the others (`set_named_token_revoked`,
///   over `update_named_token`): a wrapper that leaves it out gets the default, which runs
///   through the wrapper's own methods.
///
/// A wrapper that writes a method itself leaves it out by name (a rule matching
/// `read fn user_by_id …` that expands to nothing): the compiler then refuses a method written
/// both ways, and a required one written neither way.
///
/// [`Store::has_change_feed`] is a property rather than an operation (not a `Result`): every
/// implementation answers it itself.
///
/// Exported (hidden) only for the integration tests' wrappers.
#[doc(hidden)]
#[macro_export]
macro_rules! for_each_store_method {
    (@each $callback:path; $($kind:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $( $callback! { $kind fn $name(&self $(, $arg: $ty)*) -> $ret } )*
    };
    ($callback:path) => {
        $crate::for_each_store_method! { @each $callback;
            feed     fn feed_revision(&self) -> Result<i64, $crate::store::StoreError>;
            feed     fn changes_since(&self, revision: i64, limit: usize) -> Result<Vec<$crate::store::Change>, $crate::store::StoreError>;
            feed     fn feed_listener(&self) -> Result<Option<Box<dyn $crate::store::FeedListener>>, $crate::store::StoreError>;
            write    fn create_user(&self, username: &str, password_hash: &str, oz_privileges: &::std::collections::BTreeSet<String>, key_id: i64, created: u64, full_name: &str) -> Result<$crate::store::User, $crate::store::StoreError>;
            read     fn user_by_id(&self, id: &str) -> Result<Option<$crate::store::User>, $crate::store::StoreError>;
            read     fn user_by_username(&self, username: &str) -> Result<Option<$crate::store::User>, $crate::store::StoreError>;
            write    fn update_oz_privileges(&self, user_id: &str, grant: &::std::collections::BTreeSet<String>, revoke: &::std::collections::BTreeSet<String>) -> Result<Option<::std::collections::BTreeSet<String>>, $crate::store::StoreError>;
            write    fn create_space(&self, name: &str, creator: &str, creator_privileges: &::std::collections::BTreeSet<String>, quota: Option<u64>) -> Result<$crate::store::Space, $crate::store::StoreError>;
            read     fn space_by_id(&self, id: &str) -> Result<Option<$crate::store::Space>, $crate::store::StoreError>;
            read     fn spaces_of_user(&self, user_id: &str) -> Result<Vec<$crate::store::Space>, $crate::store::StoreError>;
            read     fn space_privileges(&self, space_id: &str, user_id: &str) -> Result<Option<::std::collections::BTreeSet<String>>, $crate::store::StoreError>;
            write    fn update_space_privileges(&self, space_id: &str, user_id: &str, grant: &::std::collections::BTreeSet<String>, revoke: &::std::collections::BTreeSet<String>) -> Result<::std::collections::BTreeSet<String>, $crate::store::StoreError>;
            write    fn insert_named_token(&self, token: &$crate::store::NamedToken, quota: Option<u64>) -> Result<(), $crate::store::StoreError>;
            read     fn named_token(&self, id: &str) -> Result<Option<$crate::store::NamedToken>, $crate::store::StoreError>;
            read     fn named_tokens_of(&self, subject: &str) -> Result<Vec<$crate::store::NamedToken>, $crate::store::StoreError>;
            read     fn all_named_tokens(&self) -> Result<Vec<$crate::store::NamedToken>, $crate::store::StoreError>;
            write    fn update_named_token(&self, id: &str, change: &$crate::store::NamedTokenChange) -> Result<bool, $crate::store::StoreError>;
            provided fn set_named_token_revoked(&self, id: &str, revoked: bool) -> Result<bool, $crate::store::StoreError>;
            write    fn delete_named_token(&self, id: &str) -> Result<bool, $crate::store::StoreError>;
            write    fn delete_named_tokens_of(&self, subject: &str) -> Result<u64, $crate::store::StoreError>;
            write    fn register_provider(&self, provider: &$crate::store::Provider, invite: Option<&str>, key_id: i64, root_token: &$crate::store::NamedToken, quota: Option<u64>) -> Result<(), $crate::store::StoreError>;
            read     fn provider(&self, id: &str) -> Result<Option<$crate::store::Provider>, $crate::store::StoreError>;
            read     fn provider_ids(&self) -> Result<Vec<String>, $crate::store::StoreError>;
            write    fn update_provider(&self, id: &str, change: &$crate::store::ProviderChange) -> Result<bool, $crate::store::StoreError>;
            write    fn delete_provider(&self, id: &str) -> Result<bool, $crate::store::StoreError>;
            write    fn support_space(&self, space_id: &str, provider_id: &str, size: u64, invite: Option<&str>, created: u64) -> Result<(), $crate::store::StoreError>;
            read     fn supporters_of(&self, space_id: &str) -> Result<Vec<(String, u64)>, $crate::store::StoreError>;
            read     fn spaces_supported_by(&self, provider_id: &str) -> Result<Vec<(String, u64)>, $crate::store::StoreError>;
            write    fn remove_support(&self, space_id: &str, provider_id: &str) -> Result<bool, $crate::store::StoreError>;
            write    fn consume_invite(&self, id: &str) -> Result<$crate::store::Consumed, $crate::store::StoreError>;
            read     fn temporary_generation(&self, user_id: &str) -> Result<Option<$crate::store::TemporaryGeneration>, $crate::store::StoreError>;
            write    fn bump_temporary_generation(&self, user_id: &str, key_id: i64) -> Result<Option<$crate::store::TemporaryGeneration>, $crate::store::StoreError>;
            write    fn insert_root_key(&self, material: &[u8], created: u64) -> Result<$crate::store::RootKeyRecord, $crate::store::StoreError>;
            read     fn root_keys(&self) -> Result<Vec<$crate::store::RootKeyRecord>, $crate::store::StoreError>;
            read     fn ping(&self) -> Result<(), $crate::store::StoreError>;
            read     fn root_key(&self, id: i64) -> Result<Option<$crate::store::RootKeyRecord>, $crate::store::StoreError>;
            write    fn retire_root_key(&self, id: i64, at: u64) -> Result<$crate::store::Retirement, $crate::store::StoreError>;
        }
    };
}

/// The current root key: the newest one not retired.
///
/// # Errors
///
/// As [`Store::root_keys`].
pub fn current_root_key(store: &dyn Store) -> Result<Option<RootKeyRecord>, StoreError> {
    Ok(store
        .root_keys()?
        .into_iter()
        .filter(|k| k.retired.is_none())
        .max_by_key(|k| k.id))
}

/// The current root key, creating the first one (32 random bytes) when no key exists yet
/// ([`Store::retire_root_key`] never retires the last active one).
///
/// Two server instances starting at once may both create one; both are valid and the newer
/// becomes current.
///
/// # Errors
///
/// As [`Store::insert_root_key`], or when the random number generator fails.
pub fn ensure_root_key(store: &dyn Store, now: u64) -> Result<RootKeyRecord, StoreError> {
    if let Some(key) = current_root_key(store)? {
        return Ok(key);
    }
    let key = store.insert_root_key(&random_bytes(32)?, now)?;
    tracing::info!(key_id = key.id, "created the first root key");
    Ok(key)
}

/// Fills a buffer from the operating system's random number generator.
///
/// # Errors
///
/// [`StoreError::Backend`] when the generator fails.
pub fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    getrandom::getrandom(&mut buf)
        .map_err(|e| StoreError::Backend(format!("random number generator: {e}")))?;
    Ok(buf)
}

/// `len` random bytes as lowercase hex (ids).
///
/// # Errors
///
/// [`StoreError::Backend`] when the generator fails.
pub fn random_hex(len: usize) -> Result<String, StoreError> {
    Ok(hex::encode(&*random_bytes(len)?))
}

/// Privilege sets are stored as one space-separated text column.
pub(crate) fn join(privileges: &BTreeSet<String>) -> String {
    privileges
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

pub(crate) fn split(text: &str) -> BTreeSet<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

pub(crate) fn apply(
    mut set: BTreeSet<String>,
    grant: &BTreeSet<String>,
    revoke: &BTreeSet<String>,
) -> BTreeSet<String> {
    set.extend(grant.iter().cloned());
    set.retain(|p| !revoke.contains(p));
    set
}

pub(crate) fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Backend(format!("negative value {value}")))
}

pub(crate) fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Backend(format!("value {value} too large")))
}

/// Key material is stored as lowercase hex text.
pub(crate) fn material_from_hex(id: i64, text: &str) -> Result<Zeroizing<Vec<u8>>, StoreError> {
    hex::decode(text)
        .map(Zeroizing::new)
        .map_err(|_| StoreError::Backend(format!("root key {id}: corrupt material")))
}

/// A token's caveats as stored: one JSON array of strings.
pub(crate) fn caveats_to_json(caveats: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(caveats)
        .map_err(|e| StoreError::Backend(format!("encoding caveats: {e}")))
}

pub(crate) fn caveats_from_json(id: &str, text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text)
        .map_err(|_| StoreError::Backend(format!("named token {id}: corrupt caveats")))
}

/// Whether a quota of `quota` leaves room next to `used` existing items.
pub(crate) fn check_quota(quota: Option<u64>, used: i64) -> Result<(), StoreError> {
    match quota {
        Some(q) if to_u64(used)? >= q => Err(StoreError::QuotaExceeded),
        _ => Ok(()),
    }
}

/// A database URL with its password replaced by `***` and its query (which may carry one too)
/// dropped, for printing.
///
/// The user information ends at the last `@` before the query, so a password holding an
/// unescaped `/`, `?` or `@` is still hidden whole.
///
/// ```
/// use macaroon_mint_server::store::redact_url;
/// assert_eq!(
///     redact_url("postgres://mint:hunter2@127.0.0.1:5432/db"),
///     "postgres://mint:***@127.0.0.1:5432/db"
/// );
/// assert_eq!(redact_url("postgres://mint:hun/ter@2@db/x"), "postgres://mint:***@db/x");
/// assert_eq!(redact_url("postgres://127.0.0.1/db?sslmode=off"), "postgres://127.0.0.1/db");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparseable URL>".to_owned();
    };
    let (userinfo, after) = split_userinfo(rest);
    let userinfo = match userinfo {
        Some(userinfo) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@"),
            None => format!("{userinfo}@"),
        },
        None => String::new(),
    };
    let location = after.split(['?', '#']).next().unwrap_or("");
    format!("{scheme}://{userinfo}{location}")
}

/// The user information of the part of a URL after `://` (to the last `@` before a query that
/// holds none), and the rest.
fn split_userinfo(rest: &str) -> (Option<&str>, &str) {
    let end = rest
        .match_indices(['?', '#'])
        .map(|(i, _)| i)
        .find(|&i| !rest[i..].contains('@'))
        .unwrap_or(rest.len());
    match rest[..end].rfind('@') {
        Some(at) => (Some(&rest[..at]), &rest[at + 1..]),
        None => (None, rest),
    }
}

/// Whether a database URL holds a password: in its user information or as a `password`
/// query parameter. A file holding such a URL must be private to its owner.
///
/// ```
/// use macaroon_mint_server::store::url_has_password;
/// assert!(url_has_password("postgres://mint:hunter2@db/x"));
/// assert!(url_has_password("postgres://db/x?user=mint&Password=hunter2"));
/// assert!(!url_has_password("postgres://mint@db/x?sslmode=disable"));
/// ```
pub fn url_has_password(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let (userinfo, after) = split_userinfo(rest);
    userinfo.is_some_and(|u| u.contains(':'))
        || after.split_once('?').is_some_and(|(_, query)| {
            query
                .split('&')
                .any(|pair| pair.to_ascii_lowercase().starts_with("password="))
        })
}

/// A backend's error text fit for a log: every URL in it as [`redact_url`] writes it (a URL
/// runs to the next white space or quote, a quoted one to its closing quote), and the value of any password setting
/// (`password=x`, `password = 'x'`, `"password": "x"`, any case) replaced by `***`.
///
/// ```
/// use macaroon_mint_server::store::redact_credentials;
/// assert_eq!(
///     redact_credentials("connecting to postgres://mint:hunter2@db/x?sslmode=off failed"),
///     "connecting to postgres://mint:***@db/x failed"
/// );
/// assert_eq!(
///     redact_credentials("bad config host=db password=hunter2 user=mint"),
///     "bad config host=db password=*** user=mint"
/// );
/// assert_eq!(
///     redact_credentials("url \"postgres://m:hunter2@db/x\"\tPassword = 'hunter2'"),
///     "url \"postgres://m:***@db/x\"\tPassword = '***'"
/// );
/// ```
pub fn redact_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let url = rest.find("://").map(|at| {
            let start = rest[..at]
                .rfind(|c: char| !(c.is_ascii_alphanumeric() || "+.-".contains(c)))
                .map_or(0, |i| i + 1);
            (start, at)
        });
        let password = find_ignoring_case(rest, "password");
        match (url, password) {
            (Some((start, at)), p) if p.is_none_or(|p| start <= p) => {
                out.push_str(&rest[..start]);
                // A quoted URL runs to its closing quote (its password may hold a space).
                let quote = rest[..start]
                    .chars()
                    .next_back()
                    .filter(|c| "\"'`".contains(*c));
                let end = at
                    + match quote {
                        Some(q) => rest[at..].find(q),
                        None => {
                            rest[at..].find(|c: char| c.is_whitespace() || "\"'`<>".contains(c))
                        }
                    }
                    .unwrap_or(rest.len() - at);
                out.push_str(&redact_url(&rest[start..end]));
                rest = &rest[end..];
            }
            (_, Some(p)) => {
                let name_end = p + "password".len();
                out.push_str(&rest[..name_end]);
                rest = &rest[name_end..];
                // `password`, a quote closing its name, spaces, `=` or `:`, spaces, a quote.
                let separator = rest
                    .char_indices()
                    .find(|&(_, c)| !(c.is_whitespace() || "\"'".contains(c)))
                    .filter(|&(_, c)| c == '=' || c == ':');
                let Some((sep, _)) = separator else {
                    continue;
                };
                let value_start = sep
                    + 1
                    + rest[sep + 1..]
                        .find(|c: char| !c.is_whitespace())
                        .unwrap_or(rest.len() - sep - 1);
                let quote = rest[value_start..]
                    .chars()
                    .next()
                    .filter(|c| "\"'".contains(*c));
                let value_start = value_start + quote.map_or(0, char::len_utf8);
                let value_len = match quote {
                    Some(q) => rest[value_start..].find(q),
                    None => {
                        rest[value_start..].find(|c: char| c.is_whitespace() || ",;)}".contains(c))
                    }
                }
                .unwrap_or(rest.len() - value_start);
                out.push_str(&rest[..value_start]);
                if value_len > 0 {
                    out.push_str("***");
                }
                rest = &rest[value_start + value_len..];
            }
            _ => {
                out.push_str(rest);
                rest = "";
            }
        }
    }
    out
}

/// The byte position of `needle` (ASCII) in `haystack`, ignoring ASCII case.
fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// A SQLite store in `dir`, for the crate's unit tests.
#[cfg(test)]
pub(crate) fn open_sqlite_for_tests(dir: &std::path::Path) -> SqliteStore {
    SqliteStore::open(dir, KeyProtection::Plain).expect("open a SQLite store for a test")
}

#[cfg(test)]
mod redaction_tests {
    use super::{redact_credentials, redact_url, url_has_password};

    #[test]
    fn passwords_are_hidden_in_every_spelling() {
        let rows = [
            ("postgres://u:pw1@db/x\nnext", "postgres://u:***@db/x\nnext"),
            ("(postgres://u:pw1@db/x)\tok", "(postgres://u:***@db/x)\tok"),
            ("'postgresql://u:p w@db/x'", "'postgresql://u:***@db/x'"),
            (
                "{\"password\":\"pw1\",\"user\":\"u\"}",
                "{\"password\":\"***\",\"user\":\"u\"}",
            ),
            ("PASSWORD: pw1\nuser: u", "PASSWORD: ***\nuser: u"),
            ("password = pw1, host=db", "password = ***, host=db"),
            (
                "password authentication failed for user \"u\"",
                "password authentication failed for user \"u\"",
            ),
            ("no password=", "no password="),
            ("", ""),
        ];
        for (text, expected) in rows {
            assert_eq!(redact_credentials(text), expected, "{text:?}");
        }
    }

    #[test]
    fn urls_lose_their_password_and_query() {
        let rows = [
            (
                "postgres://u:a/b?c@db:5432/x?sslmode=off",
                "postgres://u:***@db:5432/x",
            ),
            ("postgres://u@db/x", "postgres://u@db/x"),
            ("postgres://db?password=pw1", "postgres://db"),
            ("postgres://db/x#frag", "postgres://db/x"),
            ("not a url", "<unparseable URL>"),
        ];
        for (url, expected) in rows {
            assert_eq!(redact_url(url), expected, "{url:?}");
        }
        assert!(url_has_password("postgres://u:a/b?c@db/x"));
        assert!(!url_has_password(
            "postgres://u@db/x?sslmode=off&application_name=a"
        ));
    }
}
