//! Request bodies: read only after the caller is authenticated (the extractor order of every
//! handler puts [`crate::service::Caller`] first), bounded in size and time, then parsed into
//! typed structs with every failure mapped to Onezone's exact 400.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use futures_util::StreamExt as _;
use macaroon_mint::caveat::Interface;
use macaroon_mint::onedata::InviteType;
use macaroon_mint::TypedCaveat;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::caveats;
use super::error::ApiError;
use crate::service::auth::ACCESS_CAVEATS;
use crate::service::privileges::{
    invite_target_key, invite_type_by_name, OzPrivilege, SpacePrivilege, OZ_PRIVILEGES,
    SPACE_PRIVILEGES,
};
use crate::service::providers::ProviderRegistration;
use crate::service::tokens::{NewTokenType, TokenSpec};
use crate::store::{NamedTokenChange, ProviderChange};

/// The largest request body accepted, in bytes: the largest body of this API (a token to
/// verify, up to a few KiB in practice, or 64 caveats) fits with room to spare.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// A body over the limit but at most this large (Onedata's largest token) is read and dropped
/// before the `413`, so the client sees the answer; a larger one is not read at all.
const MAX_DRAINED_BYTES: usize = 1024 * 1024;

/// A request body, read in full (at most [`MAX_BODY_BYTES`]) but not yet parsed.
pub(crate) struct JsonBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let deadline = request
            .extensions()
            .get::<BodyTimeout>()
            .map_or(DEFAULT_BODY_TIMEOUT, |t| t.0);
        tokio::time::timeout(deadline, JsonBody::read(request, state))
            .await
            .unwrap_or_else(|_| Err(ApiError::request_timeout()))
    }
}

/// How long a body may take to arrive (set per request by the HTTP layer from
/// [`super::HttpLimits::body_timeout`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyTimeout(pub(crate) std::time::Duration);

/// The body deadline where none was set.
const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

impl JsonBody {
    async fn read<S: Send + Sync>(request: Request, state: &S) -> Result<JsonBody, ApiError> {
        // A body announced too large is refused before a byte of it is read or waited for.
        let announced = request
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        if let Some(announced) = announced.filter(|&n| n > MAX_BODY_BYTES as u64) {
            if announced <= MAX_DRAINED_BYTES as u64 {
                // Read and drop it, a chunk at a time, so that the client (still sending) sees
                // the answer instead of a connection reset; the body deadline bounds the time.
                let mut chunks = request.into_body().into_data_stream();
                let mut drained = 0usize;
                while let Some(Ok(chunk)) = chunks.next().await {
                    drained += chunk.len();
                    if drained > MAX_DRAINED_BYTES {
                        break;
                    }
                }
            }
            return Err(ApiError::payload_too_large(MAX_BODY_BYTES));
        }
        Bytes::from_request(request, state)
            .await
            .map(JsonBody)
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::payload_too_large(MAX_BODY_BYTES),
                StatusCode::REQUEST_TIMEOUT => ApiError::request_timeout(),
                _ => ApiError::malformed_data(),
            })
    }
}

/// A typed request body.
pub(crate) trait RequestBody: DeserializeOwned {
    /// The 400 for a value of the wrong type under `key`.
    fn bad_value(key: &str) -> ApiError;
}

impl JsonBody {
    /// Checks a body whose content is ignored: empty, or a JSON object (Onezone parses every
    /// body); anything else is `malformedData`.
    pub(crate) fn ignored(&self) -> Result<(), ApiError> {
        if self.0.iter().all(u8::is_ascii_whitespace) {
            return Ok(());
        }
        match serde_json::from_slice::<Value>(&self.0) {
            Ok(Value::Object(_)) => Ok(()),
            _ => Err(ApiError::malformed_data()),
        }
    }

    /// Parses the body: `malformedData` unless it is a JSON object, the body's
    /// [`RequestBody::bad_value`] for a field of the wrong type.
    pub(crate) fn parse<T: RequestBody>(&self) -> Result<T, ApiError> {
        let value = match serde_json::from_slice::<Value>(&self.0) {
            Ok(value @ Value::Object(_)) => value,
            _ => return Err(ApiError::malformed_data()),
        };
        serde_path_to_error::deserialize(value).map_err(|e| match e.path().iter().next() {
            Some(serde_path_to_error::Segment::Map { key }) => T::bad_value(key),
            _ => ApiError::malformed_data(),
        })
    }
}

/// A required, non-empty string field.
fn required(value: Option<String>, key: &str) -> Result<String, ApiError> {
    match value {
        None => Err(ApiError::missing(key)),
        Some(text) if text.is_empty() => Err(ApiError::bad_string(key)),
        Some(text) => Ok(text),
    }
}

/// `POST /users` (Onezone's `UserCreateRequest`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateUser {
    username: Option<String>,
    password: Option<String>,
    full_name: Option<String>,
}

impl RequestBody for CreateUser {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

/// A user to create: username, password (none: no password login), full name.
pub(crate) type NewUser = (String, Option<String>, Option<String>);

impl CreateUser {
    /// The username (required here: it is how this service names accounts), the password and
    /// the full name (optional, as in Onezone).
    pub(crate) fn fields(self) -> Result<NewUser, ApiError> {
        let optional = |value: Option<String>, key: &str| match value {
            Some(text) if text.is_empty() => Err(ApiError::bad_string(key)),
            other => Ok(other),
        };
        Ok((
            required(self.username, "username")?,
            optional(self.password, "password")?,
            optional(self.full_name, "fullName")?,
        ))
    }
}

/// `POST /user/spaces`.
#[derive(Deserialize)]
pub(crate) struct CreateSpace {
    name: Option<String>,
}

impl RequestBody for CreateSpace {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl CreateSpace {
    /// The name.
    pub(crate) fn name(self) -> Result<String, ApiError> {
        required(self.name, "name")
    }
}

/// A privilege enum a body may list.
pub(crate) trait PrivilegeName: Copy {
    /// Every name, for `badValueListNotAllowed`.
    const NAMES: &'static [&'static str];
    /// The privilege of this name.
    fn from_name(name: &str) -> Option<Self>;
}

impl PrivilegeName for OzPrivilege {
    const NAMES: &'static [&'static str] = OZ_PRIVILEGES;
    fn from_name(name: &str) -> Option<OzPrivilege> {
        OzPrivilege::from_name(name)
    }
}

impl PrivilegeName for SpacePrivilege {
    const NAMES: &'static [&'static str] = SPACE_PRIVILEGES;
    fn from_name(name: &str) -> Option<SpacePrivilege> {
        SpacePrivilege::from_name(name)
    }
}

/// `PATCH …/privileges`: `{"grant"?: [...], "revoke"?: [...]}`, at least one of them.
#[derive(Deserialize)]
pub(crate) struct Grants {
    grant: Option<Value>,
    revoke: Option<Value>,
}

impl RequestBody for Grants {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_list_of_strings(key)
    }
}

impl Grants {
    /// `(grant, revoke)`: `missingAtLeastOneValue` when neither is given,
    /// `badValueListOfStrings` for a value that is not a list of strings,
    /// `badValueListNotAllowed` for a name that is no privilege of this kind.
    pub(crate) fn privileges<P: PrivilegeName>(self) -> Result<(Vec<P>, Vec<P>), ApiError> {
        self.privileges_named("grant")
    }

    /// As [`Grants::privileges`], with the `grant` list reported under `grant_key` (a body
    /// whose one list has another name, as an invite's `privileges`).
    fn privileges_named<P: PrivilegeName>(
        self,
        grant_key: &str,
    ) -> Result<(Vec<P>, Vec<P>), ApiError> {
        let list = |value: Option<Value>, key: &str| -> Result<Vec<P>, ApiError> {
            match value {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|item| match item {
                        Value::String(name) => {
                            P::from_name(name).ok_or_else(|| ApiError::bad_list(key, P::NAMES))
                        }
                        _ => Err(ApiError::bad_list_of_strings(key)),
                    })
                    .collect(),
                Some(_) => Err(ApiError::bad_list_of_strings(key)),
            }
        };
        let absent = |v: &Option<Value>| matches!(v, None | Some(Value::Null));
        if absent(&self.grant) && absent(&self.revoke) {
            return Err(ApiError::missing_at_least_one(&["grant", "revoke"]));
        }
        Ok((list(self.grant, grant_key)?, list(self.revoke, "revoke")?))
    }
}

/// `POST …/tokens/temporary` and `…/tokens/named`: Onezone's `TemporaryTokenCreateRequest` and
/// `NamedTokenCreateRequest` (`name`, `type`, `caveats`, `customMetadata`, `revoked`,
/// `privileges`, `usageLimit`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateToken {
    name: Option<String>,
    #[serde(rename = "type")]
    token_type: Option<Value>,
    caveats: Option<Value>,
    custom_metadata: Option<Value>,
    revoked: Option<Value>,
    privileges: Option<Value>,
    usage_limit: Option<Value>,
}

impl RequestBody for CreateToken {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

/// The invite types whose consumers become members with privileges (a space's).
fn takes_space_privileges(invite: &InviteType) -> bool {
    matches!(
        invite,
        InviteType::UserJoinSpace | InviteType::GroupJoinSpace
    )
}

/// Onezone's `TokenPropertyTokenType`: absent or `{"accessToken": {}}`, `{"identityToken": {}}`,
/// `{"inviteToken": {"inviteType", "<target key>"}}`; anything else is `badValueTokenType`.
fn token_type(value: Option<&Value>) -> Result<NewTokenType, ApiError> {
    let object = match value {
        None | Some(Value::Null) => return Ok(NewTokenType::Access),
        Some(Value::Object(object)) if object.len() == 1 => object,
        Some(_) => return Err(ApiError::bad_token_type()),
    };
    let (kind, parameters) = object.iter().next().ok_or_else(ApiError::bad_token_type)?;
    let Value::Object(parameters) = parameters else {
        return Err(ApiError::bad_token_type());
    };
    match kind.as_str() {
        "accessToken" if parameters.is_empty() => Ok(NewTokenType::Access),
        "identityToken" if parameters.is_empty() => Ok(NewTokenType::Identity),
        "inviteToken" => {
            let invite = parameters
                .get("inviteType")
                .and_then(Value::as_str)
                .and_then(invite_type_by_name)
                .ok_or_else(ApiError::bad_token_type)?;
            let target = parameters
                .get(invite_target_key(&invite))
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
                .ok_or_else(ApiError::bad_token_type)?;
            Ok(NewTokenType::Invite {
                invite,
                target: target.to_owned(),
            })
        }
        _ => Err(ApiError::bad_token_type()),
    }
}

/// `customMetadata`: a JSON object (`badValueJSON` otherwise), kept as its text.
fn custom_metadata(value: Option<Value>) -> Result<Option<String>, ApiError> {
    match value {
        None => Ok(None),
        Some(object @ Value::Object(_)) => Ok(Some(object.to_string())),
        Some(_) => Err(ApiError::bad_json("customMetadata")),
    }
}

impl CreateToken {
    /// The token a temporary-token request describes. A temporary token has no record, so
    /// what only a record can hold (`customMetadata`, `revoked`, `usageLimit`, `privileges`)
    /// is refused rather than silently dropped.
    pub(crate) fn temporary(self) -> Result<TokenSpec, ApiError> {
        const NO_RECORD: &str = "a temporary token has no record to keep it in; use a named token";
        let given = [
            ("customMetadata", self.custom_metadata.is_some()),
            ("revoked", self.revoked.is_some()),
            ("usageLimit", self.usage_limit.is_some()),
            ("privileges", self.privileges.is_some()),
        ];
        if let Some((key, _)) = given.iter().find(|(_, given)| *given) {
            return Err(ApiError::bad_data(key, NO_RECORD));
        }
        let token_type = token_type(self.token_type.as_ref())?;
        let caveats = caveats::from_value(self.caveats.as_ref(), token_type.caveat_forms())?;
        Ok(TokenSpec {
            caveats,
            ..TokenSpec::access(Vec::new())
        }
        .of_type(token_type))
    }

    /// The name and the token a named-token request describes. `usageLimit` (a positive
    /// integer or `"infinity"`) applies to invites, `privileges` to invites into a space; as in
    /// Onezone, they are ignored for other types.
    pub(crate) fn named(self) -> Result<(String, TokenSpec), ApiError> {
        let name = required(self.name, "name")?;
        let token_type = token_type(self.token_type.as_ref())?;
        let caveats = caveats::from_value(self.caveats.as_ref(), token_type.caveat_forms())?;
        let custom_metadata = custom_metadata(self.custom_metadata)?.unwrap_or_else(|| "{}".into());
        let revoked = match self.revoked {
            None => false,
            Some(Value::Bool(revoked)) => revoked,
            Some(_) => return Err(ApiError::bad_boolean("revoked")),
        };
        let mut usage_limit = None;
        let mut privileges = None;
        if let NewTokenType::Invite { invite, .. } = &token_type {
            usage_limit = match self.usage_limit {
                None => None,
                Some(Value::String(text)) if text == "infinity" => None,
                Some(Value::Number(n)) => match n.as_i64() {
                    Some(limit) if limit >= 1 => Some(limit.unsigned_abs()),
                    Some(_) => return Err(ApiError::too_low("usageLimit", 1)),
                    None => return Err(ApiError::bad_integer("usageLimit")),
                },
                Some(_) => return Err(ApiError::bad_integer("usageLimit")),
            };
            if takes_space_privileges(invite) {
                if let Some(value) = self.privileges.filter(|v| !v.is_null()) {
                    let (granted, _) = Grants {
                        grant: Some(value),
                        revoke: None,
                    }
                    .privileges_named::<SpacePrivilege>("privileges")?;
                    privileges = Some(SpacePrivilege::names(granted));
                }
            }
        }
        let spec = TokenSpec {
            caveats,
            custom_metadata,
            revoked,
            usage_limit,
            privileges,
            ..TokenSpec::access(Vec::new())
        };
        Ok((name, spec.of_type(token_type)))
    }
}

/// `PATCH /tokens/named/{id}`: Onezone's `NamedTokenUpdateRequest`, at least one of `name`,
/// `customMetadata`, `revoked`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct UpdateNamedToken {
    name: Option<String>,
    custom_metadata: Option<Value>,
    revoked: Option<bool>,
}

impl RequestBody for UpdateNamedToken {
    fn bad_value(key: &str) -> ApiError {
        match key {
            "revoked" => ApiError::bad_boolean(key),
            _ => ApiError::bad_string(key),
        }
    }
}

impl UpdateNamedToken {
    /// The change: `missingAtLeastOneValue` when the body names nothing to change.
    pub(crate) fn change(self) -> Result<NamedTokenChange, ApiError> {
        if self.name.is_none() && self.custom_metadata.is_none() && self.revoked.is_none() {
            return Err(ApiError::missing_at_least_one(&[
                "name",
                "customMetadata",
                "revoked",
            ]));
        }
        Ok(NamedTokenChange {
            name: self.name,
            custom_metadata: custom_metadata(self.custom_metadata)?,
            revoked: self.revoked,
        })
    }
}

/// `POST /tokens/verify_invite_token`: `{"token", "expectedInviteType"?, "peerIp"?}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifyInviteToken {
    token: Option<String>,
    expected_invite_type: Option<String>,
    peer_ip: Option<String>,
}

impl RequestBody for VerifyInviteToken {
    fn bad_value(key: &str) -> ApiError {
        match key {
            "peerIp" => ApiError::bad_ip(key),
            "expectedInviteType" => ApiError::bad_invite_type(key),
            _ => ApiError::bad_string(key),
        }
    }
}

impl VerifyInviteToken {
    /// The token text, the expected invite type and the consumer's address (`None` when the
    /// body names none: `ip` caveats then fail, as in Onezone).
    pub(crate) fn fields(self) -> Result<(String, Option<InviteType>, Option<IpAddr>), ApiError> {
        let token = required(self.token, "token")?;
        let expected = match self.expected_invite_type {
            None => None,
            Some(name) => Some(
                invite_type_by_name(&name)
                    .ok_or_else(|| ApiError::bad_invite_type("expectedInviteType"))?,
            ),
        };
        Ok((token, expected, peer_ip(self.peer_ip)?))
    }
}

/// `peerIp`: an IP address (`badValueIPv4Address` otherwise; IPv6 is accepted too).
fn peer_ip(value: Option<String>) -> Result<Option<IpAddr>, ApiError> {
    value
        .map(|ip| ip.parse().map_err(|_| ApiError::bad_ip("peerIp")))
        .transpose()
}

/// `POST /tokens/verify_access_token` and `/verify_identity_token`: `{"token", "peerIp"?,
/// "interface"?, "consumerToken"?, "serviceToken"?, "allowDataAccessCaveats"?}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifyToken {
    token: Option<String>,
    peer_ip: Option<String>,
    interface: Option<String>,
    consumer_token: Option<String>,
    service_token: Option<String>,
    allow_data_access_caveats: Option<bool>,
}

impl RequestBody for VerifyToken {
    fn bad_value(key: &str) -> ApiError {
        match key {
            "peerIp" => ApiError::bad_ip(key),
            "allowDataAccessCaveats" => ApiError::bad_boolean(key),
            "interface" => ApiError::not_allowed(key, &INTERFACES),
            _ => ApiError::bad_string(key),
        }
    }
}

/// The interfaces a verify request may name.
const INTERFACES: [&str; 3] = ["rest", "oneclient", "graphsync"];

/// A checked verify request.
pub(crate) struct VerifyRequest {
    pub(crate) token: String,
    pub(crate) peer_ip: Option<IpAddr>,
    pub(crate) interface: Option<Interface>,
    pub(crate) consumer_token: Option<String>,
    pub(crate) service_token: Option<String>,
    pub(crate) allow_data_access_caveats: bool,
}

impl VerifyToken {
    /// The request; `access` says whether `serviceToken` and `allowDataAccessCaveats` apply
    /// (access tokens) or are ignored (identity tokens, as Onezone's schema has neither).
    pub(crate) fn fields(self, access: bool) -> Result<VerifyRequest, ApiError> {
        let token = required(self.token, "token")?;
        let interface = match self.interface.as_deref() {
            None => None,
            Some("rest") => Some(Interface::Rest),
            Some("oneclient") => Some(Interface::Oneclient),
            Some("graphsync") => Some(Interface::Graphsync),
            Some(_) => return Err(ApiError::not_allowed("interface", &INTERFACES)),
        };
        let optional_token = |value: Option<String>, key: &str| match value {
            Some(text) if text.is_empty() => Err(ApiError::bad_string(key)),
            other => Ok(other),
        };
        Ok(VerifyRequest {
            token,
            peer_ip: peer_ip(self.peer_ip)?,
            interface,
            consumer_token: optional_token(self.consumer_token, "consumerToken")?,
            service_token: optional_token(self.service_token, "serviceToken")?.filter(|_| access),
            allow_data_access_caveats: access && self.allow_data_access_caveats.unwrap_or(false),
        })
    }
}

/// `POST /tokens/infer_access_token_scope`: `{"token", "consumerToken"?}`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InferScope {
    token: Option<String>,
    consumer_token: Option<String>,
}

impl RequestBody for InferScope {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl InferScope {
    /// The access token and the consumer's identity token, if any.
    pub(crate) fn fields(self) -> Result<(String, Option<String>), ApiError> {
        let consumer = match self.consumer_token {
            Some(text) if text.is_empty() => return Err(ApiError::bad_string("consumerToken")),
            other => other,
        };
        Ok((required(self.token, "token")?, consumer))
    }
}

/// `POST /tokens/confine`: `{"token", "caveats"}`, both required.
#[derive(Deserialize)]
pub(crate) struct ConfineToken {
    token: Option<String>,
    caveats: Option<Value>,
}

impl RequestBody for ConfineToken {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl ConfineToken {
    /// The token text and the caveats to add (any typed form of an access token).
    pub(crate) fn fields(self) -> Result<(String, Vec<TypedCaveat>), ApiError> {
        let token = required(self.token, "token")?;
        if self.caveats.is_none() {
            return Err(ApiError::missing("caveats"));
        }
        let caveats = caveats::from_value(self.caveats.as_ref(), &ACCESS_CAVEATS)?;
        Ok((token, caveats))
    }
}

/// `POST /providers`: Onezone's `ProviderRegistrationRequest`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RegisterProvider {
    token: Option<String>,
    name: Option<String>,
    admin_email: Option<String>,
    subdomain_delegation: Option<bool>,
    domain: Option<String>,
    latitude: Option<Value>,
    longitude: Option<Value>,
}

impl RequestBody for RegisterProvider {
    fn bad_value(key: &str) -> ApiError {
        match key {
            "subdomainDelegation" => ApiError::bad_boolean(key),
            _ => ApiError::bad_string(key),
        }
    }
}

/// A latitude or longitude: a number within `limit` degrees of zero (`badData` otherwise).
fn degrees(value: Option<Value>, key: &str, limit: f64) -> Result<Option<f64>, ApiError> {
    match value {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(v) if v.abs() <= limit => Ok(Some(v)),
            _ => Err(ApiError::bad_data(key, "out of range")),
        },
        Some(_) => Err(ApiError::bad_data_key(key)),
    }
}

/// A domain name (labels of letters, digits and inner dashes) or an IP address.
fn valid_domain(domain: &str) -> bool {
    if domain.parse::<IpAddr>().is_ok() {
        return true;
    }
    domain.len() <= 253
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

/// An e-mail address in the plain `local@domain` form.
fn valid_email(email: &str) -> bool {
    match email.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && email.len() <= 254
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
                && !domain.contains('@')
                && valid_domain(domain)
        }
        None => false,
    }
}

impl RegisterProvider {
    /// The registration. Subdomain delegation is refused: this service runs no DNS, so the
    /// provider registers with its own `domain`.
    pub(crate) fn registration(self) -> Result<ProviderRegistration, ApiError> {
        let token = required(self.token, "token")?;
        let name = required(self.name, "name")?;
        let admin_email = required(self.admin_email, "adminEmail")?;
        match self.subdomain_delegation {
            None => return Err(ApiError::missing("subdomainDelegation")),
            Some(true) => return Err(ApiError::bad_data(
                "subdomainDelegation",
                "this service runs no DNS: register with subdomainDelegation false and a domain",
            )),
            Some(false) => {}
        }
        let domain = required(self.domain, "domain")?;
        if !valid_domain(&domain) {
            return Err(ApiError::bad_domain());
        }
        if !valid_email(&admin_email) {
            return Err(ApiError::bad_email());
        }
        Ok(ProviderRegistration {
            token,
            name,
            admin_email,
            domain,
            latitude: degrees(self.latitude, "latitude", 90.0)?.unwrap_or(0.0),
            longitude: degrees(self.longitude, "longitude", 180.0)?.unwrap_or(0.0),
        })
    }
}

/// `PATCH /provider`: Onezone's `ProviderUpdateRequest`, at least one of `name`, `latitude`,
/// `longitude`.
#[derive(Deserialize)]
pub(crate) struct UpdateProvider {
    name: Option<String>,
    latitude: Option<Value>,
    longitude: Option<Value>,
}

impl RequestBody for UpdateProvider {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl UpdateProvider {
    /// The change.
    pub(crate) fn change(self) -> Result<ProviderChange, ApiError> {
        if self.name.is_none() && self.latitude.is_none() && self.longitude.is_none() {
            return Err(ApiError::missing_at_least_one(&[
                "name",
                "latitude",
                "longitude",
            ]));
        }
        Ok(ProviderChange {
            name: self.name,
            latitude: degrees(self.latitude, "latitude", 90.0)?,
            longitude: degrees(self.longitude, "longitude", 180.0)?,
        })
    }
}

/// `POST /provider/spaces/support` (Onezone 19.02): `{"token", "size"}`.
#[derive(Deserialize)]
pub(crate) struct SupportSpace {
    token: Option<String>,
    size: Option<Value>,
}

impl RequestBody for SupportSpace {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl SupportSpace {
    /// The space support token and the size in bytes (a positive integer).
    pub(crate) fn fields(self) -> Result<(String, u64), ApiError> {
        let token = required(self.token, "token")?;
        let size = match self.size {
            None => return Err(ApiError::missing("size")),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(size) if size >= 1 => size.unsigned_abs(),
                Some(_) => return Err(ApiError::too_low("size", 1)),
                None => return Err(ApiError::bad_integer("size")),
            },
            Some(_) => return Err(ApiError::bad_integer("size")),
        };
        Ok((token, size))
    }
}

/// `POST /tokens/examine`: `{"token"}`.
#[derive(Deserialize)]
pub(crate) struct ExamineToken {
    token: Option<String>,
}

impl RequestBody for ExamineToken {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl ExamineToken {
    /// The token text.
    pub(crate) fn token(self) -> Result<String, ApiError> {
        required(self.token, "token")
    }
}
