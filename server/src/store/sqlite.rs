//! The embedded SQLite backend: a file in the data directory, created on first run.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::{
    apply, caveats_from_json, caveats_to_json, check_quota, join, material_from_hex, random_hex,
    split, to_i64, to_u64, NamedToken, RootKeyRecord, Space, Store, StoreError,
    TemporaryGeneration, User, ADDED_COLUMNS, SCHEMA,
};

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "macaroon-mint.sqlite3";

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// A UNIQUE constraint failed (not a foreign key or NOT NULL one), as PostgreSQL's 23505.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.code == ErrorCode::ConstraintViolation
            && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE)
}

/// The embedded SQLite backend: one connection, serialized by a mutex (SQLite serializes writers
/// anyway; WAL mode lets other processes read, e.g. `macaroon-mint keys list`, while it runs).
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and the directory if needed) `data_dir/macaroon-mint.sqlite3`.
    ///
    /// # Errors
    ///
    /// [`StoreError::Backend`] when the directory or database cannot be created or opened.
    pub fn open(data_dir: &Path) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::Backend(format!(
                "creating the data directory {}: {e}",
                data_dir.display()
            ))
        })?;
        let conn = Connection::open(data_dir.join(SQLITE_FILE))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")?;
        conn.execute_batch(SCHEMA)?;
        add_missing_columns(&conn)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("the database lock is poisoned".into()))
    }
}

/// Adds the [`ADDED_COLUMNS`] a database created by an older version lacks (SQLite has no
/// `ADD COLUMN IF NOT EXISTS`), in one IMMEDIATE transaction so that two processes opening the
/// file at once do not both add a column.
fn add_missing_columns(conn: &Connection) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        for (table, column, definition) in ADDED_COLUMNS {
            let present: bool = conn.query_row(
                "SELECT EXISTS (SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2)",
                params![table, column],
                |row| row.get(0),
            )?;
            if !present {
                conn.execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {definition}"
                ))?;
            }
        }
        Ok::<(), rusqlite::Error>(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e.into());
        }
    }
    Ok(())
}

const TOKEN_COLUMNS: &str =
    "id, name, kind, subject, target, key_id, revoked, created, caveats, parent";

fn token_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(NamedToken, i64, String)> {
    Ok((
        NamedToken {
            id: row.get(0)?,
            name: row.get(1)?,
            kind: row.get(2)?,
            subject: row.get(3)?,
            target: row.get(4)?,
            key_id: row.get(5)?,
            revoked: row.get(6)?,
            created: 0,
            caveats: Vec::new(),
            parent: row.get(9)?,
        },
        row.get::<_, i64>(7)?,
        row.get::<_, String>(8)?,
    ))
}

fn finish_token(
    (token, created, caveats): (NamedToken, i64, String),
) -> Result<NamedToken, StoreError> {
    Ok(NamedToken {
        created: to_u64(created)?,
        caveats: caveats_from_json(&token.id, &caveats)?,
        ..token
    })
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    Ok((
        User {
            id: row.get(0)?,
            username: row.get(1)?,
            password_hash: row.get(2)?,
            oz_privileges: BTreeSet::new(),
        },
        row.get::<_, String>(3)?,
    ))
}

fn finish_user(row: Option<(User, String)>) -> Option<User> {
    row.map(|(user, privileges)| User {
        oz_privileges: split(&privileges),
        ..user
    })
}

type KeyRow = (i64, String, i64, Option<i64>);

fn key_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<KeyRow> {
    Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
}

fn finish_key((id, material, created, retired): KeyRow) -> Result<RootKeyRecord, StoreError> {
    // The hex text is key material too: wiped once decoded.
    let material = zeroize::Zeroizing::new(material);
    Ok(RootKeyRecord {
        id,
        material: material_from_hex(id, &material)?,
        created: to_u64(created)?,
        retired: retired.map(to_u64).transpose()?,
    })
}

impl Store for SqliteStore {
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        oz_privileges: &BTreeSet<String>,
        key_id: i64,
    ) -> Result<User, StoreError> {
        let id = random_hex(16)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        match tx.execute(
            "INSERT INTO users (id, username, password_hash, oz_privileges) VALUES (?1, ?2, ?3, ?4)",
            params![id, username, password_hash, join(oz_privileges)],
        ) {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::UsernameTaken),
            other => other?,
        };
        tx.execute(
            "INSERT INTO temporary_generations (user_id, generation, key_id) VALUES (?1, 1, ?2)",
            params![id, key_id],
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
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE id = ?1",
                params![id],
                user_from_row,
            )
            .optional()?;
        Ok(finish_user(row))
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE username = ?1",
                params![username],
                user_from_row,
            )
            .optional()?;
        Ok(finish_user(row))
    }

    fn update_oz_privileges(
        &self,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<String> = tx
            .query_row(
                "SELECT oz_privileges FROM users WHERE id = ?1",
                params![user_id],
                |row| row.get(0),
            )
            .optional()?;
        let Some(current) = current else {
            return Ok(None);
        };
        let updated = apply(split(&current), grant, revoke);
        tx.execute(
            "UPDATE users SET oz_privileges = ?1 WHERE id = ?2",
            params![join(&updated), user_id],
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
        let mut conn = self.lock()?;
        // IMMEDIATE: the count and the insert happen under the write lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if quota.is_some() {
            let used: i64 = tx.query_row(
                "SELECT COUNT(*) FROM spaces WHERE creator = ?1",
                params![creator],
                |row| row.get(0),
            )?;
            check_quota(quota, used)?;
        }
        tx.execute(
            "INSERT INTO spaces (id, name, creator) VALUES (?1, ?2, ?3)",
            params![id, name, creator],
        )?;
        tx.execute(
            "INSERT INTO space_users (space_id, user_id, privileges) VALUES (?1, ?2, ?3)",
            params![id, creator, join(creator_privileges)],
        )?;
        tx.commit()?;
        Ok(Space {
            id,
            name: name.to_owned(),
        })
    }

    fn space_by_id(&self, id: &str) -> Result<Option<Space>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT id, name FROM spaces WHERE id = ?1",
                params![id],
                |row| {
                    Ok(Space {
                        id: row.get(0)?,
                        name: row.get(1)?,
                    })
                },
            )
            .optional()?)
    }

    fn space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        let conn = self.lock()?;
        let privileges: Option<String> = conn
            .query_row(
                "SELECT privileges FROM space_users WHERE space_id = ?1 AND user_id = ?2",
                params![space_id, user_id],
                |row| row.get(0),
            )
            .optional()?;
        Ok(privileges.as_deref().map(split))
    }

    fn update_space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let current: Option<String> = tx
            .query_row(
                "SELECT privileges FROM space_users WHERE space_id = ?1 AND user_id = ?2",
                params![space_id, user_id],
                |row| row.get(0),
            )
            .optional()?;
        let updated = apply(split(current.as_deref().unwrap_or("")), grant, revoke);
        tx.execute(
            "INSERT INTO space_users (space_id, user_id, privileges) VALUES (?1, ?2, ?3)
             ON CONFLICT (space_id, user_id) DO UPDATE SET privileges = excluded.privileges",
            params![space_id, user_id, join(&updated)],
        )?;
        tx.commit()?;
        Ok(updated)
    }

    fn insert_named_token(&self, token: &NamedToken, quota: Option<u64>) -> Result<(), StoreError> {
        let caveats = caveats_to_json(&token.caveats)?;
        let created = to_i64(token.created)?;
        let mut conn = self.lock()?;
        // IMMEDIATE: the count and the insert happen under the write lock.
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if quota.is_some() {
            let used: i64 = tx.query_row(
                "SELECT COUNT(*) FROM named_tokens WHERE subject = ?1",
                params![token.subject],
                |row| row.get(0),
            )?;
            check_quota(quota, used)?;
        }
        match tx.execute(
            "INSERT INTO named_tokens
             (id, name, kind, subject, target, key_id, revoked, created, caveats, parent)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                token.id,
                token.name,
                token.kind,
                token.subject,
                token.target,
                token.key_id,
                token.revoked,
                created,
                caveats,
                token.parent,
            ],
        ) {
            Err(e) if is_unique_violation(&e) => return Err(StoreError::TokenNameTaken),
            other => other?,
        };
        tx.commit()?;
        Ok(())
    }

    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            &format!("SELECT {TOKEN_COLUMNS} FROM named_tokens WHERE id = ?1"),
            params![id],
            token_from_row,
        )
        .optional()?
        .map(finish_token)
        .transpose()
    }

    fn named_tokens_of(&self, subject: &str) -> Result<Vec<NamedToken>, StoreError> {
        let conn = self.lock()?;
        let mut statement = conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM named_tokens WHERE subject = ?1 ORDER BY created, id"
        ))?;
        let rows = statement
            .query_map(params![subject], token_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish_token).collect()
    }

    fn set_named_token_revoked(&self, id: &str, revoked: bool) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let changed = conn.execute(
            "UPDATE named_tokens SET revoked = ?1 WHERE id = ?2",
            params![revoked, id],
        )?;
        Ok(changed > 0)
    }

    fn temporary_generation(
        &self,
        user_id: &str,
    ) -> Result<Option<TemporaryGeneration>, StoreError> {
        let conn = self.lock()?;
        let row: Option<(i64, i64)> = conn
            .query_row(
                "SELECT generation, key_id FROM temporary_generations WHERE user_id = ?1",
                params![user_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        row.map(|(generation, key_id)| {
            Ok(TemporaryGeneration {
                generation: to_u64(generation)?,
                key_id,
            })
        })
        .transpose()
    }

    fn bump_temporary_generation(
        &self,
        user_id: &str,
        key_id: i64,
    ) -> Result<Option<TemporaryGeneration>, StoreError> {
        let conn = self.lock()?;
        let row: Option<i64> = conn
            .query_row(
                "UPDATE temporary_generations SET generation = generation + 1, key_id = ?2
                 WHERE user_id = ?1 RETURNING generation",
                params![user_id, key_id],
                |row| row.get(0),
            )
            .optional()?;
        row.map(|generation| {
            Ok(TemporaryGeneration {
                generation: to_u64(generation)?,
                key_id,
            })
        })
        .transpose()
    }

    fn insert_root_key(&self, material: &[u8], created: u64) -> Result<RootKeyRecord, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let id: i64 = tx.query_row(
            "SELECT COALESCE(MAX(id), 0) + 1 FROM root_keys",
            [],
            |row| row.get(0),
        )?;
        let text = zeroize::Zeroizing::new(hex::encode(material));
        tx.execute(
            "INSERT INTO root_keys (id, material, created, retired) VALUES (?1, ?2, ?3, NULL)",
            params![id, text.as_str(), to_i64(created)?],
        )?;
        tx.commit()?;
        Ok(RootKeyRecord {
            id,
            material: zeroize::Zeroizing::new(material.to_vec()),
            created,
            retired: None,
        })
    }

    fn root_keys(&self) -> Result<Vec<RootKeyRecord>, StoreError> {
        let conn = self.lock()?;
        let mut statement =
            conn.prepare("SELECT id, material, created, retired FROM root_keys ORDER BY id")?;
        let rows = statement
            .query_map([], key_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        rows.into_iter().map(finish_key).collect()
    }

    fn root_key(&self, id: i64) -> Result<Option<RootKeyRecord>, StoreError> {
        let conn = self.lock()?;
        conn.query_row(
            "SELECT id, material, created, retired FROM root_keys WHERE id = ?1",
            params![id],
            key_from_row,
        )
        .optional()?
        .map(finish_key)
        .transpose()
    }

    fn retire_root_key(&self, id: i64, at: u64) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        // One statement: atomic against other processes writing the same file.
        let changed = conn.execute(
            "UPDATE root_keys SET retired = ?2, material = '' WHERE id = ?1 AND retired IS NULL
             AND EXISTS (SELECT 1 FROM root_keys WHERE id <> ?1 AND retired IS NULL)",
            params![id, to_i64(at)?],
        )?;
        Ok(changed > 0)
    }
}
