//! Every SQL statement of the store, written once for both backends.
//!
//! Placeholders are `$1`, `$2`, … which PostgreSQL and SQLite both accept. SQLite treats them
//! as *named* parameters numbered by first appearance, not by their digits, so the SQLite
//! adapter binds each value by its name (`$1` is the first value given, whatever its position
//! in the text); see `sqlite::bind`.
//!
//! The few texts that only one backend runs are marked so: PostgreSQL's table lock and schema
//! statements, SQLite's column lookup. Row locks are not spelled here: a statement read "for
//! update" gets ` FOR UPDATE` appended by the PostgreSQL adapter, while SQLite's IMMEDIATE
//! transaction already holds the database's write lock.

/// The schema (`INTEGER` is 64-bit in SQLite, `BIGINT` spelled out for PostgreSQL). Statements
/// are separated by `;`.
pub(super) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS root_keys (
    id BIGINT PRIMARY KEY,
    material TEXT NOT NULL,
    created BIGINT NOT NULL,
    retired BIGINT
);
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    oz_privileges TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS spaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    creator TEXT
);
CREATE TABLE IF NOT EXISTS space_users (
    space_id TEXT NOT NULL REFERENCES spaces(id),
    user_id TEXT NOT NULL REFERENCES users(id),
    privileges TEXT NOT NULL,
    PRIMARY KEY (space_id, user_id)
);
CREATE TABLE IF NOT EXISTS named_tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    target TEXT NOT NULL,
    key_id BIGINT NOT NULL REFERENCES root_keys(id),
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    caveats TEXT NOT NULL DEFAULT '[]',
    parent TEXT,
    custom_metadata TEXT NOT NULL DEFAULT '{}',
    usage_limit BIGINT,
    usage_count BIGINT NOT NULL DEFAULT 0,
    privileges TEXT,
    subject_type TEXT NOT NULL DEFAULT 'user',
    UNIQUE (subject, name)
);
CREATE TABLE IF NOT EXISTS temporary_generations (
    user_id TEXT PRIMARY KEY,
    generation BIGINT NOT NULL,
    key_id BIGINT NOT NULL REFERENCES root_keys(id)
);
CREATE TABLE IF NOT EXISTS providers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    domain TEXT NOT NULL,
    admin_email TEXT NOT NULL,
    latitude TEXT NOT NULL,
    longitude TEXT NOT NULL,
    admin TEXT NOT NULL REFERENCES users(id),
    created BIGINT NOT NULL
);
CREATE TABLE IF NOT EXISTS space_supports (
    space_id TEXT NOT NULL REFERENCES spaces(id),
    provider_id TEXT NOT NULL REFERENCES providers(id),
    size BIGINT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (space_id, provider_id)
);
CREATE TABLE IF NOT EXISTS feed_head (
    id BIGINT PRIMARY KEY,
    revision BIGINT NOT NULL
);
INSERT INTO feed_head (id, revision) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS changes (
    revision BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    entity TEXT NOT NULL
)
";

/// Tables whose first release tied a column to `users(id)` that now also holds provider ids
/// (a token's subject, a generation's owner), with their columns. SQLite cannot drop a
/// constraint, so such a table is rebuilt as [`SCHEMA`] defines it now ([`sqlite_rebuild`]);
/// PostgreSQL drops the constraint ([`PG_SUBJECT_FKEYS`]).
pub(super) const SUBJECT_TABLES: &[(&str, &str)] = &[
    (
        "named_tokens",
        "id, name, kind, subject, target, key_id, revoked, created, caveats, parent,
         custom_metadata, usage_limit, usage_count, privileges, subject_type",
    ),
    ("temporary_generations", "user_id, generation, key_id"),
];

/// The `CREATE TABLE` of `table` in [`SCHEMA`], creating `<table>_rebuilt` instead.
fn rebuilt_definition(table: &str) -> Option<String> {
    let head = format!("CREATE TABLE IF NOT EXISTS {table} (");
    let start = SCHEMA.find(&head)?;
    let body = &SCHEMA[start + head.len()..];
    let end = body.find("\n)")?;
    Some(format!("CREATE TABLE {table}_rebuilt ({}\n)", &body[..end]))
}

/// SQLite only: whether table `$1` still has a foreign key to `users`.
pub(super) const SQLITE_REFERENCES_USERS: &str =
    "SELECT EXISTS (SELECT 1 FROM pragma_foreign_key_list($1) WHERE \"table\" = 'users')";

/// SQLite only: rebuilds `table` as [`SCHEMA`] defines it, keeping every row of `columns`:
/// SQLite's documented procedure for changing a constraint.
pub(super) fn sqlite_rebuild(table: &str, columns: &str) -> String {
    let definition = rebuilt_definition(table).unwrap_or_default();
    format!(
        "{definition};
         INSERT INTO {table}_rebuilt ({columns}) SELECT {columns} FROM {table};
         DROP TABLE {table};
         ALTER TABLE {table}_rebuilt RENAME TO {table};"
    )
}

/// PostgreSQL only: the first release's foreign keys of [`SUBJECT_TABLES`] (their default
/// names), as `(table, constraint)`; dropped when present (looked up first: `ALTER TABLE`
/// locks the table even when there is nothing to drop).
pub(super) const PG_SUBJECT_FKEYS: &[(&str, &str)] = &[
    ("named_tokens", "named_tokens_subject_fkey"),
    (
        "temporary_generations",
        "temporary_generations_user_id_fkey",
    ),
];

/// PostgreSQL only: drops a constraint of [`PG_SUBJECT_FKEYS`].
pub(super) fn pg_drop_constraint(table: &str, constraint: &str) -> String {
    format!("ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {constraint}")
}

/// Columns added after the first release, as `(table, column, definition)`: opening a database
/// created by an older version adds the ones it lacks.
pub(super) const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("spaces", "creator", "TEXT"),
    ("named_tokens", "caveats", "TEXT NOT NULL DEFAULT '[]'"),
    ("named_tokens", "parent", "TEXT"),
    ("users", "created", "BIGINT NOT NULL DEFAULT 0"),
    ("users", "full_name", "TEXT NOT NULL DEFAULT ''"),
    (
        "named_tokens",
        "custom_metadata",
        "TEXT NOT NULL DEFAULT '{}'",
    ),
    ("named_tokens", "usage_limit", "BIGINT"),
    ("named_tokens", "usage_count", "BIGINT NOT NULL DEFAULT 0"),
    ("named_tokens", "privileges", "TEXT"),
    (
        "named_tokens",
        "subject_type",
        "TEXT NOT NULL DEFAULT 'user'",
    ),
];

/// What to fill in when a column of [`ADDED_COLUMNS`] is added to an existing table, as
/// `(table, column, statement)`: run once, in the transaction that adds the column.
pub(super) const BACKFILLS: &[(&str, &str, &str)] = &[
    // Before usage limits were stored, the only invites were the seed endpoints', which are
    // single-use (SPEC §10.5): without this they would become usable without limit.
    (
        "named_tokens",
        "usage_limit",
        "UPDATE named_tokens SET usage_limit = 1 WHERE kind IN ('rop', 'ssp') AND usage_limit IS NULL",
    ),
];

/// The backfill of a column just added, if any.
pub(super) fn backfill(table: &str, column: &str) -> Option<&'static str> {
    BACKFILLS
        .iter()
        .find(|(t, c, _)| *t == table && *c == column)
        .map(|(_, _, statement)| *statement)
}

/// PostgreSQL only: whether table `$1` of the current schema has a column `$2`.
pub(super) const PG_HAS_COLUMN: &str = "SELECT EXISTS (SELECT 1 FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = $1 AND column_name = $2)";

/// PostgreSQL only: whether the current schema's table `$2` has a constraint named `$1`.
pub(super) const PG_HAS_CONSTRAINT: &str = "SELECT EXISTS (SELECT 1 FROM pg_constraint
     WHERE conname = $1 AND conrelid = to_regclass($2))";

/// Adds a column; `{table}`, `{column}` and `{definition}` come from [`ADDED_COLUMNS`].
/// PostgreSQL runs it with `IF NOT EXISTS` (see [`PG_IF_NOT_EXISTS`]), SQLite (which lacks that)
/// after [`SQLITE_HAS_COLUMN`].
pub(super) fn add_column(
    table: &str,
    column: &str,
    definition: &str,
    if_not_exists: &str,
) -> String {
    format!("ALTER TABLE {table} ADD COLUMN {if_not_exists}{column} {definition}")
}

/// PostgreSQL only: the `IF NOT EXISTS ` of [`add_column`].
pub(super) const PG_IF_NOT_EXISTS: &str = "IF NOT EXISTS ";

/// SQLite only: per-connection settings (WAL lets other processes read while the server
/// writes; foreign keys are off by default).
pub(super) const SQLITE_PRAGMAS: &str = "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;";

/// SQLite only: whether table `$1` has a column `$2`.
pub(super) const SQLITE_HAS_COLUMN: &str =
    "SELECT EXISTS (SELECT 1 FROM pragma_table_info($1) WHERE name = $2)";

/// PostgreSQL only: serializes schema creation between instances starting at once.
pub(super) const PG_SCHEMA_LOCK: &str = "SELECT pg_advisory_xact_lock($1)";

/// PostgreSQL only: blocks other writers of `root_keys` (a concurrent id allocation or
/// retirement) until commit; plain reads go on.
pub(super) const PG_LOCK_ROOT_KEYS: &str = "LOCK TABLE root_keys IN EXCLUSIVE MODE";

/// PostgreSQL only: the suffix that makes a `SELECT` lock the rows it reads.
pub(super) const PG_FOR_UPDATE: &str = " FOR UPDATE";

// Users

pub(super) const INSERT_USER: &str =
    "INSERT INTO users (id, username, password_hash, oz_privileges, created, full_name) VALUES ($1, $2, $3, $4, $5, $6)";
pub(super) const USER_BY_ID: &str =
    "SELECT id, username, password_hash, oz_privileges, created, full_name FROM users WHERE id = $1";
pub(super) const USER_BY_USERNAME: &str =
    "SELECT id, username, password_hash, oz_privileges, created, full_name FROM users WHERE username = $1";
/// Read for update: also the row lock that serializes a user's quota checks.
pub(super) const USER_PRIVILEGES: &str = "SELECT oz_privileges FROM users WHERE id = $1";
pub(super) const SET_USER_PRIVILEGES: &str = "UPDATE users SET oz_privileges = $2 WHERE id = $1";

// Spaces

pub(super) const COUNT_PROVIDERS_OF_ADMIN: &str = "SELECT COUNT(*) FROM providers WHERE admin = $1";
pub(super) const COUNT_SPACES_OF_CREATOR: &str = "SELECT COUNT(*) FROM spaces WHERE creator = $1";
pub(super) const INSERT_SPACE: &str = "INSERT INTO spaces (id, name, creator) VALUES ($1, $2, $3)";
pub(super) const SPACE_BY_ID: &str = "SELECT id, name FROM spaces WHERE id = $1";
pub(super) const INSERT_MEMBER: &str =
    "INSERT INTO space_users (space_id, user_id, privileges) VALUES ($1, $2, $3)";
/// Makes sure a membership row exists (waiting, in PostgreSQL, for a concurrent insert of it to
/// finish), so that it can then be read for update.
pub(super) const ENSURE_MEMBER: &str =
    "INSERT INTO space_users (space_id, user_id, privileges) VALUES ($1, $2, '')
     ON CONFLICT (space_id, user_id) DO NOTHING";
pub(super) const SPACES_OF_USER: &str = "SELECT spaces.id, spaces.name FROM spaces
     JOIN space_users ON space_users.space_id = spaces.id
     WHERE space_users.user_id = $1 ORDER BY spaces.id";
pub(super) const MEMBER_PRIVILEGES: &str =
    "SELECT privileges FROM space_users WHERE space_id = $1 AND user_id = $2";
pub(super) const SET_MEMBER_PRIVILEGES: &str =
    "UPDATE space_users SET privileges = $3 WHERE space_id = $1 AND user_id = $2";

// Named tokens

pub(super) const COUNT_NAMED_TOKENS_OF: &str =
    "SELECT COUNT(*) FROM named_tokens WHERE subject = $1";
pub(super) const INSERT_NAMED_TOKEN: &str = "INSERT INTO named_tokens
     (id, name, kind, subject, target, key_id, revoked, created, caveats, parent,
      custom_metadata, usage_limit, usage_count, privileges, subject_type)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 0, $13, $14)";
/// The columns of a named token's record, in the order `ops::token_from_row` reads them.
macro_rules! named_token_columns {
    () => {
        "SELECT id, name, kind, subject, target, key_id, revoked, created, caveats, parent,
                custom_metadata, usage_limit, usage_count, privileges, subject_type
         FROM named_tokens"
    };
}
pub(super) const NAMED_TOKEN: &str = concat!(named_token_columns!(), " WHERE id = $1");
pub(super) const NAMED_TOKENS_OF: &str = concat!(
    named_token_columns!(),
    " WHERE subject = $1 ORDER BY created, id"
);
pub(super) const ALL_NAMED_TOKENS: &str = concat!(named_token_columns!(), " ORDER BY created, id");
/// Changes the given fields (`NULL`: unchanged) of one named token.
pub(super) const UPDATE_NAMED_TOKEN: &str = "UPDATE named_tokens
     SET name = COALESCE($2, name), custom_metadata = COALESCE($3, custom_metadata),
         revoked = COALESCE($4, revoked)
     WHERE id = $1";
pub(super) const DELETE_NAMED_TOKEN: &str = "DELETE FROM named_tokens WHERE id = $1";
pub(super) const DELETE_NAMED_TOKENS_OF: &str = "DELETE FROM named_tokens WHERE subject = $1";
/// Counts one use of an invite token, in one conditional statement: of two concurrent
/// consumers of the last use, the database lets exactly one through.
pub(super) const CONSUME_INVITE: &str = "UPDATE named_tokens SET usage_count = usage_count + 1
     WHERE id = $1 AND revoked = FALSE AND (usage_limit IS NULL OR usage_count < usage_limit)
     RETURNING usage_count";

// Providers and space support

pub(super) const INSERT_PROVIDER: &str = "INSERT INTO providers
     (id, name, domain, admin_email, latitude, longitude, admin, created)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
pub(super) const PROVIDER: &str =
    "SELECT id, name, domain, admin_email, latitude, longitude, admin, created
     FROM providers WHERE id = $1";
/// Read for update: the row lock that serializes a provider's quota checks.
pub(super) const PROVIDER_ROW: &str = "SELECT id FROM providers WHERE id = $1";
pub(super) const SPACE_ROW: &str = "SELECT id FROM spaces WHERE id = $1";
pub(super) const PROVIDER_IDS: &str = "SELECT id FROM providers ORDER BY created, id";
pub(super) const UPDATE_PROVIDER: &str = "UPDATE providers
     SET name = COALESCE($2, name), latitude = COALESCE($3, latitude),
         longitude = COALESCE($4, longitude)
     WHERE id = $1";
pub(super) const DELETE_SUPPORTS_OF_PROVIDER: &str =
    "DELETE FROM space_supports WHERE provider_id = $1";
pub(super) const DELETE_TOKENS_OF_PROVIDER: &str =
    "DELETE FROM named_tokens WHERE subject = $1 AND subject_type = 'oneprovider'";
pub(super) const DELETE_GENERATION: &str = "DELETE FROM temporary_generations WHERE user_id = $1";
pub(super) const DELETE_PROVIDER: &str = "DELETE FROM providers WHERE id = $1";
pub(super) const INSERT_SUPPORT: &str =
    "INSERT INTO space_supports (space_id, provider_id, size, created) VALUES ($1, $2, $3, $4)";
pub(super) const SUPPORTERS_OF_SPACE: &str =
    "SELECT provider_id, size FROM space_supports WHERE space_id = $1 ORDER BY created, provider_id";
pub(super) const SPACES_OF_PROVIDER: &str =
    "SELECT space_id, size FROM space_supports WHERE provider_id = $1 ORDER BY created, space_id";
pub(super) const DELETE_SUPPORT: &str =
    "DELETE FROM space_supports WHERE space_id = $1 AND provider_id = $2";

// Temporary-token generations

pub(super) const INSERT_GENERATION: &str =
    "INSERT INTO temporary_generations (user_id, generation, key_id) VALUES ($1, 1, $2)";
pub(super) const GENERATION: &str =
    "SELECT generation, key_id FROM temporary_generations WHERE user_id = $1";
pub(super) const BUMP_GENERATION: &str =
    "UPDATE temporary_generations SET generation = generation + 1, key_id = $2
     WHERE user_id = $1 RETURNING generation, key_id";

// Root keys

pub(super) const NEXT_ROOT_KEY_ID: &str = "SELECT COALESCE(MAX(id), 0) + 1 FROM root_keys";
pub(super) const INSERT_ROOT_KEY: &str =
    "INSERT INTO root_keys (id, material, created, retired) VALUES ($1, $2, $3, NULL)";
pub(super) const ROOT_KEYS: &str =
    "SELECT id, material, created, retired FROM root_keys ORDER BY id";
pub(super) const ROOT_KEY: &str =
    "SELECT id, material, created, retired FROM root_keys WHERE id = $1";
/// Retires an active key that is not the last active one, and wipes its material, in one
/// statement.
pub(super) const RETIRE_ROOT_KEY: &str =
    "UPDATE root_keys SET retired = $2, material = '' WHERE id = $1 AND retired IS NULL
     AND EXISTS (SELECT 1 FROM root_keys WHERE id <> $1 AND retired IS NULL)";

/// PostgreSQL only: creates the store's schema (`schema` is validated to `[a-z0-9_]+`).
pub(super) fn pg_create_schema(schema: &str) -> String {
    format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"")
}

/// PostgreSQL only: confines a connection to the store's schema (validated as above).
pub(super) fn pg_set_search_path(schema: &str) -> String {
    format!("SET search_path TO \"{schema}\"")
}

/// The readiness probe: a query that touches no table, so it measures only that a connection
/// can be had and used.
pub(super) const PING: &str = "SELECT 1";

// The change feed. The head row is updated in the writing transaction, so its lock orders the
// writers: revision n+1 cannot be taken before the transaction holding n commits, and a reader
// that sees n+1 sees n too (no gaps, on PostgreSQL as on SQLite).

pub(super) const FEED_BUMP: &str =
    "UPDATE feed_head SET revision = revision + 1 WHERE id = 1 RETURNING revision";
pub(super) const FEED_APPEND: &str =
    "INSERT INTO changes (revision, kind, entity) VALUES ($1, $2, $3)";
pub(super) const FEED_PRUNE: &str = "DELETE FROM changes WHERE revision <= $1";
pub(super) const FEED_HEAD: &str = "SELECT revision FROM feed_head WHERE id = 1";
pub(super) const FEED_SINCE: &str = "SELECT revision, kind, entity FROM changes
     WHERE revision > $1 ORDER BY revision LIMIT $2";
/// PostgreSQL only: wakes the instances listening on the store's channel (delivered at commit).
pub(super) const PG_NOTIFY: &str = "SELECT pg_notify($1, '')";

#[cfg(test)]
mod tests {
    use super::*;

    /// The rebuilt tables are the schema's own definitions, with every column a rebuild copies.
    #[test]
    fn rebuilt_tables_come_from_the_schema() {
        for (table, columns) in SUBJECT_TABLES {
            let definition = rebuilt_definition(table).expect(table);
            assert!(definition.starts_with(&format!("CREATE TABLE {table}_rebuilt (")));
            assert!(!definition.contains("REFERENCES users"), "{definition}");
            for column in columns.split(',') {
                assert!(
                    definition.contains(&format!("\n    {} ", column.trim())),
                    "{column}"
                );
            }
        }
    }
}
