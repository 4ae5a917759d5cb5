//! A store whose change feed, or every operation, can be cut by a test, as a lost database
//! connection would be.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use macaroon_mint_server::store::{Store, StoreError};

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

/// One method of [`Store`] for [`Cuttable`] (of `for_each_store_method!`): fails while cut (the
/// feed's also while the feed is cut), else passes through.
macro_rules! cut_through {
    // The trait's default, through `update_named_token` here.
    (provided $($_signature:tt)*) => {};
    (feed fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.check(true)?;
            self.inner.$name($($arg),*)
        }
    };
    ($kind:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            self.check(false)?;
            self.inner.$name($($arg),*)
        }
    };
}

impl Store for Cuttable {
    fn has_change_feed(&self) -> bool {
        self.inner.has_change_feed()
    }

    macaroon_mint_server::for_each_store_method!(cut_through);
}
