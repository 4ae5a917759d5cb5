//! The caveat grammar (SPEC §10.4). Every parser here is strict about spelling so that a parsed
//! value prints back to exactly its input.

use core::net::IpAddr;

use super::{
    ApiService, ApiSpec, CaveatError, CaveatErrorKind, ConsumerKind, ConsumerSpec, CountryCode,
    DataPath, GriPattern, Interface, IpMask, Operation, Region, ScopeSpelling, ServiceKind,
    ServiceSpec, TypedCaveat,
};

/// A form's head (keyword and operator, with its spaces) and the form's name for errors.
const HEADS: [(&str, &str); 16] = [
    ("time < ", "time"),
    ("ip = ", "ip"),
    ("asn = ", "asn"),
    ("geo.country = ", "geo.country"),
    ("geo.country != ", "geo.country"),
    ("geo.region = ", "geo.region"),
    ("geo.region != ", "geo.region"),
    ("authorization = ", "authorization"),
    // The withdrawn spelling of the same form.
    ("scope = ", "authorization"),
    ("service = ", "service"),
    ("consumer = ", "consumer"),
    ("interface = ", "interface"),
    ("api = ", "api"),
    ("data.readonly", "data.readonly"),
    ("data.path = ", "data.path"),
    ("data.objectid = ", "data.objectid"),
];

/// The head a caveat starts with and its form, if it starts like a typed form: for
/// `data.readonly`, only the bare keyword or the keyword and a space (`data.readonlyX` is
/// another, unknown, caveat).
fn head_of(caveat: &[u8]) -> Option<(&'static str, &'static str)> {
    let (head, form) = HEADS
        .iter()
        .find(|(head, _)| caveat.starts_with(head.as_bytes()))?;
    if *form == "data.readonly" && !matches!(caveat.get(head.len()), None | Some(b' ')) {
        return None;
    }
    Some((head, form))
}

/// The form of a caveat that starts like a typed one (parsed or malformed), without allocating.
pub(crate) fn typed_form(caveat: &[u8]) -> Option<super::Form> {
    let (_, name) = head_of(caveat)?;
    name.parse().ok()
}

pub(super) fn parse(caveat: &[u8]) -> Result<TypedCaveat, CaveatError> {
    let Some((head, form)) = head_of(caveat) else {
        return Ok(TypedCaveat::Unknown(caveat.to_vec()));
    };
    let at = head.len();
    let err = |offset, kind| CaveatError { form, offset, kind };
    let body = match caveat.get(at..).map(core::str::from_utf8) {
        Some(Ok(body)) => body,
        Some(Err(e)) => return Err(err(at + e.valid_up_to(), CaveatErrorKind::NotUtf8)),
        None => "",
    };
    let negated = head.contains("!=");
    Ok(match form {
        "time" => TypedCaveat::Time(number(body, u64::MAX).map_err(|k| err(at, k))?),
        "ip" => TypedCaveat::Ip(list(body, at, form, ip_mask)?),
        "asn" => TypedCaveat::Asn(list(body, at, form, |item, at| {
            number(item, u64::from(u32::MAX))
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX))
                .map_err(|kind| CaveatError {
                    form,
                    offset: at,
                    kind,
                })
        })?),
        "geo.country" => TypedCaveat::Country {
            negated,
            codes: list(body, at, form, |item, at| {
                CountryCode::new(item).map_err(|e| CaveatError { offset: at, ..e })
            })?,
        },
        "geo.region" => TypedCaveat::Region {
            negated,
            regions: list(body, at, form, |item, at| {
                Region::from_name(item).ok_or(CaveatError {
                    form,
                    offset: at,
                    kind: CaveatErrorKind::Expected(
                        "one of Africa, Antarctica, Asia, Europe, EU, NorthAmerica, Oceania, \
                         SouthAmerica",
                    ),
                })
            })?,
        },
        "authorization" if head.starts_with("scope") && body == "identity_token" => {
            TypedCaveat::IdentityScope(ScopeSpelling::ScopeIdentityToken)
        }
        "authorization" if head.starts_with("scope") => {
            return Err(err(at, CaveatErrorKind::Expected("`identity_token`")))
        }
        "authorization" if body == "none" => {
            TypedCaveat::IdentityScope(ScopeSpelling::AuthorizationNone)
        }
        "authorization" => return Err(err(at, CaveatErrorKind::Expected("`none`"))),
        "service" => TypedCaveat::Service(list(body, at, form, service_spec)?),
        "consumer" => TypedCaveat::Consumer(list(body, at, form, consumer_spec)?),
        "interface" => TypedCaveat::Interface(match body {
            "rest" => Interface::Rest,
            "oneclient" => Interface::Oneclient,
            "graphsync" => Interface::Graphsync,
            _ => {
                return Err(err(
                    at,
                    CaveatErrorKind::Expected("`rest`, `oneclient` or `graphsync`"),
                ))
            }
        }),
        "api" => TypedCaveat::Api(list(body, at, form, api_spec)?),
        "data.readonly" if body.is_empty() => TypedCaveat::DataReadonly,
        "data.readonly" => return Err(err(at, CaveatErrorKind::TrailingText)),
        "data.path" => TypedCaveat::DataPath(list(body, at, form, data_path)?),
        _ => TypedCaveat::DataObjectId(list(body, at, form, object_id)?),
    })
}

/// Splits a non-empty `|` list and parses each entry; `at` is the byte offset of `body`.
fn list<T>(
    body: &str,
    at: usize,
    form: &'static str,
    item: impl Fn(&str, usize) -> Result<T, CaveatError>,
) -> Result<super::List<T>, CaveatError> {
    if body.is_empty() {
        return Err(CaveatError {
            form,
            offset: at,
            kind: CaveatErrorKind::EmptyList,
        });
    }
    let mut out = Vec::new();
    let mut offset = at;
    for entry in body.split('|') {
        if entry.is_empty() {
            return Err(CaveatError {
                form,
                offset,
                kind: CaveatErrorKind::EmptyEntry,
            });
        }
        out.push(item(entry, offset)?);
        offset += entry.len() + 1;
    }
    // `split` yields at least one entry, so this is never the empty list.
    super::List::try_from(out).map_err(|_| CaveatError {
        form,
        offset: at,
        kind: CaveatErrorKind::EmptyList,
    })
}

/// A canonical decimal number (no sign, no leading zeros) of at most `max`.
pub(crate) fn number(text: &str, max: u64) -> Result<u64, CaveatErrorKind> {
    crate::util::decimal(text, max).map_err(|e| match e {
        crate::util::DecimalError::NotDigits => CaveatErrorKind::Expected("decimal digits"),
        crate::util::DecimalError::LeadingZeros => CaveatErrorKind::LeadingZeros,
        crate::util::DecimalError::OutOfRange => CaveatErrorKind::OutOfRange { max },
    })
}

pub(super) fn ip_mask(text: &str, at: usize) -> Result<IpMask, CaveatError> {
    let err = |offset, kind| CaveatError {
        form: "ip",
        offset,
        kind,
    };
    let (address_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let address: IpAddr = address_text
        .parse()
        .map_err(|_| err(at, CaveatErrorKind::Expected("an IPv4 or IPv6 address")))?;
    let mask = match prefix_text {
        None => IpMask::host(address),
        Some(p) => {
            let prefix_at = at + address_text.len() + 1;
            let max = match address {
                IpAddr::V4(_) => 32,
                IpAddr::V6(_) => 128,
            };
            let len = number(p, u64::from(max)).map_err(|kind| match kind {
                CaveatErrorKind::OutOfRange { .. } => {
                    err(prefix_at, CaveatErrorKind::PrefixTooLong { max })
                }
                kind => err(prefix_at, kind),
            })?;
            IpMask::new(address, u8::try_from(len).unwrap_or(u8::MAX)).map_err(|e| CaveatError {
                offset: prefix_at,
                ..e
            })?
        }
    };
    if !crate::util::displays_as(&address, address_text) {
        return Err(err(
            at,
            CaveatErrorKind::NotCanonical {
                canonical: mask.to_string(),
            },
        ));
    }
    Ok(mask)
}

/// An entity id inside a caveat: non-empty, and without the characters that separate the
/// grammar's parts.
fn id_text(text: &str, at: usize, form: &'static str) -> Result<String, CaveatError> {
    if text.is_empty() {
        return Err(CaveatError {
            form,
            offset: at,
            kind: CaveatErrorKind::Expected("an id or `*`"),
        });
    }
    match text.find(|c: char| c.is_whitespace() || c == '/') {
        Some(i) => Err(CaveatError {
            form,
            offset: at + i,
            kind: CaveatErrorKind::Expected("an id without spaces or `/`"),
        }),
        None => Ok(text.to_owned()),
    }
}

fn service_spec(text: &str, at: usize) -> Result<ServiceSpec, CaveatError> {
    let kind = text
        .split_once('-')
        .and_then(|(code, _)| ServiceKind::from_code(code))
        .ok_or(CaveatError {
            form: "service",
            offset: at,
            kind: CaveatErrorKind::Expected("`ozw-`, `ozp-`, `opw-` or `opp-` and an id or `*`"),
        })?;
    let id = text.get(4..).unwrap_or("");
    Ok(match id {
        "*" => ServiceSpec::any(kind),
        id => ServiceSpec::new(kind, id_text(id, at + 4, "service")?),
    })
}

fn consumer_spec(text: &str, at: usize) -> Result<ConsumerSpec, CaveatError> {
    let kind = match text.split_once('-').map(|(prefix, _)| prefix) {
        Some("usr") => ConsumerKind::User,
        Some("grp") => ConsumerKind::Group,
        Some("prv") => ConsumerKind::Provider,
        _ => {
            return Err(CaveatError {
                form: "consumer",
                offset: at,
                kind: CaveatErrorKind::Expected("`usr-`, `grp-` or `prv-` and an id or `*`"),
            })
        }
    };
    let id = text.get(4..).unwrap_or("");
    Ok(match id {
        "*" => ConsumerSpec::any(kind),
        id => ConsumerSpec::new(kind, id_text(id, at + 4, "consumer")?),
    })
}

const GRI_SCOPES: [&str; 6] = ["private", "protected", "shared", "public", "auto", "*"];

pub(super) fn api_spec(text: &str, at: usize) -> Result<ApiSpec, CaveatError> {
    let err = |offset, what| CaveatError {
        form: "api",
        offset,
        kind: CaveatErrorKind::Expected(what),
    };
    let mut parts = text.splitn(3, '/');
    let service_text = parts.next().unwrap_or("");
    let service = match service_text {
        "all" => ApiService::All,
        code => ApiService::Only(
            ServiceKind::from_code(code)
                .ok_or(err(at, "`all`, `ozw`, `ozp`, `opw` or `opp`, then `/`"))?,
        ),
    };
    // A missing part is reported where its `/` should be.
    let operation_text = parts
        .next()
        .ok_or(err(at + service_text.len(), "`/` and an operation"))?;
    let operation_at = at + service_text.len() + 1;
    let operation = match operation_text {
        "create" => Operation::Create,
        "get" => Operation::Get,
        "update" => Operation::Update,
        "delete" => Operation::Delete,
        "all" => Operation::All,
        _ => {
            return Err(err(
                operation_at,
                "`create`, `get`, `update`, `delete` or `all`, then `/`",
            ))
        }
    };
    let gri_text = parts.next().ok_or(err(
        operation_at + operation_text.len(),
        "`/` and a GRI pattern type.id.aspect[:scope]",
    ))?;
    let gri_at = operation_at + operation_text.len() + 1;
    let gri = gri_pattern(gri_text, gri_at)?;
    Ok(ApiSpec {
        service,
        operation,
        gri,
    })
}

fn gri_pattern(text: &str, at: usize) -> Result<GriPattern, CaveatError> {
    let err = |offset, what| CaveatError {
        form: "api",
        offset,
        kind: CaveatErrorKind::Expected(what),
    };
    let (rest, scope) = match text.rsplit_once(':') {
        Some((rest, scope)) if GRI_SCOPES.contains(&scope) => (rest, Some(scope.to_owned())),
        Some((rest, _)) => {
            return Err(err(
                at + rest.len() + 1,
                "a GRI scope: `private`, `protected`, `shared`, `public`, `auto` or `*`",
            ))
        }
        None => (text, None),
    };
    let mut parts = rest.splitn(3, '.');
    let mut offset = at;
    let mut next = |what| -> Result<String, CaveatError> {
        match parts.next() {
            Some(part) if !part.is_empty() && !part.contains(char::is_whitespace) => {
                offset += part.len() + 1;
                Ok(part.to_owned())
            }
            Some(_) => Err(err(offset, what)),
            None => Err(err(at + rest.len(), what)),
        }
    };
    let entity_type = next("a GRI type (or `*`) and `.`")?;
    let id = next("a GRI id (or `*`) and `.`")?;
    let aspect = next("a GRI aspect (or `*`)")?;
    Ok(GriPattern {
        entity_type,
        id,
        aspect,
        scope,
    })
}

fn data_path(text: &str, at: usize) -> Result<DataPath, CaveatError> {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|_| CaveatError {
            form: "data.path",
            offset: at,
            kind: CaveatErrorKind::Expected("a path in standard base64 with padding"),
        })?;
    let path = String::from_utf8(bytes).map_err(|_| CaveatError {
        form: "data.path",
        offset: at,
        kind: CaveatErrorKind::BadPath("not UTF-8"),
    })?;
    check_data_path(&path, at)?;
    Ok(DataPath(path))
}

/// `/<spaceId>[/…]`: absolute, no empty component, no trailing `/`.
pub(super) fn check_data_path(path: &str, at: usize) -> Result<(), CaveatError> {
    let bad = |reason| CaveatError {
        form: "data.path",
        offset: at,
        kind: CaveatErrorKind::BadPath(reason),
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(bad("does not start with `/`"));
    };
    if rest.is_empty() {
        return Err(bad("no space id"));
    }
    if rest.ends_with('/') {
        return Err(bad("ends with `/`"));
    }
    if rest.split('/').any(str::is_empty) {
        return Err(bad("empty path component"));
    }
    if rest.split('/').any(|c| c == "." || c == "..") {
        return Err(bad("`.` or `..` component"));
    }
    Ok(())
}

fn object_id(text: &str, at: usize) -> Result<String, CaveatError> {
    match text.find(|c: char| !c.is_ascii_hexdigit()) {
        Some(i) => Err(CaveatError {
            form: "data.objectid",
            offset: at + i,
            kind: CaveatErrorKind::Expected("hexadecimal digits"),
        }),
        None => Ok(text.to_owned()),
    }
}
