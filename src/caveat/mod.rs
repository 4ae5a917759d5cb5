//! The typed caveat language (SPEC §10.4): first-party predicates such as `time < 1700000000`,
//! `ip = 10.0.0.0/8` or `data.readonly`, parsed into [`TypedCaveat`] and printed back byte for
//! byte.
//!
//! [`TypedCaveat::parse`] has three outcomes: a typed value, [`TypedCaveat::Unknown`] for text that
//! matches no form (kept as bytes; no typed checker accepts it), or a [`CaveatError`] for text
//! that starts like a form but is malformed (`time < abc`, `ip = 300.1.1.1`), naming the form, the
//! byte offset and the reason. Parsing is strict about spelling so that every value that parses
//! prints back to exactly the same bytes; a non-canonical spelling (`time < 007`, `ip = ::0001`)
//! is malformed, and the error says how to write it.
//!
//! Checking a typed caveat against a request ([`TypedCaveat::check`]) needs an
//! [`AuthContext`](crate::AuthContext); [`Verifier::with_context`](crate::Verifier::with_context)
//! does it for every caveat of a token.
//!
//! ```
//! use macaroon_mint::caveat::{IpMask, TypedCaveat};
//!
//! let caveat = TypedCaveat::parse(b"ip = 10.0.0.0/8|192.168.1.7")?;
//! let TypedCaveat::Ip(masks) = &caveat else { panic!("not an ip caveat") };
//! assert_eq!(masks[1], IpMask::host("192.168.1.7".parse().unwrap()));
//! assert_eq!(caveat.to_string(), "ip = 10.0.0.0/8|192.168.1.7");
//!
//! assert_eq!(TypedCaveat::parse(b"user = alice")?, TypedCaveat::Unknown(b"user = alice".to_vec()));
//! let err = TypedCaveat::parse(b"time < abc").unwrap_err();
//! assert_eq!(err.to_string(), "time caveat: expected decimal digits at byte 7");
//! # Ok::<(), macaroon_mint::caveat::CaveatError>(())
//! ```

mod checkers;
mod parse;

use core::fmt;
use core::net::IpAddr;

pub(crate) use self::parse::typed_form;
pub use crate::verify::Unmet;

/// The form of a typed caveat (SPEC §10.4): what a token kind's supported set
/// ([`Verifier::with_supported_caveats`](crate::Verifier::with_supported_caveats)) and a
/// verifier's deferred set ([`Verifier::defer`](crate::Verifier::defer)) are made of.
///
/// ```
/// use macaroon_mint::caveat::{Form, TypedCaveat};
///
/// assert_eq!(TypedCaveat::parse(b"geo.country != PL")?.form(), Some(Form::GeoCountry));
/// assert_eq!(Form::GeoCountry.name(), "geo.country");
/// assert_eq!("data.path".parse::<Form>(), Ok(Form::DataPath));
/// assert_eq!(TypedCaveat::parse(b"user = alice")?.form(), None);
/// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Form {
    /// `time < N`.
    Time,
    /// `ip = …`.
    Ip,
    /// `asn = …`.
    Asn,
    /// `geo.country = …` / `!=`.
    GeoCountry,
    /// `geo.region = …` / `!=`.
    GeoRegion,
    /// `authorization = none` (SPEC's "scope"; also `scope = identity_token`).
    Authorization,
    /// `service = …`.
    Service,
    /// `consumer = …`.
    Consumer,
    /// `interface = …`.
    Interface,
    /// `api = …`.
    Api,
    /// `data.readonly`.
    DataReadonly,
    /// `data.path = …`.
    DataPath,
    /// `data.objectid = …`.
    DataObjectId,
}

impl Form {
    /// Every form, in SPEC order.
    pub const ALL: [Form; 13] = [
        Form::Time,
        Form::Ip,
        Form::Asn,
        Form::GeoCountry,
        Form::GeoRegion,
        Form::Authorization,
        Form::Service,
        Form::Consumer,
        Form::Interface,
        Form::Api,
        Form::DataReadonly,
        Form::DataPath,
        Form::DataObjectId,
    ];

    /// The form's name as errors write it: `time`, `ip`, `asn`, `geo.country`, `geo.region`,
    /// `authorization`, `service`, `consumer`, `interface`, `api`, `data.readonly`,
    /// `data.path`, `data.objectid`.
    pub fn name(self) -> &'static str {
        match self {
            Form::Time => "time",
            Form::Ip => "ip",
            Form::Asn => "asn",
            Form::GeoCountry => "geo.country",
            Form::GeoRegion => "geo.region",
            Form::Authorization => "authorization",
            Form::Service => "service",
            Form::Consumer => "consumer",
            Form::Interface => "interface",
            Form::Api => "api",
            Form::DataReadonly => "data.readonly",
            Form::DataPath => "data.path",
            Form::DataObjectId => "data.objectid",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::str::FromStr for Form {
    type Err = String;

    fn from_str(name: &str) -> Result<Form, String> {
        Form::ALL
            .into_iter()
            .find(|form| form.name() == name)
            .ok_or_else(|| format!("unknown caveat form \"{}\"", name.escape_debug()))
    }
}

/// The non-empty list a list-valued caveat holds (`ip = a|b`, `asn = 1|2`, …): the grammar has
/// no empty list, so neither does the type. It reads as a slice.
///
/// ```
/// use macaroon_mint::caveat::{List, TypedCaveat};
///
/// let asns = List::of(322, [1, 7]);
/// assert_eq!(asns.len(), 3);
/// assert_eq!(asns[0], 322);
/// assert_eq!(TypedCaveat::Asn(asns).to_string(), "asn = 322|1|7");
/// assert!(List::<u32>::try_from(vec![]).is_err());
/// assert_eq!(List::try_from(vec![5u32])?.into_vec(), [5]);
/// # Ok::<(), macaroon_mint::caveat::EmptyList>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct List<T>(Vec<T>);

/// The error of making a [`List`] from an empty vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a caveat's list needs at least one entry")]
pub struct EmptyList;

impl<T> List<T> {
    /// A list of `first` and then `rest`.
    pub fn of(first: T, rest: impl IntoIterator<Item = T>) -> List<T> {
        let mut items = vec![first];
        items.extend(rest);
        List(items)
    }

    /// The entries, as a slice.
    pub fn as_slice(&self) -> &[T] {
        &self.0
    }

    /// The entries, as a vector (never empty).
    pub fn into_vec(self) -> Vec<T> {
        self.0
    }
}

impl<T> TryFrom<Vec<T>> for List<T> {
    type Error = EmptyList;

    fn try_from(items: Vec<T>) -> Result<List<T>, EmptyList> {
        if items.is_empty() {
            Err(EmptyList)
        } else {
            Ok(List(items))
        }
    }
}

impl<T> core::ops::Deref for List<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        &self.0
    }
}

impl<'a, T> IntoIterator for &'a List<T> {
    type Item = &'a T;
    type IntoIter = core::slice::Iter<'a, T>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// A first-party caveat of the Onedata caveat language (SPEC §10.4).
///
/// `Display` writes the caveat text; for every value returned by [`TypedCaveat::parse`] it is
/// exactly the parsed bytes (for [`TypedCaveat::Unknown`] with bytes that are not UTF-8, `Display`
/// is lossy and [`TypedCaveat::to_bytes`] is exact). Values built by hand may break the grammar
/// (an empty list, say); [`TypedCaveat::encode`] checks that the text parses back to the same
/// value before it is put into a token.
///
/// ```
/// use macaroon_mint::caveat::{List, ServiceKind, ServiceSpec, TypedCaveat};
/// use macaroon_mint::{Macaroon, RootKey};
///
/// let only_providers = TypedCaveat::Service(List::of(
///     ServiceSpec::any(ServiceKind::OneproviderWorker),
///     [ServiceSpec::new(ServiceKind::OnezoneWorker, "onezone")],
/// ));
/// assert_eq!(only_providers.to_string(), "service = opw-*|ozw-onezone");
///
/// let key = RootKey::new("secret");
/// let token = Macaroon::mint(&key, "onezone.example", "token-id")?
///     .with_first_party(&only_providers)?
///     .with_first_party(TypedCaveat::Time(1_700_003_600))?;
/// assert_eq!(token.caveats()[1].id(), b"time < 1700003600");
/// # Ok::<(), macaroon_mint::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TypedCaveat {
    /// `time < N`: valid while `now < N` (Unix seconds); at `now == N` it has expired. `N` is a
    /// `u64`: Onedata's Erlang reads any integer, but a larger `N` is malformed here (fail closed;
    /// Onezone never mints one).
    Time(u64),
    /// `ip = mask|…`: the client IP is inside one of the masks.
    Ip(List<IpMask>),
    /// `asn = n|…`: the client IP's autonomous system number is listed.
    Asn(List<u32>),
    /// `geo.country = CC|…` (or `!=`): the client's country is (not) listed.
    Country {
        /// `true` for `!=`: the country must not be listed.
        negated: bool,
        /// Two-letter upper-case country codes.
        codes: List<CountryCode>,
    },
    /// `geo.region = R|…` (or `!=`): the client's region is (not) listed.
    Region {
        /// `true` for `!=`: no region of the client may be listed.
        negated: bool,
        /// The listed regions.
        regions: List<Region>,
    },
    /// `authorization = none` (or the withdrawn spelling `scope = identity_token`): the token only
    /// proves identity; it holds only in identity scope.
    IdentityScope(ScopeSpelling),
    /// `service = svc|…`: the service the request comes through is listed.
    Service(List<ServiceSpec>),
    /// `consumer = subj|…`: the consumer of the token is listed.
    Consumer(List<ConsumerSpec>),
    /// `interface = rest|oneclient|graphsync`: the request interface.
    Interface(Interface),
    /// `api = spec|…`: the API operation is allowed by one of the specs.
    Api(List<ApiSpec>),
    /// `data.readonly`: only read-only data access.
    DataReadonly,
    /// `data.path = b64|…`: data access under one of the paths (each written in standard base64).
    DataPath(List<DataPath>),
    /// `data.objectid = id|…`: data access to one of the CDMI object ids (hexadecimal).
    DataObjectId(List<String>),
    /// Text that matches no form, kept byte for byte. No typed checker accepts it.
    Unknown(Vec<u8>),
}

impl TypedCaveat {
    /// Parses one caveat predicate.
    ///
    /// # Errors
    ///
    /// A [`CaveatError`] when the text starts with a form's keyword and operator (`time < `,
    /// `ip = `, `data.path = `, …) but the rest is not that form; it names the form, the byte
    /// offset and the reason. Text that starts like no form is `Ok(Unknown)`.
    ///
    /// ```
    /// use macaroon_mint::caveat::{CaveatErrorKind, TypedCaveat};
    ///
    /// assert_eq!(TypedCaveat::parse(b"time < 1700000000")?, TypedCaveat::Time(1_700_000_000));
    /// let err = TypedCaveat::parse(b"ip = 300.1.1.1").unwrap_err();
    /// assert_eq!((err.form, err.offset), ("ip", 5));
    /// assert_eq!(err.kind, CaveatErrorKind::Expected("an IPv4 or IPv6 address"));
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn parse(caveat: &[u8]) -> Result<TypedCaveat, CaveatError> {
        parse::parse(caveat)
    }

    /// The caveat text, byte for byte as parsed (`Display`, but exact for non-UTF-8
    /// [`TypedCaveat::Unknown`] bytes).
    ///
    /// ```
    /// use macaroon_mint::caveat::TypedCaveat;
    ///
    /// let raw = b"\xff not text";
    /// assert_eq!(TypedCaveat::parse(raw)?.to_bytes(), raw);
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            TypedCaveat::Unknown(bytes) => bytes.clone(),
            typed => typed.to_string().into_bytes(),
        }
    }

    /// The caveat text, checked to parse back to this same value: use it to put a hand-built
    /// caveat into a token.
    ///
    /// # Errors
    ///
    /// The [`CaveatError`] of parsing the text (an empty list, a malformed id, …), or
    /// [`CaveatErrorKind::NotRepresentable`] when the text parses to another value (an
    /// [`TypedCaveat::Unknown`] holding text of a typed form, say).
    ///
    /// ```
    /// use macaroon_mint::caveat::{CaveatErrorKind, TypedCaveat};
    ///
    /// use macaroon_mint::caveat::{DataPath, List};
    ///
    /// assert_eq!(TypedCaveat::Asn(List::of(322, [1])).encode()?, b"asn = 322|1");
    /// // Text of a typed form cannot hide in an Unknown caveat.
    /// let err = TypedCaveat::Unknown(b"asn = 1".to_vec()).encode().unwrap_err();
    /// assert_eq!(err.kind, CaveatErrorKind::NotRepresentable);
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn encode(&self) -> Result<Vec<u8>, CaveatError> {
        let bytes = self.to_bytes();
        if TypedCaveat::parse(&bytes)? == *self {
            Ok(bytes)
        } else {
            Err(CaveatError {
                form: self.form_name(),
                offset: 0,
                kind: CaveatErrorKind::NotRepresentable,
            })
        }
    }

    /// The earliest expiry among `caveats`: the smallest `N` of their `time < N` caveats, or
    /// `None` when there is none (the token does not expire).
    ///
    /// ```
    /// use macaroon_mint::caveat::{Interface, TypedCaveat};
    /// let caveats = [
    ///     TypedCaveat::Time(300),
    ///     TypedCaveat::Interface(Interface::Rest),
    ///     TypedCaveat::Time(200),
    /// ];
    /// assert_eq!(TypedCaveat::earliest_expiry(&caveats), Some(200));
    /// assert_eq!(TypedCaveat::earliest_expiry(&caveats[1..2]), None);
    /// ```
    pub fn earliest_expiry(caveats: &[TypedCaveat]) -> Option<u64> {
        caveats
            .iter()
            .filter_map(|c| match c {
                TypedCaveat::Time(n) => Some(*n),
                _ => None,
            })
            .min()
    }

    /// The caveat's typed form; `None` for [`TypedCaveat::Unknown`].
    ///
    /// ```
    /// use macaroon_mint::caveat::{Form, TypedCaveat};
    /// assert_eq!(TypedCaveat::DataReadonly.form(), Some(Form::DataReadonly));
    /// assert_eq!(TypedCaveat::Unknown(b"x".to_vec()).form(), None);
    /// ```
    pub fn form(&self) -> Option<Form> {
        Some(match self {
            TypedCaveat::Time(_) => Form::Time,
            TypedCaveat::Ip(_) => Form::Ip,
            TypedCaveat::Asn(_) => Form::Asn,
            TypedCaveat::Country { .. } => Form::GeoCountry,
            TypedCaveat::Region { .. } => Form::GeoRegion,
            TypedCaveat::IdentityScope(_) => Form::Authorization,
            TypedCaveat::Service(_) => Form::Service,
            TypedCaveat::Consumer(_) => Form::Consumer,
            TypedCaveat::Interface(_) => Form::Interface,
            TypedCaveat::Api(_) => Form::Api,
            TypedCaveat::DataReadonly => Form::DataReadonly,
            TypedCaveat::DataPath(_) => Form::DataPath,
            TypedCaveat::DataObjectId(_) => Form::DataObjectId,
            TypedCaveat::Unknown(_) => return None,
        })
    }

    /// The form's name as errors write it ([`Form::name`]), or `unknown`.
    pub(crate) fn form_name(&self) -> &'static str {
        self.form().map_or("unknown", Form::name)
    }
}

#[cfg(feature = "serde")]
impl TypedCaveat {
    /// The caveat in Onezone's caveat JSON (the REST API's `caveats` fields): the form and its
    /// parsed value, e.g. `{"type":"time","validUntil":N}`, `{"type":"ip","whitelist":[…]}`,
    /// `{"type":"geo.country","filter":"blacklist","list":[…]}`, `{"type":"interface",
    /// "interface":"rest"}`. A caveat Onezone has no object for (`authorization = none`, text of
    /// no form) is its text, as Onezone writes it. Feature `serde`.
    ///
    /// ```
    /// use macaroon_mint::TypedCaveat;
    ///
    /// let ip = TypedCaveat::parse(b"ip = 10.0.0.0/8|192.168.1.7")?;
    /// assert_eq!(
    ///     ip.onezone_json().to_string(),
    ///     r#"{"type":"ip","whitelist":["10.0.0.0/8","192.168.1.7"]}"#
    /// );
    /// let outside = TypedCaveat::parse(b"geo.country != PL|DE")?;
    /// assert_eq!(
    ///     outside.onezone_json().to_string(),
    ///     r#"{"filter":"blacklist","list":["PL","DE"],"type":"geo.country"}"#
    /// );
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn onezone_json(&self) -> serde_json::Value {
        use serde_json::{json, Value};
        fn texts<T: fmt::Display>(items: &[T]) -> Vec<String> {
            items.iter().map(ToString::to_string).collect()
        }
        let filter = |negated: bool| if negated { "blacklist" } else { "whitelist" };
        match self {
            TypedCaveat::Time(n) => json!({ "type": "time", "validUntil": n }),
            TypedCaveat::Ip(masks) => json!({ "type": "ip", "whitelist": texts(masks) }),
            TypedCaveat::Asn(numbers) => json!({ "type": "asn", "whitelist": numbers.as_slice() }),
            TypedCaveat::Country { negated, codes } => json!({
                "type": "geo.country",
                "filter": filter(*negated),
                "list": texts(codes),
            }),
            TypedCaveat::Region { negated, regions } => json!({
                "type": "geo.region",
                "filter": filter(*negated),
                "list": texts(regions),
            }),
            TypedCaveat::Service(specs) => json!({ "type": "service", "whitelist": texts(specs) }),
            TypedCaveat::Consumer(specs) => {
                json!({ "type": "consumer", "whitelist": texts(specs) })
            }
            TypedCaveat::Interface(interface) => {
                json!({ "type": "interface", "interface": interface.to_string() })
            }
            TypedCaveat::Api(specs) => json!({ "type": "api", "whitelist": texts(specs) }),
            TypedCaveat::DataReadonly => json!({ "type": "data.readonly" }),
            TypedCaveat::DataPath(paths) => {
                json!({ "type": "data.path", "whitelist": texts(paths) })
            }
            TypedCaveat::DataObjectId(ids) => {
                json!({ "type": "data.objectid", "whitelist": texts(ids) })
            }
            TypedCaveat::IdentityScope(_) | TypedCaveat::Unknown(_) => {
                Value::String(self.to_string())
            }
        }
    }
}

/// Writes `items` separated by `|`.
fn write_list<T: fmt::Display>(f: &mut fmt::Formatter<'_>, items: &[T]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str("|")?;
        }
        item.fmt(f)?;
    }
    Ok(())
}

impl fmt::Display for TypedCaveat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negation = |negated: bool| if negated { "!=" } else { "=" };
        match self {
            TypedCaveat::Time(n) => write!(f, "time < {n}"),
            TypedCaveat::Ip(masks) => {
                f.write_str("ip = ")?;
                write_list(f, masks)
            }
            TypedCaveat::Asn(numbers) => {
                f.write_str("asn = ")?;
                write_list(f, numbers)
            }
            TypedCaveat::Country { negated, codes } => {
                write!(f, "geo.country {} ", negation(*negated))?;
                write_list(f, codes)
            }
            TypedCaveat::Region { negated, regions } => {
                write!(f, "geo.region {} ", negation(*negated))?;
                write_list(f, regions)
            }
            TypedCaveat::IdentityScope(ScopeSpelling::AuthorizationNone) => {
                f.write_str("authorization = none")
            }
            TypedCaveat::IdentityScope(ScopeSpelling::ScopeIdentityToken) => {
                f.write_str("scope = identity_token")
            }
            TypedCaveat::Service(services) => {
                f.write_str("service = ")?;
                write_list(f, services)
            }
            TypedCaveat::Consumer(consumers) => {
                f.write_str("consumer = ")?;
                write_list(f, consumers)
            }
            TypedCaveat::Interface(interface) => write!(f, "interface = {interface}"),
            TypedCaveat::Api(specs) => {
                f.write_str("api = ")?;
                write_list(f, specs)
            }
            TypedCaveat::DataReadonly => f.write_str("data.readonly"),
            TypedCaveat::DataPath(paths) => {
                f.write_str("data.path = ")?;
                write_list(f, paths)
            }
            TypedCaveat::DataObjectId(ids) => {
                f.write_str("data.objectid = ")?;
                write_list(f, ids)
            }
            TypedCaveat::Unknown(bytes) => f.write_str(&String::from_utf8_lossy(bytes)),
        }
    }
}

/// An IP network: an address and a prefix length, or a bare address (one host).
///
/// ```
/// use macaroon_mint::caveat::IpMask;
///
/// let lan: IpMask = "192.168.0.0/16".parse()?;
/// assert!(lan.contains("192.168.7.1".parse().unwrap()));
/// assert!(!lan.contains("192.169.0.1".parse().unwrap()));
/// assert_eq!(IpMask::host("::1".parse().unwrap()).to_string(), "::1");
/// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IpMask {
    address: IpAddr,
    /// `None` when written as a bare address (a /32 or /128 network).
    prefix: Option<u8>,
}

impl IpMask {
    /// The network `address/prefix`.
    ///
    /// # Errors
    ///
    /// [`CaveatErrorKind::PrefixTooLong`] for a prefix over 32 (IPv4) or 128 (IPv6).
    ///
    /// ```
    /// use macaroon_mint::caveat::IpMask;
    /// assert_eq!(IpMask::new("10.0.0.0".parse().unwrap(), 8)?.to_string(), "10.0.0.0/8");
    /// assert!(IpMask::new("10.0.0.0".parse().unwrap(), 33).is_err());
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn new(address: IpAddr, prefix: u8) -> Result<IpMask, CaveatError> {
        let max = max_prefix(address);
        if prefix > max {
            return Err(CaveatError {
                form: "ip",
                offset: 0,
                kind: CaveatErrorKind::PrefixTooLong { max },
            });
        }
        Ok(IpMask {
            address,
            prefix: Some(prefix),
        })
    }

    /// The single host `address`, written without a prefix.
    pub fn host(address: IpAddr) -> IpMask {
        IpMask {
            address,
            prefix: None,
        }
    }

    /// The address as written.
    pub fn address(&self) -> IpAddr {
        self.address
    }

    /// The prefix length in bits (a bare address counts as 32 or 128).
    pub fn prefix_len(&self) -> u8 {
        self.prefix.unwrap_or(max_prefix(self.address))
    }

    /// Whether `ip` is inside this network. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`), as
    /// client or as a network of prefix 96 or more, are compared as IPv4; otherwise IPv4 and
    /// IPv6 never match each other.
    ///
    /// ```
    /// use macaroon_mint::caveat::IpMask;
    ///
    /// let mapped: IpMask = "::ffff:10.0.0.0/104".parse()?;
    /// assert!(mapped.contains("10.1.2.3".parse().unwrap()));
    /// assert!(mapped.contains("::ffff:10.1.2.3".parse().unwrap()));
    /// let everything_v6: IpMask = "::/0".parse()?;
    /// assert!(!everything_v6.contains("10.1.2.3".parse().unwrap()));
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn contains(&self, ip: IpAddr) -> bool {
        let (network, prefix) = match self.address {
            IpAddr::V6(v6) if self.prefix_len() >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), self.prefix_len() - 96),
                None => (self.address, self.prefix_len()),
            },
            _ => (self.address, self.prefix_len()),
        };
        let bits = u32::from(prefix);
        match (network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn max_prefix(address: IpAddr) -> u8 {
    match address {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl fmt::Display for IpMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.prefix {
            Some(len) => write!(f, "{}/{len}", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

impl core::str::FromStr for IpMask {
    type Err = CaveatError;

    fn from_str(s: &str) -> Result<IpMask, CaveatError> {
        parse::ip_mask(s, 0)
    }
}

/// A two-letter upper-case country code (ISO 3166-1 alpha-2), e.g. `PL`.
///
/// ```
/// use macaroon_mint::caveat::CountryCode;
///
/// let pl = CountryCode::new("PL")?;
/// assert_eq!(pl.as_str(), "PL");
/// assert!(pl.is_eu_member());
/// assert!(CountryCode::new("pl").is_err());
/// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode([u8; 2]);

/// European Union member states (2026), whose clients are in both `Europe` and `EU`.
const EU_MEMBERS: [&[u8; 2]; 27] = [
    b"AT", b"BE", b"BG", b"HR", b"CY", b"CZ", b"DK", b"EE", b"FI", b"FR", b"DE", b"GR", b"HU",
    b"IE", b"IT", b"LV", b"LT", b"LU", b"MT", b"NL", b"PL", b"PT", b"RO", b"SK", b"SI", b"ES",
    b"SE",
];

impl CountryCode {
    /// A country code from two upper-case ASCII letters.
    ///
    /// # Errors
    ///
    /// [`CaveatErrorKind::Expected`] for anything else.
    pub fn new(code: &str) -> Result<CountryCode, CaveatError> {
        match code.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Ok(CountryCode([a, b])),
            _ => Err(CaveatError {
                form: "geo.country",
                offset: 0,
                kind: CaveatErrorKind::Expected("a two-letter upper-case country code"),
            }),
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII letters by construction.
        core::str::from_utf8(&self.0).unwrap_or("??")
    }

    /// Whether the country is a member state of the European Union.
    pub fn is_eu_member(&self) -> bool {
        EU_MEMBERS.iter().any(|m| **m == self.0)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A geographic region of the `geo.region` caveat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// `Africa`
    Africa,
    /// `Antarctica`
    Antarctica,
    /// `Asia`
    Asia,
    /// `Europe`
    Europe,
    /// `EU`: the European Union (its member states are also in `Europe`).
    EU,
    /// `NorthAmerica`
    NorthAmerica,
    /// `Oceania`
    Oceania,
    /// `SouthAmerica`
    SouthAmerica,
}

impl Region {
    /// Every region, in the order SPEC lists them.
    pub const ALL: [Region; 8] = [
        Region::Africa,
        Region::Antarctica,
        Region::Asia,
        Region::Europe,
        Region::EU,
        Region::NorthAmerica,
        Region::Oceania,
        Region::SouthAmerica,
    ];

    /// The region's name as written in caveats.
    ///
    /// ```
    /// use macaroon_mint::caveat::Region;
    /// assert_eq!(Region::NorthAmerica.name(), "NorthAmerica");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            Region::Africa => "Africa",
            Region::Antarctica => "Antarctica",
            Region::Asia => "Asia",
            Region::Europe => "Europe",
            Region::EU => "EU",
            Region::NorthAmerica => "NorthAmerica",
            Region::Oceania => "Oceania",
            Region::SouthAmerica => "SouthAmerica",
        }
    }

    /// The region named `name` (exact spelling).
    pub fn from_name(name: &str) -> Option<Region> {
        Region::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How an identity-scope caveat is spelled: both parse, each prints back as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScopeSpelling {
    /// `authorization = none`: what every released Onedata version writes (and what we mint).
    AuthorizationNone,
    /// `scope = identity_token`: written only by Onedata development builds of February 2020.
    ScopeIdentityToken,
}

/// A Onedata service kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServiceKind {
    /// `ozw`: Onezone worker.
    OnezoneWorker,
    /// `ozp`: Onezone panel.
    OnezonePanel,
    /// `opw`: Oneprovider worker.
    OneproviderWorker,
    /// `opp`: Oneprovider panel.
    OneproviderPanel,
}

impl ServiceKind {
    /// Every service kind.
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::OnezoneWorker,
        ServiceKind::OnezonePanel,
        ServiceKind::OneproviderWorker,
        ServiceKind::OneproviderPanel,
    ];

    /// The three-letter short name (`ozw`, `ozp`, `opw`, `opp`).
    pub fn code(&self) -> &'static str {
        match self {
            ServiceKind::OnezoneWorker => "ozw",
            ServiceKind::OnezonePanel => "ozp",
            ServiceKind::OneproviderWorker => "opw",
            ServiceKind::OneproviderPanel => "opp",
        }
    }

    /// The kind with short name `code`.
    pub fn from_code(code: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.code() == code)
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One entry of a `service` caveat: `<kind>-<id>`, or `<kind>-*` for any service of that kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ServiceSpec {
    /// The service kind.
    pub kind: ServiceKind,
    /// The service id; `None` is the wildcard `*`.
    pub id: Option<String>,
}

impl ServiceSpec {
    /// The service `kind` with id `id`.
    pub fn new(kind: ServiceKind, id: impl Into<String>) -> ServiceSpec {
        ServiceSpec {
            kind,
            id: Some(id.into()),
        }
    }

    /// Any service of `kind` (`<kind>-*`).
    pub fn any(kind: ServiceKind) -> ServiceSpec {
        ServiceSpec { kind, id: None }
    }
}

impl fmt::Display for ServiceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.kind, self.id.as_deref().unwrap_or("*"))
    }
}

/// The kind of a token consumer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ConsumerKind {
    /// `usr-`
    User,
    /// `grp-` (a user who is a member of the group)
    Group,
    /// `prv-`
    Provider,
}

impl ConsumerKind {
    /// The prefix without its dash (`usr`, `grp`, `prv`).
    pub fn code(&self) -> &'static str {
        match self {
            ConsumerKind::User => "usr",
            ConsumerKind::Group => "grp",
            ConsumerKind::Provider => "prv",
        }
    }
}

/// One entry of a `consumer` caveat: `usr-<id>`, `grp-<id>`, `prv-<id>`, or `<prefix>-*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConsumerSpec {
    /// The consumer kind.
    pub kind: ConsumerKind,
    /// The id; `None` is the wildcard `*`.
    pub id: Option<String>,
}

impl ConsumerSpec {
    /// The consumer `kind` with id `id`.
    pub fn new(kind: ConsumerKind, id: impl Into<String>) -> ConsumerSpec {
        ConsumerSpec {
            kind,
            id: Some(id.into()),
        }
    }

    /// Any consumer of `kind` (`<prefix>-*`).
    pub fn any(kind: ConsumerKind) -> ConsumerSpec {
        ConsumerSpec { kind, id: None }
    }
}

impl fmt::Display for ConsumerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{}",
            self.kind.code(),
            self.id.as_deref().unwrap_or("*")
        )
    }
}

/// The interface a request arrives through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Interface {
    /// `rest`
    Rest,
    /// `oneclient`
    Oneclient,
    /// `graphsync`
    Graphsync,
}

impl Interface {
    /// The name as written in caveats.
    pub fn name(&self) -> &'static str {
        match self {
            Interface::Rest => "rest",
            Interface::Oneclient => "oneclient",
            Interface::Graphsync => "graphsync",
        }
    }
}

impl fmt::Display for Interface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The service part of an `api` spec: `all` or one service kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ApiService {
    /// `all`
    All,
    /// One service kind.
    Only(ServiceKind),
}

impl fmt::Display for ApiService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiService::All => f.write_str("all"),
            ApiService::Only(kind) => kind.fmt(f),
        }
    }
}

/// An API operation, as requested (never `All`) or as allowed by an `api` spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `create`
    Create,
    /// `get`
    Get,
    /// `update`
    Update,
    /// `delete`
    Delete,
    /// `all` (in a spec only)
    All,
}

impl Operation {
    /// The name as written in caveats.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Get => "get",
            Operation::Update => "update",
            Operation::Delete => "delete",
            Operation::All => "all",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A GRI pattern `type.id.aspect[:scope]`; each part is literal or the wildcard `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct GriPattern {
    /// Entity type (`user`, `space`, …) or `*`.
    pub entity_type: String,
    /// Entity id or `*`.
    pub id: String,
    /// Aspect or `*`.
    pub aspect: String,
    /// Scope (`private`, `protected`, `shared`, `public`, `auto`) or `*`; `None` when omitted,
    /// which means `private`.
    pub scope: Option<String>,
}

impl fmt::Display for GriPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.entity_type, self.id, self.aspect)?;
        match &self.scope {
            Some(scope) => write!(f, ":{scope}"),
            None => Ok(()),
        }
    }
}

/// One entry of an `api` caveat: `service/operation/gri-pattern`, e.g. `all/get/user.*.*:*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiSpec {
    /// Which services' APIs.
    pub service: ApiService,
    /// Which operation.
    pub operation: Operation,
    /// Which resources.
    pub gri: GriPattern,
}

impl fmt::Display for ApiSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.service, self.operation, self.gri)
    }
}

impl core::str::FromStr for ApiSpec {
    type Err = CaveatError;

    fn from_str(s: &str) -> Result<ApiSpec, CaveatError> {
        parse::api_spec(s, 0)
    }
}

/// A data path of a `data.path` caveat: `/<spaceId>[/…]`, no trailing or doubled `/`.
///
/// In the caveat it is written in standard base64 with padding.
///
/// ```
/// use macaroon_mint::caveat::DataPath;
///
/// let p = DataPath::new("/space1/file1.txt")?;
/// assert_eq!(p.to_string(), "L3NwYWNlMS9maWxlMS50eHQ=");
/// assert!(p.contains("/space1/file1.txt"));
/// assert!(!p.contains("/space1/file1.txt.bak"));
/// assert!(DataPath::new("/space1/").is_err());
/// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DataPath(String);

impl DataPath {
    /// A data path, checked.
    ///
    /// # Errors
    ///
    /// [`CaveatErrorKind::BadPath`] for a path that does not start with `/<spaceId>`, ends with
    /// `/`, or has an empty, `.` or `..` component.
    pub fn new(path: &str) -> Result<DataPath, CaveatError> {
        parse::check_data_path(path, 0).map(|()| DataPath(path.to_owned()))
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `path` is this path or lies beneath it (`/s/dir` contains `/s/dir/f`, not
    /// `/s/dirx`). A `path` that is not a valid data path — relative, with an empty, `.` or `..`
    /// component, or a trailing `/` — is contained in nothing, so `/s/dir/../x` cannot escape.
    ///
    /// ```
    /// use macaroon_mint::caveat::DataPath;
    ///
    /// let dir = DataPath::new("/s/dir")?;
    /// assert!(dir.contains("/s/dir") && dir.contains("/s/dir/a/b"));
    /// assert!(!dir.contains("/s/dirx") && !dir.contains("/s/dir/../other"));
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn contains(&self, path: &str) -> bool {
        if parse::check_data_path(path, 0).is_err() {
            return false;
        }
        match path.strip_prefix(self.0.as_str()) {
            Some(rest) => rest.is_empty() || rest.starts_with('/'),
            None => false,
        }
    }
}

impl fmt::Display for DataPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use base64::Engine as _;
        f.write_str(&base64::engine::general_purpose::STANDARD.encode(self.0.as_bytes()))
    }
}

/// A caveat that starts like a typed form but is malformed.
///
/// ```
/// use macaroon_mint::caveat::TypedCaveat;
///
/// let err = TypedCaveat::parse(b"geo.region = Europe|Atlantis").unwrap_err();
/// assert_eq!(
///     err.to_string(),
///     "geo.region caveat: expected one of Africa, Antarctica, Asia, Europe, EU, NorthAmerica, \
///      Oceania, SouthAmerica at byte 20"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{form} caveat: {kind} at byte {offset}")]
pub struct CaveatError {
    /// The form, as in [`TypedCaveat::form`].
    pub form: &'static str,
    /// Byte offset in the caveat where the problem starts.
    pub offset: usize,
    /// What is wrong.
    pub kind: CaveatErrorKind,
}

/// What is wrong with a malformed typed caveat.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CaveatErrorKind {
    /// Something else was expected here (the text says what).
    #[error("expected {0}")]
    Expected(&'static str),
    /// A list with no entries.
    #[error("empty list")]
    EmptyList,
    /// A list entry with no text (`a||b`, a leading or trailing `|`).
    #[error("empty list entry")]
    EmptyEntry,
    /// A number too large for its field.
    #[error("number out of range (at most {max})")]
    OutOfRange {
        /// The largest value allowed.
        max: u64,
    },
    /// A number written with leading zeros.
    #[error("number with leading zeros")]
    LeadingZeros,
    /// A network prefix longer than the address.
    #[error("prefix length over {max}")]
    PrefixTooLong {
        /// 32 or 128.
        max: u8,
    },
    /// A value that parses but is not written the way it prints; the canonical spelling.
    #[error("not written canonically (write {canonical:?})")]
    NotCanonical {
        /// How to write it.
        canonical: String,
    },
    /// A `data.path` entry that is not a valid data path.
    #[error("bad data path: {0}")]
    BadPath(&'static str),
    /// Text after the form that belongs to no form (`data.readonly x`).
    #[error("unexpected text after the caveat")]
    TrailingText,
    /// Bytes that are not UTF-8 text.
    #[error("bytes that are not UTF-8")]
    NotUtf8,
    /// A hand-built value whose text parses to a different value.
    #[error("the value does not print as a caveat of its own form")]
    NotRepresentable,
}
