//! Onezone-shaped REST errors: `{"error": {"id", "details"?, "description"}}` (SPEC §10.5),
//! and the mapping of the service's domain errors onto them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use macaroon_mint::onedata::TokenType;

use crate::service::privileges::{invite_target_key, invite_type_name};
use crate::service::{Error, Invalid, TokenError};

/// An error answered to an HTTP client.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The Onezone error id (camelCase).
    pub id: &'static str,
    /// Optional details (`{"key": …}`, `{"caveat": …}`, …).
    pub details: Option<Value>,
    /// Human-readable text.
    pub description: String,
    /// Seconds to send as `Retry-After` (429, 503).
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, id: &'static str, description: impl Into<String>) -> ApiError {
        ApiError {
            status,
            id,
            details: None,
            description: description.into(),
            retry_after: None,
        }
    }

    fn with_details(mut self, details: Value) -> ApiError {
        self.details = Some(details);
        self
    }

    /// 401: no credentials, or wrong ones.
    pub fn unauthorized() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "You must authenticate yourself to perform this operation.",
        )
    }

    /// 401 `unauthorized` whose `details.authError` says why the credentials were refused (as
    /// Onezone does for a bad, forged, expired or revoked token).
    pub fn unauthorized_because(cause: ApiError) -> ApiError {
        if cause.status == StatusCode::INTERNAL_SERVER_ERROR {
            return cause;
        }
        let auth_error = cause.body()["error"].clone();
        ApiError::unauthorized().with_details(json!({ "authError": auth_error }))
    }

    /// 403: authenticated, but lacking the privilege.
    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "You are not authorized to perform this operation (insufficient privileges?).",
        )
    }

    /// 404: unknown user, space or route.
    pub fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "notFound",
            "The resource could not be found.",
        )
    }

    /// 405 `notSupported`: the path exists, the method does not.
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "notSupported",
            "This method is not supported for this resource.",
        )
    }

    /// 413 `payloadTooLarge`: the request body is over `limit` bytes.
    pub fn payload_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payloadTooLarge",
            format!("The request body exceeds the allowed size ({limit} bytes)."),
        )
        .with_details(json!({ "limit": limit }))
    }

    /// 408 `requestTimeout`: the request (its headers or body) did not arrive in time.
    pub fn request_timeout() -> ApiError {
        ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "requestTimeout",
            "The request was not received in time.",
        )
    }

    /// 429 `tooManyRequests` with `Retry-After`: a rate limit (per client address or per
    /// username) was hit.
    pub fn too_many_requests(retry_after: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "tooManyRequests",
            "Too many requests; retry later.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 503 `serviceUnavailable` with `Retry-After`: the server is at its limit (connections,
    /// requests in flight, or password checks waiting).
    pub fn service_unavailable(retry_after: u64) -> ApiError {
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceUnavailable",
            "The server is busy; retry later.",
        );
        e.retry_after = Some(retry_after.max(1));
        e
    }

    /// 403 `forbidden` with `{"hint"}`.
    pub fn forbidden_because(hint: &str) -> ApiError {
        ApiError::forbidden().with_details(json!({ "hint": hint }))
    }

    /// 400 `badValueName` with `{"key"}`.
    pub fn bad_name(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueName",
            format!(
                "Bad value: provided \"{key}\" must be 2-128 characters long, composed of letters, digits, brackets and underscores; dashes, spaces and dots are allowed inside."
            ),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueUsername` (no details, as Onezone).
    pub fn bad_username() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueUsername",
            "Bad value: the username must be 2 to 32 ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit.",
        )
    }

    /// 500: never carries the cause (it goes to the server's log).
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internalServerError",
            "The server has encountered an error while processing this request.",
        )
    }

    /// 400 `malformedData`: the body is not a JSON object.
    pub fn malformed_data() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformedData",
            "Provided data could not be understood by the server.",
        )
    }

    /// 400 `badBasicCredentials`, the `authError` of a refused password login.
    pub fn bad_basic_credentials() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badBasicCredentials",
            "Invalid basic authorization credentials.",
        )
    }

    /// 400 `missingAtLeastOneValue` with `{"keys"}`.
    pub fn missing_at_least_one(keys: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missingAtLeastOneValue",
            format!(
                "Missing data, you must provide at least one of: {}.",
                keys.join(", ")
            ),
        )
        .with_details(json!({ "keys": keys }))
    }

    /// 400 `badValueListOfStrings` with `{"key"}`: not a list of strings.
    pub fn bad_list_of_strings(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueListOfStrings",
            format!("Bad value: provided \"{key}\" must be a list of strings."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueInviteType` with `{"key"}`.
    pub fn bad_invite_type(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueInviteType",
            format!("Bad value: provided \"{key}\" must be a valid invite token type."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueToken` with `{"key", "tokenError"}`: a token in the request data that does
    /// not decode; `tokenError` is the error it gave.
    pub fn bad_value_token(key: &str, token_error: &ApiError) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueToken",
            format!("Bad value: provided \"{key}\" is not a valid token."),
        )
        .with_details(json!({ "key": key, "tokenError": token_error.body()["error"] }))
    }

    /// 400 `missingRequiredValue` with `{"key"}`.
    pub fn missing(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missingRequiredValue",
            format!("Missing required value: \"{key}\"."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueString` with `{"key"}`: not a non-empty string.
    pub fn bad_string(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueString",
            format!("Bad value: provided \"{key}\" must be a non-empty string."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueListNotAllowed` with `{"key", "allowed"}`.
    pub fn bad_list(key: &str, allowed: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueListNotAllowed",
            format!("Bad value: provided \"{key}\" must be a list containing only allowed values."),
        )
        .with_details(json!({ "key": key, "allowed": allowed }))
    }

    /// 400 `badValueNotAllowed` with `{"key", "allowed"}`.
    pub fn not_allowed(key: &str, allowed: &[&str]) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueNotAllowed",
            format!("Bad value: provided \"{key}\" must be one of the allowed values."),
        )
        .with_details(json!({ "key": key, "allowed": allowed }))
    }

    /// 400 `badValueIdentifierOccupied` with `{"key"}`.
    pub fn occupied(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueIdentifierOccupied",
            format!("Bad value: provided \"{key}\" is already occupied."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badToken`: the text does not decode as an Onedata token.
    pub fn bad_token() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badToken",
            "Provided token could not be understood by the server.",
        )
    }

    /// 400 `tokenTooLarge` with `{"limit"}`.
    pub fn token_too_large(limit: usize) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "tokenTooLarge",
            format!("Provided token exceeds the allowed size ({limit} bytes)."),
        )
        .with_details(json!({ "limit": limit }))
    }

    /// 400 `tokenInvalid`: unknown to this server, or its signature does not verify.
    pub fn token_invalid() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "tokenInvalid",
            "Provided token is not valid.",
        )
    }

    /// 400 `tokenRevoked`.
    pub fn token_revoked() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "tokenRevoked",
            "Provided token has been revoked.",
        )
    }

    /// 400 `notAnInviteToken` with `{"expectedInviteType", "received"}` (`received`: the token
    /// type as Onezone writes it, see [`token_type_json`]; `null` for a legacy token).
    pub fn not_an_invite_token(expected: &str, received: Value) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notAnInviteToken",
            format!("Provided token is not an invite token of type \"{expected}\"."),
        )
        .with_details(json!({ "expectedInviteType": expected, "received": received }))
    }

    /// 400 `notAnIdentityToken` with `{"received"}` (the token type as Onezone writes it).
    pub fn not_an_identity_token(received: Value) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notAnIdentityToken",
            "Received token is not an identity token.",
        )
        .with_details(json!({ "received": received }))
    }

    /// 400 `inviteTokenTargetIdInvalid` with `{"id"}`: no entity of that id to invite to.
    pub fn invite_target_invalid(id: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "inviteTokenTargetIdInvalid",
            format!("The target id \"{id}\" of the invite token is invalid."),
        )
        .with_details(json!({ "id": id }))
    }

    /// 400 `tokenServiceForbidden` with `{"service"}`: the identity is not a service that may
    /// present tokens.
    pub fn service_forbidden(service: Value) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "tokenServiceForbidden",
            "The service is forbidden for this subject.",
        )
        .with_details(json!({ "service": service }))
    }

    /// 400 `inviteTokenSubjectNotAuthorized`: the invite's issuer may no longer invite there.
    pub fn invite_issuer_not_authorized() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "inviteTokenSubjectNotAuthorized",
            "The subject of the invite token is not authorized to issue such invitations.",
        )
    }

    /// 400 `inviteTokenUsageLimitReached`.
    pub fn usage_limit_reached() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "inviteTokenUsageLimitReached",
            "The usage limit of the invite token has been reached.",
        )
    }

    /// 400 `badData` with `{"key", "hint"}`: a value that does not apply here.
    pub fn bad_data(key: &str, hint: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badData",
            format!("Bad value: provided \"{key}\" could not be understood by the server: {hint}"),
        )
        .with_details(json!({ "key": key, "hint": hint }))
    }

    /// 400 `badData` with `{"key"}`: a value of the wrong kind (a number expected).
    pub fn bad_data_key(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badData",
            format!("Bad value: provided \"{key}\" could not be understood by the server."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueDomain`.
    pub fn bad_domain() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueDomain",
            "Bad value: provided domain is not valid.",
        )
    }

    /// 400 `badValueEmail`.
    pub fn bad_email() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueEmail",
            "Bad value: provided e-mail is not a valid e-mail.",
        )
    }

    /// 400 `badValueJSON` with `{"key"}`: not a JSON object.
    pub fn bad_json(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueJSON",
            format!("Bad value: provided \"{key}\" must be a valid JSON."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueInteger` with `{"key"}`.
    pub fn bad_integer(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueInteger",
            format!("Bad value: provided \"{key}\" must be an integer."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueTooLow` with `{"key", "limit"}`.
    pub fn too_low(key: &str, limit: u64) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueTooLow",
            format!("Bad value: provided \"{key}\" must be at least {limit}."),
        )
        .with_details(json!({ "key": key, "limit": limit }))
    }

    /// 400 `tokenCaveatUnknown` / `tokenCaveatUnverified` with `{"caveat"}`: the caveat as
    /// Onezone writes it ([`super::caveats::caveat_json`]; its text when it has no typed form).
    pub fn caveat(unknown: bool, caveat: &str) -> ApiError {
        let details = json!({ "caveat": super::caveats::caveat_json(caveat) });
        if unknown {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "tokenCaveatUnknown",
                format!("Unknown caveat: \"{caveat}\"."),
            )
            .with_details(details)
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "tokenCaveatUnverified",
                format!("Token caveat unverified: \"{caveat}\"."),
            )
            .with_details(details)
        }
    }

    /// 400 `notAnAccessToken` with `{"received"}`: an invite or identity token used to
    /// authenticate; `received` is its type as Onezone writes it ([`token_type_json`]).
    pub fn not_an_access_token(received: Value) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notAnAccessToken",
            "Provided token is not an access token.",
        )
        .with_details(json!({ "received": received }))
    }

    /// 400 `tokenTimeCaveatRequired` with `{"maxTtl"}`: a temporary token without an expiry
    /// at most `max_ttl` seconds ahead.
    pub fn time_caveat_required(max_ttl: u64) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "tokenTimeCaveatRequired",
            format!(
                "You must specify a time caveat with TTL not exceeding {max_ttl} seconds for a temporary token."
            ),
        )
        .with_details(json!({ "maxTtl": max_ttl }))
    }

    /// 400 `badValueCaveat` with `{"caveat"}`: the caveat as the request gave it (a JSON
    /// object or text); the description says which one (by index) and why.
    pub fn bad_caveat(index: usize, caveat: Value, reason: impl Into<String>) -> ApiError {
        let reason = reason.into();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueCaveat",
            format!("Bad value: caveat {index} in \"caveats\" is invalid: {reason}."),
        )
        .with_details(json!({ "caveat": caveat }))
    }

    /// 400 `badValueTokenType` with `{"key": "type"}`.
    pub fn bad_token_type() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueTokenType",
            "Bad value: provided \"type\" is not a valid token type (an object with one key: \"accessToken\", \"identityToken\" or \"inviteToken\" with its inviteType and target).",
        )
        .with_details(json!({ "key": "type" }))
    }

    /// 400 `badValueBoolean` with `{"key"}`.
    pub fn bad_boolean(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueBoolean",
            format!("Bad value: provided \"{key}\" must be a boolean."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 400 `badValueIPv4Address` with `{"key"}` (Onezone's id; IPv6 addresses are accepted
    /// too).
    pub fn bad_ip(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueIPv4Address",
            format!("Bad value: provided \"{key}\" must be a valid IP address."),
        )
        .with_details(json!({ "key": key }))
    }

    /// 409 `alreadyExists`: e.g. a named token of that name.
    pub fn already_exists() -> ApiError {
        ApiError::new(
            StatusCode::CONFLICT,
            "alreadyExists",
            "The resource already exists.",
        )
    }

    /// The JSON body.
    pub fn body(&self) -> Value {
        let mut error = json!({ "id": self.id, "description": self.description });
        if let Some(details) = &self.details {
            error["details"] = details.clone();
        }
        json!({ "error": error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let auth_error = self
            .details
            .as_ref()
            .and_then(|details| details["authError"]["id"].as_str())
            .map(super::observe::error_id);
        let token_error = self
            .details
            .as_ref()
            .and_then(|details| details["tokenError"]["id"].as_str())
            .map(super::observe::error_id);
        response.extensions_mut().insert(super::observe::Failure {
            id: self.id,
            auth_error,
            token_error,
        });
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

/// A token type as Onezone's REST API writes it (`TokenPropertyTokenType`):
/// `{"accessToken": {}}`, `{"identityToken": {}}`, or
/// `{"inviteToken": {"inviteType": …, "<target key>": …}}`.
///
/// ```
/// use macaroon_mint::onedata::{InviteType, TokenType};
/// use macaroon_mint_server::http::error::token_type_json;
/// use serde_json::json;
/// assert_eq!(
///     token_type_json(&TokenType::invite(InviteType::SupportSpace, "s1")),
///     json!({ "inviteToken": { "inviteType": "supportSpace", "spaceId": "s1" } })
/// );
/// assert_eq!(
///     token_type_json(&TokenType::invite(InviteType::RegisterOneprovider, "u1")),
///     json!({ "inviteToken": { "inviteType": "registerOneprovider", "adminUserId": "u1" } })
/// );
/// assert_eq!(token_type_json(&TokenType::Access { session: None }), json!({ "accessToken": {} }));
/// ```
pub fn token_type_json(token_type: &TokenType) -> Value {
    match token_type {
        TokenType::Access { session: None } => json!({ "accessToken": {} }),
        TokenType::Access {
            session: Some(session),
        } => json!({ "accessToken": { "sessionId": session } }),
        TokenType::Identity => json!({ "identityToken": {} }),
        TokenType::Invite { invite, target, .. } => {
            let key = invite_target_key(invite);
            json!({ "inviteToken": { "inviteType": invite_type_name(invite), key: target } })
        }
        // A token type this version does not know.
        _ => Value::Null,
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Malformed => ApiError::bad_token(),
            TokenError::TooLarge { limit } => ApiError::token_too_large(limit),
            TokenError::Invalid => ApiError::token_invalid(),
            TokenError::Revoked => ApiError::token_revoked(),
            TokenError::NotAnAccessToken { received } => {
                ApiError::not_an_access_token(token_type_json(&received))
            }
            TokenError::NotAnIdentityToken { received } => ApiError::not_an_identity_token(
                received.as_ref().map_or(Value::Null, token_type_json),
            ),
            TokenError::NotAnInviteToken { expected, received } => ApiError::not_an_invite_token(
                &expected,
                received.as_ref().map_or(Value::Null, token_type_json),
            ),
            TokenError::CaveatUnverified { caveat } => ApiError::caveat(false, &caveat),
            TokenError::CaveatUnknown { caveat } => ApiError::caveat(true, &caveat),
            TokenError::TimeCaveatRequired { max_ttl } => ApiError::time_caveat_required(max_ttl),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(e: Invalid) -> ApiError {
        match e {
            Invalid::Username => ApiError::bad_username(),
            Invalid::Name { key } => ApiError::bad_name(key),
            Invalid::Occupied { key } => ApiError::occupied(key),
            Invalid::Caveat { index, reason } => ApiError::bad_caveat(index, Value::Null, reason),
            Invalid::InviteTarget { id } => ApiError::invite_target_invalid(&id),
            Invalid::NotApplicable { key, hint } => ApiError::bad_data(key, hint),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Unauthenticated(None) => ApiError::unauthorized(),
            Error::BadBasicCredentials => {
                ApiError::unauthorized_because(ApiError::bad_basic_credentials())
            }
            Error::Unauthenticated(Some(cause)) => {
                ApiError::unauthorized_because(ApiError::from(cause))
            }
            Error::Forbidden(None) => ApiError::forbidden(),
            Error::Forbidden(Some(hint)) => ApiError::forbidden_because(&hint),
            Error::NotFound => ApiError::not_found(),
            Error::AlreadyExists => ApiError::already_exists(),
            Error::InviteIssuerNotAuthorized => ApiError::invite_issuer_not_authorized(),
            Error::UsageLimitReached => ApiError::usage_limit_reached(),
            Error::NameOccupied => ApiError::occupied("name"),
            Error::Token(cause) => cause.into(),
            Error::Invalid(cause) => cause.into(),
            Error::Internal(cause) => {
                // The cause goes to the operator, never to the client.
                tracing::error!(
                    cause = %crate::store::redact_credentials(&cause),
                    "internal error"
                );
                ApiError::internal()
            }
            Error::Unavailable(cause) => {
                tracing::error!(
                    cause = %crate::store::redact_credentials(&cause),
                    "unavailable"
                );
                ApiError::service_unavailable(1)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Onedata's error table (`../shared/onezone-api/errors.json`: ctool's `errors.erl`).
    const ERRORS: &str = include_str!("../../tests/data/onezone-errors.json");

    /// Our ids that Onezone does not have, or answers with another status (README lists them).
    const OURS: &[(&str, u16)] = &[
        ("payloadTooLarge", 413),
        ("notSupported", 405),
        ("requestTimeout", 408),
        ("tooManyRequests", 429),
        ("serviceUnavailable", 503),
    ];

    fn every_error() -> Vec<ApiError> {
        let token = ApiError::bad_token();
        vec![
            ApiError::unauthorized(),
            ApiError::unauthorized_because(ApiError::token_invalid()),
            ApiError::unauthorized_because(ApiError::bad_basic_credentials()),
            ApiError::forbidden(),
            ApiError::forbidden_because("why"),
            ApiError::not_found(),
            ApiError::method_not_allowed(),
            ApiError::payload_too_large(1),
            ApiError::request_timeout(),
            ApiError::too_many_requests(1),
            ApiError::service_unavailable(1),
            ApiError::bad_name("name"),
            ApiError::bad_username(),
            ApiError::internal(),
            ApiError::malformed_data(),
            ApiError::bad_basic_credentials(),
            ApiError::missing_at_least_one(&["grant", "revoke"]),
            ApiError::bad_list_of_strings("grant"),
            ApiError::bad_invite_type("expectedInviteType"),
            ApiError::bad_value_token("token", &token),
            ApiError::missing("name"),
            ApiError::bad_string("name"),
            ApiError::bad_list("grant", &["a"]),
            ApiError::not_allowed("k", &["a"]),
            ApiError::occupied("name"),
            token,
            ApiError::token_too_large(1),
            ApiError::token_invalid(),
            ApiError::token_revoked(),
            ApiError::not_an_invite_token("supportSpace", json!({ "accessToken": {} })),
            ApiError::caveat(false, "time < 1"),
            ApiError::caveat(true, "colour = red"),
            ApiError::not_an_access_token(json!({ "identityToken": {} })),
            ApiError::time_caveat_required(1),
            ApiError::bad_caveat(0, Value::from("x"), "why"),
            ApiError::bad_token_type(),
            ApiError::bad_boolean("revoked"),
            ApiError::bad_ip("peerIp"),
            ApiError::already_exists(),
            ApiError::not_an_identity_token(json!({ "accessToken": {} })),
            ApiError::invite_target_invalid("x"),
            ApiError::usage_limit_reached(),
            ApiError::invite_issuer_not_authorized(),
            ApiError::bad_data_key("latitude"),
            ApiError::bad_domain(),
            ApiError::bad_email(),
            ApiError::service_forbidden(json!({ "type": "user", "id": "u" })),
            ApiError::bad_data("usageLimit", "why"),
            ApiError::bad_json("customMetadata"),
            ApiError::bad_integer("usageLimit"),
            ApiError::too_low("usageLimit", 1),
        ]
    }

    /// Every error this service answers has Onezone's id, details keys and status, but for the
    /// few of its own.
    #[test]
    fn errors_match_onedatas_table() {
        let table: Value = serde_json::from_str(ERRORS).unwrap();
        let known: BTreeSet<(String, Vec<String>, u16)> = table["errors"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|entry| {
                let status: u16 = entry["http"].as_str().unwrap().parse().unwrap();
                entry["json"].as_array().unwrap().iter().map(move |form| {
                    let mut keys: Vec<String> = form["details"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|k| k.as_str().unwrap().to_owned())
                        .collect();
                    keys.sort();
                    (form["id"].as_str().unwrap().to_owned(), keys, status)
                })
            })
            .collect();
        for error in every_error() {
            let mut keys: Vec<String> = error
                .details
                .as_ref()
                .and_then(Value::as_object)
                .map(|d| d.keys().cloned().collect())
                .unwrap_or_default();
            keys.sort();
            let status = error.status.as_u16();
            if OURS.contains(&(error.id, status)) {
                assert!(keys.iter().all(|k| k == "limit"), "{error:?}");
                continue;
            }
            assert!(
                known.contains(&(error.id.to_owned(), keys.clone(), status)),
                "{} {keys:?} {status} is not in Onedata's error table",
                error.id
            );
            // A nested authError is itself one of Onezone's errors.
            if let Some(cause) = error.details.as_ref().and_then(|d| d.get("authError")) {
                let id = cause["id"].as_str().unwrap();
                assert!(known.iter().any(|(k, _, _)| k == id), "{id}");
            }
        }
    }
}
