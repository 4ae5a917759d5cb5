//! The PostgreSQL backend, for several server instances sharing one database.
//!
//! It uses the synchronous `postgres` client (no TLS: run it on loopback, a private network or
//! through a TLS tunnel) with a small pool of connections. Every method that reads and then
//! writes does so atomically across processes: a transaction that locks the row
//! (`SELECT … FOR UPDATE`), a single `UPDATE … RETURNING`, or (for root key ids) a table lock.

use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls, Row};
use zeroize::Zeroizing;

use super::{
    apply, caveats_from_json, caveats_to_json, check_quota, join, material_from_hex, random_hex,
    split, to_i64, to_u64, NamedToken, RootKeyRecord, Space, Store, StoreError,
    TemporaryGeneration, User, ADDED_COLUMNS, SCHEMA,
};

/// At most this many connections per [`PostgresStore`].
const MAX_CONNECTIONS: usize = 8;
/// How long a call waits for a free connection when all are busy.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(30);
/// The connect timeout when the URL sets none.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The advisory lock held while creating the schema and tables (`CREATE … IF NOT EXISTS` races
/// when two server instances start at once).
const SCHEMA_LOCK: i64 = 0x6d61_6361_726f_6f6e; // "macaroon"

/// The error text: the SQLSTATE, message and constraint, never a row's values. (PostgreSQL's
/// `DETAIL` can quote a failing row, e.g. a root key's material, so it is left out.)
fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut text = format!(
                "postgres: {} {}: {}",
                db.severity(),
                db.code().code(),
                db.message()
            );
            if let Some(constraint) = db.constraint() {
                text.push_str(&format!(" (constraint {constraint})"));
            }
            text
        }
        None => {
            // Connection and protocol errors keep their cause (e.g. "Connection refused") in
            // the source chain.
            let mut text = format!("postgres: {e}");
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                let cause_text = cause.to_string();
                if !text.ends_with(&cause_text) {
                    text.push_str(": ");
                    text.push_str(&cause_text);
                }
                source = cause.source();
            }
            text
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> StoreError {
        StoreError::Backend(describe(&e))
    }
}

fn is_unique_violation(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::UNIQUE_VIOLATION)
}

/// A schema name is interpolated into SQL, so only `[a-z0-9_]{1,63}` is accepted (63 bytes is
/// PostgreSQL's identifier limit; longer names would be truncated silently).
fn validate_schema(schema: &str) -> Result<(), StoreError> {
    let valid = !schema.is_empty()
        && schema.len() <= 63
        && schema
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "invalid PostgreSQL schema name {schema:?}: use 1 to 63 characters of [a-z0-9_]"
        )))
    }
}

/// The pool's bookkeeping: idle connections and how many are open (idle or checked out).
struct PoolState {
    idle: Vec<Client>,
    open: usize,
}

/// A fixed-size connection pool: a mutex-protected list of idle connections and a condition
/// variable that callers wait on when all [`MAX_CONNECTIONS`] are checked out. Connections are
/// opened lazily and dropped when found closed.
struct Pool {
    config: Config,
    schema: Option<String>,
    state: Mutex<PoolState>,
    returned: Condvar,
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, PoolState> {
        // The state is two plain fields updated without panicking code in between: a poisoned
        // lock still holds consistent data.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Opens a connection set to the store's schema.
    fn open(&self) -> Result<Client, StoreError> {
        let mut client = self.config.connect(NoTls).map_err(|e| {
            StoreError::Backend(format!(
                "connecting to {}: {}",
                hosts(&self.config),
                describe(&e)
            ))
        })?;
        if let Some(schema) = &self.schema {
            // Validated to [a-z0-9_]+: safe to quote as an identifier.
            client.batch_execute(&format!("SET search_path TO \"{schema}\""))?;
        }
        Ok(client)
    }

    /// A connection: an idle one, a new one while fewer than [`MAX_CONNECTIONS`] are open, or
    /// the next one returned (waiting at most [`CHECKOUT_TIMEOUT`]).
    fn get(&self) -> Result<PooledClient<'_>, StoreError> {
        let deadline = Instant::now() + CHECKOUT_TIMEOUT;
        let mut state = self.lock();
        loop {
            if let Some(client) = state.idle.pop() {
                if client.is_closed() {
                    state.open -= 1;
                    drop_client(client);
                    continue;
                }
                return Ok(PooledClient {
                    pool: self,
                    client: Some(client),
                });
            }
            if state.open < MAX_CONNECTIONS {
                state.open += 1;
                drop(state);
                return match self.open() {
                    Ok(client) => Ok(PooledClient {
                        pool: self,
                        client: Some(client),
                    }),
                    Err(e) => {
                        self.lock().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Backend(format!(
                    "no free PostgreSQL connection within {}s (all {MAX_CONNECTIONS} busy)",
                    CHECKOUT_TIMEOUT.as_secs()
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn put(&self, client: Client) {
        let mut state = self.lock();
        if client.is_closed() {
            state.open -= 1;
            drop(state);
            drop_client(client);
        } else {
            state.idle.push(client);
            drop(state);
        }
        self.returned.notify_one();
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        drop_clients(idle);
    }
}

/// Drops connections where that is allowed: closing a synchronous `postgres` client blocks on
/// its own runtime, which panics on a tokio worker thread (e.g. when the server's last
/// `Arc<dyn Store>` goes away inside the runtime), so there it happens on a plain thread.
fn drop_clients(clients: Vec<Client>) {
    if clients.is_empty() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let spawned = std::thread::Builder::new()
            .name("postgres-close".into())
            .spawn(move || drop(clients));
        // When no thread can be started the connections are leaked rather than risk a panic;
        // the server closes them when the process exits.
        if let Err(e) = spawned {
            drop(e);
        }
    } else {
        drop(clients);
    }
}

fn drop_client(client: Client) {
    drop_clients(vec![client]);
}

/// A checked-out connection, returned to the pool on drop. An open transaction on it has been
/// rolled back by then (`postgres::Transaction` rolls back on drop).
struct PooledClient<'a> {
    pool: &'a Pool,
    client: Option<Client>,
}

impl std::ops::Deref for PooledClient<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        self.client
            .as_ref()
            .expect("a pooled client is present until drop")
    }
}

impl std::ops::DerefMut for PooledClient<'_> {
    fn deref_mut(&mut self) -> &mut Client {
        self.client
            .as_mut()
            .expect("a pooled client is present until drop")
    }
}

impl Drop for PooledClient<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            self.pool.put(client);
        }
    }
}

/// The hosts and ports of a configuration, for messages (no user, password or database).
fn hosts(config: &Config) -> String {
    let ports = config.get_ports();
    config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let host = match host {
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            match ports.get(i).or(ports.first()) {
                Some(port) => format!("{host}:{port}"),
                None => host,
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The PostgreSQL backend: a pool of up to 8 connections to one database, optionally confined to
/// one schema. Several server instances (each with its own `PostgresStore`) may share the
/// database.
///
/// `Debug` shows the host and schema only, never the URL's user or password.
pub struct PostgresStore {
    pool: Pool,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("host", &hosts(&self.pool.config))
            .field("schema", &self.pool.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or the
    /// `key=value` form) and creates the tables if missing, in the connection's default schema.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is invalid, the database cannot be reached or the
    /// tables cannot be created.
    pub fn connect(url: &str) -> Result<PostgresStore, StoreError> {
        PostgresStore::new(url, None)
    }

    /// As [`PostgresStore::connect`], with every table in the schema `schema` (created if
    /// missing): each connection of the pool sets `search_path` to it. The name must be 1 to 63
    /// characters of `[a-z0-9_]`.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`], and [`StoreError::Backend`] for an invalid schema name.
    pub fn connect_in_schema(url: &str, schema: &str) -> Result<PostgresStore, StoreError> {
        validate_schema(schema)?;
        PostgresStore::new(url, Some(schema.to_owned()))
    }

    fn new(url: &str, schema: Option<String>) -> Result<PostgresStore, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        if config.get_application_name().is_none() {
            config.application_name("macaroon-mint-server");
        }
        let store = PostgresStore {
            pool: Pool {
                config,
                schema,
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
            },
        };
        store.create_tables()?;
        Ok(store)
    }

    /// Creates the schema (if any) and the tables, serialized by an advisory lock so that
    /// instances starting together do not race.
    fn create_tables(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SCHEMA_LOCK])?;
        if let Some(schema) = &self.pool.schema {
            tx.batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\""))?;
        }
        tx.batch_execute(SCHEMA)?;
        for (table, column, definition) in ADDED_COLUMNS {
            tx.batch_execute(&format!(
                "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}"
            ))?;
        }
        tx.commit()?;
        Ok(())
    }
}

fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index).map_err(StoreError::from)
}

fn user_from_row(row: &Row) -> Result<User, StoreError> {
    Ok(User {
        id: get(row, 0)?,
        username: get(row, 1)?,
        password_hash: get(row, 2)?,
        oz_privileges: split(get(row, 3)?),
    })
}

fn key_from_row(row: &Row) -> Result<RootKeyRecord, StoreError> {
    let id: i64 = get(row, 0)?;
    // The hex text is key material too: wiped once decoded.
    let material = Zeroizing::new(get::<String>(row, 1)?);
    Ok(RootKeyRecord {
        id,
        material: material_from_hex(id, &material)?,
        created: to_u64(get(row, 2)?)?,
        retired: get::<Option<i64>>(row, 3)?.map(to_u64).transpose()?,
    })
}

const TOKEN_COLUMNS: &str =
    "id, name, kind, subject, target, key_id, revoked, created, caveats, parent";

fn token_from_row(row: &Row) -> Result<NamedToken, StoreError> {
    let id: String = get(row, 0)?;
    let caveats = caveats_from_json(&id, get(row, 8)?)?;
    Ok(NamedToken {
        id,
        name: get(row, 1)?,
        kind: get(row, 2)?,
        subject: get(row, 3)?,
        target: get(row, 4)?,
        key_id: get(row, 5)?,
        revoked: get(row, 6)?,
        created: to_u64(get(row, 7)?)?,
        caveats,
        parent: get(row, 9)?,
    })
}

fn generation_from_row(row: &Row) -> Result<TemporaryGeneration, StoreError> {
    Ok(TemporaryGeneration {
        generation: to_u64(get(row, 0)?)?,
        key_id: get(row, 1)?,
    })
}

impl Store for PostgresStore {
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        oz_privileges: &BTreeSet<String>,
        key_id: i64,
    ) -> Result<User, StoreError> {
        let id = random_hex(16)?;
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        match tx.execute(
            "INSERT INTO users (id, username, password_hash, oz_privileges) VALUES ($1, $2, $3, $4)",
            &[&id, &username, &password_hash, &join(oz_privileges)],
        ) {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::UsernameTaken),
            other => other?,
        };
        tx.execute(
            "INSERT INTO temporary_generations (user_id, generation, key_id) VALUES ($1, 1, $2)",
            &[&id, &key_id],
        )?;
        tx.commit()?;
        Ok(User {
            id,
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            oz_privileges: oz_privileges.clone(),
        })
    }

    fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE username = $1",
                &[&username],
            )?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    fn update_oz_privileges(
        &self,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        let Some(row) = tx.query_opt(
            "SELECT oz_privileges FROM users WHERE id = $1 FOR UPDATE",
            &[&user_id],
        )?
        else {
            return Ok(None);
        };
        let updated = apply(split(get(&row, 0)?), grant, revoke);
        tx.execute(
            "UPDATE users SET oz_privileges = $1 WHERE id = $2",
            &[&join(&updated), &user_id],
        )?;
        tx.commit()?;
        Ok(Some(updated))
    }

    fn create_space(
        &self,
        name: &str,
        creator: &str,
        creator_privileges: &BTreeSet<String>,
        quota: Option<u64>,
    ) -> Result<Space, StoreError> {
        let id = random_hex(16)?;
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        if quota.is_some() {
            // Locking the creator's row serializes quota checks of the same creator.
            tx.execute("SELECT id FROM users WHERE id = $1 FOR UPDATE", &[&creator])?;
            let row = tx.query_one(
                "SELECT COUNT(*) FROM spaces WHERE creator = $1",
                &[&creator],
            )?;
            check_quota(quota, get(&row, 0)?)?;
        }
        tx.execute(
            "INSERT INTO spaces (id, name, creator) VALUES ($1, $2, $3)",
            &[&id, &name, &creator],
        )?;
        tx.execute(
            "INSERT INTO space_users (space_id, user_id, privileges) VALUES ($1, $2, $3)",
            &[&id, &creator, &join(creator_privileges)],
        )?;
        tx.commit()?;
        Ok(Space {
            id,
            name: name.to_owned(),
        })
    }

    fn space_by_id(&self, id: &str) -> Result<Option<Space>, StoreError> {
        self.pool
            .get()?
            .query_opt("SELECT id, name FROM spaces WHERE id = $1", &[&id])?
            .map(|row| {
                Ok(Space {
                    id: get(&row, 0)?,
                    name: get(&row, 1)?,
                })
            })
            .transpose()
    }

    fn space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT privileges FROM space_users WHERE space_id = $1 AND user_id = $2",
                &[&space_id, &user_id],
            )?
            .map(|row| Ok(split(get(&row, 0)?)))
            .transpose()
    }

    fn update_space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        // Make sure the membership row exists (waiting for a concurrent insert of it to finish),
        // then lock it: two first-time grants cannot overwrite each other.
        tx.execute(
            "INSERT INTO space_users (space_id, user_id, privileges) VALUES ($1, $2, '')
             ON CONFLICT (space_id, user_id) DO NOTHING",
            &[&space_id, &user_id],
        )?;
        let row = tx.query_one(
            "SELECT privileges FROM space_users WHERE space_id = $1 AND user_id = $2 FOR UPDATE",
            &[&space_id, &user_id],
        )?;
        let updated = apply(split(get(&row, 0)?), grant, revoke);
        tx.execute(
            "UPDATE space_users SET privileges = $1 WHERE space_id = $2 AND user_id = $3",
            &[&join(&updated), &space_id, &user_id],
        )?;
        tx.commit()?;
        Ok(updated)
    }

    fn insert_named_token(&self, token: &NamedToken, quota: Option<u64>) -> Result<(), StoreError> {
        let caveats = caveats_to_json(&token.caveats)?;
        let created = to_i64(token.created)?;
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        if quota.is_some() {
            // Locking the subject's row serializes quota checks of the same subject.
            tx.execute(
                "SELECT id FROM users WHERE id = $1 FOR UPDATE",
                &[&token.subject],
            )?;
            let row = tx.query_one(
                "SELECT COUNT(*) FROM named_tokens WHERE subject = $1",
                &[&token.subject],
            )?;
            check_quota(quota, get(&row, 0)?)?;
        }
        match tx.execute(
            "INSERT INTO named_tokens
             (id, name, kind, subject, target, key_id, revoked, created, caveats, parent)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                &token.id,
                &token.name,
                &token.kind,
                &token.subject,
                &token.target,
                &token.key_id,
                &token.revoked,
                &created,
                &caveats,
                &token.parent,
            ],
        ) {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::TokenNameTaken),
            other => other?,
        };
        tx.commit()?;
        Ok(())
    }

    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                &format!("SELECT {TOKEN_COLUMNS} FROM named_tokens WHERE id = $1"),
                &[&id],
            )?
            .as_ref()
            .map(token_from_row)
            .transpose()
    }

    fn named_tokens_of(&self, subject: &str) -> Result<Vec<NamedToken>, StoreError> {
        self.pool
            .get()?
            .query(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM named_tokens WHERE subject = $1 ORDER BY created, id"
                ),
                &[&subject],
            )?
            .iter()
            .map(token_from_row)
            .collect()
    }

    fn set_named_token_revoked(&self, id: &str, revoked: bool) -> Result<bool, StoreError> {
        let changed = self.pool.get()?.execute(
            "UPDATE named_tokens SET revoked = $1 WHERE id = $2",
            &[&revoked, &id],
        )?;
        Ok(changed > 0)
    }

    fn temporary_generation(
        &self,
        user_id: &str,
    ) -> Result<Option<TemporaryGeneration>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT generation, key_id FROM temporary_generations WHERE user_id = $1",
                &[&user_id],
            )?
            .as_ref()
            .map(generation_from_row)
            .transpose()
    }

    fn bump_temporary_generation(
        &self,
        user_id: &str,
        key_id: i64,
    ) -> Result<Option<TemporaryGeneration>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "UPDATE temporary_generations SET generation = generation + 1, key_id = $2
                 WHERE user_id = $1 RETURNING generation, key_id",
                &[&user_id, &key_id],
            )?
            .as_ref()
            .map(generation_from_row)
            .transpose()
    }

    fn insert_root_key(&self, material: &[u8], created: u64) -> Result<RootKeyRecord, StoreError> {
        let created_i64 = to_i64(created)?;
        let text = Zeroizing::new(hex::encode(material));
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        // EXCLUSIVE blocks other writers of root_keys (a concurrent insert_root_key, whose
        // MAX(id) would otherwise collide) until commit; plain reads go on.
        tx.batch_execute("LOCK TABLE root_keys IN EXCLUSIVE MODE")?;
        let row = tx.query_one("SELECT COALESCE(MAX(id), 0) + 1 FROM root_keys", &[])?;
        let id: i64 = get(&row, 0)?;
        tx.execute(
            "INSERT INTO root_keys (id, material, created, retired) VALUES ($1, $2, $3, NULL)",
            &[&id, &text.as_str(), &created_i64],
        )?;
        tx.commit()?;
        Ok(RootKeyRecord {
            id,
            material: Zeroizing::new(material.to_vec()),
            created,
            retired: None,
        })
    }

    fn root_keys(&self) -> Result<Vec<RootKeyRecord>, StoreError> {
        self.pool
            .get()?
            .query(
                "SELECT id, material, created, retired FROM root_keys ORDER BY id",
                &[],
            )?
            .iter()
            .map(key_from_row)
            .collect()
    }

    fn root_key(&self, id: i64) -> Result<Option<RootKeyRecord>, StoreError> {
        self.pool
            .get()?
            .query_opt(
                "SELECT id, material, created, retired FROM root_keys WHERE id = $1",
                &[&id],
            )?
            .as_ref()
            .map(key_from_row)
            .transpose()
    }

    fn retire_root_key(&self, id: i64, at: u64) -> Result<bool, StoreError> {
        let at = to_i64(at)?;
        let mut client = self.pool.get()?;
        let mut tx = client.transaction()?;
        // Serializes with other retirements, so two at once cannot leave no active key.
        tx.batch_execute("LOCK TABLE root_keys IN EXCLUSIVE MODE")?;
        let changed = tx.execute(
            "UPDATE root_keys SET retired = $2, material = '' WHERE id = $1 AND retired IS NULL
             AND EXISTS (SELECT 1 FROM root_keys WHERE id <> $1 AND retired IS NULL)",
            &[&id, &at],
        )?;
        tx.commit()?;
        Ok(changed > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names() {
        for good in ["a", "t_123_4", "macaroon_mint", &"x".repeat(63)] {
            assert!(validate_schema(good).is_ok(), "{good}");
        }
        for bad in ["", "A", "a-b", "a;b", "a\"b", "é", "a b", &"x".repeat(64)] {
            assert!(validate_schema(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let config: Config = "postgres://alice:s3cret@db.example:5433/tokens"
            .parse()
            .unwrap();
        assert_eq!(hosts(&config), "db.example:5433");
        // Without a server: build the store by hand, with no connection.
        let store = PostgresStore {
            pool: Pool {
                config,
                schema: Some("t_1".into()),
                state: Mutex::new(PoolState {
                    idle: Vec::new(),
                    open: 0,
                }),
                returned: Condvar::new(),
            },
        };
        let text = format!("{store:?}");
        assert!(
            text.contains("db.example:5433") && text.contains("t_1"),
            "{text}"
        );
        assert!(
            !text.contains("s3cret") && !text.contains("alice"),
            "{text}"
        );
    }

    #[test]
    fn invalid_url_and_unreachable_server() {
        match PostgresStore::connect("postgres://u:pw@127.0.0.1:bad/db") {
            Err(StoreError::Backend(text)) => assert!(!text.contains("pw@"), "{text}"),
            other => panic!("{other:?}"),
        }
        // Port 1 on loopback: nothing listens there; the error names the host only.
        match PostgresStore::connect("postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2") {
            Err(StoreError::Backend(text)) => {
                assert!(text.contains("127.0.0.1:1"), "{text}");
                assert!(!text.contains("hunter2"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}
