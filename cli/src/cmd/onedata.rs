//! `onedata …`: Onedata invite tokens (mint, read, verify).

use clap::{Args, Subcommand};
use macaroon_mint::onedata::{
    provider_registration_token, space_support_token, Expiry, InviteClaims, InviteOptions,
    InvitePolicy, InviteType, OnedataToken, Persistence, Subject, DEFAULT_TEMPORARY_MAX_TTL,
};
use macaroon_mint::TypedCaveat;
use serde_json::{json, Value};

use crate::args::{ClientArgs, KeyArgs};
use crate::input::{system_now, token_input};
use crate::report::{input_error, Failure};

/// The location written into minted Onedata tokens when --location is not given: a placeholder
/// Onezone domain. Real deployments pass their Onezone domain.
pub(crate) const DEFAULT_ONEZONE_LOCATION: &str = "onezone.local";

/// Options shared by the Onedata minting subcommands.
#[derive(Args)]
pub(crate) struct InviteMintArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,
    /// The Onezone domain, written as the token's location.
    #[arg(long, default_value = DEFAULT_ONEZONE_LOCATION)]
    pub(crate) location: String,
    /// Lifetime in seconds: adds "time < now + ttl" as the first caveat.
    #[arg(long, value_name = "SECONDS")]
    pub(crate) ttl: Option<u64>,
    /// Minting time for --ttl, Unix seconds (default: the system clock).
    #[arg(long, value_name = "UNIX", requires = "ttl")]
    pub(crate) now: Option<u64>,
    /// Mint a temporary token of this secret generation (tmp-GENERATION; needs --ttl).
    #[arg(long, value_name = "GENERATION")]
    pub(crate) temporary: Option<u64>,
    /// The token id (default: 32 random lowercase hex characters).
    #[arg(long, value_name = "ID")]
    pub(crate) token_id: Option<String>,
    /// A caveat (repeatable, in order, after the expiry): time, ip, asn, geo.country, geo.region
    /// or consumer.
    #[arg(long = "caveat", value_name = "C")]
    pub(crate) caveats: Vec<String>,
}

#[derive(Subcommand)]
pub(crate) enum OnedataCommand {
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

pub(crate) fn run_onedata(command: &OnedataCommand) -> Result<String, Failure> {
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
    pub(crate) fn options(&self) -> Result<InviteOptions, Failure> {
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

pub(crate) fn claims_json(c: &InviteClaims) -> Value {
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
