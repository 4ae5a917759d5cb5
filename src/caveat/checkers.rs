//! How each typed caveat is checked against an [`AuthContext`]. Every checker fails closed: a
//! fact the context does not carry means the caveat does not hold.

use super::{ApiService, ConsumerKind, Operation, Region, TypedCaveat};
use crate::verify::{AuthContext, Clock, Unmet};

impl TypedCaveat {
    /// Checks the caveat against `ctx`, and a `time < N` caveat against `clock`.
    ///
    /// # Errors
    ///
    /// The [`Unmet`] reason: the caveat's fact is missing from the context, the context's value
    /// is not allowed, the time has passed (or there is no clock to tell), or the caveat is
    /// [`TypedCaveat::Unknown`].
    ///
    /// ```
    /// use macaroon_mint::caveat::{TypedCaveat, Unmet};
    /// use macaroon_mint::{AuthContext, Clock};
    ///
    /// let caveat = TypedCaveat::parse(b"ip = 10.0.0.0/8")?;
    /// let inside = AuthContext::new().with_ip("10.9.8.7".parse().unwrap());
    /// assert_eq!(caveat.check(&inside, None), Ok(()));
    /// let outside = AuthContext::new().with_ip("11.0.0.1".parse().unwrap());
    /// assert_eq!(caveat.check(&outside, None), Err(Unmet::NotAllowed));
    /// assert_eq!(caveat.check(&AuthContext::new(), None), Err(Unmet::Missing("client IP")));
    ///
    /// let expiry = TypedCaveat::Time(100);
    /// let ctx = AuthContext::new();
    /// assert_eq!(expiry.check(&ctx, Some(&Clock::at(99))), Ok(()));
    /// assert_eq!(
    ///     expiry.check(&ctx, Some(&Clock::at(100))),
    ///     Err(Unmet::Expired { expiry: 100, now: 100 })
    /// );
    /// assert_eq!(expiry.check(&ctx, None), Err(Unmet::NoClock));
    /// # Ok::<(), macaroon_mint::caveat::CaveatError>(())
    /// ```
    pub fn check(&self, ctx: &AuthContext, clock: Option<&Clock>) -> Result<(), Unmet> {
        let allowed = |ok: bool| if ok { Ok(()) } else { Err(Unmet::NotAllowed) };
        match self {
            TypedCaveat::Time(expiry) => {
                let clock = clock.ok_or(Unmet::NoClock)?;
                if clock.holds(*expiry) {
                    Ok(())
                } else {
                    Err(Unmet::Expired {
                        expiry: *expiry,
                        now: clock.now,
                    })
                }
            }
            TypedCaveat::Ip(masks) => {
                let ip = ctx.ip.ok_or(Unmet::Missing("client IP"))?;
                allowed(masks.iter().any(|m| m.contains(ip)))
            }
            TypedCaveat::Asn(numbers) => {
                let asn = ctx.asn.ok_or(Unmet::Missing("client ASN"))?;
                allowed(numbers.contains(&asn))
            }
            TypedCaveat::Country { negated, codes } => {
                let country = ctx.country.ok_or(Unmet::Missing("client country"))?;
                allowed(codes.contains(&country) != *negated)
            }
            TypedCaveat::Region { negated, regions } => {
                // Decided only when every listed region's membership is known: a definite member
                // settles it; otherwise an unknown one leaves it open, and that fails closed.
                let mut unknown = None;
                for r in regions {
                    match in_region(ctx, *r) {
                        Some(true) => return allowed(!*negated),
                        Some(false) => {}
                        None => {
                            unknown.get_or_insert(if *r == Region::EU {
                                "client country"
                            } else {
                                "client region"
                            });
                        }
                    }
                }
                match unknown {
                    Some(what) => Err(Unmet::Missing(what)),
                    None => allowed(*negated),
                }
            }
            TypedCaveat::IdentityScope(_) => allowed(ctx.identity_scope),
            TypedCaveat::Service(specs) => {
                let service = ctx.service.as_ref().ok_or(Unmet::Missing("service"))?;
                allowed(specs.iter().any(|s| {
                    s.kind == service.kind && s.id.as_ref().is_none_or(|id| *id == service.id)
                }))
            }
            TypedCaveat::Consumer(specs) => {
                let consumer = ctx.consumer.as_ref().ok_or(Unmet::Missing("consumer"))?;
                allowed(specs.iter().any(|s| {
                    let direct = s.kind == consumer.kind
                        && s.id.as_ref().is_none_or(|id| *id == consumer.id);
                    let member = s.kind == ConsumerKind::Group
                        && consumer.kind == ConsumerKind::User
                        && match &s.id {
                            Some(group) => ctx.consumer_groups.contains(group),
                            None => !ctx.consumer_groups.is_empty(),
                        };
                    direct || member
                }))
            }
            TypedCaveat::Interface(interface) => {
                let actual = ctx.interface.ok_or(Unmet::Missing("interface"))?;
                allowed(actual == *interface)
            }
            TypedCaveat::Api(specs) => {
                let call = ctx.api.as_ref().ok_or(Unmet::Missing("API operation"))?;
                let part = |pattern: &str, value: &str| pattern == "*" || pattern == value;
                allowed(specs.iter().any(|s| {
                    let service = match s.service {
                        ApiService::All => true,
                        ApiService::Only(kind) => kind == call.service,
                    };
                    let operation = s.operation == Operation::All || s.operation == call.operation;
                    let scope = part(s.gri.scope.as_deref().unwrap_or("private"), &call.scope);
                    service
                        && operation
                        && part(&s.gri.entity_type, &call.entity_type)
                        && part(&s.gri.id, &call.id)
                        && part(&s.gri.aspect, &call.aspect)
                        && scope
                }))
            }
            TypedCaveat::DataReadonly => {
                let data = ctx.data.as_ref().ok_or(Unmet::Missing("data access"))?;
                allowed(data.read_only)
            }
            TypedCaveat::DataPath(paths) => {
                let data = ctx.data.as_ref().ok_or(Unmet::Missing("data access"))?;
                let path = data.path.as_deref().ok_or(Unmet::Missing("data path"))?;
                allowed(paths.iter().any(|p| p.contains(path)))
            }
            TypedCaveat::DataObjectId(ids) => {
                let data = ctx.data.as_ref().ok_or(Unmet::Missing("data access"))?;
                let id = data
                    .object_id
                    .as_deref()
                    .ok_or(Unmet::Missing("data object id"))?;
                allowed(ids.iter().any(|i| i.eq_ignore_ascii_case(id)))
            }
            TypedCaveat::Unknown(_) => Err(Unmet::Unknown),
        }
    }
}

/// Whether the client is in `region`, or `None` when the context cannot tell. An EU member state
/// is in `EU` and in `Europe` (SPEC §10.4); `EU` membership needs the country.
fn in_region(ctx: &AuthContext, region: Region) -> Option<bool> {
    let eu_member = ctx.country.map(|c| c.is_eu_member());
    match region {
        Region::EU => eu_member,
        continent if eu_member == Some(true) => Some(continent == Region::Europe),
        continent => ctx.continent.map(|c| c == continent),
    }
}
