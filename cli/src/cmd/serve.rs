//! `serve`: the reference token service.

use macaroon_mint_server::store::MasterKey;

use crate::cmd::config_file::{Provenance, ADMIN_VAR};
use crate::cmd::logging::{self, LogFormat};
use crate::report::{input_error, write_stdout, Failure};

/// `serve`'s settings.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    pub(crate) listen: std::net::SocketAddr,
    #[command(flatten)]
    pub(crate) storage: StorageArgs,
    /// Create (once) this admin, holding every oz_* privilege. Visible to every local user in
    /// the process list: prefer --admin-file or MACAROON_MINT_ADMIN.
    #[arg(long, value_name = "USER:PASSWORD", conflicts_with = "admin_file")]
    pub(crate) admin: Option<String>,
    /// Read the admin's USER:PASSWORD from this file (its first line; the file must not be
    /// readable by group or others). Without --admin or --admin-file, MACAROON_MINT_ADMIN is
    /// read.
    #[arg(long, value_name = "PATH")]
    pub(crate) admin_file: Option<std::path::PathBuf>,
    /// open: any user may get a provider registration token for themself; restricted: only
    /// holders of oz_providers_invite.
    #[arg(long, value_name = "POLICY", default_value = "restricted")]
    pub(crate) registration_policy: macaroon_mint_server::RegistrationPolicy,
    /// The Onezone domain, written as the tokens' location.
    #[arg(long, value_name = "D", default_value = "localhost")]
    pub(crate) domain: String,
    /// The zone's name, as GET /api/v3/onezone/configuration shows it.
    #[arg(long, value_name = "NAME", default_value = "macaroon-mint")]
    pub(crate) zone_name: String,
    /// Longest lifetime of a temporary access token, in seconds.
    #[arg(long, value_name = "S", default_value_t = macaroon_mint::onedata::DEFAULT_TEMPORARY_MAX_TTL)]
    pub(crate) temporary_max_ttl: u64,
    /// Named tokens (access and invite) a user may hold; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) quota_named_tokens: u64,
    /// Spaces a user may create; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub(crate) quota_spaces: u64,
    /// Oneproviders a user may be the cluster admin of; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub(crate) quota_providers: u64,
    /// Password logins per second from one client address (burst: twice as many); 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) login_rate_per_ip: u32,
    /// Password logins per second for one username (burst: four times as many); 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 5)]
    pub(crate) login_rate_per_user: u32,
    /// Open connections at most.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub(crate) max_connections: usize,
    /// Open connections from one client address (IPv4 address or IPv6 /64) at most.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub(crate) max_connections_per_ip: usize,
    /// Entries of the verification cache (what token authentication reads: users, providers,
    /// token records, generations, root keys), invalidated by the store's change feed; 0: no
    /// cache, every token request reads the store (and parses its token: no access token is
    /// kept parsed either).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    pub(crate) cache_entries: usize,
    /// Seconds the cache is trusted without hearing from the change feed (e.g. 0.5); past
    /// that, token requests read the store, or are answered 503 if it fails.
    #[arg(long, value_name = "S", default_value_t = 5.0)]
    pub(crate) cache_trust_window: f64,
    /// Log format on standard error (one line per request and per event); RUST_LOG filters
    /// (default info).
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub(crate) log_format: LogFormat,
    /// Where each setting came from (filled in after parsing, from --config).
    #[arg(skip)]
    pub(crate) provenance: Provenance,
}

/// Where the token service keeps its data.
#[derive(Debug, clap::Args)]
pub(crate) struct StorageArgs {
    /// Read settings from this TOML file (keys: the flags' names without --, e.g.
    /// `domain = "onezone.example"`); also read from MACAROON_MINT_CONFIG. Flags and
    /// environment variables override it.
    #[arg(long, value_name = "FILE", env = "MACAROON_MINT_CONFIG")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// Directory of the SQLite database (created on first run).
    #[arg(long, value_name = "DIR", default_value = "macaroon-mint-data")]
    pub(crate) data_dir: std::path::PathBuf,
    /// Use PostgreSQL instead (postgres://USER:PASSWORD@HOST:PORT/DB); also read from
    /// MACAROON_MINT_DATABASE_URL.
    #[arg(
        long,
        value_name = "URL",
        env = "MACAROON_MINT_DATABASE_URL",
        hide_env_values = true
    )]
    pub(crate) database_url: Option<String>,
    /// Seal root keys at rest under the master key in this file (64 hex characters or 32 raw
    /// bytes, mode 0600; see `keys generate-master-key`). Without it, the key is read from
    /// MACAROON_MINT_MASTER_KEY (hex); with neither, root keys are stored unencrypted.
    #[arg(long, value_name = "PATH")]
    pub(crate) master_key_file: Option<std::path::PathBuf>,
}

/// The environment variable holding the master key (hex) when --master-key-file is absent.
pub(crate) const MASTER_KEY_VAR: &str = "MACAROON_MINT_MASTER_KEY";

impl StorageArgs {
    pub(crate) fn config(&self) -> Result<macaroon_mint_server::Config, Failure> {
        Ok(macaroon_mint_server::Config {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            master_key: self.master_key()?,
            ..macaroon_mint_server::Config::new()
        })
    }

    /// The master key from --master-key-file, else from MACAROON_MINT_MASTER_KEY; `None`
    /// without either.
    pub(crate) fn master_key(&self) -> Result<Option<MasterKey>, Failure> {
        if let Some(path) = &self.master_key_file {
            return MasterKey::from_file(path)
                .map(Some)
                .map_err(|e| input_error(format!("--master-key-file: {}", store_message(&e))));
        }
        match std::env::var(MASTER_KEY_VAR) {
            Ok(value) => MasterKey::from_hex(&value)
                .map(Some)
                .map_err(|e| input_error(format!("{MASTER_KEY_VAR}: {}", store_message(&e)))),
            Err(std::env::VarError::NotPresent) => Ok(None),
            Err(std::env::VarError::NotUnicode(_)) => Err(input_error(format!(
                "{MASTER_KEY_VAR}: a master key must be 64 hex characters"
            ))),
        }
    }
}

/// A store error's text without the "storage error: " prefix.
pub(crate) fn store_message(e: &macaroon_mint_server::StoreError) -> String {
    match e {
        macaroon_mint_server::StoreError::Backend(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The admin's `USER:PASSWORD`: from `--admin` (with a warning: the process list shows it),
/// `--admin-file`, or `MACAROON_MINT_ADMIN`.
pub(crate) fn admin_credentials(args: &ServeArgs) -> Result<Option<(String, String)>, Failure> {
    let (spec, source) = if let Some(spec) = &args.admin {
        (zeroize::Zeroizing::new(spec.clone()), "--admin")
    } else if let Some(path) = &args.admin_file {
        let shown = path.display();
        let metadata = std::fs::metadata(path)
            .map_err(|e| input_error(format!("--admin-file {shown}: {e}")))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(input_error(format!(
                    "--admin-file {shown} is readable by group or others (mode {mode:o}); \
                     run chmod 600 {shown}"
                )));
            }
        }
        #[cfg(not(unix))]
        let _ = metadata;
        let text = zeroize::Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| input_error(format!("--admin-file {shown}: {e}")))?,
        );
        let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
        (zeroize::Zeroizing::new(first.to_owned()), "--admin-file")
    } else {
        match std::env::var(ADMIN_VAR) {
            Ok(spec) if !spec.is_empty() => (zeroize::Zeroizing::new(spec), ADMIN_VAR),
            _ => return Ok(None),
        }
    };
    match spec.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            if source == "--admin" {
                tracing::warn!(
                    "--admin shows the password to every local user (process list); use \
                     --admin-file PATH or MACAROON_MINT_ADMIN instead"
                );
            }
            Ok(Some((user.to_owned(), password.to_owned())))
        }
        _ => Err(input_error(format!(
            "{source} must be USER:PASSWORD with a non-empty user and password"
        ))),
    }
}

/// A rate of `per_second` with a burst of `burst_factor` seconds' worth; `None` for 0.
pub(crate) fn login_rate(per_second: u32, burst_factor: u32) -> Option<macaroon_mint_server::Rate> {
    (per_second > 0).then(|| macaroon_mint_server::Rate {
        burst: per_second.saturating_mul(burst_factor),
        per_second,
    })
}

pub(crate) fn serve(args: &ServeArgs) -> Result<String, Failure> {
    use macaroon_mint_server::AdminStatus;

    // Held to the end: dropping it writes the last queued lines (`stopped`).
    let _log_writer = logging::init(args.log_format)?;
    let listen = args.listen;
    let registration_policy = args.registration_policy;
    let temporary_max_ttl = args.temporary_max_ttl;
    let admin = admin_credentials(args)?;
    if temporary_max_ttl == 0 {
        return Err(input_error("--temporary-max-ttl must be at least 1 second"));
    }
    if args.max_connections == 0 || args.max_connections_per_ip == 0 {
        return Err(input_error(
            "--max-connections and --max-connections-per-ip must be at least 1",
        ));
    }
    if !(args.cache_trust_window.is_finite() && (0.01..=3600.0).contains(&args.cache_trust_window))
    {
        return Err(input_error(
            "--cache-trust-window must be between 0.01 and 3600 seconds",
        ));
    }
    let cache = if args.cache_entries == 0 {
        macaroon_mint_server::CacheSettings::disabled()
    } else {
        macaroon_mint_server::CacheSettings {
            max_entries: args.cache_entries,
            ..macaroon_mint_server::CacheSettings::with_trust_window(
                std::time::Duration::from_secs_f64(args.cache_trust_window),
            )
        }
    };
    let cache_text = if cache.enabled() {
        format!(
            "{} entries, trusted {} s past the change feed (read every {} s{})",
            cache.max_entries,
            cache.trust_window.as_secs_f64(),
            cache.poll_interval.as_secs_f64(),
            if args.storage.database_url.is_some() {
                ", and at once on NOTIFY"
            } else {
                ""
            }
        )
    } else {
        "off (every token request reads the store)".to_owned()
    };
    let admin_name = admin.as_ref().map(|(user, _)| user.clone());
    let quota = |n: u64| (n > 0).then_some(n);
    let mut limits = macaroon_mint_server::HttpLimits {
        max_connections: args.max_connections,
        max_connections_per_ip: args.max_connections_per_ip,
        ..macaroon_mint_server::HttpLimits::default()
    };
    limits.passwords.per_ip = login_rate(args.login_rate_per_ip, 2);
    limits.passwords.per_username = login_rate(args.login_rate_per_user, 4);
    let config = macaroon_mint_server::Config {
        domain: args.domain.clone(),
        zone_name: args.zone_name.clone(),
        registration_policy,
        admin,
        temporary_max_ttl,
        quotas: macaroon_mint_server::Quotas {
            named_tokens_per_user: quota(args.quota_named_tokens),
            spaces_per_user: quota(args.quota_spaces),
            providers_per_user: quota(args.quota_providers),
        },
        limits,
        cache,
        ..args.storage.config()?
    };
    if config.master_key.is_none() {
        tracing::warn!(
            "no master key (--master-key-file or {MASTER_KEY_VAR}): root keys are stored \
             unencrypted"
        );
    }
    let shown = |n: u64| {
        if n == 0 {
            "unlimited".to_owned()
        } else {
            n.to_string()
        }
    };
    let shown_rate = |n: u32| {
        if n == 0 {
            "unlimited".to_owned()
        } else {
            format!("{n}/s")
        }
    };
    let quotas_text = format!(
        "{} named tokens, {} spaces, {} providers per user",
        shown(args.quota_named_tokens),
        shown(args.quota_spaces),
        shown(args.quota_providers)
    );
    let limits_text = format!(
        "{} connections ({} per address); password logins {} per address, {} per username",
        args.max_connections,
        args.max_connections_per_ip,
        shown_rate(args.login_rate_per_ip),
        shown_rate(args.login_rate_per_user)
    );
    let storage_text = config.storage_description();
    let logs_text = format!(
        "{} lines on standard error, RUST_LOG={}; metrics at /metrics",
        args.log_format.name(),
        std::env::var("RUST_LOG")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "info".to_owned())
    );
    let configuration_text = args.provenance.describe();
    let printed_domain = config.domain.clone();
    let printed_zone = config.zone_name.clone();
    macaroon_mint_server::serve_blocking(listen, config, |server| {
        let address = server
            .local_addr()
            .map_or_else(|_| listen.to_string(), |a| a.to_string());
        let admin = match (server.admin_status(), &admin_name) {
            (AdminStatus::Created, Some(name)) => format!("{name} (created)"),
            (AdminStatus::Existing, Some(name)) => format!("{name} (already exists, unchanged)"),
            _ => "none".to_owned(),
        };
        let lines = [
            format!("macaroon-mint serve: listening on http://{address}"),
            format!("  storage:             {storage_text}"),
            format!("  domain:              {printed_domain} (zone name: {printed_zone})"),
            format!("  registration policy: {registration_policy}"),
            format!("  admin:               {admin}"),
            format!("  temporary token TTL: at most {temporary_max_ttl} s"),
            format!("  quotas:              {quotas_text}"),
            format!("  limits:              {limits_text}"),
            format!("  cache:               {cache_text}"),
            "  authentication:      HTTP basic; X-Auth-Token / Authorization: Bearer access tokens"
                .to_owned(),
            format!("  logs:                {logs_text}"),
            format!("  configuration:       {configuration_text}"),
        ];
        // The settings are informational; a closed standard output must not stop the service.
        let _ = write_stdout(&lines.join("\n"));
    })
    .map_err(|e| Failure::Io(format!("serve: {e}")))?;
    Ok("macaroon-mint serve: stopped".to_owned())
}
