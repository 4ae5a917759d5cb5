//! A store whose change feed, or every operation, can be cut by a test, as a lost database
//! connection would be.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use macaroon_mint_server::store::{
    Change, Consumed, FeedListener, NamedToken, NamedTokenChange, Provider, ProviderChange,
    Retirement, RootKeyRecord, Space, Store, StoreError, TemporaryGeneration, User,
};

/// A store whose feed (or everything) can be cut, as a lost connection would.
pub struct Cuttable {
    inner: Arc<dyn Store>,
    /// Cuts the feed (its reads and listener fail).
    pub feed_cut: AtomicBool,
    /// Cuts everything.
    pub store_cut: AtomicBool,
}

impl Cuttable {
    /// `inner`, connected.
    pub fn new(inner: Arc<dyn Store>) -> Cuttable {
        Cuttable {
            inner,
            feed_cut: AtomicBool::new(false),
            store_cut: AtomicBool::new(false),
        }
    }
}

impl Cuttable {
    fn check(&self, feed: bool) -> Result<(), StoreError> {
        if self.store_cut.load(Ordering::SeqCst) || (feed && self.feed_cut.load(Ordering::SeqCst)) {
            return Err(StoreError::Backend(
                "connection lost (cut by the test)".into(),
            ));
        }
        Ok(())
    }
}

macro_rules! cut_through {
    ($( fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty; )*) => {
        $(
            fn $name(&self $(, $arg: $ty)*) -> $ret {
                self.check(false)?;
                self.inner.$name($($arg),*)
            }
        )*
    };
}

impl Store for Cuttable {
    fn has_change_feed(&self) -> bool {
        self.inner.has_change_feed()
    }

    fn feed_revision(&self) -> Result<i64, StoreError> {
        self.check(true)?;
        self.inner.feed_revision()
    }

    fn changes_since(&self, revision: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        self.check(true)?;
        self.inner.changes_since(revision, limit)
    }

    fn feed_listener(&self) -> Result<Option<Box<dyn FeedListener>>, StoreError> {
        self.check(true)?;
        self.inner.feed_listener()
    }

    cut_through! {
        fn create_user(&self, username: &str, password_hash: &str, oz_privileges: &BTreeSet<String>, key_id: i64, created: u64, full_name: &str) -> Result<User, StoreError>;
        fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
        fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
        fn update_oz_privileges(&self, user_id: &str, grant: &BTreeSet<String>, revoke: &BTreeSet<String>) -> Result<Option<BTreeSet<String>>, StoreError>;
        fn create_space(&self, name: &str, creator: &str, creator_privileges: &BTreeSet<String>, quota: Option<u64>) -> Result<Space, StoreError>;
        fn space_by_id(&self, id: &str) -> Result<Option<Space>, StoreError>;
        fn spaces_of_user(&self, user_id: &str) -> Result<Vec<Space>, StoreError>;
        fn space_privileges(&self, space_id: &str, user_id: &str) -> Result<Option<BTreeSet<String>>, StoreError>;
        fn update_space_privileges(&self, space_id: &str, user_id: &str, grant: &BTreeSet<String>, revoke: &BTreeSet<String>) -> Result<BTreeSet<String>, StoreError>;
        fn insert_named_token(&self, token: &NamedToken, quota: Option<u64>) -> Result<(), StoreError>;
        fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError>;
        fn named_tokens_of(&self, subject: &str) -> Result<Vec<NamedToken>, StoreError>;
        fn all_named_tokens(&self) -> Result<Vec<NamedToken>, StoreError>;
        fn update_named_token(&self, id: &str, change: &NamedTokenChange) -> Result<bool, StoreError>;
        fn delete_named_token(&self, id: &str) -> Result<bool, StoreError>;
        fn delete_named_tokens_of(&self, subject: &str) -> Result<u64, StoreError>;
        fn register_provider(&self, provider: &Provider, invite: Option<&str>, key_id: i64, root_token: &NamedToken, quota: Option<u64>) -> Result<(), StoreError>;
        fn provider(&self, id: &str) -> Result<Option<Provider>, StoreError>;
        fn provider_ids(&self) -> Result<Vec<String>, StoreError>;
        fn update_provider(&self, id: &str, change: &ProviderChange) -> Result<bool, StoreError>;
        fn delete_provider(&self, id: &str) -> Result<bool, StoreError>;
        fn support_space(&self, space_id: &str, provider_id: &str, size: u64, invite: Option<&str>, created: u64) -> Result<(), StoreError>;
        fn supporters_of(&self, space_id: &str) -> Result<Vec<(String, u64)>, StoreError>;
        fn spaces_supported_by(&self, provider_id: &str) -> Result<Vec<(String, u64)>, StoreError>;
        fn remove_support(&self, space_id: &str, provider_id: &str) -> Result<bool, StoreError>;
        fn consume_invite(&self, id: &str) -> Result<Consumed, StoreError>;
        fn temporary_generation(&self, user_id: &str) -> Result<Option<TemporaryGeneration>, StoreError>;
        fn bump_temporary_generation(&self, user_id: &str, key_id: i64) -> Result<Option<TemporaryGeneration>, StoreError>;
        fn insert_root_key(&self, material: &[u8], created: u64) -> Result<RootKeyRecord, StoreError>;
        fn root_keys(&self) -> Result<Vec<RootKeyRecord>, StoreError>;
        fn ping(&self) -> Result<(), StoreError>;
        fn root_key(&self, id: i64) -> Result<Option<RootKeyRecord>, StoreError>;
        fn retire_root_key(&self, id: i64, at: u64) -> Result<Retirement, StoreError>;
    }
}
