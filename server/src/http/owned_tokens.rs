//! The seven token operations that exist in four forms, one per owner: `/user/tokens/…` (the
//! calling user), `/users/{id}/tokens/…` (a user, for themself or a token manager),
//! `/provider/tokens/…` (the calling provider) and `/providers/{id}/tokens/…` (a provider, for
//! its cluster's admin or a token manager). [`TokensOf`] settles whose tokens a request is
//! about — authentication, then the owner's existence (404) and the caller's right (403) —
//! before the body is read; each handler below serves all four forms.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, MatchedPath, Path, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

use super::body::{CreateToken, JsonBody};
use super::error::ApiError;
use super::routes::{created, named_created, named_token_json, no_content, token_ids, Answer};
use super::{blocking, App, PREFIX};
use crate::service::tokens::TokenOwner;
use crate::service::{AnyCaller, Caller, Minter, ProviderCaller};

/// Whose tokens a request is about, and who asks.
pub(crate) struct TokensOf {
    caller: AnyCaller,
    owner: TokenOwner,
    /// The path's parameters (`name` for the lookups by name).
    params: HashMap<String, String>,
}

impl TokensOf {
    fn minter(&self) -> Minter<'_> {
        match &self.caller {
            AnyCaller::User(caller) => caller.into(),
            AnyCaller::Provider(caller) => caller.into(),
        }
    }

    fn name(&self) -> Result<&str, ApiError> {
        self.params
            .get("name")
            .map(String::as_str)
            .ok_or_else(ApiError::not_found)
    }
}

impl FromRequestParts<App> for TokensOf {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<TokensOf, ApiError> {
        let route = parts
            .extensions
            .get::<MatchedPath>()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default();
        let route = route.strip_prefix(PREFIX).unwrap_or_default();
        // A parameter that does not decode names nothing: 404 once authenticated.
        let params = Path::<HashMap<String, String>>::from_request_parts(parts, app)
            .await
            .map(|Path(params)| params)
            .ok();
        let id = params.as_ref().and_then(|p| p.get("id").cloned());
        let params = params.unwrap_or_default();
        if route.starts_with("/provider/") {
            let caller = ProviderCaller::from_request_parts(parts, app).await?;
            let owner = TokenOwner::provider(&caller);
            return Ok(TokensOf {
                caller: AnyCaller::Provider(caller),
                owner,
                params,
            });
        }
        let caller = Caller::from_request_parts(parts, app).await?;
        if route.starts_with("/user/") {
            let owner = TokenOwner::caller(&caller);
            return Ok(TokensOf {
                caller: AnyCaller::User(caller),
                owner,
                params,
            });
        }
        let id = id.ok_or_else(ApiError::not_found)?;
        let for_provider = route.starts_with("/providers/");
        let service = std::sync::Arc::clone(&app.service);
        blocking(move || {
            let owner = if for_provider {
                service.authorize_tokens_of_provider(&caller, &id)?
            } else {
                service.authorize_tokens_of(&caller, &id)?
            };
            Ok(TokensOf {
                caller: AnyCaller::User(caller),
                owner,
                params,
            })
        })
        .await
    }
}

fn ok(body: serde_json::Value) -> Response {
    Json(body).into_response()
}

/// `POST …/tokens/named` (`NamedTokenCreateRequest`) → `201 {"tokenId", "token"}` with the
/// `Location` of the token.
pub(crate) async fn create_named(
    State(app): State<App>,
    tokens: TokensOf,
    body: JsonBody,
) -> Answer {
    blocking(move || {
        let (name, spec) = body.parse::<CreateToken>()?.named()?;
        let token = app
            .service
            .create_named(tokens.minter(), &tokens.owner, &name, spec)?;
        Ok(named_created(&token))
    })
    .await
}

/// `GET …/tokens/named` → `{"tokens": [ids]}` (Onezone's `Tokens`).
pub(crate) async fn list_named(State(app): State<App>, tokens: TokensOf) -> Answer {
    blocking(move || Ok(token_ids(&app.service.named_tokens_of(&tokens.owner)?))).await
}

/// `DELETE …/tokens/named` → 204: every named token of the owner is deleted (and verifies
/// nothing afterwards, nor does anything minted with it).
pub(crate) async fn delete_named(State(app): State<App>, tokens: TokensOf) -> Answer {
    blocking(move || {
        app.service.delete_named_tokens_of(&tokens.owner)?;
        Ok(no_content())
    })
    .await
}

/// `GET …/tokens/named/name/{name}` → the record of the owner's token of that name.
pub(crate) async fn named_by_name(State(app): State<App>, tokens: TokensOf) -> Answer {
    let name = tokens.name()?.to_owned();
    blocking(move || {
        let record = app.service.named_token_by_name(&tokens.owner, &name)?;
        Ok(ok(named_token_json(&record)))
    })
    .await
}

/// `POST …/tokens/temporary` (`TemporaryTokenCreateRequest`) → `201 {"token"}`.
pub(crate) async fn create_temporary(
    State(app): State<App>,
    tokens: TokensOf,
    body: JsonBody,
) -> Answer {
    blocking(move || {
        let spec = body.parse::<CreateToken>()?.temporary()?;
        let token = app
            .service
            .create_temporary(tokens.minter(), &tokens.owner, spec)?;
        Ok(created(json!({ "token": token })))
    })
    .await
}

/// `GET …/tokens/temporary` → `{"generation"}` (Onezone's `TemporaryTokenGeneration`).
pub(crate) async fn generation(State(app): State<App>, tokens: TokensOf) -> Answer {
    blocking(move || {
        let generation = app.service.temporary_generation(&tokens.owner)?;
        Ok(ok(json!({ "generation": generation })))
    })
    .await
}

/// `DELETE …/tokens/temporary` → 204: every temporary token of the owner is revoked (its
/// generation + 1).
pub(crate) async fn revoke_temporary(State(app): State<App>, tokens: TokensOf) -> Answer {
    blocking(move || {
        app.service.revoke_temporary(&tokens.owner)?;
        Ok(no_content())
    })
    .await
}
