//! The Oneprovider routes: registration (`POST /providers`, public, with a registration
//! token), the provider's own `/provider/…` routes (authenticated by its token), space support
//! (`POST /provider/spaces/support`, Onezone 19.02's route kept as an extension) and the
//! users' and admins' views of providers.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::body::{InferScope, JsonBody, RegisterProvider, SupportSpace, UpdateProvider};
use super::routes::{created, no_content, proven_identity, undecodable_as, Answer, PathId};
use super::{blocking, App};
use crate::service::auth::Bearer;
use crate::service::providers::AccessScope;
use crate::service::{Caller, ProviderCaller};
use crate::store::Provider;

/// Onezone's `ProviderDetails`. `online` is always false: this service keeps no channel to
/// providers, so it cannot tell.
fn provider_json(provider: &Provider) -> Value {
    json!({
        "providerId": provider.id,
        "name": provider.name,
        "domain": provider.domain,
        "latitude": provider.latitude,
        "longitude": provider.longitude,
        "clusterId": provider.id,
        "online": false,
        "creationTime": provider.created,
    })
}

fn ok(body: Value) -> Response {
    Json(body).into_response()
}

/// `POST /providers` (`ProviderRegistrationRequest`) → `200 {"providerId",
/// "providerRootToken", "adminUserId"}`. Public: the registration token is the authority, and
/// the client's address is what its `ip` caveats see.
pub(crate) async fn register(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: JsonBody,
) -> Answer {
    let registration = body.parse::<RegisterProvider>()?.registration()?;
    blocking(move || {
        let registered = app
            .service
            .register_provider(registration, client.ip())
            .map_err(undecodable_as("token"))?;
        Ok(ok(json!({
            "providerId": registered.provider_id,
            "providerRootToken": registered.root_token,
            "adminUserId": registered.admin_user_id,
        })))
    })
    .await
}

/// `GET /providers` → `{"providers": [ids]}`; `oz_providers_list`.
pub(crate) async fn list(State(app): State<App>, caller: Caller) -> Answer {
    blocking(move || {
        let ids = app.service.provider_ids(&caller)?;
        Ok(ok(json!({ "providers": ids })))
    })
    .await
}

/// `GET /providers/{id}` → `ProviderDetails`; `oz_providers_view`, the cluster's admin, or a
/// member of a space it supports.
pub(crate) async fn details(State(app): State<App>, caller: Caller, id: PathId<String>) -> Answer {
    let id = id.found()?;
    blocking(move || {
        Ok(ok(provider_json(
            &app.service.provider_for_user(&caller, &id)?,
        )))
    })
    .await
}

/// `DELETE /providers/{id}` → 204; `oz_providers_delete`.
pub(crate) async fn remove(State(app): State<App>, caller: Caller, id: PathId<String>) -> Answer {
    let id = id.found()?;
    blocking(move || {
        app.service.authorize_provider_removal(&caller, &id)?;
        app.service.delete_provider(&id)?;
        Ok(no_content())
    })
    .await
}

/// `GET /provider` → the calling provider's `ProviderDetails`.
pub(crate) async fn own_details(caller: ProviderCaller) -> Answer {
    Ok(ok(provider_json(&caller.provider)))
}

/// `PATCH /provider` (`ProviderUpdateRequest`) → 204.
pub(crate) async fn update_own(
    State(app): State<App>,
    caller: ProviderCaller,
    body: JsonBody,
) -> Answer {
    blocking(move || {
        let change = body.parse::<UpdateProvider>()?.change()?;
        app.service.update_provider(&caller, &change)?;
        Ok(no_content())
    })
    .await
}

/// `DELETE /provider` → 204: the provider unregisters itself.
pub(crate) async fn unregister_own(State(app): State<App>, caller: ProviderCaller) -> Answer {
    blocking(move || {
        app.service.delete_provider(&caller.provider.id)?;
        Ok(no_content())
    })
    .await
}

/// `GET /provider/spaces` → `{"spaces": [ids]}` (Onezone's `Spaces`).
pub(crate) async fn own_spaces(State(app): State<App>, caller: ProviderCaller) -> Answer {
    blocking(move || {
        let spaces = app.service.spaces_of_provider(&caller)?;
        Ok(ok(json!({ "spaces": spaces })))
    })
    .await
}

/// `POST /provider/spaces/support` `{"token", "size"}` → `201 {"id"}`: the provider supports
/// the space the token invites to.
pub(crate) async fn support_space(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    caller: ProviderCaller,
    body: JsonBody,
) -> Answer {
    blocking(move || {
        let (token, size) = body.parse::<SupportSpace>()?.fields()?;
        let space = app
            .service
            .support_space(&caller, &token, size, client.ip())
            .map_err(undecodable_as("token"))?;
        Ok(created(json!({ "id": space })))
    })
    .await
}

/// `DELETE /provider/spaces/{sid}` → 204.
pub(crate) async fn cease_own_support(
    State(app): State<App>,
    caller: ProviderCaller,
    sid: PathId<String>,
) -> Answer {
    let sid = sid.found()?;
    blocking(move || {
        app.service.cease_own_support(&caller, &sid)?;
        Ok(no_content())
    })
    .await
}

/// `GET /spaces/{id}/providers` → `{"providers": [ids]}`.
pub(crate) async fn of_space(State(app): State<App>, caller: Caller, id: PathId<String>) -> Answer {
    let id = id.found()?;
    blocking(move || {
        let supports = app.service.space_providers(&caller, &id)?;
        let ids: Vec<&str> = supports.iter().map(|(id, _)| id.as_str()).collect();
        Ok(ok(json!({ "providers": ids })))
    })
    .await
}

/// `GET /spaces/{id}/providers/{pid}` → `ProviderDetails`.
pub(crate) async fn of_space_by_id(
    State(app): State<App>,
    caller: Caller,
    ids: PathId<(String, String)>,
) -> Answer {
    let (space, provider) = ids.found()?;
    blocking(move || {
        let provider = app.service.space_provider(&caller, &space, &provider)?;
        Ok(ok(provider_json(&provider)))
    })
    .await
}

/// `DELETE /spaces/{id}/providers/{pid}` → 204.
pub(crate) async fn cease_support(
    State(app): State<App>,
    caller: Caller,
    ids: PathId<(String, String)>,
) -> Answer {
    let (space, provider) = ids.found()?;
    blocking(move || {
        app.service.cease_support(&caller, &space, &provider)?;
        Ok(no_content())
    })
    .await
}

/// Onezone's `InferAccessTokenScopeResponse`.
fn scope_json(scope: &AccessScope) -> Value {
    let data = scope.data.as_ref().map(|data| {
        let mut spaces = serde_json::Map::new();
        let mut providers = serde_json::Map::new();
        for (space, supporters) in &data.spaces {
            let supports: serde_json::Map<String, Value> = supporters
                .iter()
                .map(|p| (p.id.clone(), json!({ "readonly": false })))
                .collect();
            spaces.insert(
                space.id.clone(),
                json!({ "name": space.name, "supports": supports }),
            );
            for provider in supporters {
                providers.insert(
                    provider.id.clone(),
                    json!({ "name": provider.name, "domain": provider.domain, "online": false }),
                );
            }
        }
        json!({ "readonly": data.readonly, "spaces": spaces, "providers": providers })
    });
    json!({ "validUntil": scope.valid_until, "dataAccessScope": data })
}

/// `POST /tokens/infer_access_token_scope` `{"token", "consumerToken"?}` → which spaces the
/// token reaches and the providers holding their data. Public, as in Onezone; the token's `ip`
/// caveats see the client asking.
pub(crate) async fn infer_scope(
    State(app): State<App>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    body: JsonBody,
) -> Answer {
    let (text, consumer_token) = body.parse::<InferScope>()?.fields()?;
    blocking(move || {
        let mut bearer = Bearer {
            peer_ip: Some(client.ip()),
            ..Bearer::default()
        };
        if let Some(consumer) = consumer_token {
            let consumer = proven_identity(&app.service, "consumerToken", &consumer, &bearer)?;
            bearer.consumer = Some(consumer);
        }
        let scope = app
            .service
            .infer_access_token_scope(&text, &bearer)
            .map_err(undecodable_as("token"))?;
        Ok(ok(scope_json(&scope)))
    })
    .await
}
