//! `macaroon-mint`: mint, inspect, attenuate, discharge, bind, convert and verify macaroons.
//!
//! Exit codes: 0 success (or "valid"), 1 the token does not verify, 2 usage or input error.
//! Errors are one line on stderr (a JSON object with `--json`).
//!
//! `macaroon-mint onedata …` mints and verifies Onedata invite tokens (SPEC §10):
//! `provider-registration-token`, `space-support-token` and `verify-invite`.

use std::io::{Read, Write};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use macaroon_mint::caveat::{
    ApiService, ApiSpec, ConsumerKind, CountryCode, Form, Interface, Operation, Region, ServiceKind,
};
use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, Expiry, InviteClaims, InviteOptions,
    InvitePolicy, InviteType, OnedataError, OnedataIdentifier, OnedataToken, ParsedIdentifier,
    Persistence, Subject, TokenType, DEFAULT_TEMPORARY_MAX_TTL,
};
use macaroon_mint::Inspection;
use macaroon_mint::{
    ApiCall, AuthContext, CaveatError, Consumer, DataAccess, Encoding, Error, Format, Limits,
    Macaroon, Parsed, Recovered, RecoveredField, RootKey, Service, TypedCaveat, Verifier,
};
use macaroon_mint_server::store::MasterKey;
use serde_json::{json, Value};

/// Mint, inspect and verify macaroons (libmacaroons v1, v2, v2 JSON, Onedata base62).
#[derive(Parser)]
#[command(name = "macaroon-mint", version, about, max_term_width = 100)]
struct Cli {
    /// Print errors (and inspect output) as JSON.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
struct KeyArgs {
    /// Root key as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    key: Option<String>,
    /// Root key as hex.
    #[arg(long, value_name = "HEX")]
    key_hex: Option<String>,
    /// Root key as the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    key_file: Option<std::path::PathBuf>,
}

/// The caveat root key of a third-party caveat: `--caveat-key HEX` or any of the key options.
#[derive(Args)]
#[group(required = true, multiple = false)]
struct CaveatKeyArgs {
    /// Caveat root key as hex.
    #[arg(long, visible_alias = "caveat-key-hex", value_name = "HEX")]
    caveat_key: Option<String>,
    /// Caveat root key as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    key: Option<String>,
    /// Caveat root key as hex.
    #[arg(long, value_name = "HEX")]
    key_hex: Option<String>,
    /// Caveat root key as the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    key_file: Option<std::path::PathBuf>,
}

/// Keys of `third-party`: with `--caveat-key`, KEY is the token's root key (optional, checked);
/// without it, KEY is the caveat key.
#[derive(Args)]
struct ThirdPartyKeyArgs {
    /// Caveat root key as hex.
    #[arg(long, visible_alias = "caveat-key-hex", value_name = "HEX")]
    caveat_key: Option<String>,
    /// Key as text (its UTF-8 bytes): the token's root key with --caveat-key, else the caveat key.
    #[arg(long, value_name = "TEXT", group = "key_source")]
    key: Option<String>,
    /// Key as hex (see --key).
    #[arg(long, value_name = "HEX", group = "key_source")]
    key_hex: Option<String>,
    /// Key as the raw bytes of a file (see --key).
    #[arg(long, value_name = "PATH", group = "key_source")]
    key_file: Option<std::path::PathBuf>,
}

/// What typed caveat checkers may know about the client (all optional; a caveat whose fact is
/// missing does not hold).
#[derive(Args)]
struct ClientArgs {
    /// The client's IP address (for ip caveats).
    #[arg(long, value_name = "IP")]
    ip: Option<std::net::IpAddr>,
    /// The client's autonomous system number (for asn caveats).
    #[arg(long, value_name = "N")]
    asn: Option<u32>,
    /// The client's country, two upper-case letters (for geo.country and geo.region caveats).
    #[arg(long, value_name = "CC")]
    country: Option<String>,
    /// The client's continent (for geo.region caveats): Africa, Antarctica, Asia, Europe,
    /// NorthAmerica, Oceania or SouthAmerica.
    #[arg(long, value_name = "REGION")]
    region: Option<String>,
    /// The token's consumer: usr-ID, grp-ID or prv-ID (for consumer caveats).
    #[arg(long, value_name = "SUBJECT")]
    consumer: Option<String>,
    /// A group the consumer is an effective member of (repeatable).
    #[arg(long = "consumer-group", value_name = "ID")]
    consumer_groups: Vec<String>,
}

impl ClientArgs {
    fn context(&self) -> Result<AuthContext, Failure> {
        let mut ctx = AuthContext::new();
        ctx.ip = self.ip;
        ctx.asn = self.asn;
        if let Some(cc) = &self.country {
            let cc = CountryCode::new(cc)
                .map_err(|e| input_error(format!("--country {}: {e}", cc.escape_debug())))?;
            ctx.country = Some(cc);
        }
        if let Some(r) = &self.region {
            let names: Vec<&str> = Region::ALL.iter().map(Region::name).collect();
            ctx.continent = Some(Region::from_name(r).ok_or_else(|| {
                input_error(format!(
                    "--region: unknown region \"{}\" (one of {})",
                    r.escape_debug(),
                    names.join(", ")
                ))
            })?);
        }
        if let Some(c) = &self.consumer {
            ctx = ctx.with_consumer(parse_consumer(c)?, self.consumer_groups.clone());
        } else if !self.consumer_groups.is_empty() {
            return Err(input_error("--consumer-group needs --consumer"));
        }
        Ok(ctx)
    }
}

/// What typed caveat checkers may know about the request, beyond the client.
#[derive(Args)]
struct RequestArgs {
    /// The service the request comes through: ozw-ID, ozp-ID, opw-ID or opp-ID (service caveats).
    #[arg(long, value_name = "SERVICE")]
    service: Option<String>,
    /// The request interface: rest, oneclient or graphsync (interface caveats).
    #[arg(long, value_name = "INTERFACE")]
    interface: Option<String>,
    /// The token is used only as proof of identity (authorization = none caveats).
    #[arg(long)]
    identity_scope: bool,
    /// The API call, as SERVICE/OPERATION/TYPE.ID.ASPECT[:SCOPE], e.g.
    /// ozw/get/user.u1.instance:private (api caveats; scope defaults to private).
    #[arg(long, value_name = "CALL")]
    api: Option<String>,
    /// The data path accessed, /SPACE/... (data.path caveats).
    #[arg(long, value_name = "PATH")]
    data_path: Option<String>,
    /// The CDMI object id accessed, hex (data.objectid caveats).
    #[arg(long, value_name = "HEX")]
    data_object_id: Option<String>,
    /// The data access only reads (data.readonly caveats; with --data-path/--data-object-id,
    /// or alone for a read-only access).
    #[arg(long)]
    read_only: bool,
}

impl RequestArgs {
    fn apply(&self, mut ctx: AuthContext) -> Result<AuthContext, Failure> {
        if let Some(text) = &self.service {
            let kind = text.split_once('-').and_then(|(code, id)| {
                ServiceKind::from_code(code).zip((!id.is_empty()).then_some(id))
            });
            let Some((kind, id)) = kind else {
                return Err(input_error(format!(
                    "--service \"{}\" is not ozw-ID, ozp-ID, opw-ID or opp-ID",
                    text.escape_debug()
                )));
            };
            ctx = ctx.with_service(Service::new(kind, id));
        }
        if let Some(text) = &self.interface {
            let interface = match text.as_str() {
                "rest" => Interface::Rest,
                "oneclient" => Interface::Oneclient,
                "graphsync" => Interface::Graphsync,
                _ => {
                    return Err(input_error(format!(
                        "--interface \"{}\" is not rest, oneclient or graphsync",
                        text.escape_debug()
                    )))
                }
            };
            ctx = ctx.with_interface(interface);
        }
        if self.identity_scope {
            ctx = ctx.in_identity_scope();
        }
        if let Some(text) = &self.api {
            ctx = ctx.with_api(parse_api_call(text)?);
        }
        if self.data_path.is_some() || self.data_object_id.is_some() || self.read_only {
            ctx = ctx.with_data(DataAccess {
                read_only: self.read_only,
                path: self.data_path.clone(),
                object_id: self.data_object_id.clone(),
            });
        }
        Ok(ctx)
    }
}

/// `SERVICE/OPERATION/TYPE.ID.ASPECT[:SCOPE]`, read with the api caveat grammar but with no
/// wildcards (a concrete call).
fn parse_api_call(text: &str) -> Result<ApiCall, Failure> {
    let bad = |why: String| input_error(format!("--api \"{}\": {why}", text.escape_debug()));
    let spec: ApiSpec = text
        .parse()
        .map_err(|e: CaveatError| bad(e.kind.to_string()))?;
    let ApiService::Only(service) = spec.service else {
        return Err(bad("give one service, not all".into()));
    };
    if spec.operation == Operation::All {
        return Err(bad("give one operation, not all".into()));
    }
    let gri = spec.gri;
    let scope = gri.scope.unwrap_or_else(|| "private".into());
    if [&gri.entity_type, &gri.id, &gri.aspect, &scope]
        .iter()
        .any(|p| p.as_str() == "*")
    {
        return Err(bad("a call has no wildcards".into()));
    }
    Ok(ApiCall {
        service,
        operation: spec.operation,
        entity_type: gri.entity_type,
        id: gri.id,
        aspect: gri.aspect,
        scope,
    })
}

#[derive(Subcommand)]
enum Command {
    /// Mint a new macaroon and print it.
    Mint {
        #[command(flatten)]
        key: KeyArgs,
        /// Location hint (not signed).
        #[arg(long, default_value = "")]
        location: String,
        /// Identifier as text.
        #[arg(
            long,
            required_unless_present = "identifier_hex",
            conflicts_with = "identifier_hex"
        )]
        identifier: Option<String>,
        /// Identifier as hex (for binary identifiers).
        #[arg(long, value_name = "HEX")]
        identifier_hex: Option<String>,
        /// A first-party caveat (repeatable, in order).
        #[arg(long = "caveat", value_name = "C")]
        caveats: Vec<String>,
        /// Output format.
        #[arg(long, default_value = "v1", value_parser = parse_format)]
        format: Format,
    },
    /// Show what a token holds (never verifies); on damaged input, show what could be decoded.
    ///
    /// For Onedata tokens (Onedata token text, or an identifier of the form `<integer>/…`) the
    /// parsed Onedata identifier and the form of each caveat are shown too ("onedata" in --json).
    Inspect {
        /// Show the Onedata interpretation of any token (legacy identifiers included).
        #[arg(long)]
        onedata: bool,
        /// The token, or - for standard input.
        token: String,
    },
    /// Verify a token: print "valid" (exit 0) or the reason it is not (exit 1).
    Verify {
        #[command(flatten)]
        key: KeyArgs,
        /// Current time as Unix seconds (default: the system clock).
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
        /// A first-party caveat that holds (repeatable).
        #[arg(long = "exact", value_name = "C")]
        exact: Vec<String>,
        #[command(flatten)]
        client: ClientArgs,
        #[command(flatten)]
        request: RequestArgs,
        /// A bound discharge macaroon (repeatable), or - for standard input.
        #[arg(long = "discharge", value_name = "TOKEN")]
        discharges: Vec<String>,
        /// Accept discharges no caveat uses (as libmacaroons and pymacaroons do).
        #[arg(long)]
        ignore_unused_discharges: bool,
        /// The token, or - for standard input.
        token: String,
    },
    /// Add first-party caveats; prints the token in its input format.
    Attenuate {
        /// A first-party caveat (repeatable, in order).
        #[arg(long = "caveat", value_name = "C", required = true)]
        caveats: Vec<String>,
        /// The token, or - for standard input.
        token: String,
    },
    /// Add a third-party caveat; prints the token in its input format.
    ///
    /// The caveat key is `--caveat-key HEX`, or KEY (--key/--key-hex/--key-file) when
    /// `--caveat-key` is absent. With `--caveat-key`, a KEY given is the token's root key and the
    /// token must have been minted with it (exit 1 otherwise).
    ThirdParty {
        #[command(flatten)]
        keys: ThirdPartyKeyArgs,
        /// The third party's location.
        #[arg(long)]
        location: String,
        /// The caveat id the third party will recognise.
        #[arg(long)]
        caveat_id: String,
        /// 24-byte nonce as hex, for reproducible test vectors only (default: OS randomness).
        #[arg(long, value_name = "HEX")]
        nonce_hex: Option<String>,
        /// The token, or - for standard input.
        token: String,
    },
    /// Mint a discharge macaroon for a third-party caveat (unbound; see `bind`).
    Discharge {
        #[command(flatten)]
        caveat_key: CaveatKeyArgs,
        /// The third-party caveat's id (the discharge's identifier).
        #[arg(long)]
        caveat_id: String,
        /// The discharge's location.
        #[arg(long, default_value = "")]
        location: String,
        /// A first-party caveat on the discharge (repeatable).
        #[arg(long = "caveat", value_name = "C")]
        caveats: Vec<String>,
        /// Output format.
        #[arg(long, default_value = "v1", value_parser = parse_format)]
        format: Format,
    },
    /// Bind a discharge to the root token it will be sent with; prints the bound discharge.
    Bind {
        /// The root token.
        root: String,
        /// The discharge token, or - for standard input.
        discharge: String,
    },
    /// Re-encode a token in another format (the signature is unchanged).
    Convert {
        /// Output format.
        #[arg(long, value_parser = parse_format)]
        format: Format,
        /// The token, or - for standard input.
        token: String,
    },
    /// Onedata invite tokens (SPEC §10): mint provider registration and space support tokens,
    /// verify invite tokens.
    Onedata {
        #[command(subcommand)]
        command: OnedataCommand,
    },
    /// Run the reference Onezone-style token service (HTTP; SQLite or PostgreSQL) until Ctrl-C.
    ///
    /// Serves POST /api/v3/onezone/users/{id}/clusters/provider_registration_token and
    /// POST /api/v3/onezone/spaces/{id}/providers/token (and the supporting endpoints), with
    /// HTTP basic and token authentication.
    Serve(ServeArgs),
    /// Manage the token service's root keys (token secrets are derived from them).
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

/// `serve`'s settings.
#[derive(Debug, clap::Args)]
struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8080")]
    listen: std::net::SocketAddr,
    #[command(flatten)]
    storage: StorageArgs,
    /// Create (once) this admin, holding every oz_* privilege. Visible to every local user in
    /// the process list: prefer --admin-file or MACAROON_MINT_ADMIN.
    #[arg(long, value_name = "USER:PASSWORD", conflicts_with = "admin_file")]
    admin: Option<String>,
    /// Read the admin's USER:PASSWORD from this file (its first line; the file must not be
    /// readable by group or others). Without --admin or --admin-file, MACAROON_MINT_ADMIN is
    /// read.
    #[arg(long, value_name = "PATH")]
    admin_file: Option<std::path::PathBuf>,
    /// open: any user may get a provider registration token for themself; restricted: only
    /// holders of oz_providers_invite.
    #[arg(long, value_name = "POLICY", default_value = "restricted")]
    registration_policy: macaroon_mint_server::RegistrationPolicy,
    /// The Onezone domain, written as the tokens' location.
    #[arg(long, value_name = "D", default_value = "localhost")]
    domain: String,
    /// Longest lifetime of a temporary access token, in seconds.
    #[arg(long, value_name = "S", default_value_t = macaroon_mint::onedata::DEFAULT_TEMPORARY_MAX_TTL)]
    temporary_max_ttl: u64,
    /// Named tokens (access and invite) a user may hold; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    quota_named_tokens: u64,
    /// Spaces a user may create; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    quota_spaces: u64,
    /// Oneproviders a user may be the cluster admin of; 0: unlimited.
    #[arg(long, value_name = "N", default_value_t = 100)]
    quota_providers: u64,
    /// Password logins per second from one client address (burst: twice as many); 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 10)]
    login_rate_per_ip: u32,
    /// Password logins per second for one username (burst: four times as many); 0: no limit.
    #[arg(long, value_name = "N", default_value_t = 5)]
    login_rate_per_user: u32,
    /// Open connections at most.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    max_connections: usize,
    /// Open connections from one client address (IPv4 address or IPv6 /64) at most.
    #[arg(long, value_name = "N", default_value_t = 64)]
    max_connections_per_ip: usize,
}

/// Where the token service keeps its data.
#[derive(Debug, clap::Args)]
struct StorageArgs {
    /// Directory of the SQLite database (created on first run).
    #[arg(long, value_name = "DIR", default_value = "macaroon-mint-data")]
    data_dir: std::path::PathBuf,
    /// Use PostgreSQL instead (postgres://USER:PASSWORD@HOST:PORT/DB); also read from
    /// MACAROON_MINT_DATABASE_URL.
    #[arg(
        long,
        value_name = "URL",
        env = "MACAROON_MINT_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    /// Seal root keys at rest under the master key in this file (64 hex characters or 32 raw
    /// bytes, mode 0600; see `keys generate-master-key`). Without it, the key is read from
    /// MACAROON_MINT_MASTER_KEY (hex); with neither, root keys are stored unencrypted.
    #[arg(long, value_name = "PATH")]
    master_key_file: Option<std::path::PathBuf>,
}

/// The environment variable holding the master key (hex) when --master-key-file is absent.
const MASTER_KEY_VAR: &str = "MACAROON_MINT_MASTER_KEY";

impl StorageArgs {
    fn config(&self) -> Result<macaroon_mint_server::Config, Failure> {
        Ok(macaroon_mint_server::Config {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            master_key: self.master_key()?,
            ..macaroon_mint_server::Config::new()
        })
    }

    /// The master key from --master-key-file, else from MACAROON_MINT_MASTER_KEY; `None`
    /// without either.
    fn master_key(&self) -> Result<Option<MasterKey>, Failure> {
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
fn store_message(e: &macaroon_mint_server::StoreError) -> String {
    match e {
        macaroon_mint_server::StoreError::Backend(text) => text.clone(),
        other => other.to_string(),
    }
}

/// Writes a fresh master key to `out` (64 hex characters and a newline, mode 0600), refusing
/// to overwrite an existing file.
fn generate_master_key(out: &std::path::Path) -> Result<String, Failure> {
    let key = MasterKey::generate()
        .map_err(|e| Failure::Io(format!("keys generate-master-key: {}", store_message(&e))))?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let shown = out.display();
    let mut file = options.open(out).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            input_error(format!(
                "keys generate-master-key: {shown} exists; it is not overwritten"
            ))
        } else {
            Failure::Io(format!("keys generate-master-key: creating {shown}: {e}"))
        }
    })?;
    let mut text = key.to_hex();
    text.push('\n');
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Failure::Io(format!("keys generate-master-key: writing {shown}: {e}")))?;
    Ok(format!(
        "master key written to {shown} (mode 0600): pass it as --master-key-file to `serve` and \
         `keys`; keep a copy, root keys sealed under it cannot be read without it"
    ))
}

#[derive(Debug, Subcommand)]
enum KeysCommand {
    /// List the root keys (id, created, retired; never the material).
    List {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Create a new root key; new tokens are minted under it, old ones keep verifying.
    Rotate {
        #[command(flatten)]
        storage: StorageArgs,
    },
    /// Retire a root key: every token minted under it stops verifying.
    Retire {
        #[command(flatten)]
        storage: StorageArgs,
        /// The key id (see `keys list`).
        id: i64,
    },
    /// Write a new random master key (64 hex characters, mode 0600) for --master-key-file.
    GenerateMasterKey {
        /// The file to create (an existing file is not overwritten).
        #[arg(long, value_name = "PATH")]
        out: std::path::PathBuf,
    },
}

/// The location written into minted Onedata tokens when --location is not given: a placeholder
/// Onezone domain. Real deployments pass their Onezone domain.
const DEFAULT_ONEZONE_LOCATION: &str = "onezone.local";

/// Options shared by the Onedata minting subcommands.
#[derive(Args)]
struct InviteMintArgs {
    #[command(flatten)]
    key: KeyArgs,
    /// The Onezone domain, written as the token's location.
    #[arg(long, default_value = DEFAULT_ONEZONE_LOCATION)]
    location: String,
    /// Lifetime in seconds: adds "time < now + ttl" as the first caveat.
    #[arg(long, value_name = "SECONDS")]
    ttl: Option<u64>,
    /// Minting time for --ttl, Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX", requires = "ttl")]
    now: Option<u64>,
    /// Mint a temporary token of this secret generation (tmp-GENERATION; needs --ttl).
    #[arg(long, value_name = "GENERATION")]
    temporary: Option<u64>,
    /// The token id (default: 32 random lowercase hex characters).
    #[arg(long, value_name = "ID")]
    token_id: Option<String>,
    /// A caveat (repeatable, in order, after the expiry): time, ip, asn, geo.country, geo.region
    /// or consumer.
    #[arg(long = "caveat", value_name = "C")]
    caveats: Vec<String>,
}

#[derive(Subcommand)]
enum OnedataCommand {
    /// Mint a provider registration token (invite type rop) and print its text.
    ///
    /// What Onezone's `POST /api/v3/onezone/users/{id}/clusters/provider_registration_token`
    /// returns: a named invite token whose admin user is --user, issued by --issuer.
    ProviderRegistrationToken {
        /// The user who becomes the new Oneprovider's cluster admin.
        #[arg(long, value_name = "ID")]
        user: String,
        /// The issuing user, the token's subject (default: --user).
        #[arg(long, value_name = "USER")]
        issuer: Option<String>,
        #[command(flatten)]
        mint: InviteMintArgs,
    },
    /// Mint a space support token (invite type ssp) and print its text.
    ///
    /// What Onezone's `POST /api/v3/onezone/spaces/{id}/providers/token` returns: a named invite
    /// token letting a Oneprovider support --space, issued by --issuer.
    SpaceSupportToken {
        /// The space to be supported.
        #[arg(long, value_name = "ID")]
        space: String,
        /// The issuing user, the token's subject.
        #[arg(long, value_name = "USER")]
        issuer: String,
        #[command(flatten)]
        mint: InviteMintArgs,
    },
    /// Verify an Onedata invite token; print its claims as one JSON object (exit 0), or why it is
    /// invalid (exit 1).
    VerifyInvite {
        /// The required invite type: rop, ssp or another known invite code.
        #[arg(long, value_name = "rop|ssp|CODE")]
        expect: String,
        #[command(flatten)]
        key: KeyArgs,
        /// Current time as Unix seconds (default: the system clock).
        #[arg(long, value_name = "UNIX")]
        now: Option<u64>,
        /// The current generation of the subject's temporary tokens (needed for temporary tokens;
        /// another generation is revoked).
        #[arg(long, value_name = "N")]
        generation: Option<u64>,
        #[command(flatten)]
        context: ClientArgs,
        /// Seconds a "time < N" caveat is still accepted after N.
        #[arg(long, value_name = "SECONDS", default_value_t = 0)]
        leeway: u64,
        /// The longest lifetime of a temporary token, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_TEMPORARY_MAX_TTL)]
        temporary_max_ttl: u64,
        /// The token, or - for standard input.
        token: String,
    },
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// A failure, with the exit code it maps to.
enum Failure {
    /// Usage or input error: exit 2.
    Input(String, Option<Box<Error>>),
    /// Output could not be written (standard output full, closed, …): exit 2.
    Io(String),
    /// The token does not verify: exit 1.
    Invalid(String, Option<Box<Error>>),
    /// An Onedata profile error: exit 1 for an invalid token, 2 for input that cannot be read.
    Onedata(Box<OnedataError>),
}

impl From<OnedataError> for Failure {
    fn from(e: OnedataError) -> Self {
        Failure::Onedata(Box::new(e))
    }
}

fn invalid(e: Error) -> Failure {
    Failure::Invalid(e.to_string(), Some(Box::new(e)))
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Input(e.to_string(), Some(Box::new(e)))
    }
}

fn input_error(message: impl Into<String>) -> Failure {
    Failure::Input(message.into(), None)
}

fn decode_hex(what: &str, hex_text: &str) -> Result<Vec<u8>, Failure> {
    hex::decode(hex_text.trim()).map_err(|e| input_error(format!("{what}: invalid hex ({e})")))
}

/// Largest `--key-file` accepted (1 MiB); the file is never read further than one byte past it.
const MAX_KEY_FILE_BYTES: usize = 1 << 20;

/// The raw bytes of a key file, refusing (without reading it all) a file over 1 MiB.
fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
    let fail = |e: std::io::Error| input_error(format!("--key-file {}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut buf = Vec::new();
    file.take(MAX_KEY_FILE_BYTES as u64 + 1)
        .read_to_end(&mut buf)
        .map_err(fail)?;
    if buf.len() > MAX_KEY_FILE_BYTES {
        return Err(input_error(format!(
            "--key-file {}: file is larger than 1 MiB ({MAX_KEY_FILE_BYTES} bytes); \
             it must hold only the raw key bytes",
            path.display()
        )));
    }
    Ok(buf)
}

fn key_bytes(
    text: &Option<String>,
    hex_text: &Option<String>,
    file: &Option<std::path::PathBuf>,
) -> Result<Vec<u8>, Failure> {
    if let Some(t) = text {
        return Ok(t.as_bytes().to_vec());
    }
    if let Some(h) = hex_text {
        return decode_hex("--key-hex", h);
    }
    if let Some(path) = file {
        return read_key_file(path);
    }
    Err(input_error(
        "a key is required (--key, --key-hex or --key-file)",
    ))
}

impl KeyArgs {
    fn root_key(&self) -> Result<RootKey, Failure> {
        Ok(RootKey::new(key_bytes(
            &self.key,
            &self.key_hex,
            &self.key_file,
        )?))
    }
}

impl CaveatKeyArgs {
    fn root_key(&self) -> Result<RootKey, Failure> {
        if let Some(h) = &self.caveat_key {
            return Ok(RootKey::new(decode_hex("--caveat-key", h)?));
        }
        Ok(RootKey::new(key_bytes(
            &self.key,
            &self.key_hex,
            &self.key_file,
        )?))
    }
}

impl ThirdPartyKeyArgs {
    /// The caveat key; checks the token's authorship first when a root key is also given.
    fn caveat_key(&self, token: &Macaroon) -> Result<RootKey, Failure> {
        let given = self.key.is_some() || self.key_hex.is_some() || self.key_file.is_some();
        let Some(h) = &self.caveat_key else {
            if !given {
                return Err(input_error(
                    "a caveat key is required (--caveat-key, --key, --key-hex or --key-file)",
                ));
            }
            return Ok(RootKey::new(key_bytes(
                &self.key,
                &self.key_hex,
                &self.key_file,
            )?));
        };
        if given {
            let root = RootKey::new(key_bytes(&self.key, &self.key_hex, &self.key_file)?);
            if !token.is_signed_by(&root) {
                return Err(Failure::Invalid(
                    "the token was not minted with the given root key".into(),
                    None,
                ));
            }
        }
        Ok(RootKey::new(decode_hex("--caveat-key", h)?))
    }
}

/// The token bytes from an argument, or from standard input for `-`.
fn token_input(arg: &str) -> Result<Vec<u8>, Failure> {
    if arg == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .take(Limits::DEFAULT.max_token_bytes as u64 + 1)
            .read_to_end(&mut buf)
            .map_err(|e| input_error(format!("reading standard input: {e}")))?;
        Ok(buf)
    } else {
        Ok(arg.as_bytes().to_vec())
    }
}

/// Refuses `-` (standard input) for more than one token of one invocation: the second would
/// silently read an empty input.
fn stdin_at_most_once<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Result<(), Failure> {
    if tokens.into_iter().filter(|t| *t == "-").count() > 1 {
        return Err(input_error(
            "standard input (-) can be used for only one token per invocation",
        ));
    }
    Ok(())
}

fn parse_token(arg: &str) -> Result<Parsed, Failure> {
    Ok(Parsed::from_bytes(&token_input(arg)?, &Limits::DEFAULT)?)
}

/// The admin's `USER:PASSWORD`: from `--admin` (with a warning: the process list shows it),
/// `--admin-file`, or `MACAROON_MINT_ADMIN`.
fn admin_credentials(args: &ServeArgs) -> Result<Option<(String, String)>, Failure> {
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
        match std::env::var("MACAROON_MINT_ADMIN") {
            Ok(spec) if !spec.is_empty() => (zeroize::Zeroizing::new(spec), "MACAROON_MINT_ADMIN"),
            _ => return Ok(None),
        }
    };
    match spec.split_once(':') {
        Some((user, password)) if !user.is_empty() && !password.is_empty() => {
            if source == "--admin" {
                write_stderr(
                    "macaroon-mint serve: warning: --admin shows the password to every local user \
                     (process list); use --admin-file PATH or MACAROON_MINT_ADMIN instead",
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
fn login_rate(per_second: u32, burst_factor: u32) -> Option<macaroon_mint_server::Rate> {
    (per_second > 0).then(|| macaroon_mint_server::Rate {
        burst: per_second.saturating_mul(burst_factor),
        per_second,
    })
}

fn serve(args: &ServeArgs) -> Result<String, Failure> {
    use macaroon_mint_server::AdminStatus;

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
        registration_policy,
        admin,
        temporary_max_ttl,
        quotas: macaroon_mint_server::Quotas {
            named_tokens_per_user: quota(args.quota_named_tokens),
            spaces_per_user: quota(args.quota_spaces),
            providers_per_user: quota(args.quota_providers),
        },
        limits,
        ..args.storage.config()?
    };
    if config.master_key.is_none() {
        write_stderr(&format!(
            "macaroon-mint serve: warning: no master key (--master-key-file or \
             {MASTER_KEY_VAR}): root keys are stored unencrypted"
        ));
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
    let printed_domain = config.domain.clone();
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
            format!("  domain:              {printed_domain}"),
            format!("  registration policy: {registration_policy}"),
            format!("  admin:               {admin}"),
            format!("  temporary token TTL: at most {temporary_max_ttl} s"),
            format!("  quotas:              {quotas_text}"),
            format!("  limits:              {limits_text}"),
            "  authentication:      HTTP basic; X-Auth-Token / Authorization: Bearer access tokens"
                .to_owned(),
        ];
        // The settings are informational; a closed standard output must not stop the service.
        let _ = write_stdout(&lines.join("\n"));
    })
    .map_err(|e| Failure::Io(format!("serve: {e}")))?;
    Ok("macaroon-mint serve: stopped".to_owned())
}

fn run_keys(command: &KeysCommand) -> Result<String, Failure> {
    let storage = match command {
        KeysCommand::List { storage }
        | KeysCommand::Rotate { storage }
        | KeysCommand::Retire { storage, .. } => storage,
        KeysCommand::GenerateMasterKey { out } => return generate_master_key(out),
    };
    let store = storage
        .config()?
        .open_store()
        .map_err(|e| Failure::Io(format!("keys: {e}")))?;
    let failed = |e: macaroon_mint_server::StoreError| Failure::Io(format!("keys: {e}"));
    let now = system_now();
    match command {
        KeysCommand::List { .. } => {
            let keys = store.root_keys().map_err(failed)?;
            let current = macaroon_mint_server::store::current_root_key(&*store)
                .map_err(failed)?
                .map(|k| k.id);
            if keys.is_empty() {
                return Ok("no root keys yet (the service creates the first on start)".to_owned());
            }
            let lines: Vec<String> = keys
                .iter()
                .map(|k| {
                    let state = match (k.retired, Some(k.id) == current) {
                        (Some(at), _) => format!("retired at {at}"),
                        (None, true) => "current".to_owned(),
                        (None, false) => "active (verifies older tokens)".to_owned(),
                    };
                    format!("{}\tcreated {}\t{state}", k.id, k.created)
                })
                .collect();
            Ok(lines.join("\n"))
        }
        KeysCommand::Rotate { .. } => {
            let material = macaroon_mint_server::store::random_bytes(32).map_err(failed)?;
            let key = store.insert_root_key(&material, now).map_err(failed)?;
            Ok(format!(
                "root key {} created and current; older keys keep verifying their tokens until retired",
                key.id
            ))
        }
        // Handled above, before opening a store.
        KeysCommand::GenerateMasterKey { out } => generate_master_key(out),
        KeysCommand::Retire { id, .. } => {
            let keys = store.root_keys().map_err(failed)?;
            let Some(key) = keys.iter().find(|k| k.id == *id) else {
                return Err(input_error(format!("keys retire: no root key {id}")));
            };
            if key.retired.is_some() {
                return Err(input_error(format!(
                    "keys retire: root key {id} is already retired"
                )));
            }
            if !keys.iter().any(|k| k.id != *id && k.retired.is_none()) {
                return Err(input_error(format!(
                    "keys retire: root key {id} is the only active key; run `keys rotate` first"
                )));
            }
            if !store.retire_root_key(*id, now).map_err(failed)? {
                return Err(input_error(format!(
                    "keys retire: root key {id} is already retired"
                )));
            }
            Ok(format!(
                "root key {id} retired: tokens minted under it no longer verify"
            ))
        }
    }
}

fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn run(cli: &Cli) -> Result<String, Failure> {
    match &cli.command {
        Command::Mint {
            key,
            location,
            identifier,
            identifier_hex,
            caveats,
            format,
        } => {
            let identifier = match (identifier, identifier_hex) {
                (_, Some(h)) => decode_hex("--identifier-hex", h)?,
                (Some(i), None) => i.as_bytes().to_vec(),
                (None, None) => return Err(input_error("--identifier is required")),
            };
            let mut m = Macaroon::mint(&key.root_key()?, location, identifier)?;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(*format)?)
        }
        Command::Inspect { onedata, token } => inspect(&token_input(token)?, cli.json, *onedata),
        Command::Verify {
            key,
            now,
            exact,
            client,
            request,
            discharges,
            ignore_unused_discharges,
            token,
        } => {
            stdin_at_most_once(
                discharges
                    .iter()
                    .map(String::as_str)
                    .chain([token.as_str()]),
            )?;
            let root = parse_token(token)?.macaroon;
            let discharges = discharges
                .iter()
                .map(|d| parse_token(d).map(|p| p.macaroon))
                .collect::<Result<Vec<_>, _>>()?;
            let ctx = request.apply(client.context()?)?;
            let mut verifier = Verifier::new()
                .at_time(now.unwrap_or_else(system_now))
                .with_context(&ctx);
            for e in exact {
                verifier = verifier.satisfy_exact(e);
            }
            if *ignore_unused_discharges {
                verifier = verifier.ignore_unused_discharges();
            }
            verifier
                .verify(&key.root_key()?, &root, &discharges)
                .map_err(invalid)?;
            Ok("valid".into())
        }
        Command::Attenuate { caveats, token } => {
            let parsed = parse_token(token)?;
            let mut m = parsed.macaroon;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(parsed.encoding.output_format())?)
        }
        Command::ThirdParty {
            keys,
            location,
            caveat_id,
            nonce_hex,
            token,
        } => {
            let parsed = parse_token(token)?;
            let key = keys.caveat_key(&parsed.macaroon)?;
            let m = match nonce_hex {
                Some(h) => {
                    let nonce: [u8; 24] = decode_hex("--nonce-hex", h)?
                        .try_into()
                        .map_err(|_| input_error("--nonce-hex must be 24 bytes (48 hex digits)"))?;
                    parsed
                        .macaroon
                        .with_third_party_nonce(location, &key, caveat_id, nonce)?
                }
                None => parsed
                    .macaroon
                    .with_third_party(location, &key, caveat_id)?,
            };
            Ok(m.serialize(parsed.encoding.output_format())?)
        }
        Command::Discharge {
            caveat_key,
            caveat_id,
            location,
            caveats,
            format,
        } => {
            let mut m = Macaroon::mint(&caveat_key.root_key()?, location, caveat_id)?;
            for c in caveats {
                m = m.with_first_party(c)?;
            }
            Ok(m.serialize(*format)?)
        }
        Command::Bind { root, discharge } => {
            stdin_at_most_once([root.as_str(), discharge.as_str()])?;
            let root = parse_token(root)?.macaroon;
            let discharge = parse_token(discharge)?;
            Ok(discharge
                .macaroon
                .bind_to(&root)
                .serialize(discharge.encoding.output_format())?)
        }
        Command::Convert { format, token } => {
            Ok(parse_token(token)?.macaroon.serialize(*format)?)
        }
        Command::Onedata { command } => run_onedata(command),
        Command::Serve(args) => serve(args),
        Command::Keys { command } => run_keys(command),
    }
}

fn run_onedata(command: &OnedataCommand) -> Result<String, Failure> {
    match command {
        OnedataCommand::ProviderRegistrationToken { user, issuer, mint } => {
            let options = mint.options()?;
            let issuer = issuer.as_deref().unwrap_or(user);
            let minted = provider_registration_token(
                &mint.key.root_key()?,
                &mint.location,
                issuer,
                user,
                &options,
            )?;
            Ok(minted.token)
        }
        OnedataCommand::SpaceSupportToken {
            space,
            issuer,
            mint,
        } => {
            let options = mint.options()?;
            let minted = space_support_token(
                &mint.key.root_key()?,
                &mint.location,
                Subject::User(issuer.clone()),
                space,
                &options,
            )?;
            Ok(minted.token)
        }
        OnedataCommand::VerifyInvite {
            expect,
            key,
            now,
            generation,
            context,
            leeway,
            temporary_max_ttl,
            token,
        } => {
            let expected = InviteType::from_code(expect);
            if let InviteType::Other(code) = &expected {
                let known: Vec<String> = InviteType::all().map(|t| t.code().to_owned()).collect();
                return Err(input_error(format!(
                    "--expect: unknown invite type code \"{}\" (known: {})",
                    code.escape_debug(),
                    known.join(", ")
                )));
            }
            let ctx = context.context()?;
            let policy = InvitePolicy {
                current_generation: *generation,
                leeway: *leeway,
                temporary_max_ttl: *temporary_max_ttl,
                ..InvitePolicy::default()
            };
            let text = String::from_utf8(token_input(token)?)
                .map_err(|e| input_error(format!("the token is not UTF-8 text ({e})")))?;
            let parsed = OnedataToken::parse(&text)?;
            let now = now.unwrap_or_else(system_now);
            let claims = parsed.verify_invite(&key.root_key()?, expected, now, &ctx, &policy)?;
            Ok(claims_json(&claims).to_string())
        }
    }
}

impl InviteMintArgs {
    fn options(&self) -> Result<InviteOptions, Failure> {
        let caveats = self
            .caveats
            .iter()
            .map(|c| {
                TypedCaveat::parse(c.as_bytes())
                    .map_err(|e| input_error(format!("--caveat \"{}\": {e}", c.escape_debug())))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(InviteOptions {
            persistence: match self.temporary {
                Some(generation) => Persistence::Temporary { generation },
                None => Persistence::Named,
            },
            token_id: self.token_id.clone(),
            expiry: self
                .ttl
                .map(|ttl| Expiry::after(ttl, self.now.unwrap_or_else(system_now))),
            caveats,
        })
    }
}

/// `usr-ID`, `grp-ID` or `prv-ID` as a consumer.
fn parse_consumer(text: &str) -> Result<Consumer, Failure> {
    let kinds = [
        ("usr-", ConsumerKind::User),
        ("grp-", ConsumerKind::Group),
        ("prv-", ConsumerKind::Provider),
    ];
    for (prefix, kind) in kinds {
        if let Some(id) = text.strip_prefix(prefix) {
            if !id.is_empty() {
                return Ok(Consumer::new(kind, id));
            }
        }
    }
    Err(input_error(format!(
        "--consumer \"{}\" is not usr-ID, grp-ID or prv-ID",
        text.escape_debug()
    )))
}

fn claims_json(c: &InviteClaims) -> Value {
    let mut v = json!({
        "valid": true,
        "subject": c.subject.to_string(),
        "invite": c.invite.code(),
        "target": c.target,
        "parameters": c.parameters,
        "token_id": c.token_id,
        "persistence": c.persistence.to_string(),
        "expiry": c.expiry,
        "location": c.location,
        "service": c.service,
        "caveats": c.caveats.iter().map(|t| String::from_utf8_lossy(&t.to_bytes()).into_owned()).collect::<Vec<_>>(),
    });
    if let (Persistence::Temporary { generation }, Some(obj)) = (c.persistence, v.as_object_mut()) {
        obj.insert("generation".into(), json!(generation));
    }
    v
}

/// The exit code of an Onedata profile error: 2 for input that cannot be read (or minting
/// options that cannot be used), 1 for a token that does not verify.
fn onedata_exit_code(e: &OnedataError) -> u8 {
    match e {
        OnedataError::Macaroon(Error::Verify(_)) => 1,
        OnedataError::Macaroon(_)
        | OnedataError::Identifier(_)
        | OnedataError::NotOnedataText { .. }
        | OnedataError::TemporaryWithoutExpiry
        | OnedataError::ZeroTtl
        | OnedataError::ExpiryOverflow { .. }
        | OnedataError::UnsupportedCaveat { .. }
        | OnedataError::UnknownCaveat { .. }
        | OnedataError::InvalidCaveat { .. } => 2,
        _ => 1,
    }
}

/// The one-line message of an Onedata profile error, with a hint for the CLI option to use.
fn onedata_message(e: &OnedataError) -> String {
    match e {
        OnedataError::GenerationUnknown { .. } => format!("{e} (give it with --generation)"),
        OnedataError::TemporaryWithoutExpiry => "a temporary token needs an expiry: give --ttl \
             (Onezone requires a \"time < N\" caveat on temporary tokens)"
            .to_owned(),
        _ => e.to_string(),
    }
}

/// The library's JSON shape of the error, with the CLI's message (which names the option to use).
fn onedata_error_json(e: &OnedataError) -> Value {
    let mut v = serde_json::to_value(e).unwrap_or_else(|j| internal_json_error(&j));
    if let Some(obj) = v.as_object_mut() {
        obj.insert("message".into(), json!(onedata_message(e)));
    }
    v
}

/// Bytes as text when they are printable UTF-8, else as `hex:…`.
fn show_bytes(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.chars().any(char::is_control) => s.to_owned(),
        _ => format!("hex:{}", hex::encode(bytes)),
    }
}

fn bytes_json(bytes: &[u8]) -> Value {
    match std::str::from_utf8(bytes) {
        Ok(s) => json!({ "text": s }),
        Err(_) => json!({ "hex": hex::encode(bytes) }),
    }
}

fn inspect(input: &[u8], as_json: bool, force_onedata: bool) -> Result<String, Failure> {
    let report = Inspection::of_bytes(input);
    let parsed = match report.parsed {
        Ok(parsed) => parsed,
        Err(e) => {
            if let Some(recovered) = &report.recovered {
                let identifier = recovered
                    .identifier
                    .as_ref()
                    .map(|f| (f.bytes.as_slice(), f.truncated));
                let show = force_onedata
                    || looks_like_onedata_text(input)
                    || identifier.is_some_and(|(id, _)| is_versioned_identifier(id));
                let caveats: Vec<CaveatView<'_>> = recovered
                    .caveats
                    .iter()
                    .map(|c| CaveatView {
                        id: &c.id.bytes,
                        third_party: c.verification_id.is_some(),
                        truncated: c.id.truncated,
                    })
                    .collect();
                let onedata = show.then(|| onedata_view(identifier, &caveats));
                let text = if as_json {
                    let mut v =
                        json!({ "error": error_json(&e), "recovered": recovered_json(recovered) });
                    if let (Some((o, _)), Some(obj)) = (onedata, v.as_object_mut()) {
                        obj.insert("onedata".into(), o);
                    }
                    v.to_string()
                } else {
                    let mut text = recovered_text(recovered);
                    for line in onedata.map(|(_, lines)| lines).unwrap_or_default() {
                        text.push('\n');
                        text.push_str(&line);
                    }
                    text
                };
                write_stdout(&text)?;
            }
            return Err(e.into());
        }
    };
    let m = &parsed.macaroon;
    let onedata = (force_onedata
        || matches!(parsed.encoding, Encoding::Onedata { .. })
        || is_versioned_identifier(m.identifier()))
    .then(|| {
        let caveats: Vec<CaveatView<'_>> = m
            .caveats()
            .iter()
            .map(|c| CaveatView {
                id: c.id(),
                third_party: c.is_third_party(),
                truncated: false,
            })
            .collect();
        onedata_view(Some((m.identifier(), false)), &caveats)
    });
    if as_json {
        let internal = |e: serde_json::Error| input_error(format!("internal JSON error: {e}"));
        let mut out = json!({
            "format": parsed.encoding.output_format().name(),
            "encoding": serde_json::to_value(&parsed.encoding).map_err(internal)?,
            "macaroon": serde_json::to_value(m).map_err(internal)?,
            "signature_hex": m.signature_hex(),
        });
        if let (Encoding::Onedata { service: Some(s) }, Some(obj)) =
            (&parsed.encoding, out.as_object_mut())
        {
            obj.insert("service".into(), json!(s));
        }
        if let (Some((o, _)), Some(obj)) = (onedata, out.as_object_mut()) {
            obj.insert("onedata".into(), o);
        }
        return Ok(out.to_string());
    }
    let (onedata_identifier, onedata_caveats) = match onedata {
        Some((_, mut lines)) => {
            let rest = lines.split_off(1.min(lines.len()));
            (lines, rest)
        }
        None => (Vec::new(), Vec::new()),
    };
    let mut lines = vec![
        format!("format: {}", parsed.encoding.name()),
        format!("location: {}", show_bytes(m.location())),
        format!("identifier: {}", show_bytes(m.identifier())),
    ];
    lines.extend(onedata_identifier);
    if let Encoding::Onedata { service: Some(s) } = &parsed.encoding {
        lines.push(format!("service: {s}"));
    }
    for (i, c) in m.caveats().iter().enumerate() {
        match c.verification_id() {
            None if c.location().is_empty() => {
                lines.push(format!("caveat {i}: {}", show_bytes(c.id())));
            }
            None => lines.push(format!(
                "caveat {i}: {} (location {})",
                show_bytes(c.id()),
                show_bytes(c.location())
            )),
            Some(vid) => lines.push(format!(
                "caveat {i}: third-party id {} location {} vid {}",
                show_bytes(c.id()),
                show_bytes(c.location()),
                b64url(vid)
            )),
        }
    }
    lines.extend(onedata_caveats);
    lines.push(format!("signature: {}", m.signature_hex()));
    Ok(lines.join("\n"))
}

/// Whether the text is Onedata token text by SPEC §9: an `opw-`/`opp-` service indication, or
/// base64-like text whose first `0` starts a base62 escape. Used for damaged input, which has no
/// detected encoding.
fn looks_like_onedata_text(input: &[u8]) -> bool {
    let text = input.trim_ascii();
    if text.starts_with(b"opw-") || text.starts_with(b"opp-") {
        return true;
    }
    if matches!(text.first(), None | Some(b'{' | b'"' | b'A' | 0x02)) {
        return false;
    }
    match text.iter().position(|&b| b == b'0') {
        Some(i) => matches!(text.get(i + 1), Some(b'0'..=b'5')),
        None => false,
    }
}

/// Whether an identifier has the shape of a versioned Onedata identifier: an integer, then `/`.
fn is_versioned_identifier(identifier: &[u8]) -> bool {
    let Some(slash) = identifier.iter().position(|&b| b == b'/') else {
        return false;
    };
    let version = identifier.get(..slash).unwrap_or_default();
    let digits = version
        .strip_prefix(b"+")
        .or_else(|| version.strip_prefix(b"-"))
        .unwrap_or(version);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// A caveat as `inspect` sees it (from a parsed token or a lenient decode).
struct CaveatView<'a> {
    id: &'a [u8],
    third_party: bool,
    truncated: bool,
}

/// The Onedata reading of an identifier (with whether it was cut short) and of the caveats: the
/// `"onedata"` JSON value and the text lines (the identifier's line first, then one per caveat).
fn onedata_view(
    identifier: Option<(&[u8], bool)>,
    caveats: &[CaveatView<'_>],
) -> (Value, Vec<String>) {
    let mut lines = Vec::new();
    let id_json = match identifier {
        // Nothing recovered: no line (the text report shows no identifier at all).
        None => Value::Null,
        Some((bytes, truncated)) => {
            let (mut v, mut line) = identifier_view(bytes);
            if truncated {
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("truncated".into(), json!(true));
                }
                line.push_str(" (truncated)");
            }
            lines.push(format!("onedata identifier: {line}"));
            v
        }
    };
    let caveats_json: Vec<Value> = caveats
        .iter()
        .enumerate()
        .map(|(index, c)| {
            let (mut v, mut line) = caveat_view(index, c);
            if c.truncated {
                if let Some(obj) = v.as_object_mut() {
                    obj.insert("truncated".into(), json!(true));
                }
                line.push_str(" (truncated)");
            }
            lines.push(format!("onedata caveat {index}: {line}"));
            v
        })
        .collect();
    (
        json!({ "identifier": id_json, "caveats": caveats_json }),
        lines,
    )
}

fn identifier_view(bytes: &[u8]) -> (Value, String) {
    match OnedataIdentifier::parse_bytes(bytes) {
        Ok(ParsedIdentifier::V2(id)) => {
            let mut v = json!({
                "version": id.version(),
                "persistence": id.persistence().to_string(),
                "subject": id.subject().to_string(),
                "id": id.id(),
            });
            let mut line = format!(
                "version {}, persistence {}, subject {}, ",
                id.version(),
                id.persistence(),
                id.subject()
            );
            if let Some(obj) = v.as_object_mut() {
                if let Persistence::Temporary { generation } = id.persistence() {
                    obj.insert("generation".into(), json!(generation));
                }
                match id.token_type() {
                    TokenType::Access { session } => {
                        obj.insert("type".into(), json!("access"));
                        line.push_str("type access");
                        if let Some(s) = session {
                            obj.insert("session".into(), json!(s));
                            line.push_str(&format!(" (session {s})"));
                        }
                    }
                    TokenType::Identity => {
                        obj.insert("type".into(), json!("identity"));
                        line.push_str("type identity");
                    }
                    TokenType::Invite {
                        invite,
                        target,
                        parameters,
                    } => {
                        obj.insert("type".into(), json!("invite"));
                        obj.insert("invite".into(), json!(invite.code()));
                        obj.insert("target".into(), json!(target));
                        obj.insert("parameters".into(), json!(parameters));
                        let unknown = if matches!(invite, InviteType::Other(_)) {
                            ", unknown code"
                        } else {
                            ""
                        };
                        line.push_str(&format!(
                            "type invite {invite}{unknown} (target {target}, parameters {parameters:?})"
                        ));
                    }
                    other => {
                        obj.insert("type".into(), json!(other.to_string()));
                        line.push_str(&format!("type {other}"));
                    }
                }
            }
            line.push_str(&format!(", id {}", id.id()));
            (v, line)
        }
        Ok(ParsedIdentifier::Legacy { token_id }) => (
            json!({ "version": 1, "token_id": token_id }),
            format!("legacy (version 1), token id {token_id}"),
        ),
        Ok(other) => (
            json!({ "version": other.version(), "token_id": other.token_id() }),
            format!("version {}, token id {}", other.version(), other.token_id()),
        ),
        Err(e) => (
            json!({ "error": e.to_string(), "segment": e.segment.to_string(), "offset": e.offset }),
            format!("invalid: {e}"),
        ),
    }
}

fn caveat_view(index: usize, c: &CaveatView<'_>) -> (Value, String) {
    let mut v = json!({ "index": index });
    let Some(obj) = v.as_object_mut() else {
        return (v, String::new());
    };
    match std::str::from_utf8(c.id) {
        Ok(text) => obj.insert("text".into(), json!(text)),
        Err(_) => obj.insert("hex".into(), json!(hex::encode(c.id))),
    };
    if c.third_party {
        obj.insert("third_party".into(), json!(true));
        return (
            v,
            "third-party caveat (Onedata tokens have none)".to_owned(),
        );
    }
    let line = match TypedCaveat::parse(c.id) {
        Ok(typed) => {
            let form = typed.form().map_or("unknown", Form::name);
            obj.insert("form".into(), json!(form));
            form.to_owned()
        }
        Err(e) => {
            obj.insert("form".into(), json!(e.form));
            obj.insert("error".into(), json!(e.to_string()));
            format!("{} (malformed: {e})", e.form)
        }
    };
    (v, line)
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn field_text(f: &RecoveredField) -> String {
    let mut s = show_bytes(&f.bytes);
    if f.truncated {
        s.push_str(&format!(" (truncated: {} bytes present)", f.bytes.len()));
    }
    s
}

fn recovered_text(r: &Recovered) -> String {
    let mut lines = vec![format!(
        "recovered by lenient decode ({} bytes; NOT a valid token):",
        r.decoded.len()
    )];
    if let Some(l) = &r.location {
        lines.push(format!("location: {}", field_text(l)));
    }
    if let Some(i) = &r.identifier {
        lines.push(format!("identifier: {}", field_text(i)));
    }
    for (n, c) in r.caveats.iter().enumerate() {
        lines.push(format!("caveat {n}: {}", field_text(&c.id)));
    }
    if let Some(s) = &r.signature {
        let mut text = format!("signature: {}", hex::encode(&s.bytes));
        if s.truncated {
            text.push_str(&format!(" (truncated: {} of 32 bytes)", s.bytes.len()));
        }
        lines.push(text);
    }
    for note in &r.notes {
        lines.push(format!("note: {note}"));
    }
    lines.join("\n")
}

fn field_json(f: &RecoveredField) -> Value {
    let mut v = bytes_json(&f.bytes);
    if let Some(obj) = v.as_object_mut() {
        obj.insert("truncated".into(), json!(f.truncated));
    }
    v
}

fn recovered_json(r: &Recovered) -> Value {
    json!({
        "decoded_bytes": r.decoded.len(),
        "location": r.location.as_ref().map(field_json),
        "identifier": r.identifier.as_ref().map(field_json),
        "caveats": r.caveats.iter().map(|c| json!({
            "i": field_json(&c.id),
            "v": c.verification_id.as_ref().map(field_json),
            "l": c.location.as_ref().map(field_json),
        })).collect::<Vec<_>>(),
        "signature": r.signature.as_ref().map(|s| json!({
            "hex": hex::encode(&s.bytes), "truncated": s.truncated
        })),
        "notes": r.notes,
    })
}

/// The library's JSON shape of the error: `kind`, `reason`, `message` and the fields locating it.
fn error_json(e: &Error) -> Value {
    serde_json::to_value(e).unwrap_or_else(|j| internal_json_error(&j))
}

/// Serializing the library's errors cannot fail (string keys only); should it ever, say so.
fn internal_json_error(e: &serde_json::Error) -> Value {
    json!({ "kind": "internal", "message": format!("internal JSON error: {e}") })
}

/// Writes `text` and a line feed to standard output; a failed write is an input/output error.
fn write_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Io(format!("writing standard output: {e}")))
}

/// Writes one line to standard error; if even that fails there is nowhere left to report it.
fn write_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Reports a failure on standard error (one line, JSON with `--json`) and gives its exit code.
fn report(failure: &Failure, as_json: bool) -> ExitCode {
    let (code, message, err, kind) = match failure {
        Failure::Input(m, e) => (2, m.clone(), e.as_deref(), "usage"),
        Failure::Io(m) => (2, m.clone(), None, "io"),
        Failure::Invalid(m, e) => (1, format!("invalid: {m}"), e.as_deref(), "usage"),
        Failure::Onedata(e) => return report_onedata(e, as_json),
    };
    if as_json {
        let mut v = err.map_or_else(|| json!({ "message": message, "kind": kind }), error_json);
        if let (Some(obj), Failure::Invalid(..)) = (v.as_object_mut(), failure) {
            obj.insert("valid".into(), json!(false));
        }
        write_stderr(&json!({ "error": v }).to_string());
    } else {
        write_stderr(&format!("macaroon-mint: {message}"));
    }
    ExitCode::from(code)
}

/// Reports an Onedata profile error like [`report`]: "invalid: …" and exit 1 for a token that
/// does not verify, exit 2 for input that cannot be read.
fn report_onedata(e: &OnedataError, as_json: bool) -> ExitCode {
    let code = onedata_exit_code(e);
    if as_json {
        let mut v = onedata_error_json(e);
        if let (Some(obj), 1) = (v.as_object_mut(), code) {
            obj.insert("valid".into(), json!(false));
        }
        write_stderr(&json!({ "error": v }).to_string());
    } else if code == 1 {
        write_stderr(&format!("macaroon-mint: invalid: {}", onedata_message(e)));
    } else {
        write_stderr(&format!("macaroon-mint: {}", onedata_message(e)));
    }
    ExitCode::from(code)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version
            return match e.print() {
                Ok(()) => ExitCode::SUCCESS,
                Err(io) => {
                    let failure = Failure::Io(format!("writing standard output: {io}"));
                    report(&failure, std::env::args_os().skip(1).any(|a| a == "--json"))
                }
            };
        }
        Err(e) => {
            // clap's report is several lines; keep its first paragraph, the one that says what
            // is wrong, on one line.
            let rendered = e.to_string();
            let paragraph: Vec<&str> = rendered
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let joined = paragraph.join(" ");
            let message = joined.strip_prefix("error: ").unwrap_or(&joined);
            // Arguments need not be UTF-8 (that may be the very error): look at them as OsStr.
            if std::env::args_os().skip(1).any(|a| a == "--json") {
                write_stderr(
                    &json!({ "error": { "kind": "usage", "message": message } }).to_string(),
                );
            } else {
                write_stderr(&format!("macaroon-mint: {message} (see --help)"));
            }
            return ExitCode::from(2);
        }
    };
    match run(&cli).and_then(|out| write_stdout(&out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => report(&failure, cli.json),
    }
}
