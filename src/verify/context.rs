//! What typed caveat checkers know about a request.

use core::net::IpAddr;

use crate::caveat::{ConsumerKind, CountryCode, Interface, Operation, Region, ServiceKind};

/// What the typed caveat checkers know about the request being authorized.
///
/// Everything is injected by the caller (the server's request handler); nothing is read from the
/// network here. The time is not part of it: the verifier has one clock
/// ([`Verifier::at_time`](crate::Verifier::at_time)), so no two times can disagree. A checker
/// whose fact is missing (`ip` is `None` for an `ip = …` caveat, say) does not accept:
/// verification fails closed.
///
/// ```
/// use macaroon_mint::caveat::{Interface, ServiceKind};
/// use macaroon_mint::{AuthContext, Service};
///
/// let ctx = AuthContext::new()
///     .with_ip("10.1.2.3".parse().unwrap())
///     .with_interface(Interface::Rest)
///     .with_service(Service::new(ServiceKind::OnezoneWorker, "onezone"));
/// assert_eq!(ctx.interface, Some(Interface::Rest));
/// assert_eq!(AuthContext::new().ip, None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct AuthContext {
    /// The client's IP address.
    pub ip: Option<IpAddr>,
    /// The autonomous system number of the client's IP.
    pub asn: Option<u32>,
    /// The client's country.
    pub country: Option<CountryCode>,
    /// The client's continent (`EU` is added for EU member countries; see
    /// [`AuthContext::regions`]).
    pub continent: Option<Region>,
    /// Whether the token is being used only to prove identity (identity scope), which is what
    /// `authorization = none` allows.
    pub identity_scope: bool,
    /// The service the request comes through.
    pub service: Option<Service>,
    /// Who is consuming the token.
    pub consumer: Option<Consumer>,
    /// The groups the consumer is an effective member of. `grp-` consumer caveats are checked
    /// against this list; empty means membership is unknown, so they do not hold.
    pub consumer_groups: Vec<String>,
    /// The interface the request arrives through.
    pub interface: Option<Interface>,
    /// The API operation requested.
    pub api: Option<ApiCall>,
    /// The data access requested.
    pub data: Option<DataAccess>,
}

impl AuthContext {
    /// A context that knows nothing yet: every typed caveat but `time <` fails until its fact
    /// is set.
    pub fn new() -> AuthContext {
        AuthContext::default()
    }

    /// Sets the client IP.
    pub fn with_ip(mut self, ip: IpAddr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Sets the client's ASN.
    pub fn with_asn(mut self, asn: u32) -> Self {
        self.asn = Some(asn);
        self
    }

    /// Sets the client's country and continent.
    ///
    /// ```
    /// use macaroon_mint::caveat::{CountryCode, Region};
    /// use macaroon_mint::AuthContext;
    ///
    /// let ctx = AuthContext::new().with_geo(CountryCode::new("PL")?, Some(Region::Europe));
    /// assert_eq!(ctx.regions(), vec![Region::Europe, Region::EU]);
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn with_geo(mut self, country: CountryCode, continent: Option<Region>) -> Self {
        self.country = Some(country);
        self.continent = continent;
        self
    }

    /// Marks the request as identity scope.
    pub fn in_identity_scope(mut self) -> Self {
        self.identity_scope = true;
        self
    }

    /// Sets the requesting service.
    pub fn with_service(mut self, service: Service) -> Self {
        self.service = Some(service);
        self
    }

    /// Sets the consumer and the groups it is an effective member of.
    pub fn with_consumer(mut self, consumer: Consumer, groups: Vec<String>) -> Self {
        self.consumer = Some(consumer);
        self.consumer_groups = groups;
        self
    }

    /// Sets the interface.
    pub fn with_interface(mut self, interface: Interface) -> Self {
        self.interface = Some(interface);
        self
    }

    /// Sets the API operation.
    pub fn with_api(mut self, api: ApiCall) -> Self {
        self.api = Some(api);
        self
    }

    /// Sets the data access.
    pub fn with_data(mut self, data: DataAccess) -> Self {
        self.data = Some(data);
        self
    }

    /// Every region the client is in: its continent, plus `Europe` and `EU` for a member state
    /// of the European Union. Empty when nothing is known.
    pub fn regions(&self) -> Vec<Region> {
        let mut regions: Vec<Region> = self.continent.into_iter().collect();
        if self.country.is_some_and(|c| c.is_eu_member()) {
            for r in [Region::Europe, Region::EU] {
                if !regions.contains(&r) {
                    regions.push(r);
                }
            }
        }
        regions
    }
}

/// A concrete service: kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Service {
    /// The service kind.
    pub kind: ServiceKind,
    /// The service id (a cluster or provider id).
    pub id: String,
}

impl Service {
    /// The service `kind` with id `id`.
    pub fn new(kind: ServiceKind, id: impl Into<String>) -> Service {
        Service {
            kind,
            id: id.into(),
        }
    }
}

/// A concrete token consumer: kind and id.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Consumer {
    /// The consumer kind.
    pub kind: ConsumerKind,
    /// The consumer id.
    pub id: String,
}

impl Consumer {
    /// The consumer `kind` with id `id`.
    pub fn new(kind: ConsumerKind, id: impl Into<String>) -> Consumer {
        Consumer {
            kind,
            id: id.into(),
        }
    }
}

/// A requested API call: the service whose API it is, the operation and the resource (GRI).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiCall {
    /// The service handling the call.
    pub service: ServiceKind,
    /// The operation (`create`, `get`, `update` or `delete`).
    pub operation: Operation,
    /// Entity type of the resource (`user`, `space`, …).
    pub entity_type: String,
    /// Entity id.
    pub id: String,
    /// Aspect.
    pub aspect: String,
    /// Scope (`private`, `protected`, `shared`, `public` or `auto`).
    pub scope: String,
}

/// A requested data access (what Oneprovider enforces `data.*` caveats against).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct DataAccess {
    /// Whether the access only reads.
    pub read_only: bool,
    /// The path accessed, `/<spaceId>/…`, when accessed by path. `data.path` caveats compare it
    /// component-wise as given, so pass it normalized (no `.` or `..` components).
    pub path: Option<String>,
    /// The CDMI object id accessed (hexadecimal), when accessed by id.
    pub object_id: Option<String>,
}
