//! Onezone-shaped REST errors: `{"error": {"id", "details"?, "description"}}` (SPEC §10.5),
//! and the mapping of the service's domain errors onto them.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

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

    /// 400 `badValueUsername` with `{"key": "username"}`.
    pub fn bad_username() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueUsername",
            "Bad value: the username must be 2 to 32 ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit.",
        )
        .with_details(json!({ "key": "username" }))
    }

    /// 500: never carries the cause (it goes to the server's log).
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internalServerError",
            "The server has encountered an error while processing this request.",
        )
    }

    /// 400 `badMessage`: the body is not a JSON object.
    pub fn bad_message() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badMessage",
            "The request body is not a valid JSON object.",
        )
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

    /// 400 `notAnInviteToken` with `{"expectedInviteType"}`.
    pub fn not_an_invite_token(expected: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notAnInviteToken",
            format!("Provided token is not an invite token of type \"{expected}\"."),
        )
        .with_details(json!({ "expectedInviteType": expected }))
    }

    /// 400 `tokenCaveatUnknown` / `tokenCaveatUnverified` with `{"caveat"}`.
    pub fn caveat(unknown: bool, caveat: &str) -> ApiError {
        if unknown {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "tokenCaveatUnknown",
                format!("Unknown caveat: \"{caveat}\"."),
            )
            .with_details(json!({ "caveat": caveat }))
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "tokenCaveatUnverified",
                format!("Token caveat unverified: \"{caveat}\"."),
            )
            .with_details(json!({ "caveat": caveat }))
        }
    }

    /// 400 `notAnAccessToken` with `{"received"}`: an invite or identity token used to
    /// authenticate.
    pub fn not_an_access_token(received: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "notAnAccessToken",
            format!("Provided token is not an access token (received type \"{received}\")."),
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

    /// 400 `badValueCaveats` with `{"key": "caveats", "index", "reason"}`.
    pub fn bad_caveat(index: usize, reason: impl Into<String>) -> ApiError {
        let reason = reason.into();
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueCaveats",
            format!("Bad value: caveat {index} in \"caveats\" is invalid: {reason}."),
        )
        .with_details(json!({ "key": "caveats", "index": index, "reason": reason }))
    }

    /// 400 `badValueTokenType` with `{"key": "type"}`.
    pub fn bad_token_type() -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueTokenType",
            "Bad value: provided \"type\" is not a valid token type for this operation (expected {\"accessToken\": {}}).",
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

    /// 400 `badValueIpAddress` with `{"key"}`: not an IPv4 or IPv6 address.
    pub fn bad_ip(key: &str) -> ApiError {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "badValueIpAddress",
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
        if let Some(seconds) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

impl From<TokenError> for ApiError {
    fn from(e: TokenError) -> ApiError {
        match e {
            TokenError::Malformed => ApiError::bad_token(),
            TokenError::TooLarge { limit } => ApiError::token_too_large(limit),
            TokenError::Invalid => ApiError::token_invalid(),
            TokenError::Revoked => ApiError::token_revoked(),
            TokenError::NotAnAccessToken { received } => ApiError::not_an_access_token(&received),
            TokenError::NotAnInviteToken { expected } => ApiError::not_an_invite_token(&expected),
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
            Invalid::Caveat { index, reason } => ApiError::bad_caveat(index, reason),
        }
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        match e {
            Error::Unauthenticated(None) => ApiError::unauthorized(),
            Error::Unauthenticated(Some(cause)) => {
                ApiError::unauthorized_because(ApiError::from(cause))
            }
            Error::Forbidden(None) => ApiError::forbidden(),
            Error::Forbidden(Some(hint)) => ApiError::forbidden_because(&hint),
            Error::NotFound => ApiError::not_found(),
            Error::AlreadyExists => ApiError::already_exists(),
            Error::Token(cause) => cause.into(),
            Error::Invalid(cause) => cause.into(),
            Error::Internal(cause) => {
                // The cause goes to the operator, never to the client.
                eprintln!("macaroon-mint-server: {cause}");
                ApiError::internal()
            }
        }
    }
}
