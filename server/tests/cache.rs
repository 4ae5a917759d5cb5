//! The verification cache and the change feed, on both backends: two service instances over one
//! database agree after every kind of change; an instance's own writes are seen at once; a
//! silent feed stops the cache within its trust window (reads go through to the store, and
//! fail as "unavailable" when the store fails too).
//!
//! Nothing here is timed: waits poll for an outcome with a generous deadline, and fail if it
//! never comes (a cache that missed an invalidation would serve the old value forever).

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use macaroon_mint_server::service::{Service, Settings};
use macaroon_mint_server::store::{
    random_hex, Consumed, KeyProtection, NamedToken, NamedTokenChange, PostgresStore, Provider,
    ProviderChange, Retirement, SqliteStore, Store, StoreError, SubjectKind,
};
use macaroon_mint_server::CacheSettings;

use common::cut::Cuttable;
use common::PgTestSchema;

// ---------------------------------------------------------------------------------------------
// Two handles on one database

/// Opens another handle on the database under test (as a second server instance would).
type Opener = Box<dyn Fn() -> Arc<dyn Store>>;

/// The database under test and what to clean up (the opener's directory or schema).
struct Database {
    open: Opener,
    _dir: Option<TempDir>,
    _schema: Option<Arc<PgTestSchema>>,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite() -> Database {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "macaroon-mint-cache-test-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let opened = dir.clone();
    Database {
        open: Box::new(move || {
            Arc::new(SqliteStore::open(&opened, KeyProtection::Plain).unwrap()) as Arc<dyn Store>
        }),
        _dir: Some(TempDir(dir)),
        _schema: None,
    }
}

fn postgres() -> Option<Database> {
    let schema = Arc::new(PgTestSchema::new()?);
    let theirs = Arc::clone(&schema);
    Some(Database {
        open: Box::new(move || {
            Arc::new(
                PostgresStore::connect_in_schema(&theirs.url, &theirs.name, KeyProtection::Plain)
                    .unwrap(),
            ) as Arc<dyn Store>
        }),
        _dir: None,
        _schema: Some(schema),
    })
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::sqlite());
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                fn $name() {
                    let Some(database) = super::postgres() else { return };
                    super::$name(&database);
                }
            )*
        }
    };
}

on_both_backends!(
    two_instances_agree_after_every_kind_of_change,
    an_instance_sees_its_own_writes_at_once,
    a_silent_feed_stops_the_cache_within_its_window,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn service(store: Arc<dyn Store>, cache: CacheSettings) -> Service {
    let settings = Settings {
        cache,
        ..Settings::default()
    };
    Service::new(store, settings).unwrap()
}

/// Polls `done` until it holds, for at most 10 seconds (the default trust window is 5).
#[track_caller]
fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn trusted(service: &Service) {
    eventually("the cache is trusted", || {
        service.cache_trusted() == Some(true)
    });
}

/// The count of `macaroon_mint_cache_lookups_total{result}`.
fn lookups(service: &Service, result: &str) -> u64 {
    let series = format!("macaroon_mint_cache_lookups_total{{result=\"{result}\"}} ");
    service
        .metrics()
        .render()
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0, |n| n.parse().unwrap())
}

/// Reads with `read` until a read is served from the cache: the entry is cached now.
#[track_caller]
fn cached<T>(service: &Service, what: &str, read: impl Fn(&dyn Store) -> T) -> T {
    eventually(&format!("{what} is cached"), || {
        let before = lookups(service, "hit");
        read(service.store());
        lookups(service, "hit") == before + 1
    });
    read(service.store())
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn token(name: &str, subject: &str, kind: &str, key_id: i64) -> NamedToken {
    NamedToken {
        id: random_hex(16).unwrap(),
        name: name.to_owned(),
        kind: kind.to_owned(),
        subject: subject.to_owned(),
        target: String::new(),
        key_id,
        revoked: false,
        created: 1_700_000_000,
        caveats: vec!["time < 1900000000".to_owned()],
        parent: None,
        custom_metadata: "{}".to_owned(),
        usage_limit: (kind != "act").then_some(5),
        usage_count: 0,
        privileges: None,
        subject_type: SubjectKind::User,
    }
}

fn provider(admin: &str) -> Provider {
    Provider {
        id: random_hex(16).unwrap(),
        name: "provider".to_owned(),
        domain: "provider.example.com".to_owned(),
        admin_email: "admin@example.com".to_owned(),
        latitude: 50.0,
        longitude: 19.9,
        admin: admin.to_owned(),
        created: 1_700_000_000,
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

/// Every kind of change made through instance A reaches instance B's cache: B held the entry
/// (served from memory), and after the change B reads the new value.
fn two_instances_agree_after_every_kind_of_change(database: &Database) {
    let a = service((database.open)(), CacheSettings::default());
    let b = service((database.open)(), CacheSettings::default());
    trusted(&a);
    trusted(&b);
    let store = a.store();
    let old_key = store.insert_root_key(&[1; 32], 1).unwrap();
    let key = store.insert_root_key(&[2; 32], 2).unwrap();
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let p = provider(&alice.id);
    let mut root = token("root", &p.id, "act", key.id);
    root.subject_type = SubjectKind::Provider;
    store
        .register_provider(&p, None, key.id, &root, None)
        .unwrap();
    let access = token("access", &alice.id, "act", key.id);
    let invite = token("invite", &alice.id, "rop", key.id);
    store.insert_named_token(&access, None).unwrap();
    store.insert_named_token(&invite, None).unwrap();

    // The user's privileges.
    cached(&b, "the user", |s| s.user_by_id(&alice.id).unwrap());
    store
        .update_oz_privileges(&alice.id, &set(&["oz_users_list"]), &BTreeSet::new())
        .unwrap();
    eventually("B sees the privileges", || {
        b.store()
            .user_by_id(&alice.id)
            .unwrap()
            .unwrap()
            .oz_privileges
            == set(&["oz_users_list"])
    });

    // A named token revoked, renamed; an invite used.
    cached(&b, "the access token", |s| {
        s.named_token(&access.id).unwrap()
    });
    assert!(store.set_named_token_revoked(&access.id, true).unwrap());
    eventually("B sees the revocation", || {
        b.store().named_token(&access.id).unwrap().unwrap().revoked
    });
    cached(&b, "the access token", |s| {
        s.named_token(&access.id).unwrap()
    });
    let rename = NamedTokenChange {
        name: Some("renamed".into()),
        ..NamedTokenChange::default()
    };
    assert!(store.update_named_token(&access.id, &rename).unwrap());
    eventually("B sees the new name", || {
        b.store().named_token(&access.id).unwrap().unwrap().name == "renamed"
    });
    cached(&b, "the invite", |s| s.named_token(&invite.id).unwrap());
    assert_eq!(
        store.consume_invite(&invite.id).unwrap(),
        Consumed::Counted(1)
    );
    eventually("B sees the invite used", || {
        b.store()
            .named_token(&invite.id)
            .unwrap()
            .unwrap()
            .usage_count
            == 1
    });

    // The temporary generation bumped.
    cached(&b, "the generation", |s| {
        s.temporary_generation(&alice.id).unwrap()
    });
    store.bump_temporary_generation(&alice.id, key.id).unwrap();
    eventually("B sees the new generation", || {
        b.store()
            .temporary_generation(&alice.id)
            .unwrap()
            .unwrap()
            .generation
            == 2
    });

    // A root key retired.
    cached(&b, "the old root key", |s| s.root_key(old_key.id).unwrap());
    assert_eq!(
        store.retire_root_key(old_key.id, 3).unwrap(),
        Retirement::Retired
    );
    eventually("B sees the key retired", || {
        b.store().root_key(old_key.id).unwrap().unwrap().retired == Some(3)
    });

    // The provider changed.
    cached(&b, "the provider", |s| s.provider(&p.id).unwrap());
    let change = ProviderChange {
        name: Some("renamed".into()),
        ..ProviderChange::default()
    };
    assert!(store.update_provider(&p.id, &change).unwrap());
    eventually("B sees the provider renamed", || {
        b.store().provider(&p.id).unwrap().unwrap().name == "renamed"
    });

    // A token deleted; a subject's tokens deleted together.
    cached(&b, "the access token", |s| {
        s.named_token(&access.id).unwrap()
    });
    assert!(store.delete_named_token(&access.id).unwrap());
    eventually("B sees the token gone", || {
        b.store().named_token(&access.id).unwrap().is_none()
    });
    cached(&b, "the invite", |s| s.named_token(&invite.id).unwrap());
    assert_eq!(store.delete_named_tokens_of(&alice.id).unwrap(), 1);
    eventually("B sees the subject's tokens gone", || {
        b.store().named_token(&invite.id).unwrap().is_none()
    });

    // The provider removed with its tokens and generation.
    cached(&b, "the provider", |s| s.provider(&p.id).unwrap());
    cached(&b, "the provider's token", |s| {
        s.named_token(&root.id).unwrap()
    });
    cached(&b, "the provider's generation", |s| {
        s.temporary_generation(&p.id).unwrap()
    });
    assert!(store.delete_provider(&p.id).unwrap());
    eventually("B sees the provider gone", || {
        let s = b.store();
        s.provider(&p.id).unwrap().is_none()
            && s.named_token(&root.id).unwrap().is_none()
            && s.temporary_generation(&p.id).unwrap().is_none()
    });
    // B also applied every change in order (its revision is the head).
    eventually("B applied the whole feed", || {
        b.feed_state().map(|(revision, _)| revision) == Some(a.store().feed_revision().unwrap())
    });
}

/// An instance's own writes invalidate before they return: no window where it serves the old
/// value, whatever its feed does. (The feed is cut here, with a long trust window: the feed
/// cannot be what brings the change.)
fn an_instance_sees_its_own_writes_at_once(database: &Database) {
    let link = Arc::new(Cuttable::new((database.open)()));
    let a = service(
        Arc::clone(&link) as Arc<dyn Store>,
        CacheSettings::with_trust_window(Duration::from_secs(120)),
    );
    trusted(&a);
    link.feed_cut.store(true, Ordering::SeqCst);
    let store = a.store();
    let key = store.insert_root_key(&[2; 32], 2).unwrap();
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let access = token("access", &alice.id, "act", key.id);
    store.insert_named_token(&access, None).unwrap();
    for round in 0..20 {
        cached(&a, "the token", |s| s.named_token(&access.id).unwrap());
        let revoked = round % 2 == 0;
        store.set_named_token_revoked(&access.id, revoked).unwrap();
        assert_eq!(
            store.named_token(&access.id).unwrap().unwrap().revoked,
            revoked,
            "round {round}"
        );
        cached(&a, "the generation", |s| {
            s.temporary_generation(&alice.id).unwrap()
        });
        let bumped = store
            .bump_temporary_generation(&alice.id, key.id)
            .unwrap()
            .unwrap();
        assert_eq!(
            store.temporary_generation(&alice.id).unwrap(),
            Some(bumped),
            "round {round}"
        );
    }
    assert_eq!(a.cache_trusted(), Some(true), "the cache served throughout");
}

/// With B's feed cut, B stops answering from its cache once its trust window has passed: a
/// revocation made through A (which B's feed never brings) is seen by reading the store. With
/// the store cut as well, B's reads are "unavailable" rather than answered from memory. When
/// the connection comes back, B catches up and trusts its cache again.
fn a_silent_feed_stops_the_cache_within_its_window(database: &Database) {
    let a = service((database.open)(), CacheSettings::default());
    let link = Arc::new(Cuttable::new((database.open)()));
    let window = CacheSettings::with_trust_window(Duration::from_millis(800));
    let b = service(Arc::clone(&link) as Arc<dyn Store>, window);
    trusted(&a);
    trusted(&b);
    let store = a.store();
    let key = store.insert_root_key(&[2; 32], 2).unwrap();
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let access = token("access", &alice.id, "act", key.id);
    store.insert_named_token(&access, None).unwrap();
    cached(&b, "the token", |s| s.named_token(&access.id).unwrap());

    link.feed_cut.store(true, Ordering::SeqCst);
    assert!(store.set_named_token_revoked(&access.id, true).unwrap());
    eventually("B stops trusting its cache", || {
        b.cache_trusted() == Some(false)
    });
    let untrusted = lookups(&b, "untrusted");
    assert!(
        b.store().named_token(&access.id).unwrap().unwrap().revoked,
        "past its window, B reads the store"
    );
    assert_eq!(lookups(&b, "untrusted"), untrusted + 1);

    link.store_cut.store(true, Ordering::SeqCst);
    match b.store().named_token(&access.id) {
        Err(StoreError::Unavailable(cause)) => {
            assert!(cause.contains("cut by the test"), "{cause}");
        }
        other => panic!("expected the store to be unavailable, got {other:?}"),
    }

    link.store_cut.store(false, Ordering::SeqCst);
    link.feed_cut.store(false, Ordering::SeqCst);
    trusted(&b);
    let token = cached(&b, "the token again", |s| {
        s.named_token(&access.id).unwrap()
    });
    assert!(token.unwrap().revoked);
}
