//! One storage suite, run against every backend of the `Store` trait: SQLite (in a temporary
//! directory) always, PostgreSQL when `MACAROON_MINT_TEST_DATABASE_URL` is set (a fresh schema
//! per test; see `tests/common/mod.rs` and `scripts/start-test-postgres`).
//!
//! The suite is a set of functions taking the store; `suite!` turns each into a `#[test]` per
//! backend (`sqlite::users`, `postgres::users`, …). PostgreSQL-only tests (two server instances
//! on one database, error texts) follow.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use macaroon_mint_server::store::{
    current_root_key, ensure_root_key, random_hex, ChangeKind, Consumed, KeyProtection, MasterKey,
    NamedToken, NamedTokenChange, PostgresStore, Provider, ProviderChange, Retirement,
    RootKeyRecord, SqliteStore, Store, StoreError, SubjectKind, TemporaryGeneration, SQLITE_FILE,
};

use common::PgTestSchema;

// ---------------------------------------------------------------------------------------------
// Backends

/// A store under test and what to clean up after it (fields drop in order: the store first).
struct Backend {
    store: Arc<dyn Store>,
    _dir: Option<TempDir>,
    _schema: Option<PgTestSchema>,
}

/// A temporary directory, removed on drop.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn sqlite_backend() -> Backend {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "macaroon-mint-store-test-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let store = SqliteStore::open(&dir, sealed()).expect("open the SQLite store");
    Backend {
        store: Arc::new(store),
        _dir: Some(TempDir(dir)),
        _schema: None,
    }
}

/// A store in a fresh schema; `None` (the test is skipped) without a test database.
fn postgres_backend() -> Option<Backend> {
    let schema = PgTestSchema::new()?;
    let store = connect(&schema);
    Some(Backend {
        store: Arc::new(store),
        _dir: None,
        _schema: Some(schema),
    })
}

/// The master key the suite's stores seal their root keys under.
const TEST_MASTER_KEY: [u8; 32] = [0x4d; 32];

fn sealed() -> KeyProtection {
    KeyProtection::Sealed(MasterKey::from_bytes(TEST_MASTER_KEY))
}

/// Creates a directory with mode 0700 (the store refuses wider ones).
fn private_dir(dir: &std::path::Path) {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .unwrap();
}

fn connect(schema: &PgTestSchema) -> PostgresStore {
    PostgresStore::connect_in_schema(&schema.url, &schema.name, sealed()).unwrap_or_else(|e| {
        panic!(
            "cannot use the test database in {} (is it running? scripts/start-test-postgres): {e}",
            common::DATABASE_URL_VAR
        )
    })
}

/// `suite! { plain: [f, …], shared: [g, …] }`: a `#[test]` per backend for each function;
/// `plain` ones take `&dyn Store`, `shared` ones `Arc<dyn Store>`.
macro_rules! suite {
    (plain: [$($plain:ident),* $(,)?], shared: [$($shared:ident),* $(,)?] $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $plain() {
                    let backend = super::sqlite_backend();
                    super::$plain(&*backend.store);
                }
            )*
            $(
                #[test]
                fn $shared() {
                    let backend = super::sqlite_backend();
                    super::$shared(std::sync::Arc::clone(&backend.store));
                }
            )*
        }

        mod postgres {
            $(
                #[test]
                fn $plain() {
                    let Some(backend) = super::postgres_backend() else { return };
                    super::$plain(&*backend.store);
                }
            )*
            $(
                #[test]
                fn $shared() {
                    let Some(backend) = super::postgres_backend() else { return };
                    super::$shared(std::sync::Arc::clone(&backend.store));
                }
            )*
        }
    };
}

suite! {
    plain: [
        users,
        oz_privileges,
        spaces_and_membership,
        named_tokens,
        temporary_generations,
        root_keys,
        ensure_root_key_creates_the_first_key_once,
        concurrent_bumps_lose_nothing,
        concurrent_privilege_updates_lose_nothing,
        concurrent_root_key_inserts_get_distinct_ids,
        named_token_caveats_and_parent,
        named_tokens_of_orders_and_isolates,
        named_token_quota,
        concurrent_named_token_inserts_respect_the_quota,
        space_quota,
        concurrent_space_creations_respect_the_quota,
        retired_key_material_is_wiped,
        named_token_updates_and_deletes,
        invite_usage_is_counted_to_its_limit,
        concurrent_consumers_of_the_last_use,
        providers_and_space_support,
        concurrent_registrations_with_a_single_use_invite,
        provider_quota_and_why_an_invite_is_not_consumed,
        the_feed_records_every_invalidating_change,
        the_feed_is_read_in_pages_from_any_revision,
    ],
    shared: [
        called_from_spawn_blocking,
        concurrent_writers_append_without_gaps,
        concurrent_mixed_writers_finish,
    ],
}

// ---------------------------------------------------------------------------------------------
// Helpers

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn key(store: &dyn Store) -> RootKeyRecord {
    store.insert_root_key(&[0x5a; 32], 1_000).unwrap()
}

fn is_hex_id(id: &str) -> bool {
    id.len() == 32
        && id
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn token(id: &str, name: &str, subject: &str, key_id: i64) -> NamedToken {
    NamedToken {
        id: id.to_owned(),
        name: name.to_owned(),
        kind: "act".to_owned(),
        subject: subject.to_owned(),
        target: String::new(),
        key_id,
        revoked: false,
        created: 1_700_000_000,
        caveats: Vec::new(),
        parent: None,
        custom_metadata: "{}".to_owned(),
        usage_limit: None,
        usage_count: 0,
        privileges: None,
        subject_type: SubjectKind::User,
    }
}

// ---------------------------------------------------------------------------------------------
// The suite

fn users(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user(
            "alice",
            "$argon2id$hash-a",
            &set(&["oz_users_view"]),
            key.id,
            1_700_000_123,
            "",
        )
        .unwrap();
    assert!(is_hex_id(&alice.id), "{}", alice.id);
    assert_eq!(alice.username, "alice");
    assert_eq!(alice.created, 1_700_000_123);
    assert_eq!(
        store.user_by_id(&alice.id).unwrap().unwrap().created,
        1_700_000_123
    );
    assert_eq!(alice.password_hash, "$argon2id$hash-a");
    assert_eq!(alice.oz_privileges, set(&["oz_users_view"]));

    assert!(matches!(
        store.create_user("alice", "other", &BTreeSet::new(), key.id, 1, ""),
        Err(StoreError::UsernameTaken)
    ));

    let bob = store
        .create_user("bob", "$argon2id$hash-b", &BTreeSet::new(), key.id, 2, "")
        .unwrap();
    assert_ne!(alice.id, bob.id);
    assert!(bob.oz_privileges.is_empty());

    assert_eq!(store.user_by_id(&alice.id).unwrap(), Some(alice.clone()));
    assert_eq!(store.user_by_id(&bob.id).unwrap(), Some(bob.clone()));
    assert_eq!(store.user_by_username("alice").unwrap(), Some(alice));
    assert_eq!(store.user_by_username("bob").unwrap(), Some(bob));
    assert_eq!(store.user_by_id(&"0".repeat(32)).unwrap(), None);
    assert_eq!(store.user_by_username("carol").unwrap(), None);
    // Usernames are compared exactly.
    assert_eq!(store.user_by_username("Alice").unwrap(), None);
    // The failed duplicate created nothing.
    assert!(store.user_by_username("alice").unwrap().is_some());
}

fn oz_privileges(store: &dyn Store) {
    let key = key(store);
    let user = store
        .create_user("alice", "h", &set(&["oz_a", "oz_b"]), key.id, 1, "")
        .unwrap();

    let updated = store
        .update_oz_privileges(&user.id, &set(&["oz_c"]), &set(&["oz_a"]))
        .unwrap();
    assert_eq!(updated, Some(set(&["oz_b", "oz_c"])));
    assert_eq!(
        store.user_by_id(&user.id).unwrap().unwrap().oz_privileges,
        set(&["oz_b", "oz_c"])
    );

    // Grant first, then revoke: a privilege in both ends up revoked.
    let updated = store
        .update_oz_privileges(
            &user.id,
            &set(&["oz_x", "oz_y"]),
            &set(&["oz_x", "oz_none"]),
        )
        .unwrap();
    assert_eq!(updated, Some(set(&["oz_b", "oz_c", "oz_y"])));

    // Revoking everything leaves an empty set.
    let updated = store
        .update_oz_privileges(&user.id, &BTreeSet::new(), &set(&["oz_b", "oz_c", "oz_y"]))
        .unwrap();
    assert_eq!(updated, Some(BTreeSet::new()));
    assert!(store
        .user_by_username("alice")
        .unwrap()
        .unwrap()
        .oz_privileges
        .is_empty());

    assert_eq!(
        store
            .update_oz_privileges(&"f".repeat(32), &set(&["oz_a"]), &BTreeSet::new())
            .unwrap(),
        None
    );
}

fn spaces_and_membership(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let carol = store
        .create_user("carol", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();

    let space = store
        .create_space(
            "lab data",
            &alice.id,
            &set(&["space_view", "space_update"]),
            None,
        )
        .unwrap();
    assert!(is_hex_id(&space.id), "{}", space.id);
    assert_eq!(space.name, "lab data");
    assert_eq!(store.space_by_id(&space.id).unwrap(), Some(space.clone()));
    assert_eq!(store.space_by_id(&"0".repeat(32)).unwrap(), None);

    let other = store
        .create_space("lab data", &bob.id, &set(&["space_view"]), None)
        .unwrap();
    assert_ne!(other.id, space.id, "names need not be unique");

    assert_eq!(
        store.space_privileges(&space.id, &alice.id).unwrap(),
        Some(set(&["space_update", "space_view"]))
    );
    assert_eq!(store.space_privileges(&space.id, &bob.id).unwrap(), None);
    assert_eq!(store.space_privileges(&other.id, &alice.id).unwrap(), None);
    assert_eq!(
        store.space_privileges(&"0".repeat(32), &alice.id).unwrap(),
        None
    );

    // Granting to a non-member makes them a member.
    assert_eq!(
        store
            .update_space_privileges(&space.id, &bob.id, &set(&["space_view"]), &BTreeSet::new())
            .unwrap(),
        set(&["space_view"])
    );
    assert_eq!(
        store.space_privileges(&space.id, &bob.id).unwrap(),
        Some(set(&["space_view"]))
    );

    // Grant then revoke, on an existing member.
    assert_eq!(
        store
            .update_space_privileges(
                &space.id,
                &alice.id,
                &set(&["space_delete", "space_x"]),
                &set(&["space_update", "space_x"]),
            )
            .unwrap(),
        set(&["space_delete", "space_view"])
    );
    assert_eq!(
        store.space_privileges(&space.id, &alice.id).unwrap(),
        Some(set(&["space_delete", "space_view"]))
    );

    // A new member whose grants are all revoked is a member with no privileges.
    assert_eq!(
        store
            .update_space_privileges(
                &space.id,
                &carol.id,
                &set(&["space_view"]),
                &set(&["space_view"])
            )
            .unwrap(),
        BTreeSet::new()
    );
    assert_eq!(
        store.space_privileges(&space.id, &carol.id).unwrap(),
        Some(BTreeSet::new())
    );
    // The other space is untouched.
    assert_eq!(
        store.space_privileges(&other.id, &bob.id).unwrap(),
        Some(set(&["space_view"]))
    );
    assert_eq!(store.space_privileges(&other.id, &carol.id).unwrap(), None);
}

fn named_tokens(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let space = store
        .create_space("s", &alice.id, &set(&["space_view"]), None)
        .unwrap();

    let laptop = token(&random_hex(16).unwrap(), "laptop", &alice.id, key.id);
    store.insert_named_token(&laptop, None).unwrap();
    assert_eq!(store.named_token(&laptop.id).unwrap(), Some(laptop.clone()));

    // The same name for the same subject is taken, whatever the token.
    let mut again = token(&random_hex(16).unwrap(), "laptop", &alice.id, key.id);
    again.kind = "ssp".to_owned();
    assert!(matches!(
        store.insert_named_token(&again, None),
        Err(StoreError::TokenNameTaken)
    ));
    assert_eq!(store.named_token(&again.id).unwrap(), None);

    // The same name for another subject is fine.
    let bobs = token(&random_hex(16).unwrap(), "laptop", &bob.id, key.id);
    store.insert_named_token(&bobs, None).unwrap();
    assert_eq!(store.named_token(&bobs.id).unwrap(), Some(bobs.clone()));

    // An invite token with a target, stored revoked, with a large creation time.
    let invite = NamedToken {
        id: random_hex(16).unwrap(),
        name: "join my space".to_owned(),
        kind: "ssp".to_owned(),
        subject: alice.id.clone(),
        target: space.id.clone(),
        key_id: key.id,
        revoked: true,
        created: i64::MAX as u64,
        caveats: vec!["time < 1900000000".to_owned(), "ip = 10.0.0.0/8".to_owned()],
        parent: Some("tok-parent-1".to_owned()),
        custom_metadata: r#"{"job":"x"}"#.to_owned(),
        usage_limit: Some(3),
        usage_count: 0,
        privileges: Some(set(&["space_view", "space_read_data"])),
        subject_type: SubjectKind::User,
    };
    store.insert_named_token(&invite, None).unwrap();
    assert_eq!(store.named_token(&invite.id).unwrap(), Some(invite.clone()));

    // Revoke and unrevoke.
    assert!(store.set_named_token_revoked(&laptop.id, true).unwrap());
    assert!(store.named_token(&laptop.id).unwrap().unwrap().revoked);
    assert!(
        store.set_named_token_revoked(&laptop.id, true).unwrap(),
        "still exists"
    );
    assert!(store.named_token(&laptop.id).unwrap().unwrap().revoked);
    assert!(
        !store.named_token(&bobs.id).unwrap().unwrap().revoked,
        "others untouched"
    );
    assert!(store.set_named_token_revoked(&laptop.id, false).unwrap());
    assert_eq!(store.named_token(&laptop.id).unwrap(), Some(laptop));
    assert!(store.set_named_token_revoked(&invite.id, false).unwrap());
    assert!(!store.named_token(&invite.id).unwrap().unwrap().revoked);

    let unknown = "0".repeat(32);
    assert!(!store.set_named_token_revoked(&unknown, true).unwrap());
    assert_eq!(store.named_token(&unknown).unwrap(), None);
}

fn temporary_generations(store: &dyn Store) {
    let k1 = store.insert_root_key(&[1; 32], 10).unwrap();
    let k2 = store.insert_root_key(&[2; 32], 20).unwrap();
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), k1.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), k2.id, 1, "")
        .unwrap();

    assert_eq!(
        store.temporary_generation(&alice.id).unwrap(),
        Some(TemporaryGeneration {
            generation: 1,
            key_id: k1.id
        })
    );
    assert_eq!(
        store.temporary_generation(&bob.id).unwrap(),
        Some(TemporaryGeneration {
            generation: 1,
            key_id: k2.id
        })
    );

    let bumped = TemporaryGeneration {
        generation: 2,
        key_id: k2.id,
    };
    assert_eq!(
        store.bump_temporary_generation(&alice.id, k2.id).unwrap(),
        Some(bumped)
    );
    assert_eq!(store.temporary_generation(&alice.id).unwrap(), Some(bumped));
    let bumped = TemporaryGeneration {
        generation: 3,
        key_id: k1.id,
    };
    assert_eq!(
        store.bump_temporary_generation(&alice.id, k1.id).unwrap(),
        Some(bumped)
    );
    assert_eq!(store.temporary_generation(&alice.id).unwrap(), Some(bumped));
    // Bob's is his own.
    assert_eq!(
        store
            .temporary_generation(&bob.id)
            .unwrap()
            .unwrap()
            .generation,
        1
    );

    let unknown = "0".repeat(32);
    assert_eq!(store.temporary_generation(&unknown).unwrap(), None);
    assert_eq!(
        store.bump_temporary_generation(&unknown, k1.id).unwrap(),
        None
    );
}

fn root_keys(store: &dyn Store) {
    assert!(store.root_keys().unwrap().is_empty());
    assert_eq!(current_root_key(store).unwrap(), None);
    assert_eq!(store.root_key(1).unwrap(), None);

    let k1 = store.insert_root_key(&[1; 32], 100).unwrap();
    let k2 = store.insert_root_key(&[2; 32], 200).unwrap();
    let k3 = store.insert_root_key(&[0xff; 16], 300).unwrap();
    assert_eq!((k1.id, k2.id, k3.id), (1, 2, 3));
    assert_eq!(*k1.material, vec![1; 32]);
    assert_eq!((k1.created, k1.retired), (100, None));

    let all = store.root_keys().unwrap();
    assert_eq!(
        all,
        vec![k1.clone(), k2.clone(), k3.clone()],
        "oldest first"
    );
    assert_eq!(store.root_key(2).unwrap(), Some(k2.clone()));
    assert_eq!(store.root_key(3).unwrap().unwrap().material.len(), 16);
    assert_eq!(store.root_key(4).unwrap(), None);
    assert_eq!(store.root_key(0).unwrap(), None);
    assert_eq!(current_root_key(store).unwrap(), Some(k3.clone()));

    // Retire once only.
    assert_eq!(store.retire_root_key(3, 350).unwrap(), Retirement::Retired);
    assert_eq!(
        store.retire_root_key(3, 360).unwrap(),
        Retirement::AlreadyRetired
    );
    assert_eq!(store.retire_root_key(99, 360).unwrap(), Retirement::Unknown);
    let retired = store.root_key(3).unwrap().unwrap();
    assert_eq!(retired.retired, Some(350));
    assert!(
        retired.material.is_empty(),
        "a retired key's material is wiped"
    );
    assert_eq!(current_root_key(store).unwrap(), Some(k2.clone()));
    assert_eq!(
        ensure_root_key(store, 400).unwrap(),
        k2,
        "an active key exists"
    );

    // Ids keep increasing past retired keys.
    let k4 = store.insert_root_key(&[4; 32], 400).unwrap();
    assert_eq!(k4.id, 4);
    assert_eq!(current_root_key(store).unwrap(), Some(k4));
    assert_eq!(
        store
            .root_keys()
            .unwrap()
            .iter()
            .map(|k| k.id)
            .collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );

    // The last active key is never retired.
    for id in [1, 2] {
        assert_eq!(store.retire_root_key(id, 500).unwrap(), Retirement::Retired);
    }
    assert_eq!(
        store.retire_root_key(4, 500).unwrap(),
        Retirement::LastActive,
        "the last active key"
    );
    assert_eq!(current_root_key(store).unwrap().map(|k| k.id), Some(4));
    assert_eq!(ensure_root_key(store, 600).unwrap().id, 4);
    let k5 = store.insert_root_key(&[5; 32], 600).unwrap();
    assert_eq!(
        store.retire_root_key(4, 700).unwrap(),
        Retirement::Retired,
        "no longer the last"
    );
    assert_eq!(current_root_key(store).unwrap(), Some(k5));
    let retired: Vec<_> = store
        .root_keys()
        .unwrap()
        .iter()
        .map(|k| k.retired)
        .collect();
    assert_eq!(
        retired,
        vec![Some(500), Some(500), Some(350), Some(700), None]
    );
}

fn ensure_root_key_creates_the_first_key_once(store: &dyn Store) {
    let first = ensure_root_key(store, 42).unwrap();
    assert_eq!((first.id, first.created, first.retired), (1, 42, None));
    assert_eq!(first.material.len(), 32);
    assert_ne!(*first.material, vec![0; 32]);
    assert_eq!(ensure_root_key(store, 43).unwrap(), first);
    assert_eq!(store.root_keys().unwrap(), vec![first]);
}

const THREADS: usize = 4;
const OPS: usize = 25;

fn concurrent_bumps_lose_nothing(store: &dyn Store) {
    let k1 = store.insert_root_key(&[1; 32], 1).unwrap();
    let k2 = store.insert_root_key(&[2; 32], 2).unwrap();
    let user = store
        .create_user("alice", "h", &BTreeSet::new(), k1.id, 1, "")
        .unwrap();
    let mut seen: Vec<u64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let user = &user.id;
                scope.spawn(move || {
                    let key_id = if t % 2 == 0 { k1.id } else { k2.id };
                    (0..OPS)
                        .map(|_| {
                            let g = store
                                .bump_temporary_generation(user, key_id)
                                .unwrap()
                                .unwrap();
                            assert_eq!(g.key_id, key_id);
                            g.generation
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    seen.sort_unstable();
    let expected: Vec<u64> = (2..=(1 + THREADS * OPS) as u64).collect();
    assert_eq!(seen, expected, "every bump got its own generation");
    assert_eq!(
        store
            .temporary_generation(&user.id)
            .unwrap()
            .unwrap()
            .generation,
        (1 + THREADS * OPS) as u64
    );
}

fn concurrent_privilege_updates_lose_nothing(store: &dyn Store) {
    let key = key(store);
    let user = store
        .create_user("alice", "h", &set(&["oz_keep"]), key.id, 1, "")
        .unwrap();
    let owner = store
        .create_user("owner", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let space = store
        .create_space("s", &owner.id, &set(&["space_view"]), None)
        .unwrap();
    // A fresh member per round, so that every round races on the first grant (the insert).
    let members: Vec<String> = (0..OPS)
        .map(|i| {
            store
                .create_user(&format!("member{i}"), "h", &BTreeSet::new(), key.id, 1, "")
                .unwrap()
                .id
        })
        .collect();

    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (user, space, members) = (&user.id, &space.id, &members);
            scope.spawn(move || {
                for (i, member) in members.iter().enumerate() {
                    // Each thread grants its own privileges and revokes a shared one.
                    let updated = store
                        .update_oz_privileges(
                            user,
                            &set(&[&format!("oz_{t}_{i}")]),
                            &set(&["oz_shared"]),
                        )
                        .unwrap()
                        .unwrap();
                    assert!(updated.contains(&format!("oz_{t}_{i}")));
                    assert!(updated.contains("oz_keep"));
                    let privileges = store
                        .update_space_privileges(
                            space,
                            member,
                            &set(&[&format!("space_{t}")]),
                            &BTreeSet::new(),
                        )
                        .unwrap();
                    assert!(privileges.contains(&format!("space_{t}")));
                }
            });
        }
    });

    let privileges = store.user_by_id(&user.id).unwrap().unwrap().oz_privileges;
    assert_eq!(privileges.len(), 1 + THREADS * OPS, "{privileges:?}");
    for t in 0..THREADS {
        for i in 0..OPS {
            assert!(privileges.contains(&format!("oz_{t}_{i}")));
        }
    }
    let all_threads: BTreeSet<String> = (0..THREADS).map(|t| format!("space_{t}")).collect();
    for member in &members {
        assert_eq!(
            store.space_privileges(&space.id, member).unwrap(),
            Some(all_threads.clone())
        );
    }
}

fn concurrent_root_key_inserts_get_distinct_ids(store: &dyn Store) {
    const PER_THREAD: usize = 5;
    let mut ids: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                scope.spawn(move || {
                    (0..PER_THREAD)
                        .map(|i| {
                            let material = [(t * PER_THREAD + i) as u8; 32];
                            let key = store.insert_root_key(&material, 7).unwrap();
                            assert_eq!(*key.material, material.to_vec());
                            key.id
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    ids.sort_unstable();
    let expected: Vec<i64> = (1..=(THREADS * PER_THREAD) as i64).collect();
    assert_eq!(ids, expected);
    // Each id holds the material its insert returned.
    for key in store.root_keys().unwrap() {
        assert_eq!(key.material.len(), 32);
    }
}

fn provider(admin: &str, name: &str) -> Provider {
    Provider {
        id: random_hex(16).unwrap(),
        name: name.to_owned(),
        domain: "provider.example.com".to_owned(),
        admin_email: "admin@example.com".to_owned(),
        latitude: 50.0647,
        longitude: -19.945,
        admin: admin.to_owned(),
        created: 1_700_000_000,
    }
}

fn provider_token(provider: &Provider, name: &str) -> NamedToken {
    let mut t = token(&random_hex(16).unwrap(), name, &provider.id, 1);
    t.subject_type = SubjectKind::Provider;
    t
}

fn providers_and_space_support(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let space = store
        .create_space("s", &alice.id, &set(&["space_view"]), None)
        .unwrap();
    // A registration invite used once: registering consumes it with the provider.
    let mut invite = token(&random_hex(16).unwrap(), "register", &alice.id, key.id);
    invite.kind = "rop".to_owned();
    invite.usage_limit = Some(1);
    store.insert_named_token(&invite, None).unwrap();
    let p = provider(&alice.id, "one");
    let mut root = provider_token(&p, "root");
    root.key_id = key.id;
    store
        .register_provider(&p, Some(&invite.id), key.id, &root, None)
        .unwrap();
    assert_eq!(store.provider(&p.id).unwrap(), Some(p.clone()));
    assert_eq!(store.named_token(&root.id).unwrap(), Some(root.clone()));
    assert_eq!(
        store.named_token(&invite.id).unwrap().unwrap().usage_count,
        1
    );
    assert_eq!(
        store
            .temporary_generation(&p.id)
            .unwrap()
            .unwrap()
            .generation,
        1
    );
    // Used up: a second registration stores nothing.
    let second = provider(&alice.id, "two");
    let root2 = provider_token(&second, "root");
    assert!(matches!(
        store.register_provider(&second, Some(&invite.id), key.id, &root2, None),
        Err(StoreError::InviteUsedUp)
    ));
    assert_eq!(store.provider(&second.id).unwrap(), None);
    assert_eq!(store.named_token(&root2.id).unwrap(), None);
    assert_eq!(store.provider_ids().unwrap(), vec![p.id.clone()]);

    // Update, then support (once), list both ways, cease.
    let change = ProviderChange {
        name: Some("renamed".into()),
        latitude: Some(-33.5),
        longitude: None,
    };
    assert!(store.update_provider(&p.id, &change).unwrap());
    let read = store.provider(&p.id).unwrap().unwrap();
    assert_eq!(
        (read.name.as_str(), read.latitude, read.longitude),
        ("renamed", -33.5, -19.945)
    );
    assert!(!store.update_provider(&"0".repeat(32), &change).unwrap());
    store
        .support_space(&space.id, &p.id, 1024, None, 5)
        .unwrap();
    assert!(matches!(
        store.support_space(&space.id, &p.id, 1, None, 6),
        Err(StoreError::RelationExists)
    ));
    assert!(matches!(
        store.support_space(&"0".repeat(32), &p.id, 1, None, 6),
        Err(StoreError::Missing)
    ));
    assert_eq!(
        store.supporters_of(&space.id).unwrap(),
        vec![(p.id.clone(), 1024)]
    );
    assert_eq!(
        store.spaces_supported_by(&p.id).unwrap(),
        vec![(space.id.clone(), 1024)]
    );
    assert!(store.remove_support(&space.id, &p.id).unwrap());
    assert!(!store.remove_support(&space.id, &p.id).unwrap());

    // A support invite of limit 1: the conflicting second support does not use it up.
    let mut support = token(&random_hex(16).unwrap(), "support", &alice.id, key.id);
    support.kind = "ssp".to_owned();
    support.usage_limit = Some(1);
    store.insert_named_token(&support, None).unwrap();
    store.support_space(&space.id, &p.id, 7, None, 7).unwrap();
    assert!(matches!(
        store.support_space(&space.id, &p.id, 7, Some(&support.id), 8),
        Err(StoreError::RelationExists)
    ));
    assert_eq!(
        store.named_token(&support.id).unwrap().unwrap().usage_count,
        0
    );

    // Removing the provider removes its supports, tokens and generation.
    assert!(store.delete_provider(&p.id).unwrap());
    assert_eq!(store.provider(&p.id).unwrap(), None);
    assert!(store.supporters_of(&space.id).unwrap().is_empty());
    assert_eq!(store.named_token(&root.id).unwrap(), None);
    assert_eq!(store.temporary_generation(&p.id).unwrap(), None);
    assert!(!store.delete_provider(&p.id).unwrap());
}

fn provider_quota_and_why_an_invite_is_not_consumed(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    // Two providers per admin: the third registration is refused and counts no use.
    let mut invite = token(&random_hex(16).unwrap(), "register", &alice.id, key.id);
    invite.kind = "rop".to_owned();
    store.insert_named_token(&invite, None).unwrap();
    for i in 0..2 {
        let p = provider(&alice.id, &format!("p{i}"));
        let root = provider_token(&p, "root");
        store
            .register_provider(&p, Some(&invite.id), key.id, &root, Some(2))
            .unwrap();
    }
    let third = provider(&alice.id, "p2");
    let root = provider_token(&third, "root");
    assert!(matches!(
        store.register_provider(&third, Some(&invite.id), key.id, &root, Some(2)),
        Err(StoreError::QuotaExceeded)
    ));
    assert_eq!(
        store.named_token(&invite.id).unwrap().unwrap().usage_count,
        2
    );
    assert_eq!(store.provider(&third.id).unwrap(), None);
    // Revoked and deleted invites say so (not "used up").
    assert!(store.set_named_token_revoked(&invite.id, true).unwrap());
    assert!(matches!(
        store.register_provider(&third, Some(&invite.id), key.id, &root, None),
        Err(StoreError::InviteRevoked)
    ));
    assert!(store.delete_named_token(&invite.id).unwrap());
    assert!(matches!(
        store.register_provider(&third, Some(&invite.id), key.id, &root, None),
        Err(StoreError::Missing)
    ));
}

fn concurrent_registrations_with_a_single_use_invite(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let mut invite = token(&random_hex(16).unwrap(), "register", &alice.id, key.id);
    invite.kind = "rop".to_owned();
    invite.usage_limit = Some(1);
    store.insert_named_token(&invite, None).unwrap();
    let barrier = std::sync::Barrier::new(QUOTA_THREADS);
    let registered: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..QUOTA_THREADS)
            .map(|i| {
                let (invite, barrier, alice) = (&invite, &barrier, &alice);
                scope.spawn(move || {
                    let p = provider(&alice.id, &format!("p{i}"));
                    let mut root = provider_token(&p, "root");
                    root.key_id = key.id;
                    barrier.wait();
                    match store.register_provider(&p, Some(&invite.id), key.id, &root, None) {
                        Ok(()) => 1,
                        Err(StoreError::InviteUsedUp) => 0,
                        Err(e) => panic!("{e}"),
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(registered, 1);
    assert_eq!(store.provider_ids().unwrap().len(), 1);
    assert_eq!(
        store.named_token(&invite.id).unwrap().unwrap().usage_count,
        1
    );
}

fn named_token_updates_and_deletes(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let laptop = token(&random_hex(16).unwrap(), "laptop", &alice.id, key.id);
    let phone = token(&random_hex(16).unwrap(), "phone", &alice.id, key.id);
    let bobs = token(&random_hex(16).unwrap(), "laptop", &bob.id, key.id);
    for t in [&laptop, &phone, &bobs] {
        store.insert_named_token(t, None).unwrap();
    }
    assert_eq!(
        store.all_named_tokens().unwrap().len(),
        3,
        "every subject's tokens"
    );

    // Each field alone, then all three; the others are kept.
    let rename = NamedTokenChange {
        name: Some("desk".to_owned()),
        ..NamedTokenChange::default()
    };
    assert!(store.update_named_token(&laptop.id, &rename).unwrap());
    let read = store.named_token(&laptop.id).unwrap().unwrap();
    assert_eq!((read.name.as_str(), read.revoked), ("desk", false));
    assert_eq!(read.custom_metadata, "{}");
    let all = NamedTokenChange {
        name: Some("laptop".to_owned()),
        custom_metadata: Some(r#"{"vm":1}"#.to_owned()),
        revoked: Some(true),
    };
    assert!(store.update_named_token(&laptop.id, &all).unwrap());
    let read = store.named_token(&laptop.id).unwrap().unwrap();
    assert_eq!(
        (
            read.name.as_str(),
            read.custom_metadata.as_str(),
            read.revoked
        ),
        ("laptop", r#"{"vm":1}"#, true)
    );
    // A name the subject already uses is taken (another subject's is not); nothing changes.
    let clash = NamedTokenChange {
        name: Some("phone".to_owned()),
        revoked: Some(false),
        ..NamedTokenChange::default()
    };
    assert!(matches!(
        store.update_named_token(&laptop.id, &clash),
        Err(StoreError::TokenNameTaken)
    ));
    assert!(store.named_token(&laptop.id).unwrap().unwrap().revoked);
    assert!(!store.update_named_token(&"0".repeat(32), &rename).unwrap());

    // Deleting one, then all of a subject's; the name is free again.
    assert!(store.delete_named_token(&phone.id).unwrap());
    assert!(!store.delete_named_token(&phone.id).unwrap());
    assert_eq!(store.named_token(&phone.id).unwrap(), None);
    store
        .insert_named_token(
            &token(&random_hex(16).unwrap(), "phone", &alice.id, key.id),
            None,
        )
        .unwrap();
    assert_eq!(store.delete_named_tokens_of(&alice.id).unwrap(), 2);
    assert!(store.named_tokens_of(&alice.id).unwrap().is_empty());
    assert_eq!(store.all_named_tokens().unwrap(), vec![bobs]);
}

fn invite_usage_is_counted_to_its_limit(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let mut twice = token(&random_hex(16).unwrap(), "twice", &alice.id, key.id);
    twice.kind = "rop".to_owned();
    twice.usage_limit = Some(2);
    let mut unlimited = token(&random_hex(16).unwrap(), "any", &alice.id, key.id);
    unlimited.kind = "ssp".to_owned();
    store.insert_named_token(&twice, None).unwrap();
    store.insert_named_token(&unlimited, None).unwrap();

    assert_eq!(
        store.consume_invite(&twice.id).unwrap(),
        Consumed::Counted(1)
    );
    assert_eq!(
        store.consume_invite(&twice.id).unwrap(),
        Consumed::Counted(2)
    );
    assert_eq!(store.consume_invite(&twice.id).unwrap(), Consumed::Refused);
    assert_eq!(
        store.named_token(&twice.id).unwrap().unwrap().usage_count,
        2
    );
    for n in 1..=5 {
        assert_eq!(
            store.consume_invite(&unlimited.id).unwrap(),
            Consumed::Counted(n)
        );
    }
    // A revoked token is not consumed, and counts nothing.
    assert!(store.set_named_token_revoked(&unlimited.id, true).unwrap());
    assert_eq!(
        store.consume_invite(&unlimited.id).unwrap(),
        Consumed::Refused
    );
    assert_eq!(
        store
            .named_token(&unlimited.id)
            .unwrap()
            .unwrap()
            .usage_count,
        5
    );
    assert_eq!(
        store.consume_invite(&"0".repeat(32)).unwrap(),
        Consumed::Missing
    );
}

fn concurrent_consumers_of_the_last_use(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    // Several rounds: tokens of limit 1 and 3, consumed by more threads than uses at once.
    for (round, limit) in [1u64, 1, 3, 1].into_iter().enumerate() {
        let mut invite = token(
            &random_hex(16).unwrap(),
            &format!("r{round}"),
            &alice.id,
            key.id,
        );
        invite.kind = "rop".to_owned();
        invite.usage_limit = Some(limit);
        store.insert_named_token(&invite, None).unwrap();
        let barrier = std::sync::Barrier::new(QUOTA_THREADS);
        let counted: Vec<u64> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..QUOTA_THREADS)
                .map(|_| {
                    let (invite, barrier) = (&invite, &barrier);
                    scope.spawn(move || {
                        barrier.wait();
                        match store.consume_invite(&invite.id).unwrap() {
                            Consumed::Counted(n) => Some(n),
                            Consumed::Refused => None,
                            Consumed::Missing => panic!("the token vanished"),
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                .filter_map(|h| h.join().unwrap())
                .collect()
        });
        let mut counted = counted;
        counted.sort_unstable();
        assert_eq!(counted, (1..=limit).collect::<Vec<_>>(), "round {round}");
        let stored = store.named_token(&invite.id).unwrap().unwrap();
        assert_eq!(stored.usage_count, limit);
    }
}

fn named_token_caveats_and_parent(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let mut child = token(&random_hex(16).unwrap(), "child", &alice.id, key.id);
    child.caveats = vec![
        "time < 1900000000".to_owned(),
        "interface = rest".to_owned(),
        // Quotes, backslashes, non-ASCII and an empty caveat survive the JSON column.
        "name = \"a\\b\" é".to_owned(),
        String::new(),
    ];
    child.parent = Some("0123abcd parent token".to_owned());
    store.insert_named_token(&child, None).unwrap();
    let read = store.named_token(&child.id).unwrap().unwrap();
    assert_eq!(read, child);
    assert_eq!(read.caveats.len(), 4, "in order, none dropped");

    // No caveats and no parent (created with a password).
    let plain = token(&random_hex(16).unwrap(), "plain", &alice.id, key.id);
    store.insert_named_token(&plain, None).unwrap();
    let read = store.named_token(&plain.id).unwrap().unwrap();
    assert!(read.caveats.is_empty());
    assert_eq!(read.parent, None);
}

fn named_tokens_of_orders_and_isolates(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    assert!(store.named_tokens_of(&alice.id).unwrap().is_empty());
    // Inserted out of order: sorted by creation time, then id.
    let specs = [
        ("t3", 300, "cc"),
        ("t1", 100, "bb"),
        ("t2", 200, "aa"),
        ("t0", 100, "aa"),
    ];
    for (name, created, id_prefix) in specs {
        let mut t = token(
            &format!("{id_prefix}{}", random_hex(15).unwrap()),
            name,
            &alice.id,
            key.id,
        );
        t.created = created;
        t.caveats = vec![format!("caveat of {name}")];
        store.insert_named_token(&t, None).unwrap();
    }
    let bobs = token(&random_hex(16).unwrap(), "t1", &bob.id, key.id);
    store.insert_named_token(&bobs, None).unwrap();

    let names: Vec<String> = store
        .named_tokens_of(&alice.id)
        .unwrap()
        .into_iter()
        .map(|t| {
            assert_eq!(t.subject, alice.id);
            assert_eq!(t.caveats, vec![format!("caveat of {}", t.name)]);
            t.name
        })
        .collect();
    assert_eq!(names, ["t0", "t1", "t2", "t3"]);
    assert_eq!(store.named_tokens_of(&bob.id).unwrap(), vec![bobs]);
    assert!(store.named_tokens_of(&"0".repeat(32)).unwrap().is_empty());
}

fn named_token_quota(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    // Below the limit: allowed.
    for i in 0..3 {
        let t = token(
            &random_hex(16).unwrap(),
            &format!("t{i}"),
            &alice.id,
            key.id,
        );
        store.insert_named_token(&t, Some(3)).unwrap();
    }
    // At the limit: refused, and nothing stored.
    let fourth = token(&random_hex(16).unwrap(), "t3", &alice.id, key.id);
    assert!(matches!(
        store.insert_named_token(&fourth, Some(3)),
        Err(StoreError::QuotaExceeded)
    ));
    assert_eq!(store.named_token(&fourth.id).unwrap(), None);
    assert_eq!(store.named_tokens_of(&alice.id).unwrap().len(), 3);
    // Revoked tokens still count.
    let first = store.named_tokens_of(&alice.id).unwrap()[0].id.clone();
    assert!(store.set_named_token_revoked(&first, true).unwrap());
    assert!(matches!(
        store.insert_named_token(&fourth, Some(3)),
        Err(StoreError::QuotaExceeded)
    ));
    // A larger quota, or none, lets it in.
    store.insert_named_token(&fourth, Some(4)).unwrap();
    let fifth = token(&random_hex(16).unwrap(), "t4", &alice.id, key.id);
    store.insert_named_token(&fifth, None).unwrap();
    // A quota of zero refuses everything; other subjects have their own count.
    let b0 = token(&random_hex(16).unwrap(), "t0", &bob.id, key.id);
    assert!(matches!(
        store.insert_named_token(&b0, Some(0)),
        Err(StoreError::QuotaExceeded)
    ));
    store.insert_named_token(&b0, Some(1)).unwrap();
    // A name clash under the quota is still a name clash.
    let clash = token(&random_hex(16).unwrap(), "t0", &bob.id, key.id);
    assert!(matches!(
        store.insert_named_token(&clash, Some(10)),
        Err(StoreError::TokenNameTaken)
    ));
    assert_eq!(
        StoreError::QuotaExceeded.to_string(),
        "the quota is exhausted"
    );
}

const QUOTA_THREADS: usize = 8;
const QUOTA: u64 = 3;

fn concurrent_named_token_inserts_respect_the_quota(store: &dyn Store) {
    let key = key(store);
    let users: Vec<String> = (0..2)
        .map(|i| {
            store
                .create_user(&format!("user{i}"), "h", &BTreeSet::new(), key.id, 1, "")
                .unwrap()
                .id
        })
        .collect();
    // Every thread tries several inserts for each user, all at once.
    let barrier = std::sync::Barrier::new(QUOTA_THREADS);
    let accepted: usize = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..QUOTA_THREADS)
            .map(|t| {
                let (users, barrier) = (&users, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    let mut accepted = 0;
                    for i in 0..3 {
                        for user in users {
                            let t =
                                token(&random_hex(16).unwrap(), &format!("t{t}_{i}"), user, key.id);
                            match store.insert_named_token(&t, Some(QUOTA)) {
                                Ok(()) => accepted += 1,
                                Err(StoreError::QuotaExceeded) => {}
                                Err(e) => panic!("{e}"),
                            }
                        }
                    }
                    accepted
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(accepted, 2 * QUOTA as usize);
    for user in &users {
        assert_eq!(store.named_tokens_of(user).unwrap().len(), QUOTA as usize);
    }
}

fn space_quota(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let bob = store
        .create_user("bob", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let privileges = set(&["space_view"]);
    let first = store
        .create_space("one", &alice.id, &privileges, Some(2))
        .unwrap();
    store
        .create_space("two", &alice.id, &privileges, Some(2))
        .unwrap();
    assert!(matches!(
        store.create_space("three", &alice.id, &privileges, Some(2)),
        Err(StoreError::QuotaExceeded)
    ));
    // Only spaces alice created count, not those she was added to.
    store
        .update_space_privileges(&first.id, &bob.id, &privileges, &BTreeSet::new())
        .unwrap();
    store
        .create_space("bob's", &bob.id, &privileges, Some(1))
        .unwrap();
    assert!(matches!(
        store.create_space("bob's second", &bob.id, &privileges, Some(1)),
        Err(StoreError::QuotaExceeded)
    ));
    // Without a quota, or a larger one, it goes on.
    store
        .create_space("three", &alice.id, &privileges, None)
        .unwrap();
    store
        .create_space("four", &alice.id, &privileges, Some(4))
        .unwrap();
    assert!(matches!(
        store.create_space("five", &alice.id, &privileges, Some(4)),
        Err(StoreError::QuotaExceeded)
    ));
}

fn concurrent_space_creations_respect_the_quota(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    let barrier = std::sync::Barrier::new(QUOTA_THREADS);
    let created: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..QUOTA_THREADS)
            .map(|t| {
                let (alice, barrier) = (&alice.id, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    (0..2)
                        .filter_map(|i| {
                            match store.create_space(
                                &format!("s{t}_{i}"),
                                alice,
                                &set(&["space_view"]),
                                Some(QUOTA),
                            ) {
                                Ok(space) => Some(space.id),
                                Err(StoreError::QuotaExceeded) => None,
                                Err(e) => panic!("{e}"),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    assert_eq!(created.len(), QUOTA as usize);
}

fn retired_key_material_is_wiped(store: &dyn Store) {
    let k1 = store.insert_root_key(&[0x11; 32], 1).unwrap();
    let k2 = store.insert_root_key(&[0x22; 32], 2).unwrap();
    assert_eq!(
        store.retire_root_key(k1.id, 3).unwrap(),
        Retirement::Retired
    );
    let retired = store.root_key(k1.id).unwrap().unwrap();
    assert_eq!(retired.retired, Some(3));
    assert!(retired.material.is_empty());
    let all = store.root_keys().unwrap();
    assert!(all[0].material.is_empty());
    assert_eq!(all[1], k2, "the active key keeps its material");
    // A refused retirement (the last active key) wipes nothing.
    assert_eq!(
        store.retire_root_key(k2.id, 4).unwrap(),
        Retirement::LastActive
    );
    assert_eq!(
        *store.root_key(k2.id).unwrap().unwrap().material,
        vec![0x22; 32]
    );
}

/// The way the server calls the store: from `spawn_blocking` inside a multi-thread runtime,
/// more calls at once than the PostgreSQL pool has connections.
fn called_from_spawn_blocking(store: Arc<dyn Store>) {
    const TASKS: usize = 16;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let key = store.insert_root_key(&[9; 32], 1).unwrap();
    let users = runtime.block_on(async {
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let store = Arc::clone(&store);
                let key = key.clone();
                tokio::spawn(async move {
                    tokio::task::spawn_blocking(move || {
                        let user = store
                            .create_user(&format!("user{i}"), "h", &BTreeSet::new(), key.id, 1, "")
                            .unwrap();
                        let g = store.bump_temporary_generation(&user.id, key.id).unwrap();
                        assert_eq!(g.map(|g| g.generation), Some(2));
                        assert_eq!(current_root_key(&*store).unwrap(), Some(key.clone()));
                        user
                    })
                    .await
                    .unwrap()
                })
            })
            .collect();
        let mut users = Vec::new();
        for task in tasks {
            users.push(task.await.unwrap());
        }
        users
    });
    for user in users {
        assert_eq!(store.user_by_username(&user.username).unwrap(), Some(user));
    }
    drop(runtime);
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL only

/// Two stores (two pools: two server instances) on one schema see each other's writes, and
/// their concurrent writes lose nothing.
#[test]
fn postgres_two_instances_share_one_database() {
    let Some(schema) = PgTestSchema::new() else {
        return;
    };
    let a = connect(&schema);
    let b = connect(&schema);

    let key = a.insert_root_key(&[1; 32], 10).unwrap();
    assert_eq!(b.root_key(key.id).unwrap(), Some(key.clone()));
    assert_eq!(b.insert_root_key(&[2; 32], 20).unwrap().id, 2);
    assert_eq!(current_root_key(&a).unwrap().unwrap().id, 2);

    let alice = a
        .create_user("alice", "h", &set(&["oz_a"]), key.id, 1, "")
        .unwrap();
    assert_eq!(b.user_by_username("alice").unwrap(), Some(alice.clone()));
    assert!(matches!(
        b.create_user("alice", "h", &BTreeSet::new(), key.id, 1, ""),
        Err(StoreError::UsernameTaken)
    ));
    b.update_oz_privileges(&alice.id, &set(&["oz_b"]), &BTreeSet::new())
        .unwrap();
    assert_eq!(
        a.user_by_id(&alice.id).unwrap().unwrap().oz_privileges,
        set(&["oz_a", "oz_b"])
    );

    let space = b
        .create_space("shared", &alice.id, &set(&["space_view"]), None)
        .unwrap();
    assert_eq!(a.space_by_id(&space.id).unwrap(), Some(space.clone()));
    let t = token(&random_hex(16).unwrap(), "t", &alice.id, key.id);
    a.insert_named_token(&t, None).unwrap();
    assert!(matches!(
        b.insert_named_token(
            &token(&random_hex(16).unwrap(), "t", &alice.id, key.id),
            None
        ),
        Err(StoreError::TokenNameTaken)
    ));
    assert!(b.set_named_token_revoked(&t.id, true).unwrap());
    assert!(a.named_token(&t.id).unwrap().unwrap().revoked);
    assert_eq!(a.retire_root_key(1, 30).unwrap(), Retirement::Retired);
    assert_eq!(
        b.retire_root_key(1, 31).unwrap(),
        Retirement::AlreadyRetired
    );

    // Concurrent writes through both instances.
    let stores: [&dyn Store; 2] = [&a, &b];
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (store, alice, space) = (stores[t % 2], &alice.id, &space.id);
            scope.spawn(move || {
                for i in 0..OPS {
                    store.bump_temporary_generation(alice, 2).unwrap().unwrap();
                    store
                        .update_oz_privileges(
                            alice,
                            &set(&[&format!("oz_{t}_{i}")]),
                            &BTreeSet::new(),
                        )
                        .unwrap()
                        .unwrap();
                    store
                        .update_space_privileges(
                            space,
                            alice,
                            &set(&[&format!("s_{t}_{i}")]),
                            &BTreeSet::new(),
                        )
                        .unwrap();
                    if i % 5 == 0 {
                        store.insert_root_key(&[t as u8; 32], 40).unwrap();
                    }
                }
            });
        }
    });
    let generation = b.temporary_generation(&alice.id).unwrap().unwrap();
    assert_eq!(generation.generation, (1 + THREADS * OPS) as u64);
    assert_eq!(generation.key_id, 2);
    assert_eq!(
        a.user_by_id(&alice.id)
            .unwrap()
            .unwrap()
            .oz_privileges
            .len(),
        2 + THREADS * OPS
    );
    assert_eq!(
        b.space_privileges(&space.id, &alice.id)
            .unwrap()
            .unwrap()
            .len(),
        1 + THREADS * OPS
    );
    let ids: Vec<i64> = a.root_keys().unwrap().iter().map(|k| k.id).collect();
    let expected: Vec<i64> = (1..=(2 + THREADS * OPS / 5) as i64).collect();
    assert_eq!(ids, expected);

    // A third instance through `connect` (the URL's own search_path) sees the same data.
    let separator = if schema.url.contains('?') { '&' } else { '?' };
    let url = format!(
        "{}{separator}options=-c%20search_path%3D{}",
        schema.url, schema.name
    );
    let c = PostgresStore::connect(&url, sealed()).unwrap();
    assert_eq!(c.user_by_username("alice").unwrap().unwrap().id, alice.id);
    drop((a, b, c));
}

/// The tables live in the store's schema: another schema starts empty.
#[test]
fn postgres_schemas_are_isolated() {
    let Some(one) = PgTestSchema::new() else {
        return;
    };
    let two = PgTestSchema::new().expect("the URL is set");
    let a = connect(&one);
    let b = connect(&two);
    let key = a.insert_root_key(&[1; 32], 1).unwrap();
    a.create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    assert!(b.root_keys().unwrap().is_empty());
    assert_eq!(b.user_by_username("alice").unwrap(), None);
    // Connecting again to an existing schema keeps its data.
    let a2 = connect(&one);
    assert!(a2.user_by_username("alice").unwrap().is_some());
    // An unsafe schema name is refused before anything is sent.
    for bad in ["Public", "x; DROP TABLE users", "a\"b", ""] {
        assert!(matches!(
            PostgresStore::connect_in_schema(&one.url, bad, sealed()),
            Err(StoreError::Backend(_))
        ));
    }
}

/// Errors carry no key material, even when PostgreSQL would quote the failing row.
#[test]
fn postgres_errors_never_contain_key_material() {
    let Some(schema) = PgTestSchema::new() else {
        return;
    };
    let store = connect(&schema);
    let mut client = ::postgres::Client::connect(&schema.url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "ALTER TABLE \"{}\".root_keys ADD CONSTRAINT material_short CHECK (length(material) < 8)",
            schema.name
        ))
        .unwrap();
    drop(client);
    let material = [0xab_u8; 32];
    let text = match store.insert_root_key(&material, 1) {
        Err(StoreError::Backend(text)) => text,
        other => panic!("expected a backend error, got {other:?}"),
    };
    assert!(text.contains("23514"), "a check violation: {text}");
    assert!(!text.contains(&hex::encode(material)), "{text}");
    assert!(!text.contains("abab"), "{text}");
    // The Debug form shows no credentials either.
    let debug = format!("{store:?}");
    assert!(debug.contains(&schema.name), "{debug}");
    if let Some(password) = url_password(&schema.url) {
        assert!(!debug.contains(password), "{debug}");
    }
}

fn url_password(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let userinfo = rest.split_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then_some(password)
}

/// The server's last `Arc<dyn Store>` may be dropped on a tokio worker thread (where the
/// synchronous client must not block): that must not panic.
#[test]
fn postgres_store_dropped_inside_the_runtime() {
    let Some(schema) = PgTestSchema::new() else {
        return;
    };
    let store: Arc<dyn Store> = Arc::new(connect(&schema));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime
        .block_on(async move {
            let store = tokio::spawn(async move {
                let key = tokio::task::spawn_blocking({
                    let store = Arc::clone(&store);
                    move || store.insert_root_key(&[3; 32], 3).unwrap()
                })
                .await
                .unwrap();
                assert_eq!(key.id, 1);
                store
            })
            .await
            .unwrap();
            // The last reference, dropped on a runtime thread.
            tokio::spawn(async move { drop(store) }).await
        })
        .unwrap();
    drop(runtime);
    // The connections were closed (on another thread) without trouble; the schema drops next.
}

// ---------------------------------------------------------------------------------------------
// Upgrades

/// The tables as the first release created them (no `spaces.creator`, `named_tokens.caveats`,
/// `named_tokens.parent`).
const OLD_SCHEMA: &str = "
CREATE TABLE root_keys (id BIGINT PRIMARY KEY, material TEXT NOT NULL, created BIGINT NOT NULL,
    retired BIGINT);
CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL, oz_privileges TEXT NOT NULL);
CREATE TABLE spaces (id TEXT PRIMARY KEY, name TEXT NOT NULL);
CREATE TABLE named_tokens (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
    subject TEXT NOT NULL REFERENCES users(id), target TEXT NOT NULL,
    key_id BIGINT NOT NULL REFERENCES root_keys(id), revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL, UNIQUE (subject, name));
INSERT INTO root_keys VALUES (1, '0101010101010101010101010101010101010101010101010101010101010101', 5, NULL);
INSERT INTO users VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'alice', 'h', '');
INSERT INTO spaces VALUES ('bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 'old space');
INSERT INTO named_tokens VALUES ('cccccccccccccccccccccccccccccccc', 'old', 'act',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', '', 1, FALSE, 7);
INSERT INTO named_tokens VALUES ('dddddddddddddddddddddddddddddddd', 'seed invite', 'rop',
    'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 1, FALSE, 8);
CREATE TABLE temporary_generations (user_id TEXT PRIMARY KEY REFERENCES users(id),
    generation BIGINT NOT NULL, key_id BIGINT NOT NULL REFERENCES root_keys(id));
INSERT INTO temporary_generations VALUES ('aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 4, 1);
";

fn check_upgraded(store: &dyn Store) {
    let alice = "a".repeat(32);
    // The old plain root key reads in a sealed store (the migration path).
    assert_eq!(*store.root_key(1).unwrap().unwrap().material, vec![1; 32]);
    let old = store.named_token(&"c".repeat(32)).unwrap().unwrap();
    assert_eq!((old.name.as_str(), old.created), ("old", 7));
    let old_subject_type = old.subject_type;
    assert!(old.caveats.is_empty());
    assert_eq!(old.parent, None);
    // The first release's seed invites were single-use: they stay so (not unlimited).
    let seed = store.named_token(&"d".repeat(32)).unwrap().unwrap();
    assert_eq!((seed.usage_limit, seed.usage_count), (Some(1), 0));
    assert_eq!(
        store.consume_invite(&seed.id).unwrap(),
        Consumed::Counted(1)
    );
    assert_eq!(store.consume_invite(&seed.id).unwrap(), Consumed::Refused);
    let seed = store.named_token(&seed.id).unwrap().unwrap();
    assert_eq!(store.named_tokens_of(&alice).unwrap(), vec![old, seed]);
    assert_eq!(
        store
            .temporary_generation(&alice)
            .unwrap()
            .unwrap()
            .generation,
        4
    );
    // The old space has no creator: it does not count against alice's quota.
    store
        .create_space("new", &alice, &set(&["space_view"]), Some(1))
        .unwrap();
    let mut t = token(&random_hex(16).unwrap(), "new", &alice, 1);
    t.caveats = vec!["c".into()];
    store.insert_named_token(&t, Some(3)).unwrap();
    assert_eq!(store.named_token(&t.id).unwrap(), Some(t));
    assert_eq!(old_subject_type, SubjectKind::User);
    // The first release tied token subjects to users: a provider's root token and
    // generation are stored now.
    let provider = provider(&alice, "upgraded");
    let root = provider_token(&provider, "root");
    store
        .register_provider(&provider, None, 1, &root, None)
        .unwrap();
    assert_eq!(store.named_token(&root.id).unwrap(), Some(root));
    assert_eq!(
        store
            .temporary_generation(&provider.id)
            .unwrap()
            .unwrap()
            .generation,
        1
    );
}

#[test]
fn sqlite_database_of_an_older_version_is_upgraded() {
    let backend = sqlite_backend();
    let dir = backend._dir.as_ref().unwrap().0.clone();
    drop(backend.store);
    let old_dir = dir.with_extension("old");
    let _cleanup = TempDir(old_dir.clone());
    private_dir(&old_dir);
    let conn = rusqlite::Connection::open(old_dir.join(SQLITE_FILE)).unwrap();
    conn.execute_batch(OLD_SCHEMA).unwrap();
    drop(conn);
    // The older version left the file 0644; an operator runs `chmod 600` as told.
    {
        use std::os::unix::fs::PermissionsExt;
        let file = old_dir.join(SQLITE_FILE);
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let store = SqliteStore::open(&old_dir, sealed()).unwrap();
    check_upgraded(&store);
    drop(store);
    // Opening it again changes nothing.
    let store = SqliteStore::open(&old_dir, sealed()).unwrap();
    assert_eq!(store.named_tokens_of(&"a".repeat(32)).unwrap().len(), 3);
    let seed = store.named_token(&"d".repeat(32)).unwrap().unwrap();
    assert_eq!((seed.usage_limit, seed.usage_count), (Some(1), 1));
}

#[test]
fn postgres_database_of_an_older_version_is_upgraded() {
    let Some(schema) = PgTestSchema::new() else {
        return;
    };
    let mut client = ::postgres::Client::connect(&schema.url, ::postgres::NoTls).unwrap();
    client
        .batch_execute(&format!(
            "CREATE SCHEMA \"{0}\"; SET search_path TO \"{0}\"; {OLD_SCHEMA}",
            schema.name
        ))
        .unwrap();
    drop(client);
    check_upgraded(&connect(&schema));
    let again = connect(&schema);
    assert_eq!(again.named_tokens_of(&"a".repeat(32)).unwrap().len(), 3);
    let seed = again.named_token(&"d".repeat(32)).unwrap().unwrap();
    assert_eq!((seed.usage_limit, seed.usage_count), (Some(1), 1));
}

// ---------------------------------------------------------------------------------------------
// Root keys at rest

/// Opens a store at a [`Place`].
type OpenStore = dyn Fn(KeyProtection) -> Result<Box<dyn Store>, StoreError>;

/// One place (a SQLite directory, a PostgreSQL schema) opened as often as wanted, with a way to
/// read the stored `material` column directly.
struct Place {
    open: Box<OpenStore>,
    raw_material: Box<dyn Fn(i64) -> String>,
    _dir: Option<TempDir>,
    _schema: Option<PgTestSchema>,
}

fn sqlite_place() -> Place {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!(
        "macaroon-mint-store-place-{}-{n}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let (open_dir, raw_dir) = (dir.clone(), dir.clone());
    Place {
        open: Box::new(move |protection| {
            Ok(Box::new(SqliteStore::open(&open_dir, protection)?) as Box<dyn Store>)
        }),
        raw_material: Box::new(move |id| {
            let conn = rusqlite::Connection::open(raw_dir.join(SQLITE_FILE)).unwrap();
            conn.query_row(
                "SELECT material FROM root_keys WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .unwrap()
        }),
        _dir: Some(TempDir(dir)),
        _schema: None,
    }
}

fn postgres_place() -> Option<Place> {
    let schema = PgTestSchema::new()?;
    let (url, name) = (schema.url.clone(), schema.name.clone());
    let (raw_url, raw_name) = (url.clone(), name.clone());
    Some(Place {
        open: Box::new(move |protection| {
            Ok(
                Box::new(PostgresStore::connect_in_schema(&url, &name, protection)?)
                    as Box<dyn Store>,
            )
        }),
        raw_material: Box::new(move |id| {
            let mut client = ::postgres::Client::connect(&raw_url, ::postgres::NoTls).unwrap();
            let query = format!("SELECT material FROM \"{raw_name}\".root_keys WHERE id = $1");
            client.query_one(&query, &[&id]).unwrap().get(0)
        }),
        _dir: None,
        _schema: Some(schema),
    })
}

fn is_sealed_error(result: Result<impl std::fmt::Debug, StoreError>, id: i64) -> bool {
    match result {
        Err(e) => {
            let text = e.to_string();
            text.contains(&format!(
                "root key {id} is sealed: wrong or missing master key"
            ))
        }
        Ok(_) => false,
    }
}

fn keys_at_rest(place: &Place) {
    let material = [0xc3_u8; 32];
    let plaintext = hex::encode(material);
    let store = (place.open)(sealed()).unwrap();
    let k1 = store.insert_root_key(&material, 10).unwrap();
    // Sealed in the database: not the plaintext; read back whole.
    let raw = (place.raw_material)(k1.id);
    assert!(raw.starts_with("v1:"), "{raw}");
    assert!(!raw.contains(&plaintext) && !raw.contains("c3c3"), "{raw}");
    assert_eq!(store.root_key(k1.id).unwrap(), Some(k1.clone()));
    drop(store);

    // A wrong master key, or none: a clear error, never the material.
    let other = KeyProtection::Sealed(MasterKey::from_bytes([0x99; 32]));
    for protection in [other, KeyProtection::Plain] {
        let store = (place.open)(protection).unwrap();
        let result = store.root_key(k1.id);
        if let Err(e) = &result {
            assert!(!e.to_string().contains("c3c3"), "{e}");
        }
        assert!(is_sealed_error(result, k1.id));
        assert!(is_sealed_error(store.root_keys(), k1.id));
        // So the service cannot start with it.
        assert!(is_sealed_error(ensure_root_key(&*store, 20), k1.id));
    }

    // Plain mode stores plain hex and works on its own keys.
    let plain = (place.open)(KeyProtection::Plain).unwrap();
    let legacy = [0x5e_u8; 32];
    let k2 = plain.insert_root_key(&legacy, 30).unwrap();
    assert_eq!((place.raw_material)(k2.id), hex::encode(legacy));
    assert_eq!(plain.root_key(k2.id).unwrap(), Some(k2.clone()));

    // A sealed store reads both: its sealed keys and the legacy plain ones.
    let store = (place.open)(sealed()).unwrap();
    assert_eq!(store.root_keys().unwrap(), vec![k1.clone(), k2.clone()]);
    // Retiring the sealed key wipes it: then the plain store reads everything again.
    assert_eq!(
        store.retire_root_key(k1.id, 40).unwrap(),
        Retirement::Retired
    );
    assert_eq!((place.raw_material)(k1.id), "");
    let keys = plain.root_keys().unwrap();
    assert!(keys[0].material.is_empty() && keys[0].retired == Some(40));
    assert_eq!(keys[1], k2);
}

#[test]
fn sqlite_keys_at_rest() {
    keys_at_rest(&sqlite_place());
}

#[test]
fn postgres_keys_at_rest() {
    if let Some(place) = postgres_place() {
        keys_at_rest(&place);
    }
}

// ---------------------------------------------------------------------------------------------
// SQLite file permissions

fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn sidecar(dir: &std::path::Path, suffix: &str) -> PathBuf {
    dir.join(format!("{SQLITE_FILE}{suffix}"))
}

#[test]
fn sqlite_files_are_private() {
    let place = sqlite_place();
    let dir = place._dir.as_ref().unwrap().0.clone();
    let store = (place.open)(sealed()).unwrap();
    store.insert_root_key(&[1; 32], 1).unwrap();
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(SQLITE_FILE)), 0o600);
    // WAL mode: the -wal and -shm files exist while the store is open.
    for suffix in ["-wal", "-shm"] {
        assert_eq!(mode(&sidecar(&dir, suffix)), 0o600, "{suffix}");
    }
    drop(store);
}

#[test]
fn sqlite_refuses_a_shared_directory() {
    use std::os::unix::fs::PermissionsExt;
    let place = sqlite_place();
    let dir = place._dir.as_ref().unwrap().0.clone();
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = match (place.open)(sealed()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a 0755 data directory was accepted"),
    };
    assert!(
        text.contains("accessible by other users")
            && text.contains(&format!("chmod 700 {}", dir.display())),
        "{text}"
    );
    assert!(!dir.join(SQLITE_FILE).exists(), "nothing created");
    // Group access alone is refused too; after the fix it opens.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o710)).unwrap();
    assert!((place.open)(sealed()).is_err());
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!((place.open)(sealed()).is_ok());
}

#[test]
fn sqlite_refuses_a_readable_database_and_narrows_sidecars() {
    use std::os::unix::fs::PermissionsExt;
    let place = sqlite_place();
    let dir = place._dir.as_ref().unwrap().0.clone();
    drop((place.open)(sealed()).unwrap());
    let db = dir.join(SQLITE_FILE);
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let text = match (place.open)(sealed()) {
        Err(e) => e.to_string(),
        Ok(_) => panic!("a 0644 database was accepted"),
    };
    assert!(
        text.contains(&format!("chmod 600 {}", db.display())),
        "{text}"
    );
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A -wal file left world-readable (an older version's, say) is narrowed on open.
    let wal = sidecar(&dir, "-wal");
    std::fs::write(&wal, b"").unwrap();
    std::fs::set_permissions(&wal, std::fs::Permissions::from_mode(0o644)).unwrap();
    let store = (place.open)(sealed()).unwrap();
    store.insert_root_key(&[2; 32], 2).unwrap();
    assert_eq!(mode(&wal), 0o600);
}

// ---------------------------------------------------------------------------------------------
// Master key files

#[test]
fn master_key_files() {
    use std::os::unix::fs::PermissionsExt;
    let place = sqlite_place();
    let dir = place._dir.as_ref().unwrap().0.clone();
    private_dir(&dir);
    let write = |name: &str, content: &[u8], mode: u32| {
        let path = dir.join(name);
        std::fs::write(&path, content).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    };
    let hex_key = "a1".repeat(32);
    let from_hex =
        MasterKey::from_file(&write("hex", format!("{hex_key}\n").as_bytes(), 0o600)).unwrap();
    assert_eq!(*from_hex.to_hex(), hex_key);
    let raw = MasterKey::from_file(&write("raw", &[0xa1; 32], 0o400)).unwrap();
    assert_eq!(*raw.to_hex(), hex_key);
    // Readable by others: refused, with the fix.
    let shared = write("shared", hex_key.as_bytes(), 0o644);
    let text = MasterKey::from_file(&shared).unwrap_err().to_string();
    assert!(
        text.contains(&format!("chmod 600 {}", shared.display())),
        "{text}"
    );
    // Neither form: refused without quoting the content.
    for (name, content) in [
        ("short", &b"a1a1"[..]),
        ("long", "b2".repeat(40).as_bytes()),
    ] {
        let text = MasterKey::from_file(&write(name, content, 0o600))
            .unwrap_err()
            .to_string();
        assert!(text.contains("64 hex characters or 32 raw bytes"), "{text}");
        assert!(!text.contains("a1a1") && !text.contains("b2b2"), "{text}");
    }
    assert!(MasterKey::from_file(&dir.join("missing")).is_err());
}

// ---------------------------------------------------------------------------------------------
// The change feed

/// Reads the feed after `*from`: exactly `expected` (kind, entity), under the next revisions in
/// order, and the head at the last of them.
#[track_caller]
fn expect_feed(store: &dyn Store, from: &mut i64, step: &str, expected: &[(ChangeKind, &str)]) {
    let changes = store.changes_since(*from, 1000).unwrap();
    let got: Vec<(ChangeKind, &str)> = changes
        .iter()
        .map(|c| (c.kind, c.entity.as_str()))
        .collect();
    assert_eq!(got, expected, "{step}: the changes appended");
    for (i, change) in changes.iter().enumerate() {
        assert_eq!(
            change.revision,
            *from + 1 + i as i64,
            "{step}: revisions without gaps"
        );
    }
    *from += changes.len() as i64;
    assert_eq!(store.feed_revision().unwrap(), *from, "{step}: the head");
}

fn the_feed_records_every_invalidating_change(store: &dyn Store) {
    use ChangeKind::{Generation, NamedToken as Named, Provider as Prov, RootKey, TokensOf, User};
    let mut at = 0;
    expect_feed(store, &mut at, "a new store", &[]);
    let first = key(store);
    let second = store.insert_root_key(&[7; 32], 2_000).unwrap();
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), second.id, 1, "")
        .unwrap();
    let space = store
        .create_space("s", &alice.id, &set(&["space_view"]), None)
        .unwrap();
    let t1 = token(&random_hex(16).unwrap(), "one", &alice.id, second.id);
    store.insert_named_token(&t1, None).unwrap();
    expect_feed(store, &mut at, "creations invalidate nothing", &[]);

    store
        .update_oz_privileges(&alice.id, &set(&["oz_a"]), &BTreeSet::new())
        .unwrap();
    expect_feed(store, &mut at, "privileges", &[(User, &alice.id)]);
    assert_eq!(
        store
            .update_oz_privileges("no-such-user", &set(&["oz_a"]), &BTreeSet::new())
            .unwrap(),
        None
    );
    expect_feed(store, &mut at, "privileges of nobody", &[]);

    let rename = NamedTokenChange {
        name: Some("renamed".into()),
        ..NamedTokenChange::default()
    };
    assert!(store.update_named_token(&t1.id, &rename).unwrap());
    assert!(store.set_named_token_revoked(&t1.id, true).unwrap());
    assert!(!store
        .set_named_token_revoked("no-such-token", true)
        .unwrap());
    expect_feed(
        store,
        &mut at,
        "token changes",
        &[(Named, &t1.id), (Named, &t1.id)],
    );
    let t2 = token(&random_hex(16).unwrap(), "two", &alice.id, second.id);
    store.insert_named_token(&t2, None).unwrap();
    let clash = NamedTokenChange {
        name: Some("renamed".into()),
        ..NamedTokenChange::default()
    };
    assert!(matches!(
        store.update_named_token(&t2.id, &clash),
        Err(StoreError::TokenNameTaken)
    ));
    expect_feed(store, &mut at, "a refused rename", &[]);

    let mut invite = token(&random_hex(16).unwrap(), "invite", &alice.id, second.id);
    invite.kind = "rop".to_owned();
    invite.usage_limit = Some(2);
    store.insert_named_token(&invite, None).unwrap();
    assert_eq!(
        store.consume_invite(&invite.id).unwrap(),
        Consumed::Counted(1)
    );
    expect_feed(store, &mut at, "an invite used", &[(Named, &invite.id)]);

    store
        .bump_temporary_generation(&alice.id, second.id)
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .bump_temporary_generation("nobody", second.id)
            .unwrap(),
        None
    );
    expect_feed(
        store,
        &mut at,
        "a generation bumped",
        &[(Generation, &alice.id)],
    );

    assert_eq!(
        store.retire_root_key(first.id, 3_000).unwrap(),
        Retirement::Retired
    );
    assert_eq!(
        store.retire_root_key(second.id, 3_000).unwrap(),
        Retirement::LastActive
    );
    assert_eq!(
        store.retire_root_key(first.id, 3_000).unwrap(),
        Retirement::AlreadyRetired
    );
    expect_feed(
        store,
        &mut at,
        "a key retired",
        &[(RootKey, &first.id.to_string())],
    );

    // A provider registered with the invite's last use, changed, supporting the space with
    // another invite, then removed with its tokens and generation.
    let p = provider(&alice.id, "one");
    let mut root = provider_token(&p, "root");
    root.key_id = second.id;
    store
        .register_provider(&p, Some(&invite.id), second.id, &root, None)
        .unwrap();
    expect_feed(store, &mut at, "a registration", &[(Named, &invite.id)]);
    let p2 = provider(&alice.id, "two");
    let root2 = provider_token(&p2, "root");
    assert!(matches!(
        store.register_provider(&p2, Some(&invite.id), second.id, &root2, None),
        Err(StoreError::InviteUsedUp)
    ));
    assert_eq!(store.consume_invite(&invite.id).unwrap(), Consumed::Refused);
    expect_feed(store, &mut at, "a used-up invite", &[]);
    let change = ProviderChange {
        name: Some("renamed".into()),
        ..ProviderChange::default()
    };
    assert!(store.update_provider(&p.id, &change).unwrap());
    assert!(!store.update_provider("no-such-provider", &change).unwrap());
    expect_feed(store, &mut at, "a provider changed", &[(Prov, &p.id)]);
    let mut support = token(&random_hex(16).unwrap(), "support", &alice.id, second.id);
    support.kind = "ssp".to_owned();
    store.insert_named_token(&support, None).unwrap();
    store
        .support_space(&space.id, &p.id, 1 << 20, Some(&support.id), 5)
        .unwrap();
    expect_feed(store, &mut at, "a support", &[(Named, &support.id)]);
    assert!(store.remove_support(&space.id, &p.id).unwrap());
    expect_feed(store, &mut at, "a support ended", &[]);
    assert!(store.delete_provider(&p.id).unwrap());
    assert!(!store.delete_provider(&p.id).unwrap());
    expect_feed(
        store,
        &mut at,
        "a provider removed",
        &[(Prov, &p.id), (TokensOf, &p.id), (Generation, &p.id)],
    );

    assert!(store.delete_named_token(&t1.id).unwrap());
    assert!(!store.delete_named_token(&t1.id).unwrap());
    expect_feed(store, &mut at, "a token deleted", &[(Named, &t1.id)]);
    assert!(store.delete_named_tokens_of(&alice.id).unwrap() > 0);
    assert_eq!(store.delete_named_tokens_of(&alice.id).unwrap(), 0);
    expect_feed(
        store,
        &mut at,
        "a subject's tokens deleted",
        &[(TokensOf, &alice.id)],
    );
}

fn the_feed_is_read_in_pages_from_any_revision(store: &dyn Store) {
    let key = key(store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), key.id, 1, "")
        .unwrap();
    for _ in 0..25 {
        store.bump_temporary_generation(&alice.id, key.id).unwrap();
    }
    assert_eq!(store.feed_revision().unwrap(), 25);
    let mut read = Vec::new();
    let mut from = 0;
    loop {
        let page = store.changes_since(from, 10).unwrap();
        assert!(page.len() <= 10);
        let Some(last) = page.last() else { break };
        from = last.revision;
        read.extend(page.into_iter().map(|c| c.revision));
    }
    assert_eq!(read, (1..=25).collect::<Vec<i64>>());
    let tail = store.changes_since(20, 100).unwrap();
    assert_eq!(
        tail.iter().map(|c| c.revision).collect::<Vec<_>>(),
        vec![21, 22, 23, 24, 25]
    );
    assert!(store.changes_since(25, 100).unwrap().is_empty());
    assert!(store.changes_since(1_000, 100).unwrap().is_empty());
}

/// Several writers at once: every change is in the feed once, under revisions without gaps,
/// and a reader polling meanwhile never sees a later revision before an earlier one.
fn concurrent_writers_append_without_gaps(store: Arc<dyn Store>) {
    let key = key(&*store);
    let users: Vec<String> = (0..4)
        .map(|i| {
            store
                .create_user(&format!("u{i}"), "h", &BTreeSet::new(), key.id, 1, "")
                .unwrap()
                .id
        })
        .collect();
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let store = Arc::clone(&store);
        let done = Arc::clone(&done);
        std::thread::spawn(move || {
            let mut seen = 0;
            while !done.load(Ordering::SeqCst) {
                for change in store.changes_since(seen, 1000).unwrap() {
                    assert_eq!(change.revision, seen + 1, "a reader sees the feed in order");
                    seen = change.revision;
                }
            }
            seen
        })
    };
    let writers: Vec<_> = users
        .iter()
        .cloned()
        .map(|user| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                for _ in 0..20 {
                    store.bump_temporary_generation(&user, key.id).unwrap();
                }
            })
        })
        .collect();
    for writer in writers {
        writer.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    let seen = reader.join().unwrap();
    // A last read after the writers: the reader has then seen every change, in order.
    let rest = store.changes_since(seen, 1000).unwrap();
    assert!(rest
        .iter()
        .enumerate()
        .all(|(i, c)| c.revision == seen + 1 + i as i64));
    assert_eq!(seen + rest.len() as i64, 80);
    let all = store.changes_since(0, 1000).unwrap();
    assert_eq!(all.len(), 80);
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, c)| c.revision == i as i64 + 1));
    for user in &users {
        assert_eq!(all.iter().filter(|c| &c.entity == user).count(), 20);
    }
}

/// Writes that lock different rows and tables (a registration's invite and foreign keys, a key
/// retirement's table lock, a privilege update's user row, a support's invite and provider row,
/// a provider's removal) running at once all finish: the feed's head is the last lock each
/// takes, so it closes no deadlock cycle (PostgreSQL would abort one side with an error).
fn concurrent_mixed_writers_finish(store: Arc<dyn Store>) {
    let first = key(&*store);
    let alice = store
        .create_user("alice", "h", &BTreeSet::new(), first.id, 1, "")
        .unwrap();
    let space = store
        .create_space("s", &alice.id, &set(&["space_view"]), None)
        .unwrap();
    let invite = |kind: &str| {
        let mut t = token(
            &random_hex(16).unwrap(),
            &random_hex(8).unwrap(),
            &alice.id,
            first.id,
        );
        t.kind = kind.to_owned();
        t.usage_limit = Some(1);
        store.insert_named_token(&t, None).unwrap();
        t.id
    };
    const ROUNDS: usize = 15;
    let registrations: Vec<(Provider, NamedToken, String)> = (0..ROUNDS)
        .map(|i| {
            let p = provider(&alice.id, &format!("p{i}"));
            let mut root = provider_token(&p, "root");
            root.key_id = first.id;
            (p, root, invite("rop"))
        })
        .collect();
    let supporter = provider(&alice.id, "supporter");
    let mut root = provider_token(&supporter, "root");
    root.key_id = first.id;
    store
        .register_provider(&supporter, None, first.id, &root, None)
        .unwrap();
    let supports: Vec<String> = (0..ROUNDS).map(|_| invite("ssp")).collect();
    let head = store.feed_revision().unwrap();
    std::thread::scope(|scope| {
        let s = &store;
        let alice = &alice.id;
        let registering = scope.spawn(move || {
            for (p, root, invite) in &registrations {
                s.register_provider(p, Some(invite), first.id, root, None)
                    .unwrap();
            }
            for (p, _, _) in &registrations {
                assert!(s.delete_provider(&p.id).unwrap());
            }
        });
        let rotating = scope.spawn(move || {
            let mut previous = first.id;
            for i in 0..ROUNDS {
                let next = s.insert_root_key(&[i as u8; 32], 10 + i as u64).unwrap();
                if previous != first.id {
                    assert_eq!(
                        s.retire_root_key(previous, 20).unwrap(),
                        Retirement::Retired
                    );
                }
                previous = next.id;
            }
        });
        let privileges = scope.spawn(move || {
            for i in 0..ROUNDS {
                let (grant, revoke) = if i % 2 == 0 {
                    (set(&["oz_users_list"]), BTreeSet::new())
                } else {
                    (BTreeSet::new(), set(&["oz_users_list"]))
                };
                s.update_oz_privileges(alice, &grant, &revoke).unwrap();
            }
        });
        let supporting = scope.spawn(move || {
            for invite in &supports {
                s.support_space(&space.id, &supporter.id, 1 << 20, Some(invite), 5)
                    .unwrap();
                assert!(s.remove_support(&space.id, &supporter.id).unwrap());
            }
        });
        for worker in [registering, rotating, privileges, supporting] {
            worker.join().unwrap();
        }
    });
    // Every change made it into the feed: registrations and supports used an invite each,
    // removals three entries each, retirements and privilege updates one each.
    let changes = store.changes_since(head, 10_000).unwrap();
    assert_eq!(
        changes.len(),
        ROUNDS + ROUNDS * 3 + (ROUNDS - 1) + ROUNDS + ROUNDS,
        "{changes:?}"
    );
}
