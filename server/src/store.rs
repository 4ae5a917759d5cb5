//! Storage behind the [`Store`] trait, with the embedded SQLite backend ([`SqliteStore`]).
//!
//! The trait is synchronous: the HTTP handlers call it from `tokio::task::spawn_blocking`, so a
//! backend may block (SQLite file I/O, a PostgreSQL client connection pool).

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

/// The file name of the SQLite database inside the data directory.
pub const SQLITE_FILE: &str = "macaroon-mint.sqlite3";

/// A storage failure. Its text is for the server's log only; HTTP clients see
/// `internalServerError` without it.
#[derive(Debug)]
pub enum StoreError {
    /// The backend failed (I/O, SQL, a corrupt row).
    Backend(String),
    /// A username is already taken.
    UsernameTaken,
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreError::Backend(message) => write!(f, "storage error: {message}"),
            StoreError::UsernameTaken => f.write_str("the username is already taken"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        StoreError::Backend(e.to_string())
    }
}

/// A user account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The user id (32 lowercase hex characters).
    pub id: String,
    /// The login name (unique).
    pub username: String,
    /// The Argon2 password hash in PHC string form.
    pub password_hash: String,
    /// The Onezone admin privileges (`oz_*`).
    pub oz_privileges: BTreeSet<String>,
}

/// A space.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Space {
    /// The space id (32 lowercase hex characters).
    pub id: String,
    /// Its name.
    pub name: String,
}

/// A named token's record (SPEC §10.3): its secret and revoked flag, looked up by token id.
#[derive(Clone, PartialEq, Eq)]
pub struct NamedToken {
    /// The token id written into the identifier.
    pub id: String,
    /// The invite code (`rop`, `ssp`, …).
    pub kind: String,
    /// The issuing user's id (the token's subject).
    pub subject: String,
    /// The invite target (the future cluster admin for `rop`, the space for `ssp`).
    pub target: String,
    /// The token secret: 64 lowercase hex characters whose ASCII text is the root key.
    pub secret: String,
    /// Whether the token has been revoked.
    pub revoked: bool,
    /// When it was created (Unix seconds).
    pub created: u64,
}

impl fmt::Debug for NamedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamedToken")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("subject", &self.subject)
            .field("target", &self.target)
            .field("secret", &"<redacted>")
            .field("revoked", &self.revoked)
            .field("created", &self.created)
            .finish()
    }
}

/// A subject's temporary-token secret and its generation (SPEC §10.3).
#[derive(Clone, PartialEq, Eq)]
pub struct TemporarySecret {
    /// The current generation (starts at 1).
    pub generation: u64,
    /// The shared secret of the current generation (64 lowercase hex characters).
    pub secret: String,
}

impl fmt::Debug for TemporarySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemporarySecret")
            .field("generation", &self.generation)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// The token service's storage. Every method is one atomic operation.
pub trait Store: Send + Sync + 'static {
    /// Creates a user with a fresh id and its temporary-token secret (generation 1).
    ///
    /// # Errors
    ///
    /// [`StoreError::UsernameTaken`] when the username exists.
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        oz_privileges: &BTreeSet<String>,
        temporary_secret: &str,
    ) -> Result<User, StoreError>;
    /// The user with this id.
    fn user_by_id(&self, id: &str) -> Result<Option<User>, StoreError>;
    /// The user with this username.
    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError>;
    /// Grants then revokes `oz_*` privileges; the new set, or `None` for an unknown user.
    fn update_oz_privileges(
        &self,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<Option<BTreeSet<String>>, StoreError>;
    /// Creates a space whose only member is `creator` with `creator_privileges`.
    fn create_space(
        &self,
        name: &str,
        creator: &str,
        creator_privileges: &BTreeSet<String>,
    ) -> Result<Space, StoreError>;
    /// The space with this id.
    fn space_by_id(&self, id: &str) -> Result<Option<Space>, StoreError>;
    /// The user's privileges in the space; `None` when not a member.
    fn space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
    ) -> Result<Option<BTreeSet<String>>, StoreError>;
    /// Grants then revokes space privileges of a user (making them a member if needed); the new
    /// set.
    fn update_space_privileges(
        &self,
        space_id: &str,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<BTreeSet<String>, StoreError>;
    /// Stores a freshly minted named token.
    fn insert_named_token(&self, token: &NamedToken) -> Result<(), StoreError>;
    /// The named token with this id.
    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError>;
    /// Marks a named token revoked; whether it exists.
    fn revoke_named_token(&self, id: &str) -> Result<bool, StoreError>;
    /// The user's temporary-token secret and generation.
    fn temporary_secret(&self, user_id: &str) -> Result<Option<TemporarySecret>, StoreError>;
}

/// Fills a buffer from the operating system's random number generator.
///
/// # Errors
///
/// [`StoreError::Backend`] when the generator fails.
pub fn random_hex(bytes: usize) -> Result<String, StoreError> {
    let mut buf = vec![0u8; bytes];
    getrandom::getrandom(&mut buf)
        .map_err(|e| StoreError::Backend(format!("random number generator: {e}")))?;
    Ok(hex::encode(buf))
}

fn join(privileges: &BTreeSet<String>) -> String {
    privileges
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ")
}

fn split(text: &str) -> BTreeSet<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

fn apply(
    mut set: BTreeSet<String>,
    grant: &BTreeSet<String>,
    revoke: &BTreeSet<String>,
) -> BTreeSet<String> {
    set.extend(grant.iter().cloned());
    set.retain(|p| !revoke.contains(p));
    set
}

const SCHEMA: &str = "
PRAGMA journal_mode = WAL;
PRAGMA foreign_keys = ON;
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    oz_privileges TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS space_users (
    space_id TEXT NOT NULL REFERENCES spaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    privileges TEXT NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE TABLE IF NOT EXISTS named_tokens (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL REFERENCES users(id),
    target TEXT NOT NULL,
    secret TEXT NOT NULL,
    revoked INTEGER NOT NULL DEFAULT 0,
    created INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS temporary_secrets (
    user_id TEXT PRIMARY KEY REFERENCES users(id),
    generation INTEGER NOT NULL,
    secret TEXT NOT NULL
);
";

/// The embedded SQLite backend: one connection, serialized by a mutex.
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
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.conn
            .lock()
            .map_err(|_| StoreError::Backend("the database lock is poisoned".into()))
    }
}

fn user_from_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(0)?,
        username: row.get(1)?,
        password_hash: row.get(2)?,
        oz_privileges: split(&row.get::<_, String>(3)?),
    })
}

fn to_u64(value: i64) -> Result<u64, StoreError> {
    u64::try_from(value).map_err(|_| StoreError::Backend(format!("negative value {value}")))
}

fn to_i64(value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Backend(format!("value {value} too large")))
}

impl Store for SqliteStore {
    fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        oz_privileges: &BTreeSet<String>,
        temporary_secret: &str,
    ) -> Result<User, StoreError> {
        let id = random_hex(16)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        let taken: Option<String> = tx
            .query_row(
                "SELECT id FROM users WHERE username = ?1",
                params![username],
                |row| row.get(0),
            )
            .optional()?;
        if taken.is_some() {
            return Err(StoreError::UsernameTaken);
        }
        tx.execute(
            "INSERT INTO users (id, username, password_hash, oz_privileges) VALUES (?1, ?2, ?3, ?4)",
            params![id, username, password_hash, join(oz_privileges)],
        )?;
        tx.execute(
            "INSERT INTO temporary_secrets (user_id, generation, secret) VALUES (?1, 1, ?2)",
            params![id, temporary_secret],
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
        Ok(conn
            .query_row(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE id = ?1",
                params![id],
                user_from_row,
            )
            .optional()?)
    }

    fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let conn = self.lock()?;
        Ok(conn
            .query_row(
                "SELECT id, username, password_hash, oz_privileges FROM users WHERE username = ?1",
                params![username],
                user_from_row,
            )
            .optional()?)
    }

    fn update_oz_privileges(
        &self,
        user_id: &str,
        grant: &BTreeSet<String>,
        revoke: &BTreeSet<String>,
    ) -> Result<Option<BTreeSet<String>>, StoreError> {
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
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
    ) -> Result<Space, StoreError> {
        let id = random_hex(16)?;
        let mut conn = self.lock()?;
        let tx = conn.transaction()?;
        tx.execute(
            "INSERT INTO spaces (id, name) VALUES (?1, ?2)",
            params![id, name],
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
        let tx = conn.transaction()?;
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

    fn insert_named_token(&self, token: &NamedToken) -> Result<(), StoreError> {
        let conn = self.lock()?;
        conn.execute(
            "INSERT INTO named_tokens (id, kind, subject, target, secret, revoked, created)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                token.id,
                token.kind,
                token.subject,
                token.target,
                token.secret,
                token.revoked,
                to_i64(token.created)?
            ],
        )?;
        Ok(())
    }

    fn named_token(&self, id: &str) -> Result<Option<NamedToken>, StoreError> {
        let conn = self.lock()?;
        let row = conn
            .query_row(
                "SELECT id, kind, subject, target, secret, revoked, created
                 FROM named_tokens WHERE id = ?1",
                params![id],
                |row| {
                    Ok((
                        NamedToken {
                            id: row.get(0)?,
                            kind: row.get(1)?,
                            subject: row.get(2)?,
                            target: row.get(3)?,
                            secret: row.get(4)?,
                            revoked: row.get(5)?,
                            created: 0,
                        },
                        row.get::<_, i64>(6)?,
                    ))
                },
            )
            .optional()?;
        row.map(|(token, created)| {
            Ok(NamedToken {
                created: to_u64(created)?,
                ..token
            })
        })
        .transpose()
    }

    fn revoke_named_token(&self, id: &str) -> Result<bool, StoreError> {
        let conn = self.lock()?;
        let changed = conn.execute(
            "UPDATE named_tokens SET revoked = 1 WHERE id = ?1",
            params![id],
        )?;
        Ok(changed > 0)
    }

    fn temporary_secret(&self, user_id: &str) -> Result<Option<TemporarySecret>, StoreError> {
        let conn = self.lock()?;
        let row: Option<(i64, String)> = conn
            .query_row(
                "SELECT generation, secret FROM temporary_secrets WHERE user_id = ?1",
                params![user_id],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        row.map(|(generation, secret)| {
            Ok(TemporarySecret {
                generation: to_u64(generation)?,
                secret,
            })
        })
        .transpose()
    }
}
