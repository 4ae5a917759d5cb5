//! The store's operations, written once: each is a function over a [`Backend`], which only
//! knows how to hand out a connection ([`Backend::run`]) or a write transaction
//! ([`Backend::write`]) as a [`Db`] that runs the statements of [`super::sql`].
//!
//! [`store_via_backend!`] implements [`Store`](super::Store) for a backend type with these
//! functions.

use std::collections::BTreeSet;

use zeroize::Zeroizing;

use super::sql;
use super::{
    apply, caveats_from_json, caveats_to_json, check_quota, join, random_hex, split, to_i64,
    to_u64, Change, ChangeKind, Consumed, KeyProtection, NamedToken, NamedTokenChange, Provider,
    ProviderChange, Retirement, RootKeyRecord, Space, StoreError, SubjectKind, TemporaryGeneration,
    User, FEED_RETAINED,
};

/// A statement parameter.
#[derive(Debug, Clone, Copy)]
pub(super) enum Param<'a> {
    Text(&'a str),
    OptText(Option<&'a str>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    OptBool(Option<bool>),
}

/// A column value as read from either backend.
pub(super) enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

/// A result row. Its accessors name the column index only in errors, never a value (the
/// material column holds key material).
pub(super) struct Row(pub(super) Vec<Value>);

fn column_error(index: usize, expected: &str) -> StoreError {
    StoreError::Backend(format!("column {index}: expected {expected}"))
}

impl Row {
    fn take(&mut self, index: usize) -> Value {
        self.0
            .get_mut(index)
            .map_or(Value::Null, |v| std::mem::replace(v, Value::Null))
    }

    fn opt_text(&mut self, index: usize) -> Result<Option<String>, StoreError> {
        match self.take(index) {
            Value::Null => Ok(None),
            Value::Text(text) => Ok(Some(text)),
            _ => Err(column_error(index, "text")),
        }
    }

    fn text(&mut self, index: usize) -> Result<String, StoreError> {
        self.opt_text(index)?
            .ok_or_else(|| column_error(index, "text"))
    }

    fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        match self.0.get(index) {
            Some(Value::Null) => Ok(None),
            Some(Value::Int(value)) => Ok(Some(*value)),
            _ => Err(column_error(index, "an integer")),
        }
    }

    fn int(&self, index: usize) -> Result<i64, StoreError> {
        self.opt_int(index)?
            .ok_or_else(|| column_error(index, "an integer"))
    }

    /// A boolean: PostgreSQL's `BOOLEAN`, or SQLite's 0 and 1.
    fn bool(&self, index: usize) -> Result<bool, StoreError> {
        match self.0.get(index) {
            Some(Value::Bool(value)) => Ok(*value),
            Some(Value::Int(0)) => Ok(false),
            Some(Value::Int(1)) => Ok(true),
            _ => Err(column_error(index, "a boolean")),
        }
    }
}

/// A failed statement.
#[derive(Debug)]
pub(super) enum DbError {
    /// A UNIQUE constraint failed (not a foreign key or NOT NULL one).
    UniqueViolation,
    /// Anything else.
    Other(StoreError),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> StoreError {
        match e {
            DbError::UniqueViolation => StoreError::Backend("unique constraint violated".into()),
            DbError::Other(e) => e,
        }
    }
}

impl From<StoreError> for DbError {
    fn from(e: StoreError) -> DbError {
        DbError::Other(e)
    }
}

/// A connection, or a transaction on one: what a backend adapter provides.
pub(super) trait Db {
    /// Runs a statement; the number of rows it changed.
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError>;
    /// Runs a statement; every row it returned.
    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError>;
    /// As [`Db::query`] for a `SELECT`, locking the rows read until the transaction ends
    /// (PostgreSQL appends `FOR UPDATE`; SQLite's IMMEDIATE transaction already holds the
    /// write lock).
    fn query_for_update(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError>;
    /// Blocks other writers of `root_keys` until the transaction ends (PostgreSQL: a table
    /// lock; SQLite: nothing to do, as above).
    fn lock_root_keys(&mut self) -> Result<(), DbError>;
    /// Tells the store's listeners that the feed grew, when the transaction commits
    /// (PostgreSQL: `NOTIFY`; SQLite: nothing, its feed is polled).
    fn notify_feed(&mut self) -> Result<(), DbError> {
        Ok(())
    }
    /// Notes a change for the feed, appended at the end of the write transaction (only a
    /// transaction opened by [`write()`] can).
    fn defer_change(&mut self, kind: ChangeKind, entity: &str) -> Result<(), DbError> {
        let _ = (kind, entity);
        Err(DbError::Other(StoreError::Backend(
            "a feed change outside a write transaction".into(),
        )))
    }

    /// As [`Db::query`], for at most one row.
    fn query_opt(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Option<Row>, DbError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }

    /// As [`Db::query`], for exactly one row.
    fn query_one(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Row, DbError> {
        self.query_opt(sql, params)?
            .ok_or_else(|| DbError::Other(StoreError::Backend("no row returned".into())))
    }
}

/// A backend: where connections and transactions come from.
pub(super) trait Backend {
    /// Runs `f` on a connection outside a transaction: for reads and single statements (each
    /// atomic by itself).
    fn run<T>(&self, f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>)
        -> Result<T, StoreError>;

    /// Runs `f` in a write transaction, committed when `f` succeeds and rolled back otherwise.
    fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError>;

    /// How root key material is kept at rest.
    fn protection(&self) -> &KeyProtection;
}

use Param::{Bool, Int, OptBool, OptInt, OptText, Text};

fn user_from_row(mut row: Row) -> Result<User, StoreError> {
    Ok(User {
        id: row.text(0)?,
        username: row.text(1)?,
        password_hash: row.text(2)?,
        oz_privileges: split(&row.text(3)?),
        created: to_u64(row.int(4)?)?,
        full_name: row.text(5)?,
    })
}

fn token_from_row(mut row: Row) -> Result<NamedToken, StoreError> {
    let id = row.text(0)?;
    let caveats = caveats_from_json(&id, &row.text(8)?)?;
    Ok(NamedToken {
        name: row.text(1)?,
        kind: row.text(2)?,
        subject: row.text(3)?,
        target: row.text(4)?,
        key_id: row.int(5)?,
        revoked: row.bool(6)?,
        created: to_u64(row.int(7)?)?,
        caveats,
        parent: row.opt_text(9)?,
        custom_metadata: row.text(10)?,
        usage_limit: row.opt_int(11)?.map(to_u64).transpose()?,
        usage_count: to_u64(row.int(12)?)?,
        privileges: row.opt_text(13)?.as_deref().map(split),
        subject_type: {
            let text = row.text(14)?;
            SubjectKind::parse(&text).ok_or_else(|| {
                StoreError::Backend(format!("named token {id}: subject type {text:?}"))
            })?
        },
        id,
    })
}

fn key_from_row(protection: &KeyProtection, mut row: Row) -> Result<RootKeyRecord, StoreError> {
    let id = row.int(0)?;
    // The stored text may be plain key material: wiped once decoded.
    let stored = Zeroizing::new(row.text(1)?);
    Ok(RootKeyRecord {
        id,
        material: protection.open(id, &stored)?,
        created: to_u64(row.int(2)?)?,
        retired: row.opt_int(3)?.map(to_u64).transpose()?,
    })
}

/// Notes a change for the feed; [`write()`] appends it when the transaction's work is done.
fn record(db: &mut dyn Db, kind: ChangeKind, entity: &str) -> Result<(), StoreError> {
    Ok(db.defer_change(kind, entity)?)
}

/// A write transaction whose feed changes are appended last, just before the commit: the feed
/// head's row lock is then always the last lock a transaction takes, so it cannot close a
/// deadlock cycle with the row and table locks of the work itself (a registration's foreign
/// keys against a key retirement, say), and it is held only for the appends.
fn write<T>(
    b: &impl Backend,
    f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    b.write(|db| {
        let mut recording = Recording {
            db,
            pending: Vec::new(),
        };
        let value = f(&mut recording)?;
        let Recording { db, pending } = recording;
        append_changes(db, &pending)?;
        Ok(value)
    })
}

/// Appends changes to the feed, inside the caller's write transaction (so they commit, and
/// become visible, with the changes themselves). Every [`PRUNE_EVERY`]th revision drops the
/// entries older than the last [`FEED_RETAINED`].
fn append_changes(db: &mut dyn Db, changes: &[(ChangeKind, String)]) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    for (kind, entity) in changes {
        let revision = db.query_one(sql::FEED_BUMP, &[])?.int(0)?;
        db.execute(
            sql::FEED_APPEND,
            &[Int(revision), Text(kind.as_str()), Text(entity)],
        )?;
        if revision % PRUNE_EVERY == 0 {
            db.execute(sql::FEED_PRUNE, &[Int(revision - FEED_RETAINED)])?;
        }
    }
    Ok(db.notify_feed()?)
}

/// A write transaction's [`Db`] that keeps the feed changes noted until the work is done.
struct Recording<'a> {
    db: &'a mut dyn Db,
    pending: Vec<(ChangeKind, String)>,
}

impl Db for Recording<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        self.db.execute(sql, params)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.db.query(sql, params)
    }

    fn query_for_update(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.db.query_for_update(sql, params)
    }

    fn lock_root_keys(&mut self) -> Result<(), DbError> {
        self.db.lock_root_keys()
    }

    fn defer_change(&mut self, kind: ChangeKind, entity: &str) -> Result<(), DbError> {
        self.pending.push((kind, entity.to_owned()));
        Ok(())
    }
}

/// How often (in revisions) the feed is pruned.
const PRUNE_EVERY: i64 = 1024;

pub(super) fn feed_revision(b: &impl Backend) -> Result<i64, StoreError> {
    b.run(|db| db.query_one(sql::FEED_HEAD, &[])?.int(0))
}

pub(super) fn changes_since(
    b: &impl Backend,
    revision: i64,
    limit: usize,
) -> Result<Vec<Change>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    b.run(|db| {
        db.query(sql::FEED_SINCE, &[Int(revision), Int(limit)])?
            .into_iter()
            .map(|mut row| {
                let revision = row.int(0)?;
                let kind = row.text(1)?;
                Ok(Change {
                    revision,
                    kind: ChangeKind::parse(&kind).ok_or_else(|| {
                        StoreError::Backend(format!("feed revision {revision}: kind {kind:?}"))
                    })?,
                    entity: row.text(2)?,
                })
            })
            .collect()
    })
}

fn generation_from_row(row: Row) -> Result<TemporaryGeneration, StoreError> {
    Ok(TemporaryGeneration {
        generation: to_u64(row.int(0)?)?,
        key_id: row.int(1)?,
    })
}

pub(super) fn create_user(
    b: &impl Backend,
    username: &str,
    password_hash: &str,
    oz_privileges: &BTreeSet<String>,
    key_id: i64,
    created: u64,
    full_name: &str,
) -> Result<User, StoreError> {
    let id = random_hex(16)?;
    let created_i64 = to_i64(created)?;
    let privileges = join(oz_privileges);
    write(b, |db| {
        let params = [
            Text(&id),
            Text(username),
            Text(password_hash),
            Text(&privileges),
            Int(created_i64),
            Text(full_name),
        ];
        match db.execute(sql::INSERT_USER, &params) {
            Err(DbError::UniqueViolation) => return Err(StoreError::UsernameTaken),
            other => other?,
        };
        db.execute(sql::INSERT_GENERATION, &[Text(&id), Int(key_id)])?;
        Ok(())
    })?;
    Ok(User {
        id,
        username: username.to_owned(),
        password_hash: password_hash.to_owned(),
        oz_privileges: oz_privileges.clone(),
        created,
        full_name: full_name.to_owned(),
    })
}

pub(super) fn user_by_id(b: &impl Backend, id: &str) -> Result<Option<User>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::USER_BY_ID, &[Text(id)])?
            .map(user_from_row)
            .transpose()
    })
}

pub(super) fn user_by_username(
    b: &impl Backend,
    username: &str,
) -> Result<Option<User>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::USER_BY_USERNAME, &[Text(username)])?
            .map(user_from_row)
            .transpose()
    })
}

pub(super) fn update_oz_privileges(
    b: &impl Backend,
    user_id: &str,
    grant: &BTreeSet<String>,
    revoke: &BTreeSet<String>,
) -> Result<Option<BTreeSet<String>>, StoreError> {
    write(b, |db| {
        let Some(mut row) = db
            .query_for_update(sql::USER_PRIVILEGES, &[Text(user_id)])?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let updated = apply(split(&row.text(0)?), grant, revoke);
        db.execute(
            sql::SET_USER_PRIVILEGES,
            &[Text(user_id), Text(&join(&updated))],
        )?;
        record(db, ChangeKind::User, user_id)?;
        Ok(Some(updated))
    })
}

/// Locks `user_id`'s row (serializing quota checks of that user) and fails with
/// [`StoreError::QuotaExceeded`] when `count` (a statement taking the user id) is at `quota`.
fn check_user_quota(
    db: &mut dyn Db,
    user_id: &str,
    count: &str,
    quota: Option<u64>,
) -> Result<(), StoreError> {
    if quota.is_none() {
        return Ok(());
    }
    db.query_for_update(sql::USER_PRIVILEGES, &[Text(user_id)])?;
    let used = db.query_one(count, &[Text(user_id)])?.int(0)?;
    check_quota(quota, used)
}

pub(super) fn create_space(
    b: &impl Backend,
    name: &str,
    creator: &str,
    creator_privileges: &BTreeSet<String>,
    quota: Option<u64>,
) -> Result<Space, StoreError> {
    let id = random_hex(16)?;
    let privileges = join(creator_privileges);
    write(b, |db| {
        check_user_quota(db, creator, sql::COUNT_SPACES_OF_CREATOR, quota)?;
        db.execute(sql::INSERT_SPACE, &[Text(&id), Text(name), Text(creator)])?;
        db.execute(
            sql::INSERT_MEMBER,
            &[Text(&id), Text(creator), Text(&privileges)],
        )?;
        Ok(())
    })?;
    Ok(Space {
        id,
        name: name.to_owned(),
    })
}

pub(super) fn space_by_id(b: &impl Backend, id: &str) -> Result<Option<Space>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::SPACE_BY_ID, &[Text(id)])?
            .map(|mut row| {
                Ok(Space {
                    id: row.text(0)?,
                    name: row.text(1)?,
                })
            })
            .transpose()
    })
}

pub(super) fn space_privileges(
    b: &impl Backend,
    space_id: &str,
    user_id: &str,
) -> Result<Option<BTreeSet<String>>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::MEMBER_PRIVILEGES, &[Text(space_id), Text(user_id)])?
            .map(|mut row| Ok(split(&row.text(0)?)))
            .transpose()
    })
}

pub(super) fn update_space_privileges(
    b: &impl Backend,
    space_id: &str,
    user_id: &str,
    grant: &BTreeSet<String>,
    revoke: &BTreeSet<String>,
) -> Result<BTreeSet<String>, StoreError> {
    write(b, |db| {
        // Make sure the membership row exists, then lock it: two first-time grants cannot
        // overwrite each other.
        db.execute(sql::ENSURE_MEMBER, &[Text(space_id), Text(user_id)])?;
        let mut row = db
            .query_for_update(sql::MEMBER_PRIVILEGES, &[Text(space_id), Text(user_id)])?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Backend("the membership row vanished".into()))?;
        let updated = apply(split(&row.text(0)?), grant, revoke);
        db.execute(
            sql::SET_MEMBER_PRIVILEGES,
            &[Text(space_id), Text(user_id), Text(&join(&updated))],
        )?;
        Ok(updated)
    })
}

pub(super) fn insert_named_token(
    b: &impl Backend,
    token: &NamedToken,
    quota: Option<u64>,
) -> Result<(), StoreError> {
    write(b, |db| {
        match token.subject_type {
            SubjectKind::User => {
                check_user_quota(db, &token.subject, sql::COUNT_NAMED_TOKENS_OF, quota)?;
            }
            SubjectKind::Provider if quota.is_some() => {
                db.query_for_update(sql::PROVIDER_ROW, &[Text(&token.subject)])?;
                let used = db
                    .query_one(sql::COUNT_NAMED_TOKENS_OF, &[Text(&token.subject)])?
                    .int(0)?;
                check_quota(quota, used)?;
            }
            SubjectKind::Provider => {}
        }
        insert_token_record(db, token)
    })
}

fn insert_token_record(db: &mut dyn Db, token: &NamedToken) -> Result<(), StoreError> {
    let caveats = caveats_to_json(&token.caveats)?;
    let created = to_i64(token.created)?;
    let usage_limit = token.usage_limit.map(to_i64).transpose()?;
    let privileges = token.privileges.as_ref().map(join);
    {
        let params = [
            Text(&token.id),
            Text(&token.name),
            Text(&token.kind),
            Text(&token.subject),
            Text(&token.target),
            Int(token.key_id),
            Bool(token.revoked),
            Int(created),
            Text(&caveats),
            OptText(token.parent.as_deref()),
            Text(&token.custom_metadata),
            OptInt(usage_limit),
            OptText(privileges.as_deref()),
            Text(token.subject_type.as_str()),
        ];
        match db.execute(sql::INSERT_NAMED_TOKEN, &params) {
            Err(DbError::UniqueViolation) => Err(StoreError::TokenNameTaken),
            other => other.map(drop).map_err(StoreError::from),
        }
    }
}

pub(super) fn named_token(b: &impl Backend, id: &str) -> Result<Option<NamedToken>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::NAMED_TOKEN, &[Text(id)])?
            .map(token_from_row)
            .transpose()
    })
}

pub(super) fn named_tokens_of(
    b: &impl Backend,
    subject: &str,
) -> Result<Vec<NamedToken>, StoreError> {
    b.run(|db| {
        db.query(sql::NAMED_TOKENS_OF, &[Text(subject)])?
            .into_iter()
            .map(token_from_row)
            .collect()
    })
}

pub(super) fn all_named_tokens(b: &impl Backend) -> Result<Vec<NamedToken>, StoreError> {
    b.run(|db| {
        db.query(sql::ALL_NAMED_TOKENS, &[])?
            .into_iter()
            .map(token_from_row)
            .collect()
    })
}

pub(super) fn update_named_token(
    b: &impl Backend,
    id: &str,
    change: &NamedTokenChange,
) -> Result<bool, StoreError> {
    let params = [
        Text(id),
        OptText(change.name.as_deref()),
        OptText(change.custom_metadata.as_deref()),
        OptBool(change.revoked),
    ];
    write(b, |db| {
        let changed = match db.execute(sql::UPDATE_NAMED_TOKEN, &params) {
            Err(DbError::UniqueViolation) => return Err(StoreError::TokenNameTaken),
            other => other? > 0,
        };
        if changed {
            record(db, ChangeKind::NamedToken, id)?;
        }
        Ok(changed)
    })
}

pub(super) fn delete_named_token(b: &impl Backend, id: &str) -> Result<bool, StoreError> {
    write(b, |db| {
        let deleted = db.execute(sql::DELETE_NAMED_TOKEN, &[Text(id)])? > 0;
        if deleted {
            record(db, ChangeKind::NamedToken, id)?;
        }
        Ok(deleted)
    })
}

pub(super) fn delete_named_tokens_of(b: &impl Backend, subject: &str) -> Result<u64, StoreError> {
    write(b, |db| {
        let deleted = db.execute(sql::DELETE_NAMED_TOKENS_OF, &[Text(subject)])?;
        if deleted > 0 {
            record(db, ChangeKind::TokensOf, subject)?;
        }
        Ok(deleted)
    })
}

pub(super) fn consume_invite(b: &impl Backend, id: &str) -> Result<Consumed, StoreError> {
    write(b, |db| consume(db, id))
}

fn consume(db: &mut dyn Db, id: &str) -> Result<Consumed, StoreError> {
    if let Some(row) = db.query_opt(sql::CONSUME_INVITE, &[Text(id)])? {
        record(db, ChangeKind::NamedToken, id)?;
        return Ok(Consumed::Counted(to_u64(row.int(0)?)?));
    }
    Ok(match db.query_opt(sql::NAMED_TOKEN, &[Text(id)])? {
        Some(_) => Consumed::Refused,
        None => Consumed::Missing,
    })
}

/// Counts one use of `invite` (if named) inside a write transaction, or says why not.
fn consume_or_fail(db: &mut dyn Db, invite: Option<&str>) -> Result<(), StoreError> {
    let Some(id) = invite else {
        return Ok(());
    };
    match consume(db, id)? {
        Consumed::Counted(_) => Ok(()),
        Consumed::Missing => Err(StoreError::Missing),
        Consumed::Refused => {
            let record = db
                .query_opt(sql::NAMED_TOKEN, &[Text(id)])?
                .map(token_from_row)
                .transpose()?;
            match record {
                Some(record) if record.revoked => Err(StoreError::InviteRevoked),
                _ => Err(StoreError::InviteUsedUp),
            }
        }
    }
}

fn provider_from_row(mut row: Row) -> Result<Provider, StoreError> {
    let id = row.text(0)?;
    let degrees = |text: String| {
        text.parse::<f64>()
            .map_err(|_| StoreError::Backend(format!("provider {id}: corrupt location")))
    };
    Ok(Provider {
        name: row.text(1)?,
        domain: row.text(2)?,
        admin_email: row.text(3)?,
        latitude: degrees(row.text(4)?)?,
        longitude: degrees(row.text(5)?)?,
        admin: row.text(6)?,
        created: to_u64(row.int(7)?)?,
        id,
    })
}

pub(super) fn spaces_of_user(b: &impl Backend, user_id: &str) -> Result<Vec<Space>, StoreError> {
    b.run(|db| {
        db.query(sql::SPACES_OF_USER, &[Text(user_id)])?
            .into_iter()
            .map(|mut row| {
                Ok(Space {
                    id: row.text(0)?,
                    name: row.text(1)?,
                })
            })
            .collect()
    })
}

pub(super) fn register_provider(
    b: &impl Backend,
    provider: &Provider,
    invite: Option<&str>,
    key_id: i64,
    root_token: &NamedToken,
    quota: Option<u64>,
) -> Result<(), StoreError> {
    let (latitude, longitude) = (
        provider.latitude.to_string(),
        provider.longitude.to_string(),
    );
    let created = to_i64(provider.created)?;
    write(b, |db| {
        check_user_quota(db, &provider.admin, sql::COUNT_PROVIDERS_OF_ADMIN, quota)?;
        consume_or_fail(db, invite)?;
        db.execute(
            sql::INSERT_PROVIDER,
            &[
                Text(&provider.id),
                Text(&provider.name),
                Text(&provider.domain),
                Text(&provider.admin_email),
                Text(&latitude),
                Text(&longitude),
                Text(&provider.admin),
                Int(created),
            ],
        )?;
        db.execute(sql::INSERT_GENERATION, &[Text(&provider.id), Int(key_id)])?;
        insert_token_record(db, root_token)
    })
}

pub(super) fn provider(b: &impl Backend, id: &str) -> Result<Option<Provider>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::PROVIDER, &[Text(id)])?
            .map(provider_from_row)
            .transpose()
    })
}

pub(super) fn provider_ids(b: &impl Backend) -> Result<Vec<String>, StoreError> {
    b.run(|db| {
        db.query(sql::PROVIDER_IDS, &[])?
            .into_iter()
            .map(|mut row| row.text(0))
            .collect()
    })
}

pub(super) fn update_provider(
    b: &impl Backend,
    id: &str,
    change: &ProviderChange,
) -> Result<bool, StoreError> {
    let latitude = change.latitude.map(|v| v.to_string());
    let longitude = change.longitude.map(|v| v.to_string());
    let params = [
        Text(id),
        OptText(change.name.as_deref()),
        OptText(latitude.as_deref()),
        OptText(longitude.as_deref()),
    ];
    write(b, |db| {
        let changed = db.execute(sql::UPDATE_PROVIDER, &params)? > 0;
        if changed {
            record(db, ChangeKind::Provider, id)?;
        }
        Ok(changed)
    })
}

pub(super) fn delete_provider(b: &impl Backend, id: &str) -> Result<bool, StoreError> {
    write(b, |db| {
        db.execute(sql::DELETE_SUPPORTS_OF_PROVIDER, &[Text(id)])?;
        db.execute(sql::DELETE_TOKENS_OF_PROVIDER, &[Text(id)])?;
        db.execute(sql::DELETE_GENERATION, &[Text(id)])?;
        let deleted = db.execute(sql::DELETE_PROVIDER, &[Text(id)])? > 0;
        if deleted {
            record(db, ChangeKind::Provider, id)?;
            record(db, ChangeKind::TokensOf, id)?;
            record(db, ChangeKind::Generation, id)?;
        }
        Ok(deleted)
    })
}

pub(super) fn support_space(
    b: &impl Backend,
    space_id: &str,
    provider_id: &str,
    size: u64,
    invite: Option<&str>,
    created: u64,
) -> Result<(), StoreError> {
    let size = to_i64(size)?;
    let created = to_i64(created)?;
    write(b, |db| {
        if db.query_opt(sql::SPACE_ROW, &[Text(space_id)])?.is_none()
            || db
                .query_opt(sql::PROVIDER_ROW, &[Text(provider_id)])?
                .is_none()
        {
            return Err(StoreError::Missing);
        }
        consume_or_fail(db, invite)?;
        let params = [Text(space_id), Text(provider_id), Int(size), Int(created)];
        match db.execute(sql::INSERT_SUPPORT, &params) {
            Err(DbError::UniqueViolation) => Err(StoreError::RelationExists),
            other => other.map(drop).map_err(StoreError::from),
        }
    })
}

fn supports(b: &impl Backend, statement: &str, id: &str) -> Result<Vec<(String, u64)>, StoreError> {
    b.run(|db| {
        db.query(statement, &[Text(id)])?
            .into_iter()
            .map(|mut row| Ok((row.text(0)?, to_u64(row.int(1)?)?)))
            .collect()
    })
}

pub(super) fn supporters_of(
    b: &impl Backend,
    space_id: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    supports(b, sql::SUPPORTERS_OF_SPACE, space_id)
}

pub(super) fn spaces_supported_by(
    b: &impl Backend,
    provider_id: &str,
) -> Result<Vec<(String, u64)>, StoreError> {
    supports(b, sql::SPACES_OF_PROVIDER, provider_id)
}

pub(super) fn remove_support(
    b: &impl Backend,
    space_id: &str,
    provider_id: &str,
) -> Result<bool, StoreError> {
    b.run(|db| Ok(db.execute(sql::DELETE_SUPPORT, &[Text(space_id), Text(provider_id)])? > 0))
}

pub(super) fn temporary_generation(
    b: &impl Backend,
    user_id: &str,
) -> Result<Option<TemporaryGeneration>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::GENERATION, &[Text(user_id)])?
            .map(generation_from_row)
            .transpose()
    })
}

pub(super) fn bump_temporary_generation(
    b: &impl Backend,
    user_id: &str,
    key_id: i64,
) -> Result<Option<TemporaryGeneration>, StoreError> {
    write(b, |db| {
        let bumped = db
            .query_opt(sql::BUMP_GENERATION, &[Text(user_id), Int(key_id)])?
            .map(generation_from_row)
            .transpose()?;
        if bumped.is_some() {
            record(db, ChangeKind::Generation, user_id)?;
        }
        Ok(bumped)
    })
}

pub(super) fn insert_root_key(
    b: &impl Backend,
    material: &[u8],
    created: u64,
) -> Result<RootKeyRecord, StoreError> {
    let created_i64 = to_i64(created)?;
    let id = write(b, |db| {
        // Serializes id allocation with concurrent inserts (other processes included).
        db.lock_root_keys()?;
        let id = db.query_one(sql::NEXT_ROOT_KEY_ID, &[])?.int(0)?;
        // Sealed with the id as associated data, so known only now.
        let text = b.protection().seal(id, material)?;
        db.execute(
            sql::INSERT_ROOT_KEY,
            &[Int(id), Text(&text), Int(created_i64)],
        )?;
        Ok(id)
    })?;
    Ok(RootKeyRecord {
        id,
        material: Zeroizing::new(material.to_vec()),
        created,
        retired: None,
    })
}

pub(super) fn ping(b: &impl Backend) -> Result<(), StoreError> {
    b.run(|db| {
        db.query_one(sql::PING, &[])?;
        Ok(())
    })
}

pub(super) fn root_keys(b: &impl Backend) -> Result<Vec<RootKeyRecord>, StoreError> {
    b.run(|db| {
        db.query(sql::ROOT_KEYS, &[])?
            .into_iter()
            .map(|row| key_from_row(b.protection(), row))
            .collect()
    })
}

pub(super) fn root_key(b: &impl Backend, id: i64) -> Result<Option<RootKeyRecord>, StoreError> {
    b.run(|db| {
        db.query_opt(sql::ROOT_KEY, &[Int(id)])?
            .map(|row| key_from_row(b.protection(), row))
            .transpose()
    })
}

pub(super) fn retire_root_key(
    b: &impl Backend,
    id: i64,
    at: u64,
) -> Result<Retirement, StoreError> {
    let at = to_i64(at)?;
    write(b, |db| {
        // Serializes with other retirements, so two at once cannot leave no active key; the
        // refusal's reason is read under the same lock, so it is the reason.
        db.lock_root_keys()?;
        if db.execute(sql::RETIRE_ROOT_KEY, &[Int(id), Int(at)])? > 0 {
            record(db, ChangeKind::RootKey, &id.to_string())?;
            return Ok(Retirement::Retired);
        }
        let key = db
            .query_opt(sql::ROOT_KEY, &[Int(id)])?
            .map(|row| key_from_row(b.protection(), row))
            .transpose()?;
        Ok(match key {
            None => Retirement::Unknown,
            Some(key) if key.retired.is_some() => Retirement::AlreadyRetired,
            Some(_) => Retirement::LastActive,
        })
    })
}

/// One method of [`Store`](super::Store) for a backend (of
/// [`crate::for_each_store_method!`]): the function of this module of the same name, but for
/// the listener, which the backend makes itself.
macro_rules! backend_method {
    // The trait's default, over `update_named_token`.
    (provided $($_signature:tt)*) => {};
    (feed fn feed_listener(&self) -> $ret:ty) => {
        fn feed_listener(&self) -> $ret {
            self.listener()
        }
    };
    ($kind:ident fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty) => {
        fn $name(&self $(, $arg: $ty)*) -> $ret {
            $crate::store::ops::$name(self $(, $arg)*)
        }
    };
}

/// `impl Store for $backend` with the functions of this module.
macro_rules! store_via_backend {
    ($backend:ty) => {
        impl $crate::store::Store for $backend {
            fn has_change_feed(&self) -> bool {
                true
            }

            $crate::for_each_store_method!($crate::store::ops::backend_method);
        }
    };
}

pub(super) use {backend_method, store_via_backend};
