//! The PostgreSQL backend, for several server instances sharing one database.
//!
//! It uses the synchronous `postgres` client (no TLS: run it on loopback, a private network or
//! through a TLS tunnel) with an `r2d2` pool of connections. Every operation that reads and then
//! writes does so atomically across processes: a transaction that locks the row
//! (`SELECT … FOR UPDATE`), a single `UPDATE … RETURNING`, or (for root key ids) a table lock.
//!
//! Only connection, pool and transaction code lives here; the statements are in [`super::sql`]
//! and the operations in [`super::ops`].

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Client, Config, GenericClient, NoTls};
use r2d2_postgres::r2d2::{self, CustomizeConnection, HandleError, ManageConnection};
use r2d2_postgres::PostgresConnectionManager;

use super::ops::{store_via_backend, Backend, Db, DbError, Param, Row, Value};
use super::sql;
use super::{FeedListener, KeyProtection, StoreError};

/// At most this many connections per [`PostgresStore`].
const MAX_CONNECTIONS: u32 = 8;
/// How long a call waits for a connection: a free one when all are busy, or a new one while the
/// database is out of reach (r2d2 retries until then). Short, so that an unreachable database
/// is answered as such (503 once the cache stops trusting itself) rather than after a long hang.
const CHECKOUT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a call waits for a connection while the last attempt to open one failed.
const UNREACHABLE_CHECKOUT_TIMEOUT: Duration = Duration::from_millis(250);
/// How long sent data may stay unacknowledged before the connection is closed, when the URL
/// sets no `tcp_user_timeout`.
const TCP_USER_TIMEOUT: Duration = Duration::from_secs(10);
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

impl From<postgres::Error> for DbError {
    fn from(e: postgres::Error) -> DbError {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            DbError::UniqueViolation
        } else {
            DbError::Other(e.into())
        }
    }
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

type Manager = PostgresConnectionManager<NoTls>;
type Pool = r2d2::Pool<Manager>;
type PooledClient = r2d2::PooledConnection<Manager>;

/// The text of the last failed connection attempt, for the error of a checkout that timed out
/// (r2d2's own error quotes `postgres::Error`'s `Display`, which can carry a `DETAIL`).
type LastError = Arc<Mutex<Option<String>>>;

/// The pool's hooks: each new connection is set to the store's schema; a connection leaving
/// the pool (reaped, broken) is closed off any tokio runtime thread; failed connection attempts
/// are remembered (as [`describe`] puts them) for the checkout error.
#[derive(Debug)]
struct Hooks {
    schema: Option<String>,
    last_error: LastError,
}

impl CustomizeConnection<Client, postgres::Error> for Hooks {
    fn on_acquire(&self, client: &mut Client) -> Result<(), postgres::Error> {
        if let Some(schema) = &self.schema {
            // Validated to [a-z0-9_]+: safe to quote as an identifier.
            client.batch_execute(&sql::pg_set_search_path(schema))?;
        }
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;
        Ok(())
    }

    fn on_release(&self, client: Client) {
        drop_off_runtime(client);
    }
}

impl HandleError<postgres::Error> for Hooks {
    fn handle_error(&self, error: postgres::Error) {
        *self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(describe(&error));
    }
}

/// Drops `value` where that is allowed. Closing a synchronous `postgres` client blocks on its
/// own runtime, which panics on a tokio worker thread (e.g. when the server's last
/// `Arc<dyn Store>` goes away inside the runtime, taking the pool and its idle connections
/// with it), so inside a runtime it happens on a plain thread.
fn drop_off_runtime<T: Send + 'static>(value: T) {
    if tokio::runtime::Handle::try_current().is_err() {
        drop(value);
        return;
    }
    let slot = Arc::new(Mutex::new(Some(value)));
    let theirs = Arc::clone(&slot);
    let spawned = std::thread::Builder::new()
        .name("postgres-close".into())
        .spawn(move || drop(theirs.lock().unwrap_or_else(PoisonError::into_inner).take()));
    if spawned.is_err() {
        // No thread could be started (the failed spawn dropped only its handle on the slot):
        // the value is leaked rather than risk a panic; the process closes the connections
        // when it exits.
        std::mem::forget(slot);
    }
}

/// The pool, dropped with [`drop_off_runtime`]: r2d2 closes its idle connections when its last
/// handle goes, on whatever thread that is. (Checked-out connections hold a handle too, but
/// none is checked out once the store is unreachable.)
struct Connections(Option<Pool>);

impl Drop for Connections {
    fn drop(&mut self) {
        if let Some(pool) = self.0.take() {
            drop_off_runtime(pool);
        }
    }
}

/// The PostgreSQL backend: a pool of up to 8 connections to one database, optionally confined to
/// one schema. Several server instances (each with its own `PostgresStore`) may share the
/// database.
///
/// `Debug` shows the host and schema only, never the URL's user or password.
pub struct PostgresStore {
    pool: Connections,
    config: Config,
    schema: Option<String>,
    /// The `NOTIFY` channel of this store's feed ([`feed_channel`]).
    channel: String,
    last_error: LastError,
    protection: KeyProtection,
}

impl fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PostgresStore")
            .field("host", &hosts(&self.config))
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresStore {
    /// Connects to the database at `url` (`postgres://user:password@host:port/database`, or the
    /// `key=value` form) and creates the tables if missing, in the connection's default schema;
    /// root keys are kept as `protection` says.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the URL is invalid, the database cannot be reached or the
    /// tables cannot be created.
    pub fn connect(url: &str, protection: KeyProtection) -> Result<PostgresStore, StoreError> {
        PostgresStore::new(url, None, protection)
    }

    /// As [`PostgresStore::connect`], with every table in the schema `schema` (created if
    /// missing): each connection of the pool sets `search_path` to it. The name must be 1 to 63
    /// characters of `[a-z0-9_]`.
    ///
    /// # Errors
    ///
    /// As [`PostgresStore::connect`], and [`StoreError::Backend`] for an invalid schema name.
    pub fn connect_in_schema(
        url: &str,
        schema: &str,
        protection: KeyProtection,
    ) -> Result<PostgresStore, StoreError> {
        validate_schema(schema)?;
        PostgresStore::new(url, Some(schema.to_owned()), protection)
    }

    fn new(
        url: &str,
        schema: Option<String>,
        protection: KeyProtection,
    ) -> Result<PostgresStore, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::Backend(format!("invalid PostgreSQL URL: {e}")))?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        // A link that dies without a reset (a cut network) must not hang a pooled connection,
        // or the feed reader, for the TCP retransmission timeout (minutes): unacknowledged data
        // closes the connection after 10 s, and an idle one is probed after 30 s.
        if config.get_tcp_user_timeout().is_none() {
            config.tcp_user_timeout(TCP_USER_TIMEOUT);
        }
        // (libpq's defaults, which the URL did not change: 2 hours idle, the system's probes.)
        if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
            config.keepalives_idle(Duration::from_secs(30));
        }
        if config.get_keepalives_interval().is_none() {
            config.keepalives_interval(Duration::from_secs(5));
        }
        if config.get_keepalives_retries().is_none() {
            config.keepalives_retries(3);
        }
        if config.get_application_name().is_none() {
            config.application_name("macaroon-mint-server");
        }
        let manager = Manager::new(config.clone(), NoTls);
        let last_error = LastError::default();
        let hooks = || {
            Box::new(Hooks {
                schema: schema.clone(),
                last_error: Arc::clone(&last_error),
            })
        };
        // The first connection is opened here, once: an unreachable server or a bad password
        // fails at once with its cause (the pool would retry until its checkout timeout).
        let mut client = manager
            .connect()
            .and_then(|mut client| hooks().on_acquire(&mut client).map(|()| client))
            .map_err(|e| {
                StoreError::Backend(format!(
                    "connecting to {}: {}",
                    hosts(&config),
                    describe(&e)
                ))
            })?;
        let created = create_tables(&mut client, schema.as_deref());
        drop_off_runtime(client);
        created?;
        let pool = r2d2::Pool::builder()
            .max_size(MAX_CONNECTIONS)
            // Connections are opened on demand, as calls need them.
            .min_idle(Some(0))
            .connection_timeout(CHECKOUT_TIMEOUT)
            // A broken connection is noticed by `Client::is_closed` when it is returned; no
            // round trip per checkout.
            .test_on_check_out(false)
            .error_handler(hooks())
            .connection_customizer(hooks())
            .build_unchecked(manager);
        Ok(PostgresStore {
            pool: Connections(Some(pool)),
            channel: feed_channel(schema.as_deref()),
            config,
            schema,
            last_error,
            protection,
        })
    }

    /// A listener on this store's feed channel: its own connection (outside the pool), which
    /// `LISTEN`s until dropped.
    fn listener(&self) -> Result<Option<Box<dyn FeedListener>>, StoreError> {
        let mut config = self.config.clone();
        config.application_name("macaroon-mint-server feed");
        let mut client = config.connect(NoTls).map_err(|e| {
            StoreError::Backend(format!(
                "connecting to {}: {}",
                hosts(&self.config),
                describe(&e)
            ))
        })?;
        // Validated to [a-z0-9_]+ (see feed_channel): safe to quote as an identifier.
        if let Err(e) = client.batch_execute(&format!("LISTEN \"{}\"", self.channel)) {
            drop_off_runtime(client);
            return Err(e.into());
        }
        Ok(Some(Box::new(PgListener {
            client: Some(client),
        })))
    }

    /// A connection: an idle one, a new one while fewer than 8 are open, or the next one
    /// returned (waiting at most 5 seconds, or 250 ms while the last connection attempt
    /// failed).
    fn get(&self) -> Result<PooledClient, StoreError> {
        let pool = self
            .pool
            .0
            .as_ref()
            .ok_or_else(|| StoreError::Backend("the pool is closed".into()))?;
        // While the last connection attempt failed (cleared by the next one that succeeds), the
        // database is known to be out of reach: a call waits briefly for a connection (r2d2 keeps
        // retrying meanwhile) instead of the full checkout timeout, so that every request does
        // not hang on an unreachable database.
        let known_down = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some();
        let waited = if known_down {
            pool.get_timeout(UNREACHABLE_CHECKOUT_TIMEOUT)
        } else {
            pool.get()
        };
        waited.map_err(|_| {
            let last = self
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            StoreError::Backend(match last {
                Some(text) => format!("connecting to {}: {text}", hosts(&self.config)),
                None => format!(
                    "no free PostgreSQL connection within {}s (all {MAX_CONNECTIONS} busy)",
                    CHECKOUT_TIMEOUT.as_secs()
                ),
            })
        })
    }
}

/// The `NOTIFY` channel of a store's feed: one per schema, so that stores sharing a database
/// in different schemas do not wake each other. Channel names are cut at 63 bytes like every
/// identifier; two long schema names sharing their first 59 characters would share a channel,
/// which costs only spurious wake-ups (each reader reads its own schema's feed).
fn feed_channel(schema: Option<&str>) -> String {
    match schema {
        None => "macaroon_mint_feed".to_owned(),
        Some(schema) => format!("mmf_{}", &schema[..schema.len().min(59)]),
    }
}

/// A connection that `LISTEN`s on a feed channel.
struct PgListener {
    client: Option<Client>,
}

impl FeedListener for PgListener {
    fn wait(&mut self, timeout: Duration) -> Result<bool, StoreError> {
        let client = self
            .client
            .as_mut()
            .ok_or_else(|| StoreError::Backend("the feed listener is closed".into()))?;
        let woken = {
            let mut notifications = client.notifications();
            let woken = notifications.timeout_iter(timeout).next()?.is_some();
            // Drained: several commits read as one wake-up.
            let mut pending = notifications.iter();
            while pending.next()?.is_some() {}
            woken
        };
        if client.is_closed() {
            return Err(StoreError::Backend(
                "the feed listener's connection closed".into(),
            ));
        }
        Ok(woken)
    }
}

impl Drop for PgListener {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            drop_off_runtime(client);
        }
    }
}

/// Creates the schema (if any) and the tables, and adds the [`sql::ADDED_COLUMNS`] an older
/// version's database lacks, serialized by an advisory lock so that instances starting
/// together do not race.
fn create_tables(client: &mut Client, schema: Option<&str>) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute(sql::PG_SCHEMA_LOCK, &[&SCHEMA_LOCK])?;
    if let Some(schema) = schema {
        tx.batch_execute(&sql::pg_create_schema(schema))?;
    }
    tx.batch_execute(sql::SCHEMA)?;
    for (table, column, definition) in sql::ADDED_COLUMNS {
        let present: bool = tx.query_one(sql::PG_HAS_COLUMN, &[table, column])?.get(0);
        if !present {
            tx.batch_execute(&sql::add_column(
                table,
                column,
                definition,
                sql::PG_IF_NOT_EXISTS,
            ))?;
            if let Some(statement) = sql::backfill(table, column) {
                tx.batch_execute(statement)?;
            }
        }
    }
    for (table, constraint) in sql::PG_SUBJECT_FKEYS {
        let present: bool = tx
            .query_one(sql::PG_HAS_CONSTRAINT, &[constraint, table])?
            .get(0);
        if present {
            tx.batch_execute(&sql::pg_drop_constraint(table, constraint))?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl Backend for PostgresStore {
    fn run<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.get()?;
        f(&mut PgDb(&mut *client, &self.channel))
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.get()?;
        // Rolled back on drop when `f` fails.
        let mut tx = client.transaction()?;
        let value = f(&mut PgDb(&mut tx, &self.channel))?;
        tx.commit()?;
        Ok(value)
    }

    fn protection(&self) -> &KeyProtection {
        &self.protection
    }
}

store_via_backend!(PostgresStore);

/// A connection or a transaction as a [`Db`], with the store's feed channel.
struct PgDb<'a, C: GenericClient>(&'a mut C, &'a str);

fn pg_params<'p>(params: &'p [Param<'_>]) -> Vec<&'p (dyn ToSql + Sync)> {
    params
        .iter()
        .map(|param| match param {
            Param::Text(text) => text as &(dyn ToSql + Sync),
            Param::OptText(text) => text as &(dyn ToSql + Sync),
            Param::Int(value) => value as &(dyn ToSql + Sync),
            Param::OptInt(value) => value as &(dyn ToSql + Sync),
            Param::Bool(value) => value as &(dyn ToSql + Sync),
            Param::OptBool(value) => value as &(dyn ToSql + Sync),
        })
        .collect()
}

fn pg_row(row: &postgres::Row) -> Result<Row, DbError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let ty = column.type_();
        let value = if *ty == Type::TEXT || *ty == Type::VARCHAR {
            row.try_get::<_, Option<String>>(i)?.map(Value::Text)
        } else if *ty == Type::INT8 {
            row.try_get::<_, Option<i64>>(i)?.map(Value::Int)
        } else if *ty == Type::INT4 {
            row.try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into()))
        } else if *ty == Type::BOOL {
            row.try_get::<_, Option<bool>>(i)?.map(Value::Bool)
        } else {
            return Err(DbError::Other(StoreError::Backend(format!(
                "column {i}: unexpected type {ty}"
            ))));
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

impl<C: GenericClient> Db for PgDb<'_, C> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        Ok(self.0.execute(sql, &pg_params(params))?)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.0
            .query(sql, &pg_params(params))?
            .iter()
            .map(pg_row)
            .collect()
    }

    fn query_for_update(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        self.query(&format!("{sql}{}", sql::PG_FOR_UPDATE), params)
    }

    fn lock_root_keys(&mut self) -> Result<(), DbError> {
        Ok(self.0.batch_execute(sql::PG_LOCK_ROOT_KEYS)?)
    }

    fn notify_feed(&mut self) -> Result<(), DbError> {
        self.0.execute(sql::PG_NOTIFY, &[&self.1])?;
        Ok(())
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
        let pool = r2d2::Pool::builder()
            .min_idle(Some(0))
            .build_unchecked(Manager::new(config.clone(), NoTls));
        let store = PostgresStore {
            pool: Connections(Some(pool)),
            config,
            schema: Some("t_1".into()),
            channel: feed_channel(Some("t_1")),
            last_error: LastError::default(),
            protection: KeyProtection::Plain,
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
        match PostgresStore::connect("postgres://u:pw@127.0.0.1:bad/db", KeyProtection::Plain) {
            Err(StoreError::Backend(text)) => assert!(!text.contains("pw@"), "{text}"),
            other => panic!("{other:?}"),
        }
        // Port 1 on loopback: nothing listens there; the error names the host only.
        match PostgresStore::connect(
            "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=2",
            KeyProtection::Plain,
        ) {
            Err(StoreError::Backend(text)) => {
                assert!(text.contains("127.0.0.1:1"), "{text}");
                assert!(!text.contains("hunter2"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }
}
