//! Reading what the user gives: keys (text, hex, files), tokens (arguments, stdin), times, and
//! the request context flags of `verify`.

use std::io::Read;

use macaroon_mint::caveat::{
    ApiService, ApiSpec, ConsumerKind, CountryCode, Interface, Operation, Region, ServiceKind,
};
use macaroon_mint::{
    ApiCall, AuthContext, CaveatError, Consumer, DataAccess, Limits, Macaroon, Parsed, RootKey,
    Service,
};

use crate::args::{CaveatKeyArgs, ClientArgs, KeyArgs, RequestArgs, ThirdPartyKeyArgs};
use crate::report::{input_error, Failure};

impl ClientArgs {
    pub(crate) fn context(&self) -> Result<AuthContext, Failure> {
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

impl RequestArgs {
    pub(crate) fn apply(&self, mut ctx: AuthContext) -> Result<AuthContext, Failure> {
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
pub(crate) fn parse_api_call(text: &str) -> Result<ApiCall, Failure> {
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

pub(crate) fn decode_hex(what: &str, hex_text: &str) -> Result<Vec<u8>, Failure> {
    hex::decode(hex_text.trim()).map_err(|e| input_error(format!("{what}: invalid hex ({e})")))
}

/// Largest `--key-file` accepted (1 MiB); the file is never read further than one byte past it.
pub(crate) const MAX_KEY_FILE_BYTES: usize = 1 << 20;

/// The raw bytes of a key file, refusing (without reading it all) a file over 1 MiB.
pub(crate) fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, Failure> {
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

pub(crate) fn key_bytes(
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
    pub(crate) fn root_key(&self) -> Result<RootKey, Failure> {
        Ok(RootKey::new(key_bytes(
            &self.key,
            &self.key_hex,
            &self.key_file,
        )?))
    }
}

impl CaveatKeyArgs {
    pub(crate) fn root_key(&self) -> Result<RootKey, Failure> {
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
    pub(crate) fn caveat_key(&self, token: &Macaroon) -> Result<RootKey, Failure> {
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
pub(crate) fn token_input(arg: &str) -> Result<Vec<u8>, Failure> {
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
pub(crate) fn stdin_at_most_once<'a>(
    tokens: impl IntoIterator<Item = &'a str>,
) -> Result<(), Failure> {
    if tokens.into_iter().filter(|t| *t == "-").count() > 1 {
        return Err(input_error(
            "standard input (-) can be used for only one token per invocation",
        ));
    }
    Ok(())
}

pub(crate) fn parse_token(arg: &str) -> Result<Parsed, Failure> {
    Ok(Parsed::from_bytes(&token_input(arg)?, &Limits::DEFAULT)?)
}

pub(crate) fn system_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `usr-ID`, `grp-ID` or `prv-ID` as a consumer.
pub(crate) fn parse_consumer(text: &str) -> Result<Consumer, Failure> {
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
