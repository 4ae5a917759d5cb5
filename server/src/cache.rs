//! The verification cache: what token authentication reads from the store (users, providers,
//! named token records, temporary generations, root keys), kept in memory and invalidated by
//! the store's change feed ([`Store::changes_since`]).
//!
//! * **Bounded**: at most [`CacheSettings::max_entries`] entries and about
//!   [`CacheSettings::max_bytes`] bytes; the oldest entries go first.
//! * **Invalidated by the feed**: a reader thread reads the feed from the last revision it
//!   applied, woken by the store's listener (PostgreSQL's `LISTEN`/`NOTIFY`) or every
//!   [`CacheSettings::poll_interval`]. This instance's own writes invalidate at once, before
//!   the write returns.
//! * **Fail closed**: entries are served only while the feed was read up to its head within the
//!   last [`CacheSettings::trust_window`]. Past that (the database unreachable, the feed
//!   connection cut) every read goes through to the store, and a read that fails then is
//!   [`StoreError::Unavailable`] (503), as is any store failure then.
//! * **Aged out**: an entry is read from the store again after [`CacheSettings::max_age`]
//!   (60 s), so a change that bypassed the feed is seen within it.
//! * **No stale insert**: a value read from the store is kept only if no invalidation happened
//!   while it was being read (an epoch counter, checked under the write lock).
//! * **Never blocks the async threads**: [`cached_only`] runs service code with reads served
//!   from memory only; the first read that would touch the store makes it give up, and the
//!   caller runs the work on the blocking pool instead.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, Weak};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;
use crate::service::memo::TokenMemo;
use crate::store::{
    ChangeKind, FeedListener, NamedToken, Provider, RootKeyRecord, Store, StoreError,
    TemporaryGeneration, User, FEED_PAGE,
};

/// How the verification cache is bounded and how long it trusts itself.
///
/// ```
/// use std::time::Duration;
/// use macaroon_mint_server::CacheSettings;
///
/// let settings = CacheSettings::default();
/// assert_eq!(settings.trust_window, Duration::from_secs(5));
/// assert!(settings.poll_interval < settings.trust_window);
/// assert!(!CacheSettings::disabled().enabled());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheSettings {
    /// The most entries held (0: no cache, every read goes to the store). Default 100,000.
    pub max_entries: usize,
    /// About the most bytes the entries take. Default 64 MiB.
    pub max_bytes: usize,
    /// How long the cache is trusted after the feed was last read up to its head. Default 5 s.
    pub trust_window: Duration,
    /// How often the feed is read when no notification comes (PostgreSQL's notifications
    /// wake the reader at once; SQLite's feed is only polled). Default 1 s, and at most a
    /// quarter of the trust window.
    pub poll_interval: Duration,
    /// The longest an entry is served before it is read from the store again, whatever the
    /// feed says: a change that never reaches the feed (an older server version writing to the
    /// same database, a manual SQL fix, a restored backup) is seen within this. Default 60 s.
    pub max_age: Duration,
    /// The most access tokens kept parsed after they verified, with the secret they verified
    /// with, so that the same token text is neither decoded nor its secret derived again on its
    /// next request (its lookups, signature and caveats are still checked on every request).
    /// Kept only with the cache (whose feed reader forgets them all when a root key changes).
    /// Default 10,000; 0: every token is parsed on every request.
    pub parsed_tokens: usize,
    /// About the most bytes those parsed tokens take. Default 16 MiB.
    pub parsed_token_bytes: usize,
}

impl Default for CacheSettings {
    fn default() -> CacheSettings {
        CacheSettings::with_trust_window(Duration::from_secs(5))
    }
}

impl CacheSettings {
    /// The defaults with another trust window (the poll interval follows: 1 s, or a quarter of
    /// the window when that is shorter).
    pub fn with_trust_window(trust_window: Duration) -> CacheSettings {
        CacheSettings {
            max_entries: 100_000,
            max_bytes: 64 << 20,
            trust_window,
            poll_interval: Duration::from_secs(1).min(trust_window / 4),
            max_age: Duration::from_secs(60),
            parsed_tokens: 10_000,
            parsed_token_bytes: 16 << 20,
        }
    }

    /// No cache: every read goes to the store (through the blocking pool), every token is
    /// parsed on every request.
    pub fn disabled() -> CacheSettings {
        CacheSettings {
            max_entries: 0,
            parsed_tokens: 0,
            ..CacheSettings::default()
        }
    }

    /// Whether store reads are cached.
    pub fn enabled(&self) -> bool {
        self.max_entries > 0 && self.max_bytes > 0 && !self.trust_window.is_zero()
    }
}

thread_local! {
    /// Set while [`cached_only`] runs: reads are served from memory or fail.
    static CACHE_ONLY: Cell<bool> = const { Cell::new(false) };
    /// Set when such a read found nothing (or a write was attempted).
    static MISSED: Cell<bool> = const { Cell::new(false) };
}

/// Runs `work` with every store read answered from the cache: `None` when it needed the store
/// (a cache miss, an untrusted cache, any write), and then its result must be thrown away and
/// the work run again where blocking is allowed. Work run so must have no other side effect
/// before its reads (a refused read is an error: work that stops at its first error has had
/// all its reads answered when it gets further).
pub(crate) fn cached_only<T>(work: impl FnOnce() -> T) -> Option<T> {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CACHE_ONLY.with(|flag| flag.set(false));
        }
    }
    CACHE_ONLY.with(|flag| flag.set(true));
    MISSED.with(|flag| flag.set(false));
    let reset = Reset;
    let value = work();
    drop(reset);
    (!MISSED.with(Cell::get)).then_some(value)
}

/// Refuses a store access inside [`cached_only`].
fn not_here() -> Result<(), StoreError> {
    if CACHE_ONLY.with(Cell::get) {
        MISSED.with(|flag| flag.set(true));
        return Err(StoreError::Backend("not answerable from the cache".into()));
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    User(Box<str>),
    Provider(Box<str>),
    Named(Box<str>),
    Generation(Box<str>),
    Root(i64),
}

#[derive(Clone)]
enum Entry {
    User(User),
    Provider(Provider),
    Named(NamedToken),
    Generation(TemporaryGeneration),
    RootKey(RootKeyRecord),
}

fn strings_len<'a>(strings: impl IntoIterator<Item = &'a String>) -> usize {
    strings.into_iter().map(|s| s.len() + 24).sum()
}

impl Entry {
    /// About the bytes it takes (its strings and a fixed overhead per entry and string).
    fn size(&self) -> usize {
        128 + match self {
            Entry::User(u) => {
                u.id.len()
                    + u.username.len()
                    + u.password_hash.len()
                    + u.full_name.len()
                    + strings_len(&u.oz_privileges)
            }
            Entry::Provider(p) => {
                p.id.len() + p.name.len() + p.domain.len() + p.admin_email.len() + p.admin.len()
            }
            Entry::Named(t) => {
                t.id.len()
                    + t.name.len()
                    + t.kind.len()
                    + t.subject.len()
                    + t.target.len()
                    + t.custom_metadata.len()
                    + t.parent.as_ref().map_or(0, String::len)
                    + strings_len(&t.caveats)
                    + t.privileges.as_ref().map_or(0, strings_len)
            }
            Entry::Generation(_) => 16,
            Entry::RootKey(k) => k.material.len(),
        }
    }
}

/// The entries, oldest first in `order` (which may also hold keys since removed or replaced:
/// their stamp no longer matches; compacted when it grows).
#[derive(Default)]
struct Entries {
    /// Each entry with its stamp (its place in `order`), size and when it was read (ms).
    map: HashMap<Key, (Entry, u64, usize, u64)>,
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    stamp: u64,
}

impl Entries {
    /// The entry, unless it was read from the store before `born_after` (ms).
    fn get(&self, key: &Key, born_after: u64) -> Option<&Entry> {
        self.map
            .get(key)
            .filter(|(_, _, _, born)| *born >= born_after)
            .map(|(entry, _, _, _)| entry)
    }

    fn remove(&mut self, key: &Key) {
        if let Some((_, _, size, _)) = self.map.remove(key) {
            self.bytes -= size;
        }
    }

    fn clear(&mut self) {
        self.map.clear();
        self.order.clear();
        self.bytes = 0;
    }

    fn insert(&mut self, key: Key, entry: Entry, born: u64, settings: &CacheSettings) {
        let size = entry.size();
        // An entry taking more than a sixteenth of the budget is not worth evicting others for.
        if size > settings.max_bytes / 16 {
            return;
        }
        self.remove(&key);
        self.stamp += 1;
        self.order.push_back((key.clone(), self.stamp));
        self.map.insert(key, (entry, self.stamp, size, born));
        self.bytes += size;
        while self.map.len() > settings.max_entries || self.bytes > settings.max_bytes {
            let Some((oldest, stamp)) = self.order.pop_front() else {
                break;
            };
            if self
                .map
                .get(&oldest)
                .is_some_and(|(_, s, _, _)| *s == stamp)
            {
                self.remove(&oldest);
            }
        }
        if self.order.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.order
                .retain(|(key, stamp)| map.get(key).is_some_and(|(_, s, _, _)| s == stamp));
        }
    }
}

/// "Never": the feed has not been read up to its head yet.
const NEVER: u64 = u64::MAX;

/// The cache over a store, itself a [`Store`] (the service reads through it).
pub(crate) struct CachedStore {
    inner: Arc<dyn Store>,
    settings: CacheSettings,
    metrics: Arc<Metrics>,
    entries: RwLock<Entries>,
    /// Bumped, under the write lock, by every invalidation.
    epoch: AtomicU64,
    /// The last feed revision applied (-1: none read yet).
    revision: AtomicI64,
    /// When the feed was last read up to its head, in milliseconds since `started`.
    heard_at: AtomicU64,
    /// Until when (milliseconds since `started`) store calls are answered "unavailable" without
    /// trying: set when a call failed while the cache was untrusted.
    broken_until: AtomicU64,
    started: Instant,
    /// The verified tokens kept parsed with their secrets: forgotten when a root key changes
    /// (a retired key's material leaves memory as it leaves the store) or the cache empties.
    parsed_tokens: Arc<TokenMemo>,
}

impl CachedStore {
    /// A cache over `inner`, with its feed reader thread (which stops when the cache is
    /// dropped).
    pub(crate) fn start(
        inner: Arc<dyn Store>,
        settings: CacheSettings,
        metrics: Arc<Metrics>,
        parsed_tokens: Arc<TokenMemo>,
    ) -> Arc<CachedStore> {
        let cache = Arc::new(CachedStore {
            inner,
            settings,
            metrics,
            parsed_tokens,
            entries: RwLock::new(Entries::default()),
            epoch: AtomicU64::new(0),
            revision: AtomicI64::new(-1),
            heard_at: AtomicU64::new(NEVER),
            broken_until: AtomicU64::new(0),
            started: Instant::now(),
        });
        let weak = Arc::downgrade(&cache);
        let spawned = std::thread::Builder::new()
            .name("macaroon-mint-feed".into())
            .spawn(move || follow_feed(&weak));
        if let Err(e) = spawned {
            // Without a reader the cache is never trusted: every read goes to the store.
            tracing::error!(error = %e, "could not start the change feed reader");
        }
        cache
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(NEVER - 1)
    }

    /// Whether entries may be served: the feed was read up to its head within the window.
    pub(crate) fn trusted(&self) -> bool {
        self.trusted_at(self.now_ms())
    }

    /// As [`CachedStore::trusted`], at `now` (milliseconds since `started`).
    fn trusted_at(&self, now: u64) -> bool {
        let heard = self.heard_at.load(Ordering::Acquire);
        heard != NEVER
            && now.saturating_sub(heard)
                <= u64::try_from(self.settings.trust_window.as_millis()).unwrap_or(u64::MAX)
    }

    /// The last feed revision applied (-1 before the first read).
    pub(crate) fn revision(&self) -> i64 {
        self.revision.load(Ordering::Acquire)
    }

    /// Seconds since the feed was last read up to its head (`None`: never).
    pub(crate) fn feed_age(&self) -> Option<f64> {
        let heard = self.heard_at.load(Ordering::Acquire);
        (heard != NEVER).then(|| self.now_ms().saturating_sub(heard) as f64 / 1000.0)
    }

    fn lock_read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.entries.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// A cached read: from memory when trusted and present, else from the store (kept when
    /// nothing was invalidated meanwhile).
    fn read<T>(
        &self,
        key: Key,
        pick: fn(&Entry) -> Option<T>,
        wrap: fn(&T) -> Entry,
        load: impl FnOnce(&dyn Store) -> Result<Option<T>, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        // One clock read serves the trust and the age checks.
        let now = self.now_ms();
        let trusted = self.trusted_at(now);
        if trusted {
            let max_age = u64::try_from(self.settings.max_age.as_millis()).unwrap_or(u64::MAX);
            let born_after = now.saturating_sub(max_age);
            if let Some(value) = self.lock_read().get(&key, born_after).and_then(pick) {
                self.metrics.cache_hit();
                return Ok(Some(value));
            }
        }
        not_here()?;
        self.fail_fast()?;
        let epoch = self.epoch.load(Ordering::Acquire);
        let born = self.now_ms();
        let loaded = load(&*self.inner);
        if !trusted {
            self.metrics.cache_untrusted();
            return loaded.map_err(|e| self.unavailable(e));
        }
        self.metrics.cache_miss();
        if let Ok(Some(value)) = &loaded {
            let mut entries = self.lock_write();
            if self.epoch.load(Ordering::Acquire) == epoch && self.trusted() {
                entries.insert(key, wrap(value), born, &self.settings);
                self.metrics.cache_entries(entries.map.len());
            }
        }
        loaded
    }

    /// Untrusted, and a store call failed within the last poll interval: answered as
    /// unavailable at once, rather than every request waiting on a dead connection pool. After
    /// the interval one call tries the store again; the feed reader's next success ends it.
    fn fail_fast(&self) -> Result<(), StoreError> {
        if self.now_ms() < self.broken_until.load(Ordering::Acquire) && !self.trusted() {
            return Err(StoreError::Unavailable(
                "the change feed is silent and the store failed moments ago".into(),
            ));
        }
        Ok(())
    }

    /// A backend failure while the feed is silent as well: the database is out of reach, and
    /// this instance can answer from nowhere (503, not 500).
    fn unavailable(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Backend(cause) if !self.trusted() => {
                let pause = u64::try_from(self.settings.poll_interval.as_millis()).unwrap_or(1000);
                self.broken_until
                    .store(self.now_ms().saturating_add(pause), Ordering::Release);
                StoreError::Unavailable(format!(
                    "the change feed is silent and the store failed: {cause}"
                ))
            }
            other => other,
        }
    }

    /// Forgets what a change invalidates.
    fn invalidate(&self, kind: ChangeKind, entity: &str) {
        self.invalidate_all([(kind, entity)]);
    }

    /// Applies changes under one write lock (a feed page holds up to a thousand).
    fn invalidate_all<'e>(&self, changes: impl IntoIterator<Item = (ChangeKind, &'e str)>) {
        let mut entries = self.lock_write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        let mut subjects = std::collections::HashSet::new();
        for (kind, entity) in changes {
            match kind {
                ChangeKind::User => entries.remove(&Key::User(entity.into())),
                ChangeKind::Provider => entries.remove(&Key::Provider(entity.into())),
                ChangeKind::NamedToken => entries.remove(&Key::Named(entity.into())),
                ChangeKind::Generation => entries.remove(&Key::Generation(entity.into())),
                ChangeKind::RootKey => {
                    self.parsed_tokens.clear();
                    match entity.parse() {
                        Ok(id) => entries.remove(&Key::Root(id)),
                        Err(_) => entries.clear(),
                    }
                }
                ChangeKind::TokensOf => {
                    subjects.insert(entity);
                }
            }
        }
        if !subjects.is_empty() {
            // One pass over the entries for every subject of the page.
            let gone: Vec<Key> = entries
                .map
                .iter()
                .filter(|(_, (entry, _, _, _))| {
                    matches!(entry, Entry::Named(token) if subjects.contains(token.subject.as_str()))
                })
                .map(|(key, _)| key.clone())
                .collect();
            for key in &gone {
                entries.remove(key);
            }
        }
        self.metrics.cache_entries(entries.map.len());
    }

    fn clear(&self) {
        let mut entries = self.lock_write();
        self.epoch.fetch_add(1, Ordering::AcqRel);
        entries.clear();
        self.parsed_tokens.clear();
        self.metrics.cache_entries(0);
    }

    /// Reads the feed up to its head, applying every change. The first read only notes the
    /// head (nothing is cached yet).
    fn catch_up(&self) -> Result<(), StoreError> {
        let head = self.inner.feed_revision()?;
        let mut applied = self.revision();
        if applied < 0 || head < applied {
            // First read, or a feed that went back (a restored database): start afresh.
            if applied >= 0 {
                tracing::warn!(
                    head,
                    applied,
                    "the change feed went back: the cache starts afresh"
                );
            }
            self.clear();
            self.revision.store(head, Ordering::Release);
            return Ok(());
        }
        while applied < head {
            let changes = self.inner.changes_since(applied, FEED_PAGE)?;
            let Some(last) = changes.last().map(|c| c.revision) else {
                // Behind the head with nothing to read: the changes were pruned or removed.
                tracing::warn!(
                    applied,
                    head,
                    "the change feed lacks the revisions after this instance's: the cache starts afresh"
                );
                self.clear();
                self.revision.store(head, Ordering::Release);
                self.metrics.feed_revision(head);
                break;
            };
            if changes.first().map(|c| c.revision) != Some(applied + 1) {
                tracing::warn!(
                    applied,
                    "the change feed was pruned past this instance's revision: the cache starts afresh"
                );
                self.clear();
            } else {
                self.invalidate_all(changes.iter().map(|c| (c.kind, c.entity.as_str())));
            }
            applied = last;
            self.revision.store(applied, Ordering::Release);
            self.metrics.feed_revision(applied);
        }
        Ok(())
    }
}

/// The feed reader: listens (when the store can), reads the feed up to its head, notes when it
/// did, waits for a notification or the poll interval; until the cache is dropped.
fn follow_feed(cache: &Weak<CachedStore>) {
    let mut listener: Option<Box<dyn FeedListener>> = None;
    let mut failing = false;
    loop {
        let Some(strong) = cache.upgrade() else {
            return;
        };
        let poll = strong.settings.poll_interval.max(Duration::from_millis(10));
        // Listening first, then reading: a change committed in between still wakes us.
        if listener.is_none() {
            listener = strong.inner.feed_listener().unwrap_or(None);
        }
        let began = strong.now_ms();
        match strong.catch_up() {
            Ok(()) => {
                strong.heard_at.store(began, Ordering::Release);
                strong.broken_until.store(0, Ordering::Release);
                if std::mem::take(&mut failing) {
                    tracing::info!(
                        revision = strong.revision(),
                        "the change feed is read again: the cache is trusted"
                    );
                }
            }
            Err(e) => {
                if !std::mem::replace(&mut failing, true) {
                    tracing::warn!(
                        error = %crate::store::redact_credentials(&e.to_string()),
                        window_s = strong.settings.trust_window.as_secs_f64(),
                        "the change feed cannot be read: the cache is not trusted past its window"
                    );
                }
                listener = None;
            }
        }
        strong
            .metrics
            .feed_state(strong.trusted(), strong.revision());
        drop(strong);
        match listener.as_mut().map(|l| l.wait(poll)) {
            Some(Ok(_)) => {}
            Some(Err(_)) => {
                listener = None;
                std::thread::sleep(poll);
            }
            None => std::thread::sleep(poll),
        }
    }
}

/// What each write forgets here as soon as it returns (what the change it appends to the feed
/// invalidates), given the cache and the write's arguments in order: one rule a write, and none
/// for any other name, so that a write added to [`Store`] does not compile until it is given one.
macro_rules! forget {
    // Writes that change nothing the cache holds.
    ($cache:ident, create_user $_args:tt) => {};
    ($cache:ident, create_space $_args:tt) => {};
    ($cache:ident, update_space_privileges $_args:tt) => {};
    ($cache:ident, insert_named_token $_args:tt) => {};
    ($cache:ident, remove_support $_args:tt) => {};
    ($cache:ident, insert_root_key $_args:tt) => {};
    // Writes that do.
    ($cache:ident, update_oz_privileges($user_id:ident, $_grant:ident, $_revoke:ident)) => {
        $cache.invalidate(ChangeKind::User, $user_id)
    };
    ($cache:ident, update_named_token($id:ident, $_change:ident)) => {
        $cache.invalidate(ChangeKind::NamedToken, $id)
    };
    ($cache:ident, delete_named_token($id:ident)) => {
        $cache.invalidate(ChangeKind::NamedToken, $id)
    };
    ($cache:ident, delete_named_tokens_of($subject:ident)) => {
        $cache.invalidate(ChangeKind::TokensOf, $subject)
    };
    ($cache:ident, consume_invite($id:ident)) => {
        $cache.invalidate(ChangeKind::NamedToken, $id)
    };
    ($cache:ident, register_provider($_provider:ident, $invite:ident, $_key_id:ident, $_root_token:ident, $_quota:ident)) => {
        if let Some(id) = $invite {
            $cache.invalidate(ChangeKind::NamedToken, id)
        }
    };
    ($cache:ident, support_space($_space_id:ident, $_provider_id:ident, $_size:ident, $invite:ident, $_created:ident)) => {
        if let Some(id) = $invite {
            $cache.invalidate(ChangeKind::NamedToken, id)
        }
    };
    ($cache:ident, update_provider($id:ident, $_change:ident)) => {
        $cache.invalidate(ChangeKind::Provider, $id)
    };
    ($cache:ident, delete_provider($id:ident)) => {{
        $cache.invalidate(ChangeKind::Provider, $id);
        $cache.invalidate(ChangeKind::TokensOf, $id);
        $cache.invalidate(ChangeKind::Generation, $id);
    }};
    ($cache:ident, bump_temporary_generation($user_id:ident, $_key_id:ident)) => {
        $cache.invalidate(ChangeKind::Generation, $user_id)
    };
    ($cache:ident, retire_root_key($id:ident, $_at:ident)) => {
        $cache.invalidate(ChangeKind::RootKey, &$id.to_string())
    };
}

/// One method of [`Store`] for [`CachedStore`] (of [`crate::for_each_store_method!`]), but for
/// the cached reads, written out below. Each is refused inside [`cached_only`]; the feed's are
/// then passed through as they are, the others fail fast while the store is out of reach and
/// fail as unavailable there. A write forgets what it changed (`forget!`) as soon as it
/// returns, whatever it returned (a failed commit may still have committed), before the feed
/// brings the change back.
macro_rules! cache_method {
    // The cached reads.
    (read fn user_by_id $($_signature:tt)*) => {};
    (read fn provider $($_signature:tt)*) => {};
    (read fn named_token $($_signature:tt)*) => {};
    (read fn temporary_generation $($_signature:tt)*) => {};
    (read fn root_key $($_signature:tt)*) => {};
    // Left to the trait's default, which runs through `update_named_token` here (so it forgets,
    // and the store below times it under that name).
    (provided $($_signature:tt)*) => {};
    (feed fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            not_here()?;
            self.inner.$name($($arg),*)
        }
    };
    (read fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            not_here()?;
            self.fail_fast()?;
            self.inner.$name($($arg),*).map_err(|e| self.unavailable(e))
        }
    };
    (write fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            not_here()?;
            self.fail_fast()?;
            let result = self.inner.$name($($arg),*);
            forget!(self, $name($($arg),*));
            result.map_err(|e| self.unavailable(e))
        }
    };
}

impl Store for CachedStore {
    fn has_change_feed(&self) -> bool {
        self.inner.has_change_feed()
    }

    fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.read(
            Key::User(id.into()),
            |e| match e {
                Entry::User(u) => Some(u.clone()),
                _ => None,
            },
            |u| Entry::User(u.clone()),
            |s| s.user_by_id(id),
        )
    }

    fn provider(&self, id: &str) -> Result<Option<Provider>, StoreError> {
        self.read(
            Key::Provider(id.into()),
            |e| match e {
                Entry::Provider(p) => Some(p.clone()),
                _ => None,
            },
            |p| Entry::Provider(p.clone()),
            |s| s.provider(id),
        )
    }

    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError> {
        self.read(
            Key::Named(id.into()),
            |e| match e {
                Entry::Named(t) => Some(t.clone()),
                _ => None,
            },
            |t| Entry::Named(t.clone()),
            |s| s.named_token(id),
        )
    }

    fn temporary_generation(
        &self,
        user_id: &str,
    ) -> Result<Option<TemporaryGeneration>, StoreError> {
        self.read(
            Key::Generation(user_id.into()),
            |e| match e {
                Entry::Generation(g) => Some(*g),
                _ => None,
            },
            |g| Entry::Generation(*g),
            |s| s.temporary_generation(user_id),
        )
    }

    fn root_key(&self, id: i64) -> Result<Option<RootKeyRecord>, StoreError> {
        self.read(
            Key::Root(id),
            |e| match e {
                Entry::RootKey(k) => Some(k.clone()),
                _ => None,
            },
            |k| Entry::RootKey(k.clone()),
            |s| s.root_key(id),
        )
    }

    crate::for_each_store_method!(cache_method);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generation(n: u64) -> Entry {
        Entry::Generation(TemporaryGeneration {
            generation: n,
            key_id: 1,
        })
    }

    fn bounded(max_entries: usize, max_bytes: usize) -> CacheSettings {
        CacheSettings {
            max_entries,
            max_bytes,
            ..CacheSettings::default()
        }
    }

    #[test]
    fn the_oldest_entries_go_first_past_the_entry_limit() {
        let settings = bounded(3, 1 << 20);
        let mut entries = Entries::default();
        for i in 0..5u64 {
            entries.insert(
                Key::Generation(i.to_string().into()),
                generation(i),
                0,
                &settings,
            );
        }
        let mut kept: Vec<&Key> = entries.map.keys().collect();
        kept.sort_by_key(|k| format!("{k:?}"));
        assert_eq!(
            kept,
            [
                &Key::Generation("2".into()),
                &Key::Generation("3".into()),
                &Key::Generation("4".into())
            ]
        );
        // Re-inserting a key makes it the newest: the next insert evicts another.
        entries.insert(Key::Generation("2".into()), generation(2), 0, &settings);
        entries.insert(Key::Generation("5".into()), generation(5), 0, &settings);
        assert!(entries.get(&Key::Generation("2".into()), 0).is_some());
        assert!(entries.get(&Key::Generation("3".into()), 0).is_none());
        assert_eq!(entries.bytes, 3 * generation(0).size());
    }

    #[test]
    fn the_byte_budget_bounds_the_entries_and_skips_huge_ones() {
        let one = generation(0).size();
        let settings = bounded(1_000, 16 * one);
        let mut entries = Entries::default();
        for i in 0..100u64 {
            entries.insert(
                Key::Generation(i.to_string().into()),
                generation(i),
                0,
                &settings,
            );
            assert!(entries.bytes <= settings.max_bytes);
        }
        assert_eq!(entries.map.len(), 16);
        // An entry over a sixteenth of the budget is not kept (and evicts nothing).
        let huge = Entry::RootKey(RootKeyRecord {
            id: 9,
            material: zeroize::Zeroizing::new(vec![0; 4 * one]),
            created: 0,
            retired: None,
        });
        entries.insert(Key::Root(9), huge, 0, &settings);
        assert!(entries.get(&Key::Root(9), 0).is_none());
        assert_eq!(entries.map.len(), 16);
    }

    #[test]
    fn entries_older_than_the_max_age_are_not_served() {
        let settings = bounded(10, 1 << 20);
        let mut entries = Entries::default();
        entries.insert(Key::Generation("a".into()), generation(1), 1_000, &settings);
        assert!(entries.get(&Key::Generation("a".into()), 1_000).is_some());
        assert!(entries.get(&Key::Generation("a".into()), 1_001).is_none());
    }

    #[test]
    fn the_eviction_order_is_compacted() {
        let settings = bounded(10, 1 << 20);
        let mut entries = Entries::default();
        // The same few keys replaced over and over: the order queue must not grow with them.
        for round in 0..10_000u64 {
            entries.insert(
                Key::Generation((round % 4).to_string().into()),
                generation(round),
                round,
                &settings,
            );
        }
        assert_eq!(entries.map.len(), 4);
        assert!(
            entries.order.len() <= 2 * 4 + 64 + 1,
            "{}",
            entries.order.len()
        );
    }

    #[test]
    fn cached_only_reports_any_store_access_and_resets() {
        assert_eq!(cached_only(|| 7), Some(7));
        assert_eq!(
            cached_only(|| {
                let refused = not_here().is_err();
                assert!(refused);
                8
            }),
            None
        );
        // Outside, the store may be used again.
        assert!(not_here().is_ok());
        // A panic inside does not leave the flag set.
        let caught = std::panic::catch_unwind(|| cached_only(|| panic!("inside")));
        assert!(caught.is_err());
        assert!(not_here().is_ok());
    }
}
