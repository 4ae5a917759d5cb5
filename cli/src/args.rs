//! The command line: clap's types, one per subcommand family, and their flags.

use clap::{Args, Parser, Subcommand};
use macaroon_mint::Format;

#[cfg(feature = "server")]
use crate::cmd::keys::KeysCommand;
use crate::cmd::onedata::OnedataCommand;
#[cfg(feature = "server")]
use crate::cmd::serve::ServeArgs;

/// Mint, inspect and verify macaroons (libmacaroons v1, v2, v2 JSON, Onedata base62).
#[derive(Parser)]
#[command(name = "macaroon-mint", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    /// Print errors (and inspect output) as JSON.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct KeyArgs {
    /// Root key as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    pub(crate) key: Option<String>,
    /// Root key as hex.
    #[arg(long, value_name = "HEX")]
    pub(crate) key_hex: Option<String>,
    /// Root key as the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_file: Option<std::path::PathBuf>,
}

/// The caveat root key of a third-party caveat: `--caveat-key HEX` or any of the key options.
#[derive(Args)]
#[group(required = true, multiple = false)]
pub(crate) struct CaveatKeyArgs {
    /// Caveat root key as hex.
    #[arg(long, visible_alias = "caveat-key-hex", value_name = "HEX")]
    pub(crate) caveat_key: Option<String>,
    /// Caveat root key as text (its UTF-8 bytes).
    #[arg(long, value_name = "TEXT")]
    pub(crate) key: Option<String>,
    /// Caveat root key as hex.
    #[arg(long, value_name = "HEX")]
    pub(crate) key_hex: Option<String>,
    /// Caveat root key as the raw bytes of a file.
    #[arg(long, value_name = "PATH")]
    pub(crate) key_file: Option<std::path::PathBuf>,
}

/// Keys of `third-party`: with `--caveat-key`, KEY is the token's root key (optional, checked);
/// without it, KEY is the caveat key.
#[derive(Args)]
pub(crate) struct ThirdPartyKeyArgs {
    /// Caveat root key as hex.
    #[arg(long, visible_alias = "caveat-key-hex", value_name = "HEX")]
    pub(crate) caveat_key: Option<String>,
    /// Key as text (its UTF-8 bytes): the token's root key with --caveat-key, else the caveat key.
    #[arg(long, value_name = "TEXT", group = "key_source")]
    pub(crate) key: Option<String>,
    /// Key as hex (see --key).
    #[arg(long, value_name = "HEX", group = "key_source")]
    pub(crate) key_hex: Option<String>,
    /// Key as the raw bytes of a file (see --key).
    #[arg(long, value_name = "PATH", group = "key_source")]
    pub(crate) key_file: Option<std::path::PathBuf>,
}

/// What typed caveat checkers may know about the client (all optional; a caveat whose fact is
/// missing does not hold).
#[derive(Args)]
pub(crate) struct ClientArgs {
    /// The client's IP address (for ip caveats).
    #[arg(long, value_name = "IP")]
    pub(crate) ip: Option<std::net::IpAddr>,
    /// The client's autonomous system number (for asn caveats).
    #[arg(long, value_name = "N")]
    pub(crate) asn: Option<u32>,
    /// The client's country, two upper-case letters (for geo.country and geo.region caveats).
    #[arg(long, value_name = "CC")]
    pub(crate) country: Option<String>,
    /// The client's continent (for geo.region caveats): Africa, Antarctica, Asia, Europe,
    /// NorthAmerica, Oceania or SouthAmerica.
    #[arg(long, value_name = "REGION")]
    pub(crate) region: Option<String>,
    /// The token's consumer: usr-ID, grp-ID or prv-ID (for consumer caveats).
    #[arg(long, value_name = "SUBJECT")]
    pub(crate) consumer: Option<String>,
    /// A group the consumer is an effective member of (repeatable).
    #[arg(long = "consumer-group", value_name = "ID")]
    pub(crate) consumer_groups: Vec<String>,
}

/// What typed caveat checkers may know about the request, beyond the client.
#[derive(Args)]
pub(crate) struct RequestArgs {
    /// The service the request comes through: ozw-ID, ozp-ID, opw-ID or opp-ID (service caveats).
    #[arg(long, value_name = "SERVICE")]
    pub(crate) service: Option<String>,
    /// The request interface: rest, oneclient or graphsync (interface caveats).
    #[arg(long, value_name = "INTERFACE")]
    pub(crate) interface: Option<String>,
    /// The token is used only as proof of identity (authorization = none caveats).
    #[arg(long)]
    pub(crate) identity_scope: bool,
    /// The API call, as SERVICE/OPERATION/TYPE.ID.ASPECT[:SCOPE], e.g.
    /// ozw/get/user.u1.instance:private (api caveats; scope defaults to private).
    #[arg(long, value_name = "CALL")]
    pub(crate) api: Option<String>,
    /// The data path accessed, /SPACE/... (data.path caveats).
    #[arg(long, value_name = "PATH")]
    pub(crate) data_path: Option<String>,
    /// The CDMI object id accessed, hex (data.objectid caveats).
    #[arg(long, value_name = "HEX")]
    pub(crate) data_object_id: Option<String>,
    /// The data access only reads (data.readonly caveats; with --data-path/--data-object-id,
    /// or alone for a read-only access).
    #[arg(long)]
    pub(crate) read_only: bool,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
    /// Print a shell completion script for this command line (bash, zsh, fish, elvish or
    /// powershell), e.g. `macaroon-mint completions bash > /etc/bash_completion.d/macaroon-mint`.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), generated from the same definitions as --help, e.g.
    /// `macaroon-mint man > macaroon-mint.1`.
    Man,
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
    #[cfg(feature = "server")]
    Serve(ServeArgs),
    /// Manage the token service's root keys (token secrets are derived from them).
    #[cfg(feature = "server")]
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

pub(crate) fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}
