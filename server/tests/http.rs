//! The token service over real HTTP: a server on 127.0.0.1 (ephemeral port) and `ureq`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use base64::Engine as _;
use macaroon_mint::onedata::{
    provider_registration_token, InviteOptions, InvitePolicy, InviteType, OnedataToken,
    Persistence, Subject,
};
use macaroon_mint::{AuthContext, RootKey};
use macaroon_mint_server::store::SQLITE_FILE;
use macaroon_mint_server::{AdminStatus, Config, RegistrationPolicy, Server, SqliteStore, Store};
use serde_json::{json, Value};

const DOMAIN: &str = "onezone.test";
const ADMIN: (&str, &str) = ("admin", "admin-password");

fn unique_dir() -> PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir()
        .join(format!(
            "macaroon-mint-server-test-{}-{n}",
            std::process::id()
        ))
        .join("data")
}

struct TestServer {
    base: String,
    store: Arc<SqliteStore>,
    dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl TestServer {
    fn start(policy: RegistrationPolicy) -> TestServer {
        TestServer::start_in(unique_dir(), policy)
    }

    fn start_in(dir: PathBuf, policy: RegistrationPolicy) -> TestServer {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let store = Arc::new(SqliteStore::open(&dir).unwrap());
        let config = Config {
            data_dir: dir.clone(),
            domain: DOMAIN.to_owned(),
            registration_policy: policy,
            admin: Some((ADMIN.0.to_owned(), ADMIN.1.to_owned())),
        };
        let dyn_store: Arc<dyn Store> = store.clone();
        let server = runtime
            .block_on(Server::bind_with_store(
                "127.0.0.1:0".parse().unwrap(),
                config,
                dyn_store,
            ))
            .unwrap();
        let addr = server.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(server.run_until(async {
            let _ = rx.await;
        }));
        TestServer {
            base: format!("http://{addr}/api/v3/onezone"),
            store,
            dir,
            shutdown: Some(tx),
            runtime: Some(runtime),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn call(
        &self,
        method: &str,
        path: &str,
        auth: Option<(&str, &str)>,
        body: Option<Value>,
    ) -> (u16, Value) {
        call(&self.url(path), method, auth, body)
    }

    fn user_id(&self, username: &str) -> String {
        self.store.user_by_username(username).unwrap().unwrap().id
    }

    /// Creates a user through the API (as the admin); returns its id.
    fn create_user(&self, username: &str, password: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/users",
            Some(ADMIN),
            Some(json!({ "username": username, "password": password })),
        );
        assert_eq!(status, 201, "{body}");
        let id = body["id"].as_str().unwrap().to_owned();
        assert_eq!(body, json!({ "id": id }));
        id
    }

    /// Creates a space through the API as `auth`; returns its id.
    fn create_space(&self, auth: (&str, &str), name: &str) -> String {
        let (status, body) = self.call(
            "POST",
            "/user/spaces",
            Some(auth),
            Some(json!({ "name": name })),
        );
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
    }
}

fn basic(auth: (&str, &str)) -> String {
    let raw = format!("{}:{}", auth.0, auth.1);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn call(url: &str, method: &str, auth: Option<(&str, &str)>, body: Option<Value>) -> (u16, Value) {
    call_with_header(url, method, auth.map(|a| ("Authorization", basic(a))), body)
}

fn call_with_header(
    url: &str,
    method: &str,
    header: Option<(&str, String)>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = ureq::request(method, url);
    if let Some((name, value)) = header {
        request = request.set(name, &value);
    }
    let result = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match result {
        Ok(response) | Err(ureq::Error::Status(_, response)) => response,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let text = response.into_string().unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    };
    (status, json)
}

fn unauthorized() -> Value {
    json!({ "error": {
        "id": "unauthorized",
        "description": "You must authenticate yourself to perform this operation.",
    }})
}

fn forbidden() -> Value {
    json!({ "error": {
        "id": "forbidden",
        "description": "You are not authorized to perform this operation (insufficient privileges?).",
    }})
}

fn not_found() -> Value {
    json!({ "error": { "id": "notFound", "description": "The resource could not be found." }})
}

fn rop_path(user: &str) -> String {
    format!("/users/{user}/clusters/provider_registration_token")
}

fn ssp_path(space: &str) -> String {
    format!("/spaces/{space}/providers/token")
}

/// Takes the token text out of a `200 {"token": "…"}` answer.
fn token_of(status: u16, body: &Value) -> String {
    assert_eq!(status, 200, "{body}");
    let token = body["token"]
        .as_str()
        .expect("token is a string")
        .to_owned();
    assert_eq!(body, &json!({ "token": token }));
    token
}

/// Parses and verifies a token with the secret stored for it; checks the record.
fn verify_stored(
    server: &TestServer,
    text: &str,
    expected: InviteType,
    subject: &str,
    target: &str,
) -> macaroon_mint::onedata::InviteClaims {
    let token = OnedataToken::parse(text).unwrap();
    let id = token.identifier().as_v2().unwrap();
    assert_eq!(id.persistence(), Persistence::Named);
    assert_eq!(id.invite_kind(), Some(&expected));
    assert_eq!(id.invite_target(), Some(target));
    assert_eq!(id.subject(), &Subject::User(subject.to_owned()));
    let record = server.store.named_token(token.token_id()).unwrap().unwrap();
    assert_eq!(record.kind, expected.code());
    assert_eq!(record.subject, subject);
    assert_eq!(record.target, target);
    assert!(!record.revoked);
    assert_eq!(record.secret.len(), 64);
    assert!(record
        .secret
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    let claims = token
        .verify_invite(
            &RootKey::new(&record.secret),
            expected,
            &AuthContext::new(1_800_000_000),
            &InvitePolicy::default(),
        )
        .unwrap();
    assert_eq!(claims.location, DOMAIN);
    assert!(claims.caveats.is_empty());
    claims
}

#[test]
fn provider_registration_token_200_as_admin() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let admin = server.user_id(ADMIN.0);
    let (status, body) = server.call("POST", &rop_path(&alice), Some(ADMIN), None);
    let token = token_of(status, &body);
    let claims = verify_stored(
        &server,
        &token,
        InviteType::RegisterOneprovider,
        &admin,
        &alice,
    );
    assert_eq!(claims.parameters, "");
    // A body is ignored.
    let (status, body) = server.call(
        "POST",
        &rop_path(&alice),
        Some(ADMIN),
        Some(json!({ "anything": 1 })),
    );
    token_of(status, &body);
}

#[test]
fn provider_registration_token_open_policy_for_self_only() {
    let server = TestServer::start(RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let (status, body) = server.call("POST", &rop_path(&alice), Some(("alice", "pw-a")), None);
    let token = token_of(status, &body);
    verify_stored(
        &server,
        &token,
        InviteType::RegisterOneprovider,
        &alice,
        &alice,
    );
    let (status, body) = server.call("POST", &rop_path(&bob), Some(("alice", "pw-a")), None);
    assert_eq!((status, body), (403, forbidden()));
}

#[test]
fn provider_registration_token_403_when_restricted() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let (status, body) = server.call("POST", &rop_path(&alice), Some(("alice", "pw-a")), None);
    assert_eq!((status, body), (403, forbidden()));

    // Granting oz_providers_invite lets alice mint for anyone.
    let (status, body) = server.call(
        "PATCH",
        &format!("/users/{alice}/privileges"),
        Some(ADMIN),
        Some(json!({ "grant": ["oz_providers_invite"] })),
    );
    assert_eq!((status, body), (204, Value::Null));
    let admin = server.user_id(ADMIN.0);
    let (status, body) = server.call("POST", &rop_path(&admin), Some(("alice", "pw-a")), None);
    let token = token_of(status, &body);
    verify_stored(
        &server,
        &token,
        InviteType::RegisterOneprovider,
        &alice,
        &admin,
    );

    let (status, _) = server.call(
        "PATCH",
        &format!("/users/{alice}/privileges"),
        Some(ADMIN),
        Some(json!({ "revoke": ["oz_providers_invite"] })),
    );
    assert_eq!(status, 204);
    let (status, body) = server.call("POST", &rop_path(&admin), Some(("alice", "pw-a")), None);
    assert_eq!((status, body), (403, forbidden()));
}

#[test]
fn provider_registration_token_401() {
    let server = TestServer::start(RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let url = server.url(&rop_path(&alice));
    for auth in [None, Some(("alice", "wrong")), Some(("nobody", "pw-a"))] {
        assert_eq!(call(&url, "POST", auth, None), (401, unauthorized()));
    }
    for header in [
        ("Authorization", "Basic !!!".to_owned()),
        ("Authorization", "Bearer abc".to_owned()),
        ("X-Auth-Token", "abc".to_owned()),
    ] {
        assert_eq!(
            call_with_header(&url, "POST", Some(header), None),
            (401, unauthorized())
        );
    }
}

#[test]
fn provider_registration_token_404() {
    let server = TestServer::start(RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    for auth in [ADMIN, ("alice", "pw-a")] {
        let (status, body) = server.call("POST", &rop_path("no-such-user"), Some(auth), None);
        assert_eq!((status, body), (404, not_found()));
    }
    // Unknown credentials come first: 401, not 404.
    let (status, body) = server.call("POST", &rop_path("no-such-user"), None, None);
    assert_eq!((status, body), (401, unauthorized()));
}

#[test]
fn space_support_token_200_for_member_and_admin() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("alice", "pw-a")), None);
    let token = token_of(status, &body);
    let claims = verify_stored(&server, &token, InviteType::SupportSpace, &alice, &space);
    assert_eq!(claims.parameters, "ge");

    // The admin is not a member but holds oz_spaces_add_relationships.
    let admin = server.user_id(ADMIN.0);
    let (status, body) = server.call("POST", &ssp_path(&space), Some(ADMIN), None);
    let token = token_of(status, &body);
    verify_stored(&server, &token, InviteType::SupportSpace, &admin, &space);
}

#[test]
fn space_support_token_403() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("bob", "pw-b")), None);
    assert_eq!((status, body), (403, forbidden()));

    // bob may not grant himself the privilege.
    let privileges = format!("/spaces/{space}/users/{bob}/privileges");
    let grant = json!({ "grant": ["space_add_support"] });
    let (status, body) = server.call(
        "PATCH",
        &privileges,
        Some(("bob", "pw-b")),
        Some(grant.clone()),
    );
    assert_eq!((status, body), (403, forbidden()));

    // alice (creator: space_set_privileges) grants it, then revokes it.
    let (status, _) = server.call("PATCH", &privileges, Some(("alice", "pw-a")), Some(grant));
    assert_eq!(status, 204);
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("bob", "pw-b")), None);
    let token = token_of(status, &body);
    verify_stored(&server, &token, InviteType::SupportSpace, &bob, &space);
    let revoke = json!({ "revoke": ["space_add_support"] });
    let (status, _) = server.call("PATCH", &privileges, Some(("alice", "pw-a")), Some(revoke));
    assert_eq!(status, 204);
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("bob", "pw-b")), None);
    assert_eq!((status, body), (403, forbidden()));
}

#[test]
fn space_support_token_401() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let url = server.url(&ssp_path(&space));
    for auth in [None, Some(("alice", "wrong")), Some(("nobody", "x"))] {
        assert_eq!(call(&url, "POST", auth, None), (401, unauthorized()));
    }
}

#[test]
fn space_support_token_404() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    server.create_user("alice", "pw-a");
    for auth in [ADMIN, ("alice", "pw-a")] {
        let (status, body) = server.call("POST", &ssp_path("no-such-space"), Some(auth), None);
        assert_eq!((status, body), (404, not_found()));
    }
}

#[test]
fn verify_invite_token_checks_type_secret_and_revocation() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("alice", "pw-a")), None);
    let ssp = token_of(status, &body);
    let (status, body) = server.call("POST", &rop_path(&alice), Some(ADMIN), None);
    let rop = token_of(status, &body);
    let verify = |body: Value| server.call("POST", "/tokens/verify_invite_token", None, Some(body));

    // A space support token where a registration token is expected.
    assert_eq!(
        verify(json!({ "token": ssp, "expectedInviteType": "registerOneprovider" })),
        (
            400,
            json!({ "error": {
                "id": "notAnInviteToken",
                "details": { "expectedInviteType": "registerOneprovider" },
                "description": "Provided token is not an invite token of type \"registerOneprovider\".",
            }})
        )
    );

    // Accepted with its own type, given or not.
    let ssp_id = OnedataToken::parse(&ssp).unwrap().token_id().to_owned();
    let expected_claims = json!({
        "tokenId": ssp_id,
        "subject": format!("usr-{alice}"),
        "inviteType": "supportSpace",
        "target": space,
        "parameters": "ge",
        "persistence": { "type": "named" },
        "expiry": null,
        "location": DOMAIN,
        "caveats": [],
    });
    assert_eq!(
        verify(json!({ "token": ssp })),
        (200, expected_claims.clone())
    );
    assert_eq!(
        verify(json!({ "token": ssp, "expectedInviteType": "supportSpace" })),
        (200, expected_claims)
    );
    let (status, body) =
        verify(json!({ "token": rop, "expectedInviteType": "registerOneprovider" }));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["target"], json!(alice));
    assert_eq!(body["inviteType"], json!("registerOneprovider"));

    // A forged token: the stored token id, another secret.
    let rop_id = OnedataToken::parse(&rop).unwrap().token_id().to_owned();
    let options = InviteOptions {
        token_id: Some(rop_id.clone()),
        ..InviteOptions::default()
    };
    let admin = server.user_id(ADMIN.0);
    let forged = provider_registration_token(
        &RootKey::new("0".repeat(64)),
        DOMAIN,
        &admin,
        &alice,
        &options,
    )
    .unwrap();
    let invalid = json!({ "error": {
        "id": "tokenInvalid",
        "description": "Provided token is not valid.",
    }});
    assert_eq!(
        verify(json!({ "token": forged.token })),
        (400, invalid.clone())
    );

    // A token this server never issued.
    let unknown = provider_registration_token(
        &RootKey::new("1".repeat(64)),
        DOMAIN,
        &admin,
        &alice,
        &InviteOptions::default(),
    )
    .unwrap();
    assert_eq!(verify(json!({ "token": unknown.token })), (400, invalid));

    // Revoked.
    assert!(server.store.revoke_named_token(&rop_id).unwrap());
    assert_eq!(
        verify(json!({ "token": rop })),
        (
            400,
            json!({ "error": { "id": "tokenRevoked", "description": "Provided token has been revoked." }})
        )
    );

    // Bad input.
    assert_eq!(
        verify(json!({ "token": "not-a-token" })),
        (
            400,
            json!({ "error": {
                "id": "badToken",
                "description": "Provided token could not be understood by the server.",
            }})
        )
    );
    assert_eq!(
        verify(json!({})),
        (
            400,
            json!({ "error": {
                "id": "missingRequiredValue",
                "details": { "key": "token" },
                "description": "Missing required value: \"token\".",
            }})
        )
    );
    let (status, body) = verify(json!({ "token": ssp, "expectedInviteType": "rop" }));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueNotAllowed"));
    assert_eq!(body["error"]["details"]["key"], json!("expectedInviteType"));
}

#[test]
fn create_user_and_privileges_validate_input() {
    let server = TestServer::start(RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(ADMIN),
        Some(json!({ "username": "alice", "password": "x" })),
    );
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "error": {
                "id": "badValueIdentifierOccupied",
                "details": { "key": "username" },
                "description": "Bad value: provided \"username\" is already occupied.",
            }})
        )
    );
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(ADMIN),
        Some(json!({ "username": "carol", "password": 5 })),
    );
    assert_eq!(
        (status, body),
        (
            400,
            json!({ "error": {
                "id": "badValueString",
                "details": { "key": "password" },
                "description": "Bad value: provided \"password\" must be a non-empty string.",
            }})
        )
    );
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(("alice", "pw-a")),
        Some(json!({ "username": "carol", "password": "x" })),
    );
    assert_eq!((status, body), (403, forbidden()));

    let path = format!("/users/{alice}/privileges");
    let (status, body) = server.call(
        "PATCH",
        &path,
        Some(ADMIN),
        Some(json!({ "grant": ["oz_everything"] })),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueListNotAllowed"));
    assert_eq!(body["error"]["details"]["key"], json!("grant"));
    let (status, body) = server.call("PATCH", &path, Some(ADMIN), None);
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badMessage"));
    let (status, body) = server.call(
        "PATCH",
        &path,
        Some(("alice", "pw-a")),
        Some(json!({ "grant": ["oz_providers_invite"] })),
    );
    assert_eq!((status, body), (403, forbidden()));
    let (status, body) = server.call(
        "PATCH",
        "/users/no-such-user/privileges",
        Some(ADMIN),
        Some(json!({ "grant": [] })),
    );
    assert_eq!((status, body), (404, not_found()));
    let (status, body) = server.call("POST", "/no/such/route", None, None);
    assert_eq!((status, body), (404, not_found()));
}

#[test]
fn data_directory_is_created_and_admin_created_once() {
    let dir = unique_dir();
    assert!(!dir.exists());
    {
        let server = TestServer::start_in(dir.clone(), RegistrationPolicy::Restricted);
        assert!(dir.join(SQLITE_FILE).is_file());
        server.create_user("alice", "pw-a");
        // Keep the directory for the second start.
        std::mem::forget(server.dir.clone());
        let mut server = server;
        server.dir = PathBuf::new();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = Config {
        data_dir: dir.clone(),
        domain: DOMAIN.to_owned(),
        registration_policy: RegistrationPolicy::Restricted,
        admin: Some((ADMIN.0.to_owned(), "another password".to_owned())),
    };
    let server = runtime
        .block_on(Server::bind("127.0.0.1:0".parse().unwrap(), config))
        .unwrap();
    assert_eq!(server.admin_status(), AdminStatus::Existing);
    drop(server);
    let store = SqliteStore::open(&dir).unwrap();
    assert!(store.user_by_username("alice").unwrap().is_some());
    let admin = store.user_by_username(ADMIN.0).unwrap().unwrap();
    assert!(macaroon_mint_server::verify_password(
        ADMIN.1,
        &admin.password_hash
    ));
    assert!(admin.oz_privileges.contains("oz_providers_invite"));
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

#[test]
fn concurrent_requests_lose_nothing() {
    const REQUESTS: usize = 50;
    const THREADS: usize = 8;
    let server = Arc::new(TestServer::start(RegistrationPolicy::Open));
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (server, next) = (Arc::clone(&server), Arc::clone(&next));
            let (alice, space) = (alice.clone(), space.clone());
            std::thread::spawn(move || {
                let mut minted = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= REQUESTS {
                        return minted;
                    }
                    let path = if i % 2 == 0 {
                        rop_path(&alice)
                    } else {
                        ssp_path(&space)
                    };
                    let (status, body) = server.call("POST", &path, Some(("alice", "pw-a")), None);
                    assert_ne!(status, 500, "{body}");
                    minted.push((i, token_of(status, &body)));
                }
            })
        })
        .collect();
    let mut minted: Vec<(usize, String)> = workers
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    minted.sort();
    assert_eq!(minted.len(), REQUESTS);
    let mut ids = std::collections::BTreeSet::new();
    for (i, token) in &minted {
        let (kind, target) = if i % 2 == 0 {
            (InviteType::RegisterOneprovider, &alice)
        } else {
            (InviteType::SupportSpace, &space)
        };
        let claims = verify_stored(&server, token, kind, &alice, target);
        assert!(ids.insert(claims.token_id));
    }
    assert_eq!(ids.len(), REQUESTS);
}
