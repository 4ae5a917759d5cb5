//! Request bodies: read only after the caller is authenticated (the extractor order of every
//! handler puts [`super::caller::Caller`] first), bounded in size and time, then parsed into
//! typed structs with every failure mapped to Onezone's exact 400.

use std::net::IpAddr;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use futures_util::StreamExt as _;
use macaroon_mint::onedata::InviteType;
use macaroon_mint::TypedCaveat;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use super::caveats;
use super::error::ApiError;
use crate::service::auth::ACCESS_CAVEATS;
use crate::service::privileges::{
    invite_type_by_name, OzPrivilege, SpacePrivilege, OZ_PRIVILEGES, SPACE_PRIVILEGES,
};

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
        Ok((list(self.grant, "grant")?, list(self.revoke, "revoke")?))
    }
}

/// `POST /user/tokens/temporary` and `/named`: `{"name"?, "type"?, "caveats"?}`.
#[derive(Deserialize)]
pub(crate) struct CreateToken {
    name: Option<String>,
    #[serde(rename = "type")]
    token_type: Option<Value>,
    caveats: Option<Value>,
}

impl RequestBody for CreateToken {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_string(key)
    }
}

impl CreateToken {
    /// The token type must be an access token (`{"accessToken": {}}`, the default); the
    /// caveats parse into the forms an access token may carry.
    pub(crate) fn caveats(&self) -> Result<Vec<TypedCaveat>, ApiError> {
        match &self.token_type {
            None | Some(Value::Null) => {}
            Some(Value::Object(t))
                if t.len() == 1 && t.get("accessToken").is_some_and(Value::is_object) => {}
            Some(_) => return Err(ApiError::bad_token_type()),
        }
        caveats::from_value(self.caveats.as_ref(), &ACCESS_CAVEATS)
    }

    /// The name (named tokens) and the caveats.
    pub(crate) fn named(self) -> Result<(String, Vec<TypedCaveat>), ApiError> {
        let caveats = self.caveats()?;
        Ok((required(self.name, "name")?, caveats))
    }
}

/// `PATCH /tokens/named/{id}`: `{"revoked": bool}`.
#[derive(Deserialize)]
pub(crate) struct UpdateNamedToken {
    revoked: Option<bool>,
}

impl RequestBody for UpdateNamedToken {
    fn bad_value(key: &str) -> ApiError {
        ApiError::bad_boolean(key)
    }
}

impl UpdateNamedToken {
    /// The new revoked flag.
    pub(crate) fn revoked(self) -> Result<bool, ApiError> {
        self.revoked.ok_or_else(|| ApiError::missing("revoked"))
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
    /// The token text, the expected invite type and the consumer's address (`client` when
    /// the body names none).
    pub(crate) fn fields(
        self,
        client: IpAddr,
    ) -> Result<(String, Option<InviteType>, IpAddr), ApiError> {
        let token = required(self.token, "token")?;
        let expected = match self.expected_invite_type {
            None => None,
            Some(name) => Some(
                invite_type_by_name(&name)
                    .ok_or_else(|| ApiError::bad_invite_type("expectedInviteType"))?,
            ),
        };
        let peer_ip = match self.peer_ip {
            None => client,
            Some(ip) => ip.parse().map_err(|_| ApiError::bad_ip("peerIp"))?,
        };
        Ok((token, expected, peer_ip))
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
