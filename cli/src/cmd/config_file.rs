//! `--config FILE`: `serve` and `keys` settings from a TOML file.
//!
//! The keys are the flags' names without `--` (`domain = "onezone.example"`,
//! `max-connections = 512`, …). Precedence, highest first: flags, environment variables,
//! the file, the defaults. An unknown key is an error naming it, so a typo cannot silently
//! leave a default in place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde::Deserialize;

use crate::cmd::logging::LogFormat;
use crate::cmd::serve::{ServeArgs, StorageArgs, MASTER_KEY_VAR};
use crate::report::{input_error, Failure};

/// The environment variable holding the admin's `USER:PASSWORD`.
pub(crate) const ADMIN_VAR: &str = "MACAROON_MINT_ADMIN";

/// Where a setting's value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    Flag,
    Environment,
    File,
}

/// The settings the file may hold (all optional).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSettings {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    admin_file: Option<PathBuf>,
    registration_policy: Option<String>,
    domain: Option<String>,
    zone_name: Option<String>,
    temporary_max_ttl: Option<u64>,
    quota_named_tokens: Option<u64>,
    quota_spaces: Option<u64>,
    quota_providers: Option<u64>,
    login_rate_per_ip: Option<u32>,
    login_rate_per_user: Option<u32>,
    max_connections: Option<usize>,
    max_connections_per_ip: Option<usize>,
    cache_entries: Option<usize>,
    cache_trust_window: Option<f64>,
    log_format: Option<LogFormat>,
}

/// The settings that came from somewhere other than the defaults, in flag order, and the file
/// read (if any): what `serve` prints at start-up.
#[derive(Debug, Default, Clone)]
pub(crate) struct Provenance {
    pub(crate) file: Option<PathBuf>,
    pub(crate) settings: Vec<(&'static str, Source)>,
}

impl Provenance {
    /// One line: the settings by source, then the precedence.
    pub(crate) fn describe(&self) -> String {
        let names = |source: Source| {
            self.settings
                .iter()
                .filter(|(_, s)| *s == source)
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        for (source, label) in [
            (Source::Flag, "flags".to_owned()),
            (Source::Environment, "environment".to_owned()),
        ]
        .into_iter()
        .chain(
            self.file
                .as_ref()
                .map(|f| (Source::File, format!("file {}", f.display()))),
        ) {
            let names = names(source);
            parts.push(if names.is_empty() {
                format!("{label}: none")
            } else {
                format!("{label}: {names}")
            });
        }
        parts.push("the rest defaults (flags > environment > file > defaults)".to_owned());
        parts.join("; ")
    }
}

fn explicit(matches: &ArgMatches, id: &str) -> Option<Source> {
    match matches.value_source(id) {
        Some(ValueSource::CommandLine) => Some(Source::Flag),
        Some(ValueSource::EnvVariable) => Some(Source::Environment),
        _ => None,
    }
}

fn env_is_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

/// Reads the file named by `--config` or `MACAROON_MINT_CONFIG`; `None` without either.
fn read(storage: &StorageArgs) -> Result<Option<(PathBuf, FileSettings)>, Failure> {
    let Some(path) = storage.config.clone() else {
        return Ok(None);
    };
    let shown = path.display();
    let text = std::fs::read_to_string(&path)
        .map_err(|e| input_error(format!("--config {shown}: {e}")))?;
    let settings: FileSettings = toml::from_str(&text).map_err(|e| {
        let place = e.span().map_or_else(String::new, |span| {
            let before = text.get(..span.start).unwrap_or_default();
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |n| n + 1) + 1;
            format!("line {line}, column {column}: ")
        });
        input_error(format!(
            "--config {shown}: {place}{}",
            e.message().trim_end()
        ))
    })?;
    if let Some(url) = &settings.database_url {
        if macaroon_mint_server::store::url_has_password(url) {
            refuse_if_shared(&path)?;
        }
    }
    Ok(Some((path, settings)))
}

/// A file holding a password must be readable by its owner only.
fn refuse_if_shared(path: &Path) -> Result<(), Failure> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let shown = path.display();
        let mode = std::fs::metadata(path)
            .map_err(|e| input_error(format!("--config {shown}: {e}")))?
            .permissions()
            .mode()
            & 0o777;
        if mode & 0o077 != 0 {
            return Err(input_error(format!(
                "--config {shown} holds a database password and is readable by group or others \
                 (mode {mode:o}); run chmod 600 {shown}"
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Sets each field the flags and environment left at its default from the file, and records
/// where every non-default setting came from.
macro_rules! merge {
    ($args:expr, $file:expr, $matches:expr, $provenance:expr; $($field:ident => $name:literal $(as $wrap:path)?),* $(,)?) => {$(
        match explicit($matches, stringify!($field)) {
            Some(source) => $provenance.settings.push(($name, source)),
            None => {
                if let Some(value) = $file.$field.take() {
                    $args.$field = merge!(@wrap value $(, $wrap)?);
                    $provenance.settings.push(($name, Source::File));
                }
            }
        }
    )*};
    (@wrap $value:ident) => { $value };
    (@wrap $value:ident, $wrap:path) => { $wrap($value) };
}

/// The storage settings (`serve` and `keys`), from `matches` of the subcommand.
fn merge_storage(
    storage: &mut StorageArgs,
    file: &mut FileSettings,
    matches: &ArgMatches,
    provenance: &mut Provenance,
) {
    // The data directory and the database URL are one choice, the store: a flag or the
    // environment naming either one leaves both of the file's unused, so `--data-dir` is never
    // overridden by a `database-url` from the file.
    let data_dir = explicit(matches, "data_dir");
    let database_url = explicit(matches, "database_url");
    if data_dir.is_some() || database_url.is_some() {
        for (name, source) in [("data-dir", data_dir), ("database-url", database_url)] {
            if let Some(source) = source {
                provenance.settings.push((name, source));
            }
        }
    } else {
        merge!(storage, file, matches, provenance;
            data_dir => "data-dir",
            database_url => "database-url" as Some,
        );
    }
    match explicit(matches, "master_key_file") {
        Some(source) => provenance.settings.push(("master-key-file", source)),
        // The master key in the environment outranks a key file named in the file.
        None if env_is_set(MASTER_KEY_VAR) => {
            provenance
                .settings
                .push(("master-key", Source::Environment));
        }
        None => {
            if let Some(path) = file.master_key_file.take() {
                storage.master_key_file = Some(path);
                provenance.settings.push(("master-key-file", Source::File));
            }
        }
    }
}

/// Applies the configuration file to `serve`'s settings.
pub(crate) fn apply_to_serve(args: &mut ServeArgs, matches: &ArgMatches) -> Result<(), Failure> {
    let mut provenance = Provenance::default();
    let (path, mut file) = match read(&args.storage)? {
        Some((path, file)) => (Some(path), file),
        None => (None, FileSettings::default()),
    };
    provenance.file = path;
    merge!(args, file, matches, provenance; listen => "listen");
    merge_storage(&mut args.storage, &mut file, matches, &mut provenance);
    match (explicit(matches, "admin"), explicit(matches, "admin_file")) {
        (Some(source), _) => provenance.settings.push(("admin", source)),
        (None, Some(source)) => provenance.settings.push(("admin-file", source)),
        // MACAROON_MINT_ADMIN outranks an admin file named in the file.
        (None, None) if env_is_set(ADMIN_VAR) => {
            provenance.settings.push(("admin", Source::Environment));
        }
        (None, None) => {
            if let Some(path) = file.admin_file.take() {
                args.admin_file = Some(path);
                provenance.settings.push(("admin-file", Source::File));
            }
        }
    }
    match explicit(matches, "registration_policy") {
        Some(source) => provenance.settings.push(("registration-policy", source)),
        None => {
            if let Some(policy) = file.registration_policy.take() {
                args.registration_policy = policy.parse().map_err(|e: String| {
                    let shown = provenance
                        .file
                        .as_deref()
                        .unwrap_or(Path::new(""))
                        .display();
                    input_error(format!("--config {shown}: registration-policy: {e}"))
                })?;
                provenance
                    .settings
                    .push(("registration-policy", Source::File));
            }
        }
    }
    merge!(args, file, matches, provenance;
        domain => "domain",
        zone_name => "zone-name",
        temporary_max_ttl => "temporary-max-ttl",
        quota_named_tokens => "quota-named-tokens",
        quota_spaces => "quota-spaces",
        quota_providers => "quota-providers",
        login_rate_per_ip => "login-rate-per-ip",
        login_rate_per_user => "login-rate-per-user",
        max_connections => "max-connections",
        max_connections_per_ip => "max-connections-per-ip",
        cache_entries => "cache-entries",
        cache_trust_window => "cache-trust-window",
        log_format => "log-format",
    );
    args.provenance = provenance;
    Ok(())
}

/// Applies the configuration file's storage settings to a `keys` command (the others do not
/// concern it and are ignored).
pub(crate) fn apply_to_keys(
    storage: &mut StorageArgs,
    matches: &ArgMatches,
) -> Result<(), Failure> {
    if let Some((_, mut file)) = read(storage)? {
        merge_storage(storage, &mut file, matches, &mut Provenance::default());
    }
    Ok(())
}

/// Applies the configuration file to the `serve` or `keys` command `cli` holds.
pub(crate) fn apply(cli: &mut crate::args::Cli, matches: &ArgMatches) -> Result<(), Failure> {
    use crate::args::Command;
    use crate::cmd::keys::KeysCommand;
    let Some((_, sub)) = matches.subcommand() else {
        return Ok(());
    };
    match &mut cli.command {
        Command::Serve(args) => apply_to_serve(args, sub),
        Command::Keys { command } => {
            let Some((_, keys)) = sub.subcommand() else {
                return Ok(());
            };
            match command {
                KeysCommand::List { storage }
                | KeysCommand::Rotate { storage }
                | KeysCommand::Retire { storage, .. } => apply_to_keys(storage, keys),
                KeysCommand::GenerateMasterKey { .. } => Ok(()),
            }
        }
        _ => Ok(()),
    }
}
