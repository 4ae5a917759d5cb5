//! The embedded SQLite backend: a file in the data directory, created on first run.
//!
//! Only connection, transaction and binding code lives here; the statements are in
//! [`super::sql`] and the operations in [`super::ops`].

use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::ops::{store_via_backend, Backend, Db, DbError, Param, Row, Value};
use super::seal::check_private;
use super::sql;
use super::{KeyProtection, StoreError};

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "macaroon-mint.sqlite3";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> DbError {
        if is_unique_violation(&e) {
            DbError::UniqueViolation
        } else {
            DbError::Other(e.into())
        }
    }
}

/// A UNIQUE or PRIMARY KEY constraint failed (not a foreign key or NOT NULL one), as
/// PostgreSQL's 23505 (which covers both).
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY))
}

/// The embedded SQLite backend: one connection, serialized by a mutex (SQLite serializes writers
/// anyway; WAL mode lets other processes read, e.g. `macaroon-mint keys list`, while it runs).
///
/// The data directory is private to the service's user (mode 0700) and the database files too
/// (0600); [`SqliteStore::open`] refuses wider ones.
pub struct SqliteStore {
    conn: Mutex<Connection>,
    protection: KeyProtection,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and the directory if needed) `data_dir/macaroon-mint.sqlite3`, keeping
    /// root keys as `protection` says.
    ///
    /// A new directory is created with mode 0700 and a new database file with 0600. An existing
    /// directory or database file that the group or others may access is refused (the store
    /// holds the root keys and password hashes), with the `chmod` that fixes it.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the directory or database cannot be created or opened, or
    /// is accessible by other users.
    pub fn open(data_dir: &Path, protection: KeyProtection) -> Result<SqliteStore, StoreError> {
        prepare_data_dir(data_dir)?;
        let path = data_dir.join(SQLITE_FILE);
        prepare_database_files(&path)?;
        let conn = Connection::open(&path)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(sql::SQLITE_PRAGMAS)?;
        let store = SqliteStore {
            conn: Mutex::new(conn),
            protection,
        };
        store.create_tables()?;
        Ok(store)
    }

    /// Creates the tables, and adds the [`sql::ADDED_COLUMNS`] a database created by an older
    /// version lacks (SQLite has no `ADD COLUMN IF NOT EXISTS`), in one IMMEDIATE transaction so
    /// that two processes opening the file at once do not both add a column.
    fn create_tables(&self) -> Result<(), StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql::SCHEMA)?;
        for (table, column, definition) in sql::ADDED_COLUMNS {
            let present = SqliteDb(&tx)
                .query_one(
                    sql::SQLITE_HAS_COLUMN,
                    &[Param::Text(table), Param::Text(column)],
                )?
                .0;
            if matches!(present.first(), Some(Value::Int(0))) {
                tx.execute_batch(&sql::add_column(table, column, definition, ""))?;
                if let Some(statement) = sql::backfill(table, column) {
                    tx.execute_batch(statement)?;
                }
            }
        }
        for (table, columns) in sql::SUBJECT_TABLES {
            let tied = SqliteDb(&tx)
                .query_one(sql::SQLITE_REFERENCES_USERS, &[Param::Text(table)])?
                .0;
            if !matches!(tied.first(), Some(Value::Int(0))) {
                tx.execute_batch(&sql::sqlite_rebuild(table, columns))?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("the database lock is poisoned".into()))
    }
}

impl SqliteStore {
    /// None: the single instance updates its own cache as it writes, and polls the feed for
    /// other processes' changes (`keys retire` and the like).
    #[allow(clippy::unnecessary_wraps)] // the backends' common signature
    fn listener(&self) -> Result<Option<Box<dyn super::FeedListener>>, StoreError> {
        Ok(None)
    }
}

impl Backend for SqliteStore {
    fn run<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.lock()?;
        f(&mut SqliteDb(&conn))
    }

    fn write<T>(
        &self,
        f: impl FnOnce(&mut dyn Db) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut conn = self.lock()?;
        // IMMEDIATE takes the database's write lock at once: everything read in the
        // transaction stays current until commit (SQLite's stand-in for row locks), also
        // against other processes using the file.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = f(&mut SqliteDb(&tx))?;
        tx.commit()?;
        Ok(value)
    }

    fn protection(&self) -> &KeyProtection {
        &self.protection
    }
}

store_via_backend!(SqliteStore);

/// Creates the data directory with mode 0700 (parents too), or checks that an existing one is
/// private.
fn prepare_data_dir(dir: &Path) -> Result<(), StoreError> {
    match std::fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => check_private(dir, "the data directory", "700"),
        Ok(_) => Err(StoreError::Backend(format!(
            "the data directory {} is not a directory",
            dir.display()
        ))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut builder = std::fs::DirBuilder::new();
            builder.recursive(true);
            #[cfg(unix)]
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
            builder.create(dir).map_err(|e| {
                StoreError::Backend(format!(
                    "creating the data directory {}: {e}",
                    dir.display()
                ))
            })
        }
        Err(e) => Err(StoreError::Backend(format!(
            "reading the data directory {}: {e}",
            dir.display()
        ))),
    }
}

/// Makes the database file private before SQLite opens it.
///
/// Why not a umask: it is process-wide (other threads create files meanwhile) and SQLite creates
/// the `-wal` and `-shm` files later, on first use, after any temporary umask is restored.
/// Instead the database file is created here with mode 0600 (or, existing, refused when wider):
/// SQLite creates its `-wal`, `-shm` and `-journal` files with the database file's own
/// permissions, so they are 0600 too, whenever they appear. Sidecar files left wider by an
/// older version are narrowed to 0600 here (they hold database pages).
#[cfg(unix)]
fn prepare_database_files(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let created = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    match created {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            check_private(path, "the database file", "600")?;
        }
        Err(e) => {
            return Err(StoreError::Backend(format!(
                "creating the database file {}: {e}",
                path.display()
            )))
        }
    }
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(suffix);
        let sidecar = Path::new(&sidecar);
        if let Ok(metadata) = std::fs::metadata(sidecar) {
            if metadata.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(sidecar, std::fs::Permissions::from_mode(0o600)).map_err(
                    |e| StoreError::Backend(format!("restricting {}: {e}", sidecar.display())),
                )?;
            }
        }
    }
    Ok(())
}

/// Elsewhere permissions are left to the platform.
#[cfg(not(unix))]
fn prepare_database_files(_path: &Path) -> Result<(), StoreError> {
    Ok(())
}

/// A connection (or a transaction, which dereferences to one) as a [`Db`].
struct SqliteDb<'a>(&'a Connection);

/// Prepares `sql` and binds `params` by name: `$1` is `params[0]`, wherever it first appears
/// (SQLite numbers named parameters by first appearance, not by their digits).
fn bind<'c>(
    conn: &'c Connection,
    sql: &str,
    params: &[Param<'_>],
) -> Result<rusqlite::CachedStatement<'c>, DbError> {
    let mut statement = conn.prepare_cached(sql)?;
    if statement.parameter_count() != params.len() {
        return Err(DbError::Other(StoreError::Backend(format!(
            "statement expects {} parameters, {} given",
            statement.parameter_count(),
            params.len()
        ))));
    }
    for (i, param) in params.iter().enumerate() {
        let name = format!("${}", i + 1);
        let index = statement.parameter_index(&name)?.ok_or_else(|| {
            DbError::Other(StoreError::Backend(format!("statement has no {name}")))
        })?;
        match *param {
            Param::Text(text) => statement.raw_bind_parameter(index, text)?,
            Param::OptText(text) => statement.raw_bind_parameter(index, text)?,
            Param::Int(value) => statement.raw_bind_parameter(index, value)?,
            Param::OptInt(value) => statement.raw_bind_parameter(index, value)?,
            Param::Bool(value) => statement.raw_bind_parameter(index, value)?,
            Param::OptBool(value) => statement.raw_bind_parameter(index, value)?,
        }
    }
    Ok(statement)
}

fn value(value: ValueRef<'_>) -> Result<Value, DbError> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Text(bytes) => Value::Text(String::from_utf8(bytes.to_vec()).map_err(|_| {
            DbError::Other(StoreError::Backend("a text column is not UTF-8".into()))
        })?),
        ValueRef::Real(_) | ValueRef::Blob(_) => {
            return Err(DbError::Other(StoreError::Backend(
                "unexpected column type".into(),
            )))
        }
    })
}

impl Db for SqliteDb<'_> {
    fn execute(&mut self, sql: &str, params: &[Param<'_>]) -> Result<u64, DbError> {
        let mut statement = bind(self.0, sql, params)?;
        Ok(statement.raw_execute()? as u64)
    }

    fn query(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        let mut statement = bind(self.0, sql, params)?;
        let columns = statement.column_count();
        let mut rows = statement.raw_query();
        let mut result = Vec::new();
        while let Some(row) = rows.next()? {
            let values = (0..columns)
                .map(|i| value(row.get_ref(i)?))
                .collect::<Result<Vec<_>, DbError>>()?;
            result.push(Row(values));
        }
        Ok(result)
    }

    fn query_for_update(&mut self, sql: &str, params: &[Param<'_>]) -> Result<Vec<Row>, DbError> {
        // Called in an IMMEDIATE transaction, which holds the write lock already.
        self.query(sql, params)
    }

    fn lock_root_keys(&mut self) -> Result<(), DbError> {
        // As above.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parameters are bound by name, whatever their order of first appearance.
    #[test]
    fn parameters_bind_by_name() {
        let conn = Connection::open_in_memory().unwrap();
        let mut db = SqliteDb(&conn);
        let mut row = db
            .query_one(
                "SELECT $3 || '-' || $1 || '-' || $2 || '-' || $1",
                &[Param::Text("one"), Param::Text("two"), Param::Text("three")],
            )
            .unwrap();
        assert!(matches!(row.0.remove(0), Value::Text(t) if t == "three-one-two-one"));
        // A missing or extra parameter is an error, not a silent NULL.
        assert!(db.query("SELECT $1, $2", &[Param::Int(1)]).is_err());
        assert!(db
            .query("SELECT $1", &[Param::Int(1), Param::Int(2)])
            .is_err());
        assert!(db.query("SELECT $2", &[Param::Int(1)]).is_err());
    }
}
