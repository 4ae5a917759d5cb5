//! The token service over real HTTP: a server on 127.0.0.1 (ephemeral port) and `ureq`.
//!
//! Every scenario runs against both backends: SQLite (always) and PostgreSQL (when
//! `MACAROON_MINT_TEST_DATABASE_URL` is set, as `.ci/run` does; each server gets a fresh schema).
//!
//! Requests that do not depend on one another are rows of a table ([`Case`], sent by
//! [`check_cases`]); steps that change what later ones see are written out one by one.

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{basic, send};
use macaroon_mint::onedata::{
    provider_registration_token, InviteOptions, InvitePolicy, InviteType, OnedataToken,
    Persistence, Subject, TokenType,
};
use macaroon_mint::{AuthContext, RootKey};
use macaroon_mint_server::store::{KeyProtection, Retirement, SQLITE_FILE};
use macaroon_mint_server::{
    AdminStatus, CacheSettings, Config, HttpLimits, PostgresStore, RegistrationPolicy, Server,
    SqliteStore, Store,
};
use serde_json::{json, Value};

const DOMAIN: &str = "onezone.test";
const ADMIN: (&str, &str) = ("admin", "admin-password");
/// The test clock starts here (2023-11-14T22:13:20Z) and moves only when a test says so.
const START: u64 = 1_700_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

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
    store: Arc<dyn Store>,
    dir: PathBuf,
    /// The PostgreSQL schema to drop when the server stops.
    pg_schema: Option<PgSchema>,
    clock: Arc<AtomicU64>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// A PostgreSQL URL and a test schema in it.
type PgSchema = (String, String);

/// Opens a fresh store of `backend` (with the PostgreSQL schema to drop afterwards), or `None`
/// when PostgreSQL is not configured.
fn open_store(
    backend: Backend,
    dir: &std::path::Path,
) -> Option<(Arc<dyn Store>, Option<PgSchema>)> {
    match backend {
        Backend::Sqlite => Some((
            Arc::new(SqliteStore::open(dir, KeyProtection::Plain).unwrap()),
            None,
        )),
        Backend::Postgres => {
            let url = common::postgres_url()?;
            let schema = common::fresh_pg_schema_name();
            let store = Arc::new(
                PostgresStore::connect_in_schema(&url, &schema, KeyProtection::Plain).unwrap(),
            );
            Some((store, Some((url, schema))))
        }
    }
}

impl TestServer {
    /// A server on a fresh store; `None` (the test is skipped) for an unconfigured PostgreSQL.
    fn start(backend: Backend, policy: RegistrationPolicy) -> Option<TestServer> {
        let dir = unique_dir();
        let (store, pg_schema) = open_store(backend, &dir)?;
        let mut server = TestServer::start_with(store, dir, policy);
        server.pg_schema = pg_schema;
        Some(server)
    }

    /// Waits until the service has applied the store's whole change feed: a write made on
    /// `self.store` directly (as another process, e.g. `keys retire`, would) reaches the
    /// service's verification cache through the feed, not at once.
    fn settle(&self) {
        let head = self.store.feed_revision().unwrap();
        let url = format!("{}/metrics", self.base.trim_end_matches("/api/v3/onezone"));
        let applied = format!("macaroon_mint_feed_revision {head}");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let text = ureq::get(&url).call().unwrap().into_string().unwrap();
            if text.lines().any(|line| line == applied) {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the service never applied feed revision {head}"
            );
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    fn start_with(store: Arc<dyn Store>, dir: PathBuf, policy: RegistrationPolicy) -> TestServer {
        TestServer::start_with_cache(store, dir, policy, CacheSettings::default())
    }

    fn start_with_cache(
        store: Arc<dyn Store>,
        dir: PathBuf,
        policy: RegistrationPolicy,
        cache: CacheSettings,
    ) -> TestServer {
        common::logs::capture();
        common::logs::secret(ADMIN.1);
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let clock = Arc::new(AtomicU64::new(START));
        let reading = Arc::clone(&clock);
        let config = Config {
            data_dir: dir.clone(),
            domain: DOMAIN.to_owned(),
            registration_policy: policy,
            admin: Some((ADMIN.0.to_owned(), ADMIN.1.to_owned())),
            temporary_max_ttl: 3600,
            limits: test_limits(),
            clock: Arc::new(move || reading.load(Ordering::SeqCst)),
            cache,
            ..Config::new()
        };
        let server = runtime
            .block_on(Server::bind_with_store(
                "127.0.0.1:0".parse().unwrap(),
                config,
                Arc::clone(&store),
            ))
            .unwrap();
        let addr = server.local_addr().unwrap();
        assert!(addr.ip().is_loopback());
        register_root_keys(&*store);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        runtime.spawn(server.run_until(async {
            let _ = rx.await;
        }));
        TestServer {
            base: format!("http://{addr}/api/v3/onezone"),
            store,
            dir,
            pg_schema: None,
            clock,
            shutdown: Some(tx),
            runtime: Some(runtime),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn advance(&self, seconds: u64) {
        self.clock.fetch_add(seconds, Ordering::SeqCst);
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

    /// A call authenticated by a token in `header` (`X-Auth-Token` or `Authorization`).
    fn call_token(
        &self,
        method: &str,
        path: &str,
        header: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let value = if header.eq_ignore_ascii_case("authorization") {
            format!("Bearer {token}")
        } else {
            token.to_owned()
        };
        call_with_header(&self.url(path), method, Some((header, value)), body)
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

    /// A temporary access token of `auth`'s user with these caveats (plus an expiry).
    fn temporary_token(&self, auth: (&str, &str), caveats: Value) -> String {
        let mut all = vec![json!({ "type": "time", "validUntil": self.now() + 600 })];
        all.extend(caveats.as_array().unwrap().iter().cloned());
        let (status, body) = self.call(
            "POST",
            "/user/tokens/temporary",
            Some(auth),
            Some(json!({ "type": { "accessToken": {} }, "caveats": all })),
        );
        assert_eq!(status, 201, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    fn now(&self) -> u64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// The value of a series of `GET /metrics` (0 when absent).
    fn metric(&self, series: &str) -> f64 {
        let url = format!("{}/metrics", self.base.trim_end_matches("/api/v3/onezone"));
        let text = ureq::get(&url).call().unwrap().into_string().unwrap();
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.parse().unwrap())
    }

    /// Another handle on this server's database, as a second instance would open.
    fn second_handle(&self) -> Arc<dyn Store> {
        match &self.pg_schema {
            Some((url, schema)) => Arc::new(
                PostgresStore::connect_in_schema(url, schema, KeyProtection::Plain).unwrap(),
            ),
            None => Arc::new(SqliteStore::open(&self.dir, KeyProtection::Plain).unwrap()),
        }
    }
}

/// Polls `done` until it holds (at most 10 seconds); how long it took.
#[track_caller]
fn eventually(what: &str, mut done: impl FnMut() -> bool) -> std::time::Duration {
    let started = std::time::Instant::now();
    while !done() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(10),
            "never happened: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    started.elapsed()
}

const CACHE_HITS: &str = "macaroon_mint_cache_lookups_total{result=\"hit\"}";

/// Registers the store's root keys (hex) as secrets the logs must not hold.
fn register_root_keys(store: &dyn Store) {
    for key in store.root_keys().unwrap_or_default() {
        common::logs::secret(&hex::encode(&*key.material));
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        register_root_keys(&*self.store);
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(5));
        }
        // Every server of the run checks what was logged so far against the secrets the run
        // handed out so far: the last one to stop has checked the whole run.
        if !std::thread::panicking() {
            common::logs::check_no_secret_logged();
        }
        if let Some(parent) = self.dir.parent() {
            let _ = std::fs::remove_dir_all(parent);
        }
        if let Some((url, schema)) = self.pg_schema.take() {
            common::drop_pg_schema(&url, &schema);
        }
    }
}

/// The HTTP limits of the test servers: the defaults, but without password rate limits (the
/// suites log in with passwords far more often than people do; `tests/abuse.rs` tests the
/// limits themselves).
fn test_limits() -> HttpLimits {
    let mut limits = HttpLimits::default();
    limits.passwords.per_ip = None;
    limits.passwords.per_username = None;
    // CI machines are slow and the suites run in parallel: a password check may wait long.
    limits.passwords.max_wait = std::time::Duration::from_secs(60);
    limits
}

/// Runs each scenario `fn name(backend: Backend)` once per backend, as `sqlite::name` and
/// `postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[test] fn $name() { super::$name(super::Backend::Sqlite) })*
        }
        mod postgres {
            $(#[test] fn $name() { super::$name(super::Backend::Postgres) })*
        }
    };
}

/// Starts a server, or skips the scenario (PostgreSQL not configured).
macro_rules! server {
    ($backend:expr, $policy:expr) => {
        match TestServer::start($backend, $policy) {
            Some(server) => server,
            None => return,
        }
    };
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
    let (status, _, json) = send(request, body);
    (status, json)
}

/// One row of a request table: method, path, basic credentials, body, and the answer expected
/// (the status and the exact JSON body).
type Case<'a> = (
    &'a str,
    String,
    Option<(&'a str, &'a str)>,
    Option<Value>,
    (u16, Value),
);

/// Sends each row, in order, through [`TestServer::call`] (so the swagger checks every answer)
/// and compares the answer; a failure names the row. For requests that do not depend on one
/// another: a step that changes what a later one sees is clearer written out.
#[track_caller]
fn check_cases(server: &TestServer, cases: Vec<Case>) {
    for (method, path, auth, body, expected) in cases {
        let who = auth.map_or_else(
            || "without credentials".to_owned(),
            |(user, password)| format!("as {user}:{password}"),
        );
        let sent = body
            .as_ref()
            .map_or_else(|| "no body".to_owned(), |body| format!("body {body}"));
        assert_eq!(
            server.call(method, &path, auth, body),
            expected,
            "{method} {path} {who}, {sent}"
        );
    }
}

fn unauthorized() -> Value {
    json!({ "error": {
        "id": "unauthorized",
        "description": "You must authenticate yourself to perform this operation.",
    }})
}

fn bad_token() -> Value {
    json!({
        "id": "badToken",
        "description": "Provided token could not be understood by the server.",
    })
}

/// A 401 whose `details.authError` is `cause`.
fn unauthorized_because(cause: Value) -> Value {
    let mut body = unauthorized();
    body["error"]["details"] = json!({ "authError": cause });
    body
}

fn forbidden() -> Value {
    json!({ "error": {
        "id": "forbidden",
        "description": "You are not authorized to perform this operation (insufficient privileges?).",
    }})
}

/// The 401 for a wrong username or password.
fn bad_credentials() -> Value {
    unauthorized_because(json!({
        "id": "badBasicCredentials",
        "description": "Invalid basic authorization credentials.",
    }))
}

/// The 401 for `auth`: none at all, or wrong ones.
fn refused(auth: Option<(&str, &str)>) -> Value {
    match auth {
        None => unauthorized(),
        Some(_) => bad_credentials(),
    }
}

fn forbidden_because(hint: &str) -> Value {
    let mut body = forbidden();
    body["error"]["details"] = json!({ "hint": hint });
    body
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
    let root = server.store.root_key(record.key_id).unwrap().unwrap();
    let secret = macaroon_mint_server::keys::named_token_secret(&root, &record.id).unwrap();
    let context = AuthContext::new().with_ip("127.0.0.1".parse().unwrap());
    let claims = token
        .verify_invite(
            &secret,
            expected,
            server.now(),
            &context,
            &InvitePolicy::default(),
        )
        .unwrap();
    assert_eq!(claims.location, DOMAIN);
    // The token carries exactly the caveats its record lists (inherited from the token that
    // minted it; none for a password).
    let caveats: Vec<String> = claims.caveats.iter().map(ToString::to_string).collect();
    assert_eq!(caveats, record.caveats);
    claims
}

fn provider_registration_token_200_as_admin(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
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

fn provider_registration_token_open_policy_for_self_only(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
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

fn provider_registration_token_403_when_restricted(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
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

fn provider_registration_token_401(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let url = server.url(&rop_path(&alice));
    for auth in [None, Some(("alice", "wrong")), Some(("nobody", "pw-a"))] {
        assert_eq!(
            call(&url, "POST", auth, None),
            (401, refused(auth)),
            "POST {url} as {auth:?}"
        );
    }
    // Other schemes and headers: unreadable basic credentials are wrong ones, an unknown
    // scheme is no credentials at all, and every token header is read as a token.
    let not_a_token = unauthorized_because(bad_token());
    for (header, value, expected) in [
        ("Authorization", "Basic !!!", bad_credentials()),
        ("Authorization", "Digest x", unauthorized()),
        ("Authorization", "Bearer abc", not_a_token.clone()),
        ("X-Auth-Token", "abc", not_a_token.clone()),
        ("Macaroon", "abc", not_a_token),
    ] {
        assert_eq!(
            call_with_header(&url, "POST", Some((header, value.to_owned())), None),
            (401, expected),
            "POST {url} with {header}: {value}"
        );
    }
}

fn provider_registration_token_404(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    let (path, a) = (rop_path("no-such-user"), Some(("alice", "pw-a")));
    check_cases(
        &server,
        vec![
            ("POST", path.clone(), Some(ADMIN), None, (404, not_found())),
            ("POST", path.clone(), a, None, (404, not_found())),
            // Without credentials the user is looked up first (Onezone's order): 404;
            // credentials that fail come first: 401.
            ("POST", path.clone(), None, None, (404, not_found())),
            (
                "POST",
                path,
                Some(("alice", "no")),
                None,
                (401, bad_credentials()),
            ),
        ],
    );
}

fn space_support_token_200_for_member_and_admin(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
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

fn space_support_token_403(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
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

fn space_support_token_401(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let url = server.url(&ssp_path(&space));
    for auth in [None, Some(("alice", "wrong")), Some(("nobody", "x"))] {
        assert_eq!(call(&url, "POST", auth, None), (401, refused(auth)));
    }
}

fn space_support_token_404(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    server.create_user("alice", "pw-a");
    for auth in [ADMIN, ("alice", "pw-a")] {
        let (status, body) = server.call("POST", &ssp_path("no-such-space"), Some(auth), None);
        assert_eq!((status, body), (404, not_found()));
    }
}

fn verify_invite_token_checks_type_secret_and_revocation(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let admin = server.user_id(ADMIN.0);
    let space = server.create_space(("alice", "pw-a"), "space one");
    let (status, body) = server.call("POST", &ssp_path(&space), Some(("alice", "pw-a")), None);
    let ssp = token_of(status, &body);
    let ssp_id = OnedataToken::parse(&ssp).unwrap().token_id().to_owned();
    let (status, body) = server.call("POST", &rop_path(&alice), Some(ADMIN), None);
    let rop = token_of(status, &body);
    let rop_id = OnedataToken::parse(&rop).unwrap().token_id().to_owned();
    // A forged token: the stored token id, another secret.
    let options = InviteOptions {
        token_id: Some(rop_id.clone()),
        ..InviteOptions::default()
    };
    let forged = provider_registration_token(
        &RootKey::new("0".repeat(64)),
        DOMAIN,
        &admin,
        &alice,
        &options,
    )
    .unwrap();
    // A token this server never issued.
    let unknown = provider_registration_token(
        &RootKey::new("1".repeat(64)),
        DOMAIN,
        &admin,
        &alice,
        &InviteOptions::default(),
    )
    .unwrap();

    let verify = |body: Value, expected: (u16, Value)| -> Case<'static> {
        (
            "POST",
            "/tokens/verify_invite_token".into(),
            None,
            Some(body),
            expected,
        )
    };
    // Onezone's VerifyTokenResponse: the subject, and no expiry (ttl null).
    let claims = |user: &str| json!({ "subject": { "type": "user", "id": user }, "ttl": null });
    let invalid = error("tokenInvalid", None, "Provided token is not valid.");
    check_cases(
        &server,
        vec![
            // A space support token where a registration token is expected.
            verify(
                json!({ "token": ssp, "expectedInviteType": "registerOneprovider" }),
                (
                    400,
                    json!({ "error": {
                        "id": "notAnInviteToken",
                        "details": {
                            "expectedInviteType": "registerOneprovider",
                            "received": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } },
                        },
                        "description": "Provided token is not an invite token of type \"registerOneprovider\".",
                    }}),
                ),
            ),
            // Accepted with its own type, given or not.
            verify(json!({ "token": ssp }), (200, claims(&alice))),
            verify(
                json!({ "token": ssp, "expectedInviteType": "supportSpace" }),
                (200, claims(&alice)),
            ),
            verify(
                json!({ "token": rop, "expectedInviteType": "registerOneprovider" }),
                (200, claims(&admin)),
            ),
            // What the token says about itself, unverified.
            (
                "POST",
                "/tokens/examine".into(),
                None,
                Some(json!({ "token": ssp })),
                (
                    200,
                    json!({
                        "onezoneDomain": DOMAIN,
                        "id": ssp_id,
                        "persistence": "named",
                        "subject": { "type": "user", "id": alice },
                        "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } },
                        "caveats": [],
                    }),
                ),
            ),
            verify(json!({ "token": forged.token }), (400, invalid.clone())),
            verify(json!({ "token": unknown.token }), (400, invalid)),
            // Bad input.
            verify(
                json!({ "token": "not-a-token" }),
                (
                    400,
                    error(
                        "badValueToken",
                        Some(json!({ "key": "token", "tokenError": bad_token() })),
                        "Bad value: provided \"token\" is not a valid token.",
                    ),
                ),
            ),
            verify(
                json!({}),
                (
                    400,
                    error(
                        "missingRequiredValue",
                        Some(json!({ "key": "token" })),
                        "Missing required value: \"token\".",
                    ),
                ),
            ),
        ],
    );
    let (status, body) = server.call(
        "POST",
        "/tokens/verify_invite_token",
        None,
        Some(json!({ "token": ssp, "expectedInviteType": "rop" })),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueInviteType"));
    assert_eq!(
        body["error"]["details"],
        json!({ "key": "expectedInviteType" })
    );

    // Revoked through the API by its subject (the admin issued it).
    let (status, body) = server.call(
        "PATCH",
        &format!("/tokens/named/{rop_id}"),
        Some(("alice", "pw-a")),
        Some(json!({ "revoked": true })),
    );
    assert_eq!((status, body), (403, forbidden()));
    let (status, body) = server.call(
        "PATCH",
        &format!("/tokens/named/{rop_id}"),
        Some(ADMIN),
        Some(json!({ "revoked": true })),
    );
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(
        server.call(
            "POST",
            "/tokens/verify_invite_token",
            None,
            Some(json!({ "token": rop }))
        ),
        (
            400,
            json!({ "error": { "id": "tokenRevoked", "description": "Provided token has been revoked." }})
        )
    );
}

fn create_user_and_privileges_validate_input(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let a = Some(("alice", "pw-a"));
    let path = format!("/users/{alice}/privileges");
    check_cases(
        &server,
        vec![
            (
                "POST",
                "/users".into(),
                Some(ADMIN),
                Some(json!({ "username": "alice", "password": "x" })),
                (
                    400,
                    error(
                        "badValueIdentifierOccupied",
                        Some(json!({ "key": "username" })),
                        "Bad value: provided \"username\" is already occupied.",
                    ),
                ),
            ),
            (
                "POST",
                "/users".into(),
                Some(ADMIN),
                Some(json!({ "username": "carol", "password": 5 })),
                (
                    400,
                    error(
                        "badValueString",
                        Some(json!({ "key": "password" })),
                        "Bad value: provided \"password\" must be a non-empty string.",
                    ),
                ),
            ),
            (
                "POST",
                "/users".into(),
                a,
                Some(json!({ "username": "carol", "password": "x" })),
                (403, forbidden()),
            ),
            // An empty change.
            (
                "PATCH",
                path.clone(),
                Some(ADMIN),
                Some(json!({})),
                (
                    400,
                    error(
                        "missingAtLeastOneValue",
                        Some(json!({ "keys": ["grant", "revoke"] })),
                        "Missing data, you must provide at least one of: grant, revoke.",
                    ),
                ),
            ),
            (
                "PATCH",
                path.clone(),
                a,
                Some(json!({ "grant": ["oz_providers_invite"] })),
                (403, forbidden()),
            ),
            (
                "PATCH",
                "/users/no-such-user/privileges".into(),
                Some(ADMIN),
                Some(json!({ "grant": [] })),
                (404, not_found()),
            ),
            (
                "POST",
                "/no/such/route".into(),
                None,
                None,
                (404, not_found()),
            ),
        ],
    );

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
    assert_eq!(body["error"]["id"], json!("malformedData"));
    // A value that is no list of names.
    for grant in [json!("oz_users_create"), json!([7]), json!({})] {
        let (status, body) =
            server.call("PATCH", &path, Some(ADMIN), Some(json!({ "grant": grant })));
        assert_eq!(status, 400);
        assert_eq!(
            body["error"]["id"],
            json!("badValueListOfStrings"),
            "{grant}"
        );
        assert_eq!(body["error"]["details"], json!({ "key": "grant" }));
    }
}

#[test]
fn data_directory_is_created_and_admin_created_once() {
    let dir = unique_dir();
    assert!(!dir.exists());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let config = |password: &str| Config {
        data_dir: dir.clone(),
        domain: DOMAIN.to_owned(),
        admin: Some((ADMIN.0.to_owned(), password.to_owned())),
        ..Config::new()
    };
    let server = runtime
        .block_on(Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            config(ADMIN.1),
        ))
        .unwrap();
    assert_eq!(server.admin_status(), AdminStatus::Created);
    assert!(dir.join(SQLITE_FILE).is_file());
    drop(server);
    let server = runtime
        .block_on(Server::bind(
            "127.0.0.1:0".parse().unwrap(),
            config("another password"),
        ))
        .unwrap();
    assert_eq!(server.admin_status(), AdminStatus::Existing);
    drop(server);
    let store = SqliteStore::open(&dir, KeyProtection::Plain).unwrap();
    let admin = store.user_by_username(ADMIN.0).unwrap().unwrap();
    assert!(macaroon_mint_server::verify_password(
        ADMIN.1,
        &admin.password_hash
    ));
    assert!(admin.oz_privileges.contains("oz_providers_invite"));
    // One root key, created on the first start and kept on the second.
    assert_eq!(store.root_keys().unwrap().len(), 1);
    let _ = std::fs::remove_dir_all(dir.parent().unwrap());
}

fn concurrent_requests_lose_nothing(backend: Backend) {
    const REQUESTS: usize = 50;
    const THREADS: usize = 8;
    let server = Arc::new(server!(backend, RegistrationPolicy::Open));
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let token = Arc::new(server.temporary_token(("alice", "pw-a"), json!([])));
    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let (server, next, token) =
                (Arc::clone(&server), Arc::clone(&next), Arc::clone(&token));
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
                    // Half with basic auth, half with alice's access token.
                    let (status, body) = if i % 4 < 2 {
                        server.call("POST", &path, Some(("alice", "pw-a")), None)
                    } else {
                        server.call_token("POST", &path, "X-Auth-Token", &token, None)
                    };
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

/// The 401 for a caveat that does not hold; `details.caveat` is the caveat as Onezone's JSON
/// (see `caveat_json`'s own tests).
fn caveat_unverified(caveat: &str) -> Value {
    unauthorized_because(json!({
        "id": "tokenCaveatUnverified",
        "details": { "caveat": macaroon_mint_server::http::caveats::caveat_json(caveat) },
        "description": format!("Token caveat unverified: \"{caveat}\"."),
    }))
}

fn token_revoked() -> Value {
    json!({ "id": "tokenRevoked", "description": "Provided token has been revoked." })
}

fn token_invalid() -> Value {
    json!({ "id": "tokenInvalid", "description": "Provided token is not valid." })
}

fn who_am_i(server: &TestServer, header: &str, token: &str) -> (u16, Value) {
    server.call_token("GET", "/user", header, token, None)
}

fn token_auth_mints_both_token_kinds(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space one");
    let token = server.temporary_token(
        ("alice", "pw-a"),
        json!([
            { "type": "ip", "whitelist": ["127.0.0.0/8"] },
            { "type": "interface", "interface": "rest" },
            "api = ozw/all/*.*.*:*",
        ]),
    );
    let parsed = OnedataToken::parse(&token).unwrap();
    assert_eq!(
        parsed.identifier().as_v2().unwrap().persistence(),
        Persistence::Temporary { generation: 1 }
    );
    // Onezone's UserProtectedInfo: what the service stores, defaults for the rest.
    let alice_info = json!({
        "userId": alice,
        "fullName": "alice",
        "username": "alice",
        "linkedAccounts": [],
        "emails": [],
        "basicAuthEnabled": true,
        "blocked": false,
        "creationTime": START,
    });
    for header in ["X-Auth-Token", "Authorization", "Macaroon"] {
        assert_eq!(who_am_i(&server, header, &token), (200, alice_info.clone()));
    }
    // Invites minted with a token carry its caveats; an invite cannot carry `interface` or
    // `api` caveats, so this token may not mint one (it would be broader than the token).
    let (status, body) = server.call_token("POST", &rop_path(&alice), "X-Auth-Token", &token, None);
    assert_eq!(
        (status, body),
        (
            403,
            forbidden_because(
                "the authenticating token has a interface caveat, which an invite token cannot \
                 carry (it would be broader than the token); use a token without interface \
                 caveats or a password"
            )
        )
    );
    let token = server.temporary_token(
        ("alice", "pw-a"),
        json!([{ "type": "ip", "whitelist": ["127.0.0.0/8"] }]),
    );
    let (status, body) = server.call_token("POST", &rop_path(&alice), "X-Auth-Token", &token, None);
    let rop = token_of(status, &body);
    let claims = verify_stored(
        &server,
        &rop,
        InviteType::RegisterOneprovider,
        &alice,
        &alice,
    );
    // It inherited the minting token's caveats: its expiry and its addresses.
    let caveats: Vec<String> = claims.caveats.iter().map(ToString::to_string).collect();
    assert_eq!(
        caveats,
        [
            format!("time < {}", server.now() + 600),
            "ip = 127.0.0.0/8".into()
        ]
    );
    let (status, body) =
        server.call_token("POST", &ssp_path(&space), "Authorization", &token, None);
    let ssp = token_of(status, &body);
    verify_stored(&server, &ssp, InviteType::SupportSpace, &alice, &space);

    // Token auth is authentication like any other: 404 and 403 still apply.
    let (status, body) = server.call_token(
        "POST",
        &ssp_path("no-such-space"),
        "X-Auth-Token",
        &token,
        None,
    );
    assert_eq!((status, body), (404, not_found()));
    let admin = server.user_id(ADMIN.0);
    let (status, body) = server.call_token("POST", &rop_path(&admin), "X-Auth-Token", &token, None);
    assert_eq!((status, body), (403, forbidden()));
}

fn token_caveats_are_checked_against_the_request(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");

    let elsewhere = server.temporary_token(auth, json!(["ip = 10.0.0.0/8"]));
    let oneclient = server.temporary_token(
        auth,
        json!([{ "type": "interface", "interface": "oneclient" }]),
    );
    // A provider-only token (service caveat): this request comes from no service.
    let provider_only =
        server.temporary_token(auth, json!([{ "type": "service", "whitelist": ["opw-*"] }]));
    // Attenuation by the holder is honoured: a caveat appended to a valid token is checked too.
    let good = server.temporary_token(auth, json!([]));
    let attenuated = |caveat: &str| {
        macaroon_mint::Macaroon::parse(&good)
            .unwrap()
            .with_first_party(caveat)
            .unwrap()
            .serialize(macaroon_mint::Format::Onedata)
            .unwrap()
    };
    let narrowed = attenuated("ip = 192.0.2.0/24");
    for (token, caveat) in [
        (&elsewhere, "ip = 10.0.0.0/8"),
        (&oneclient, "interface = oneclient"),
        (&provider_only, "service = opw-*"),
        (&narrowed, "ip = 192.0.2.0/24"),
    ] {
        assert_eq!(
            who_am_i(&server, "X-Auth-Token", token),
            (401, caveat_unverified(caveat)),
            "GET /user with a token carrying {caveat}"
        );
    }
    // A caveat nobody can check fails closed, by name.
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &attenuated("colour = red")),
        (
            401,
            unauthorized_because(json!({
                "id": "tokenCaveatUnknown",
                "details": { "caveat": "colour = red" },
                "description": "Unknown caveat: \"colour = red\".",
            }))
        )
    );

    // api caveats: read-only access to users may read the user, not mint invites.
    let read_users = server.temporary_token(
        auth,
        json!([{ "type": "api", "whitelist": ["ozw/get/user.*.*"] }]),
    );
    let (status, _) = who_am_i(&server, "X-Auth-Token", &read_users);
    assert_eq!(status, 200);
    let (status, body) =
        server.call_token("POST", &rop_path(&alice), "X-Auth-Token", &read_users, None);
    assert_eq!(
        (status, body),
        (401, caveat_unverified("api = ozw/get/user.*.*"))
    );
}

fn expired_tokens_are_rejected(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    let temporary = server.temporary_token(("alice", "pw-a"), json!([]));
    let expiry = server.now() + 600;
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        Some(("alice", "pw-a")),
        Some(json!({ "name": "short", "caveats": [format!("time < {}", server.now() + 60)] })),
    );
    assert_eq!(status, 201, "{body}");
    let named = body["token"].as_str().unwrap().to_owned();
    assert_eq!(who_am_i(&server, "X-Auth-Token", &named).0, 200);

    server.advance(60);
    let named_caveat = format!("time < {}", server.now());
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &named),
        (401, caveat_unverified(&named_caveat))
    );
    assert_eq!(who_am_i(&server, "X-Auth-Token", &temporary).0, 200);
    server.advance(539);
    assert_eq!(who_am_i(&server, "X-Auth-Token", &temporary).0, 200);
    server.advance(1);
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &temporary),
        (401, caveat_unverified(&format!("time < {expiry}")))
    );
}

fn temporary_tokens_need_a_bounded_expiry(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    let create = |body: Value| {
        server.call(
            "POST",
            "/user/tokens/temporary",
            Some(("alice", "pw-a")),
            Some(body),
        )
    };
    let required = json!({ "error": {
        "id": "tokenTimeCaveatRequired",
        "details": { "maxTtl": 3600 },
        "description": "You must specify a time caveat with TTL not exceeding 3600 seconds for a temporary token.",
    }});
    assert_eq!(create(json!({})), (400, required.clone()));
    assert_eq!(
        create(json!({ "caveats": [{ "type": "time", "validUntil": server.now() + 3601 }] })),
        (400, required)
    );
    let (status, body) =
        create(json!({ "caveats": [{ "type": "time", "validUntil": server.now() + 3600 }] }));
    assert_eq!(status, 201, "{body}");
    assert_eq!(body.as_object().unwrap().len(), 1);

    let (status, body) = create(json!({ "type": { "inviteToken": {} }, "caveats": [] }));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueTokenType"));
    let (status, body) = create(json!({ "caveats": ["time < 1", "colour = red"] }));
    assert_eq!(status, 400);
    assert_eq!(
        body["error"]["details"],
        json!({ "caveat": "colour = red" })
    );
    let (status, body) = create(json!({ "caveats": ["authorization = none"] }));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueCaveat"));
    let (status, body) = server.call("POST", "/user/tokens/temporary", None, Some(json!({})));
    assert_eq!((status, body), (401, unauthorized()));
}

fn revoked_tokens_are_rejected(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let auth = ("alice", "pw-a");

    // Named access token: revoke, then un-revoke.
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "ci", "type": { "accessToken": {} } })),
    );
    assert_eq!(status, 201, "{body}");
    let (id, named) = (
        body["tokenId"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(OnedataToken::parse(&named).unwrap().token_id(), id);
    assert_eq!(who_am_i(&server, "X-Auth-Token", &named).0, 200);
    let revoke = |auth: (&str, &str), revoked: Value| {
        server.call(
            "PATCH",
            &format!("/tokens/named/{id}"),
            Some(auth),
            Some(json!({ "revoked": revoked })),
        )
    };
    assert_eq!(revoke(("bob", "pw-b"), json!(true)), (403, forbidden()));
    let (status, body) = revoke(auth, json!("yes"));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueBoolean"));
    assert_eq!(revoke(auth, json!(true)), (204, Value::Null));
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &named),
        (401, unauthorized_because(token_revoked()))
    );
    // A revoked token cannot un-revoke itself.
    let (status, _) = server.call_token(
        "PATCH",
        &format!("/tokens/named/{id}"),
        "X-Auth-Token",
        &named,
        Some(json!({ "revoked": false })),
    );
    assert_eq!(status, 401);
    // Nor can another token of the owner (it could bring back a stronger one)...
    let other = server.temporary_token(auth, json!([]));
    assert_eq!(
        server.call_token(
            "PATCH",
            &format!("/tokens/named/{id}"),
            "X-Auth-Token",
            &other,
            Some(json!({ "revoked": false })),
        ),
        (
            403,
            forbidden_because("a token cannot un-revoke a token; log in with a password")
        )
    );
    // ...but the owner with a password can, as in Onezone (and revokes it again here).
    assert_eq!(revoke(auth, json!(false)), (204, Value::Null));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &named).0, 200);
    assert_eq!(revoke(auth, json!(true)), (204, Value::Null));
    // A forgery carrying the revoked token's id learns nothing about it.
    let forged = macaroon_mint::Macaroon::mint(
        &RootKey::new("f".repeat(64)),
        DOMAIN,
        OnedataToken::parse(&named).unwrap().macaroon().identifier(),
    )
    .unwrap()
    .serialize(macaroon_mint::Format::Onedata)
    .unwrap();
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &forged),
        (401, unauthorized_because(token_invalid()))
    );
    assert_eq!(revoke(ADMIN, json!(false)), (204, Value::Null));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &named).0, 200);
    let (status, body) = server.call(
        "PATCH",
        "/tokens/named/no-such-token",
        Some(auth),
        Some(json!({ "revoked": true })),
    );
    assert_eq!((status, body), (404, not_found()));

    // Names are unique per user.
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "ci" })),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueIdentifierOccupied"));
    assert_eq!(body["error"]["details"], json!({ "key": "name" }));
    let (status, _) = server.call(
        "POST",
        "/user/tokens/named",
        Some(("bob", "pw-b")),
        Some(json!({ "name": "ci" })),
    );
    assert_eq!(status, 201);

    // Temporary tokens: bumping the generation revokes them all, new ones work.
    let old = server.temporary_token(auth, json!([]));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &old).0, 200);
    let (status, body) = server.call("DELETE", "/user/tokens/temporary", Some(auth), None);
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &old),
        (401, unauthorized_because(token_revoked()))
    );
    let new = server.temporary_token(auth, json!([]));
    assert_eq!(
        OnedataToken::parse(&new)
            .unwrap()
            .identifier()
            .as_v2()
            .unwrap()
            .persistence(),
        Persistence::Temporary { generation: 2 }
    );
    assert_eq!(who_am_i(&server, "X-Auth-Token", &new).0, 200);
    // By an admin, for another user; not by another user.
    let path = format!("/users/{alice}/tokens/temporary");
    assert_eq!(
        server.call("DELETE", &path, Some(("bob", "pw-b")), None),
        (403, forbidden())
    );
    assert_eq!(
        server.call("DELETE", &path, Some(ADMIN), None),
        (204, Value::Null)
    );
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &new),
        (401, unauthorized_because(token_revoked()))
    );
    assert_eq!(
        server.call(
            "DELETE",
            "/users/nobody/tokens/temporary",
            Some(ADMIN),
            None
        ),
        (404, not_found())
    );
    let _ = bob;
}

fn forged_and_wrong_kind_tokens_are_rejected(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let good = server.temporary_token(("alice", "pw-a"), json!([]));
    let parsed = OnedataToken::parse(&good).unwrap();
    let identifier = parsed.macaroon().identifier().to_vec();

    // The same identifier under another key.
    let forged = macaroon_mint::Macaroon::mint(&RootKey::new("0".repeat(64)), DOMAIN, identifier)
        .unwrap()
        .with_first_party(format!("time < {}", server.now() + 60))
        .unwrap()
        .serialize(macaroon_mint::Format::Onedata)
        .unwrap();
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &forged),
        (401, unauthorized_because(token_invalid()))
    );
    // The expiry removed, the signature kept: it no longer matches.
    let mut json: Value = serde_json::from_str(
        &macaroon_mint::Macaroon::parse(&good)
            .unwrap()
            .serialize(macaroon_mint::Format::V2Json)
            .unwrap(),
    )
    .unwrap();
    json["c"] = json!([]);
    let stripped = macaroon_mint::Macaroon::parse(&json.to_string())
        .unwrap()
        .serialize(macaroon_mint::Format::Onedata)
        .unwrap();
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &stripped),
        (401, unauthorized_because(token_invalid()))
    );

    // An invite token is no access token.
    let (status, body) = server.call("POST", &rop_path(&alice), Some(("alice", "pw-a")), None);
    let rop = token_of(status, &body);
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &rop),
        (
            401,
            unauthorized_because(json!({
                "id": "notAnAccessToken",
                "details": { "received": {
                    "inviteToken": { "inviteType": "registerOneprovider", "adminUserId": alice }
                } },
                "description": "Provided token is not an access token.",
            }))
        )
    );
    // A header too large for the HTTP layer is refused there (431), never a 500.
    let huge = "M".repeat(1_048_577);
    let url = server.url("/user");
    let response = ureq::get(&url).set("X-Auth-Token", &huge).call();
    match response {
        Err(ureq::Error::Status(status, response)) => {
            assert_eq!(status, 431);
            common::answer("GET", &url, status, &response.into_string().unwrap());
        }
        other => panic!("expected 431, got {other:?}"),
    }
    // In a body, a token over the body limit (64 KiB) is refused; a body up to 1 MiB is read
    // and dropped first, so the client sees the answer rather than a reset.
    let (status, body) = server.call(
        "POST",
        "/tokens/verify_invite_token",
        None,
        Some(json!({ "token": &huge[..1_000_000] })),
    );
    assert_eq!((status, body), (413, payload_too_large()));
}

fn payload_too_large() -> Value {
    json!({ "error": {
        "id": "payloadTooLarge",
        "details": { "limit": 65_536 },
        "description": "The request body exceeds the allowed size (65536 bytes).",
    }})
}

fn rotated_keys_verify_old_tokens_until_retired(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "old" })),
    );
    assert_eq!(status, 201, "{body}");
    let old_named = body["token"].as_str().unwrap().to_owned();
    let old_temporary = server.temporary_token(auth, json!([]));
    let (status, body) = server.call("POST", &rop_path(&alice), Some(auth), None);
    let old_rop = token_of(status, &body);
    let first = macaroon_mint_server::store::current_root_key(&*server.store)
        .unwrap()
        .unwrap();

    // Rotate: new tokens use the new key, old ones keep verifying.
    let second = server
        .store
        .insert_root_key(&[7u8; 32], server.now())
        .unwrap();
    assert!(second.id > first.id);
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "new" })),
    );
    assert_eq!(status, 201, "{body}");
    let new_named = body["token"].as_str().unwrap().to_owned();
    let new_id = body["tokenId"].as_str().unwrap();
    assert_eq!(
        server.store.named_token(new_id).unwrap().unwrap().key_id,
        second.id
    );
    let mid_temporary = server.temporary_token(auth, json!([]));
    let mid_id = OnedataToken::parse(&mid_temporary)
        .unwrap()
        .token_id()
        .to_owned();
    assert!(mid_id.starts_with(&format!("k{}-", second.id)), "{mid_id}");
    for token in [&old_named, &old_temporary, &new_named, &mid_temporary] {
        assert_eq!(who_am_i(&server, "X-Auth-Token", token).0, 200);
    }
    let verify = |token: &str| {
        server.call(
            "POST",
            "/tokens/verify_invite_token",
            None,
            Some(json!({ "token": token, "expectedInviteType": "registerOneprovider" })),
        )
    };
    assert_eq!(verify(&old_rop).0, 200);

    // Retire the first key: everything minted under it stops verifying.
    assert_eq!(
        server
            .store
            .retire_root_key(first.id, server.now())
            .unwrap(),
        Retirement::Retired
    );
    server.settle();
    for token in [&old_named, &old_temporary] {
        assert_eq!(
            who_am_i(&server, "X-Auth-Token", token),
            (401, unauthorized_because(token_invalid()))
        );
    }
    assert_eq!(verify(&old_rop), (400, json!({ "error": token_invalid() })));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &new_named).0, 200);
    // Temporary tokens minted after the rotation use the new key and survive the retirement;
    // the generation is untouched.
    assert_eq!(who_am_i(&server, "X-Auth-Token", &mid_temporary).0, 200);
    let fresh = server.temporary_token(auth, json!([]));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &fresh).0, 200);
    let generation = server.store.temporary_generation(&alice).unwrap().unwrap();
    assert_eq!(generation.generation, 1);
    // New invites are minted under the current key and verify.
    let (status, body) = server.call("POST", &rop_path(&alice), Some(auth), None);
    assert_eq!(verify(&token_of(status, &body)).0, 200);
}

fn verify_invite_token_checks_caveats_and_peer_ip(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let (status, body) = server.call("POST", &rop_path(&alice), Some(("alice", "pw-a")), None);
    let rop = token_of(status, &body);
    // The holder narrows the invite to one network and a short lifetime.
    let expiry = server.now() + 30;
    let narrowed = macaroon_mint::Macaroon::parse(&rop)
        .unwrap()
        .with_first_party("ip = 192.0.2.0/24")
        .unwrap()
        .with_first_party(format!("time < {expiry}"))
        .unwrap()
        .serialize(macaroon_mint::Format::Onedata)
        .unwrap();
    let verify = |body: Value| server.call("POST", "/tokens/verify_invite_token", None, Some(body));
    let unverified = |caveat: &str, json: Value| {
        json!({ "error": {
            "id": "tokenCaveatUnverified",
            "details": { "caveat": json },
            "description": format!("Token caveat unverified: \"{caveat}\"."),
        }})
    };
    assert_eq!(
        verify(json!({ "token": narrowed })),
        (
            400,
            unverified(
                "ip = 192.0.2.0/24",
                json!({ "type": "ip", "whitelist": ["192.0.2.0/24"] })
            )
        )
    );
    let (status, body) = verify(json!({ "token": narrowed, "peerIp": "192.0.2.7" }));
    assert_eq!(
        (status, body),
        (
            200,
            json!({ "subject": { "type": "user", "id": alice }, "ttl": 30 })
        )
    );
    let (_, examined) = server.call(
        "POST",
        "/tokens/examine",
        None,
        Some(json!({ "token": narrowed })),
    );
    assert_eq!(
        examined["caveats"],
        json!([
            { "type": "ip", "whitelist": ["192.0.2.0/24"] },
            { "type": "time", "validUntil": expiry },
        ])
    );
    server.advance(30);
    assert_eq!(
        verify(json!({ "token": narrowed, "peerIp": "192.0.2.7" })),
        (
            400,
            unverified(
                &format!("time < {expiry}"),
                json!({ "type": "time", "validUntil": expiry })
            )
        )
    );
    let (status, body) = verify(json!({ "token": narrowed, "peerIp": "not an ip" }));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("badValueIPv4Address"));
    // An access token is not an invite token.
    let access = server.temporary_token(("alice", "pw-a"), json!([]));
    let (status, body) =
        verify(json!({ "token": access, "expectedInviteType": "registerOneprovider" }));
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], json!("notAnInviteToken"));
}

/// An Onezone error body.
fn error(id: &str, details: Option<Value>, description: &str) -> Value {
    let mut error = json!({ "id": id, "description": description });
    if let Some(details) = details {
        error["details"] = details;
    }
    json!({ "error": error })
}

fn every_authenticated_endpoint_answers_401_first(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space s");
    let endpoints = [
        ("GET", "/user".to_owned()),
        ("POST", "/users".to_owned()),
        ("PATCH", format!("/users/{alice}/privileges")),
        ("POST", rop_path(&alice)),
        ("DELETE", format!("/users/{alice}/tokens/temporary")),
        ("POST", "/user/spaces".to_owned()),
        ("POST", "/user/tokens/temporary".to_owned()),
        ("DELETE", "/user/tokens/temporary".to_owned()),
        ("POST", "/user/tokens/named".to_owned()),
        ("PATCH", "/tokens/named/some-id".to_owned()),
        ("GET", "/tokens/named/some-id".to_owned()),
        ("GET", "/user/tokens/named".to_owned()),
        ("GET", "/user/tokens/named/name/some-name".to_owned()),
        ("DELETE", "/user/tokens/named".to_owned()),
        ("GET", "/user/tokens/temporary".to_owned()),
        (
            "POST",
            "/user/clusters/provider_registration_token".to_owned(),
        ),
        ("POST", format!("/users/{alice}/tokens/temporary")),
        ("GET", format!("/users/{alice}/tokens/temporary")),
        ("POST", format!("/users/{alice}/tokens/named")),
        ("GET", format!("/users/{alice}/tokens/named")),
        ("DELETE", format!("/users/{alice}/tokens/named")),
        ("GET", format!("/users/{alice}/tokens/named/name/n")),
        ("GET", "/tokens/named".to_owned()),
        ("DELETE", "/tokens/named/some-id".to_owned()),
        ("GET", "/tokens/named/some-id/status".to_owned()),
        ("GET", "/provider".to_owned()),
        ("PATCH", "/provider".to_owned()),
        ("DELETE", "/provider".to_owned()),
        ("GET", "/provider/spaces".to_owned()),
        ("POST", "/provider/spaces/support".to_owned()),
        ("DELETE", format!("/provider/spaces/{space}")),
        ("POST", "/provider/tokens/named".to_owned()),
        ("GET", "/provider/tokens/temporary".to_owned()),
        ("GET", "/providers".to_owned()),
        ("GET", "/providers/some-id".to_owned()),
        ("DELETE", "/providers/some-id".to_owned()),
        ("GET", format!("/spaces/{space}/providers")),
        ("GET", format!("/spaces/{space}/providers/some-id")),
        ("DELETE", format!("/spaces/{space}/providers/some-id")),
        ("POST", ssp_path(&space)),
        ("PATCH", format!("/spaces/{space}/users/{alice}/privileges")),
        // Unknown entities: 404 without credentials (Onezone fetches the entity first), 401 with
        // credentials that fail.
        ("POST", rop_path("no-such-user")),
        ("POST", ssp_path("no-such-space")),
    ];
    let junk = json!({ "grant": 1, "name": 7 });
    for (method, path) in &endpoints {
        // The entity a path names is its first id (`/spaces/{id}/providers/{pid}`: the space).
        let unknown = path.starts_with("/tokens/named/some-id")
            || path.starts_with("/providers/some-id")
            || path.contains("no-such");
        for auth in [None, Some(("alice", "wrong")), Some(("nobody", "pw-a"))] {
            let expected = if auth.is_none() && unknown {
                (404, not_found())
            } else {
                (401, refused(auth))
            };
            assert_eq!(
                server.call(method, path, auth, Some(junk.clone())),
                expected,
                "{method} {path} {auth:?}"
            );
        }
        assert_eq!(
            server.call_token(method, path, "X-Auth-Token", "garbage", None),
            (401, unauthorized_because(bad_token())),
            "{method} {path}"
        );
    }
}

fn bad_requests_have_exact_error_bodies(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space s");
    let a = Some(("alice", "pw-a"));
    let missing = |key: &str| {
        error(
            "missingRequiredValue",
            Some(json!({ "key": key })),
            &format!("Missing required value: \"{key}\"."),
        )
    };
    let bad_message = error(
        "malformedData",
        None,
        "Provided data could not be understood by the server.",
    );
    let bad_invite_type = error(
        "badValueInviteType",
        Some(json!({ "key": "expectedInviteType" })),
        "Bad value: provided \"expectedInviteType\" must be a valid invite token type.",
    );
    let not_a_token = error(
        "badValueToken",
        Some(json!({ "key": "token", "tokenError": bad_token() })),
        "Bad value: provided \"token\" is not a valid token.",
    );
    let (_, created) = server.call(
        "POST",
        "/user/tokens/named",
        a,
        Some(json!({ "name": "own" })),
    );
    let own = created["tokenId"].as_str().unwrap().to_owned();
    let cases: Vec<Case> = vec![
        ("POST", "/users".into(), Some(ADMIN), Some(json!({ "password": "x" })), (400, missing("username"))),
        ("POST", "/users".into(), Some(ADMIN), Some(json!([1])), (400, bad_message.clone())),
        (
            "POST",
            "/users".into(),
            Some(ADMIN),
            Some(json!({ "username": "bad:name", "password": "x" })),
            (400, error(
                "badValueUsername",
                None,
                "Bad value: the username must be 2 to 32 ASCII letters, digits, '.', '_' and '-', starting and ending with a letter or digit.",
            )),
        ),
        ("POST", "/user/spaces".into(), a, Some(json!({})), (400, missing("name"))),
        (
            "POST",
            "/user/spaces".into(),
            a,
            Some(json!({ "name": "" })),
            (400, error(
                "badValueString",
                Some(json!({ "key": "name" })),
                "Bad value: provided \"name\" must be a non-empty string.",
            )),
        ),
        (
            "PATCH",
            format!("/spaces/{space}/users/{alice}/privileges"),
            a,
            Some(json!({ "revoke": ["space_fly"] })),
            (400, error(
                "badValueListNotAllowed",
                Some(json!({ "key": "revoke", "allowed": macaroon_mint_server::privileges::SPACE_PRIVILEGES })),
                "Bad value: provided \"revoke\" must be a list containing only allowed values.",
            )),
        ),
        ("POST", "/user/tokens/named".into(), a, Some(json!({})), (400, missing("name"))),
        (
            "POST",
            "/user/tokens/named".into(),
            a,
            Some(json!({ "name": "x", "caveats": ["colour = red"] })),
            (400, error(
                "badValueCaveat",
                Some(json!({ "caveat": "colour = red" })),
                "Bad value: caveat 0 in \"caveats\" is invalid: \"colour = red\" is no known caveat.",
            )),
        ),
        (
            "POST",
            "/user/tokens/named".into(),
            a,
            Some(json!({ "name": "x", "type": "access" })),
            (400, error(
                "badValueTokenType",
                Some(json!({ "key": "type" })),
                "Bad value: provided \"type\" is not a valid token type (an object with one key: \"accessToken\", \"identityToken\" or \"inviteToken\" with its inviteType and target).",
            )),
        ),
        ("PATCH", format!("/tokens/named/{own}"), a, None, (400, bad_message.clone())),
        (
            "PATCH",
            format!("/tokens/named/{own}"),
            a,
            Some(json!({})),
            (400, error(
                "missingAtLeastOneValue",
                Some(json!({ "keys": ["name", "customMetadata", "revoked"] })),
                "Missing data, you must provide at least one of: name, customMetadata, revoked.",
            )),
        ),
        // The named-token update checks its token before its body: 404 for an unknown id.
        ("PATCH", "/tokens/named/x".into(), a, Some(json!({ "revoked": true })), (404, not_found())),
        (
            "POST",
            "/tokens/verify_invite_token".into(),
            None,
            Some(json!({ "token": "x", "expectedInviteType": 5 })),
            (400, bad_invite_type.clone()),
        ),
        (
            "POST",
            "/tokens/verify_invite_token".into(),
            None,
            Some(json!({ "token": "x", "expectedInviteType": "joinEverything" })),
            (400, bad_invite_type),
        ),
        (
            "POST",
            "/tokens/verify_invite_token".into(),
            None,
            Some(json!({ "token": "not a token" })),
            (400, not_a_token.clone()),
        ),
        ("POST", "/tokens/verify_invite_token".into(), None, Some(json!("token")), (400, bad_message.clone())),
        ("POST", "/tokens/examine".into(), None, Some(json!({})), (400, missing("token"))),
        ("POST", "/tokens/examine".into(), None, Some(json!([])), (400, bad_message)),
        (
            "POST",
            "/tokens/examine".into(),
            None,
            Some(json!({ "token": "not a token" })),
            (400, not_a_token),
        ),
    ];
    check_cases(&server, cases);
}

fn unknown_entities_methods_and_huge_bodies_answer_json(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let space = server.create_space(("alice", "pw-a"), "space s");
    let a = Some(("alice", "pw-a"));
    let grant = Some(json!({ "grant": ["space_view"] }));
    let no_space = format!("/spaces/no-such-space/users/{alice}/privileges");
    let no_user = format!("/spaces/{space}/users/no-such-user/privileges");
    // Not UTF-8 once decoded: no such entity.
    let not_utf8 = format!("/spaces/%FF/users/{alice}/privileges");
    check_cases(
        &server,
        vec![
            (
                "PATCH",
                no_space.clone(),
                a,
                grant.clone(),
                (404, not_found()),
            ),
            (
                "PATCH",
                no_user.clone(),
                a,
                grant.clone(),
                (404, not_found()),
            ),
            (
                "PATCH",
                not_utf8.clone(),
                a,
                grant.clone(),
                (404, not_found()),
            ),
            // Without credentials, the entity the path names (the space) is looked up first,
            // as Onezone does: 404 when it is unknown, else 401.
            ("PATCH", no_space, None, grant.clone(), (404, not_found())),
            ("PATCH", no_user, None, grant.clone(), (401, unauthorized())),
            ("PATCH", not_utf8, None, grant, (404, not_found())),
            ("POST", rop_path("%FF%FE"), a, None, (404, not_found())),
            (
                "GET",
                rop_path(&alice),
                a,
                None,
                (
                    405,
                    error(
                        "notSupported",
                        None,
                        "This method is not supported for this resource.",
                    ),
                ),
            ),
        ],
    );
    // One byte over the 64 KiB limit: refused from its Content-Length, before it is read.
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat(64 * 1024 + 1 - 11));
    assert_eq!(huge.len(), 64 * 1024 + 1);
    let url = server.url("/user/spaces");
    let response = ureq::post(&url)
        .set("Authorization", &basic(("alice", "pw-a")))
        .set("Content-Type", "application/json")
        .send_string(&huge);
    let Err(ureq::Error::Status(413, response)) = response else {
        panic!("expected 413, got {response:?}");
    };
    let body = common::answer("POST", &url, 413, &response.into_string().unwrap());
    assert_eq!(body, payload_too_large());
    // The two token endpoints take an empty body or any JSON object (ignored); a body that is
    // not a JSON object is malformedData, as in Onezone (SPEC §10.5) — and no token is minted.
    let alice_id = server.user_id("alice");
    let named_before = server.store.named_tokens_of(&alice_id).unwrap().len();
    for path in [ssp_path(&space), rop_path(&alice_id)] {
        for (body, status) in [
            ("", 200),
            ("{\"ignored\": [1, 2]}", 200),
            ("this is not JSON", 400),
            ("[1]", 400),
        ] {
            let url = server.url(&path);
            let response = ureq::post(&url)
                .set("Authorization", &basic(("alice", "pw-a")))
                .send_string(body);
            let (got, text) = match response {
                Ok(r) => (r.status(), r.into_string().unwrap()),
                Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap()),
                Err(e) => panic!("{e}"),
            };
            assert_eq!(got, status, "{path} {body:?}: {text}");
            let json = common::answer("POST", &url, got, &text);
            if status == 400 {
                assert_eq!(json["error"]["id"], "malformedData");
            }
        }
    }
    assert_eq!(
        server.store.named_tokens_of(&alice_id).unwrap().len(),
        named_before + 4,
        "a refused body mints nothing"
    );
}

fn instances_sharing_one_database_see_each_other(backend: Backend) {
    if backend != Backend::Postgres {
        return; // SQLite is one file for one process.
    }
    let Some(url) = common::postgres_url() else {
        return;
    };
    let schema = common::fresh_pg_schema_name();
    let store = |schema: &str| -> Arc<dyn Store> {
        Arc::new(PostgresStore::connect_in_schema(&url, schema, KeyProtection::Plain).unwrap())
    };
    let a = TestServer::start_with(store(&schema), unique_dir(), RegistrationPolicy::Open);
    let b = TestServer::start_with(store(&schema), unique_dir(), RegistrationPolicy::Open);
    let alice = a.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");
    // Minted on one instance, used on the other.
    let (status, body) = b.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "token t" })),
    );
    assert_eq!(status, 201, "{body}");
    let (id, named) = (
        body["tokenId"].as_str().unwrap().to_owned(),
        body["token"].as_str().unwrap().to_owned(),
    );
    assert_eq!(who_am_i(&a, "X-Auth-Token", &named).0, 200);
    let (status, body) = a.call("POST", &rop_path(&alice), Some(auth), None);
    let rop = token_of(status, &body);
    let verify = |server: &TestServer| {
        server.call(
            "POST",
            "/tokens/verify_invite_token",
            None,
            Some(json!({ "token": rop })),
        )
    };
    assert_eq!(verify(&b).0, 200);
    // Revoked on one, refused by both: by the other once the change feed brings it (NOTIFY).
    let path = format!("/tokens/named/{id}");
    assert_eq!(
        a.call("PATCH", &path, Some(auth), Some(json!({ "revoked": true })))
            .0,
        204
    );
    let revoked = (401, unauthorized_because(token_revoked()));
    assert_eq!(who_am_i(&a, "X-Auth-Token", &named), revoked);
    eventually("B refuses the revoked token", || {
        who_am_i(&b, "X-Auth-Token", &named) == revoked
    });
    let temporary = a.temporary_token(auth, json!([]));
    assert_eq!(who_am_i(&b, "X-Auth-Token", &temporary).0, 200);
    assert_eq!(
        b.call("DELETE", "/user/tokens/temporary", Some(auth), None)
            .0,
        204
    );
    eventually("A refuses the old generation", || {
        who_am_i(&a, "X-Auth-Token", &temporary) == revoked
    });
    // Concurrent minting through both instances loses nothing.
    let servers = [&a, &b];
    let tokens: Vec<String> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6)
            .map(|t| {
                let (server, alice) = (servers[t % 2], &alice);
                scope.spawn(move || {
                    (0..5)
                        .map(|_| {
                            let (status, body) =
                                server.call("POST", &rop_path(alice), Some(auth), None);
                            token_of(status, &body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    assert_eq!(tokens.len(), 30);
    for (i, token) in tokens.iter().enumerate() {
        let server = servers[i % 2];
        let (status, body) = server.call(
            "POST",
            "/tokens/verify_invite_token",
            None,
            Some(json!({ "token": token })),
        );
        assert_eq!(status, 200, "{body}");
    }
    drop((a, b));
    common::drop_pg_schema(&url, &schema);
}

/// Finding 1 (issue 12): a token authenticated with an attenuated access token cannot escape
/// its caveats by minting another token.
fn a_token_never_mints_a_stronger_token(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");
    let expiry = format!("time < {}", server.now() + 600);
    let restricted =
        server.temporary_token(auth, json!([{ "type": "ip", "whitelist": ["127.0.0.1"] }]));
    // The reviewer's reproduction: a named token minted with the restricted token.
    let (status, body) = server.call_token(
        "POST",
        "/user/tokens/named",
        "X-Auth-Token",
        &restricted,
        Some(json!({ "name": "escape" })),
    );
    assert_eq!(status, 201, "{body}");
    let escape = body["token"].as_str().unwrap().to_owned();
    let id = body["tokenId"].as_str().unwrap().to_owned();
    // It carries every caveat of the restricted token...
    let parsed = OnedataToken::parse(&escape).unwrap();
    let caveats: Vec<String> = parsed
        .macaroon()
        .caveats()
        .iter()
        .map(|c| String::from_utf8_lossy(c.id()).into_owned())
        .collect();
    assert_eq!(caveats, [expiry.as_str(), "ip = 127.0.0.1"]);
    // ...its owner sees it, by listing, by name and by id, with its caveats and parent...
    let record = json!({
        "id": id,
        "name": "escape",
        "subject": { "type": "user", "id": alice },
        "type": { "accessToken": {} },
        "caveats": [
            { "type": "time", "validUntil": server.now() + 600 },
            { "type": "ip", "whitelist": ["127.0.0.1"] },
        ],
        "revoked": false,
        "metadata": { "creationTime": server.now(), "custom": {} },
        "parent": "temporary:1:1",
    });
    server.create_user("bob", "pw-b");
    let by_id = format!("/tokens/named/{id}");
    check_cases(
        &server,
        vec![
            (
                "GET",
                "/user/tokens/named".into(),
                Some(auth),
                None,
                (200, json!({ "tokens": [id] })),
            ),
            (
                "GET",
                "/user/tokens/named/name/escape".into(),
                Some(auth),
                None,
                (200, record.clone()),
            ),
            ("GET", by_id.clone(), Some(auth), None, (200, record)),
            // Nobody else does.
            (
                "GET",
                by_id,
                Some(("bob", "pw-b")),
                None,
                (403, forbidden()),
            ),
        ],
    );
    assert_eq!(who_am_i(&server, "X-Auth-Token", &escape).0, 200);
    // ...and it dies with the temporary tokens it was minted with.
    let (status, _) = server.call("DELETE", "/user/tokens/temporary", Some(auth), None);
    assert_eq!(status, 204);
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &escape),
        (401, unauthorized_because(token_revoked()))
    );

    // A token limited to creating tokens mints tokens limited the same way.
    let create_only = server.temporary_token(auth, json!(["api = ozw/create/token.*.*"]));
    let (status, body) = server.call_token(
        "POST",
        "/user/tokens/named",
        "X-Auth-Token",
        &create_only,
        Some(json!({ "name": "broader" })),
    );
    assert_eq!(status, 201, "{body}");
    let broader = body["token"].as_str().unwrap().to_owned();
    let (status, body) = server.call_token(
        "POST",
        "/user/tokens/temporary",
        "X-Auth-Token",
        &create_only,
        Some(json!({ "caveats": [format!("time < {}", server.now() + 60)] })),
    );
    assert_eq!(status, 201, "{body}");
    let temporary = body["token"].as_str().unwrap().to_owned();
    for token in [&broader, &temporary] {
        assert_eq!(
            server.call_token(
                "POST",
                "/user/spaces",
                "X-Auth-Token",
                token,
                Some(json!({ "name": "not allowed" }))
            ),
            (401, caveat_unverified("api = ozw/create/token.*.*"))
        );
    }
    // The expiry is inherited too: past the parent's, the child is refused.
    server.advance(601);
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &broader),
        (
            401,
            caveat_unverified(&format!("time < {}", server.now() - 1))
        )
    );
}

/// Finding 5 (issue 12): forged temporary tokens are `tokenInvalid` whatever generation they
/// claim, so the answer does not reveal a user's generation; only a genuine token of an old
/// generation is `tokenRevoked`.
fn forged_temporary_tokens_do_not_reveal_the_generation(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");
    let old = server.temporary_token(auth, json!([]));
    let (status, _) = server.call("DELETE", "/user/tokens/temporary", Some(auth), None);
    assert_eq!(status, 204);
    let current = server.temporary_token(auth, json!([]));
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &old),
        (401, unauthorized_because(token_revoked()))
    );
    assert_eq!(who_am_i(&server, "X-Auth-Token", &current).0, 200);
    let token_id = OnedataToken::parse(&current).unwrap().token_id().to_owned();
    for generation in [1, 2, 3] {
        let identifier = macaroon_mint::onedata::OnedataIdentifier::new(
            Persistence::Temporary { generation },
            Subject::User(alice.clone()),
            macaroon_mint::onedata::TokenType::Access { session: None },
            &token_id,
        )
        .unwrap();
        let forged = macaroon_mint::Macaroon::mint(
            &RootKey::new("f".repeat(64)),
            DOMAIN,
            identifier.to_string(),
        )
        .unwrap()
        .with_first_party(format!("time < {}", server.now() + 60).as_bytes())
        .unwrap()
        .serialize(macaroon_mint::Format::Onedata)
        .unwrap();
        assert_eq!(
            who_am_i(&server, "X-Auth-Token", &forged),
            (401, unauthorized_because(token_invalid())),
            "generation {generation}"
        );
    }
}

/// Issue 13 (first part): `POST /users`, `/user/spaces` and `/user/tokens/named` name the new
/// entity in `Location`, as Onezone's swagger declares, and keep their bodies.
fn created_entities_have_a_location(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let post = |path: &str, auth: (&str, &str), body: Value| {
        let url = server.url(path);
        let response = ureq::post(&url)
            .set("Authorization", &basic(auth))
            .send_json(body)
            .unwrap();
        assert_eq!(response.status(), 201);
        let location = response.header("location").unwrap().to_owned();
        let body = common::answer("POST", &url, 201, &response.into_string().unwrap());
        (location, body)
    };
    let (location, body) = post(
        "/users",
        ADMIN,
        json!({ "username": "alice", "password": "pw-a" }),
    );
    let alice = body["id"].as_str().unwrap();
    assert_eq!(location, format!("/api/v3/onezone/users/{alice}"));
    let (location, body) = post(
        "/user/spaces",
        ("alice", "pw-a"),
        json!({ "name": "space one" }),
    );
    assert_eq!(
        location,
        format!(
            "/api/v3/onezone/user/spaces/{}",
            body["id"].as_str().unwrap()
        )
    );
    let (location, body) = post(
        "/user/tokens/named",
        ("alice", "pw-a"),
        json!({ "name": "named" }),
    );
    let id = body["tokenId"].as_str().unwrap();
    assert_eq!(location, format!("/api/v3/onezone/tokens/named/{id}"));
    assert!(body["token"].is_string());
    // The Location is where the entity is read.
    let (status, record) = server.call(
        "GET",
        &format!("/tokens/named/{id}"),
        Some(("alice", "pw-a")),
        None,
    );
    assert_eq!((status, record["id"].as_str()), (200, Some(id)));
}

/// Issue 13: `POST /users` takes Onezone's `UserCreateRequest` (`fullName` and `password`
/// optional); `GET /user` shows what was stored.
fn users_have_full_names_and_optional_passwords(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(ADMIN),
        Some(json!({ "username": "r.lingens", "password": "pw-r", "fullName": "Rudolf Lingens" })),
    );
    assert_eq!(status, 201, "{body}");
    let (status, info) = server.call("GET", "/user", Some(("r.lingens", "pw-r")), None);
    assert_eq!(status, 200);
    assert_eq!(info["fullName"], "Rudolf Lingens");
    assert_eq!(info["basicAuthEnabled"], true);
    // No password: an account without password login.
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(ADMIN),
        Some(json!({ "username": "nopass" })),
    );
    assert_eq!(status, 201, "{body}");
    for password in ["", "anything"] {
        assert_eq!(
            server.call("GET", "/user", Some(("nopass", password)), None),
            (401, bad_credentials())
        );
    }
    let (status, body) = server.call(
        "POST",
        "/users",
        Some(ADMIN),
        Some(json!({ "username": "badname", "fullName": "-x" })),
    );
    assert_eq!(status, 400);
    assert_eq!(body["error"]["id"], "badValueName");
    assert_eq!(body["error"]["details"], json!({ "key": "fullName" }));
}

/// Issue 17: the public configuration in Onezone's `Configuration` shape (checked against the
/// swagger like every answer), liveness and readiness (the store answers), all without
/// credentials.
fn configuration_health_and_readiness_are_public(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    check_cases(
        &server,
        vec![
            (
                "GET",
                "/configuration".to_owned(),
                None,
                None,
                (
                    200,
                    json!({
                        "name": "macaroon-mint",
                        "domain": DOMAIN,
                        "version": env!("CARGO_PKG_VERSION"),
                        "build": concat!("macaroon-mint-server ", env!("CARGO_PKG_VERSION")),
                        "subdomainDelegationSupported": false,
                        "compatibleOneproviderVersions": [],
                        "compatibilityRegistryRevision": 0,
                        "supportedIdPs": [{ "id": "basicAuth", "offlineAccess": false }],
                        "availableSpaceTags": {},
                    }),
                ),
            ),
            // Read-only: other methods are not allowed.
            (
                "POST",
                "/configuration".to_owned(),
                None,
                None,
                (
                    405,
                    error(
                        "notSupported",
                        None,
                        "This method is not supported for this resource.",
                    ),
                ),
            ),
        ],
    );
    // The probes live outside the API's prefix.
    let root = server.base.trim_end_matches("/api/v3/onezone");
    for (probe, answer) in [
        ("/health", json!({ "status": "ok" })),
        ("/ready", json!({ "status": "ready" })),
    ] {
        assert_eq!(
            call(&format!("{root}{probe}"), "GET", None, None),
            (200, answer),
            "GET {probe}"
        );
    }
}

/// One request, traced: sent with `X-Request-Id: request_id` (and `header`), answered with
/// the status, the JSON body (swagger-checked) and the `X-Request-Id` the service gave back.
fn traced(
    server: &TestServer,
    method: &str,
    path: &str,
    header: Option<(&str, String)>,
    request_id: &str,
    body: Option<Value>,
) -> (u16, Value, String) {
    // The probes live outside the API's prefix.
    let url = if matches!(path, "/health" | "/ready" | "/metrics") {
        format!("{}{path}", server.base.trim_end_matches("/api/v3/onezone"))
    } else {
        server.url(path)
    };
    let mut request = ureq::request(method, &url).set("X-Request-Id", request_id);
    if let Some((name, value)) = header {
        request = request.set(name, &value);
    }
    let (status, headers, json) = common::send_keeping(request, body, &["x-request-id"]);
    (status, json, headers[0].clone().unwrap_or_default())
}

/// Issue 17: the token inspector. `GET /` and `GET /inspect` serve the page (self-contained,
/// under a Content-Security-Policy that allows only its own inline code and its own origin);
/// `POST /inspect` answers the library's report for valid and damaged tokens alike, stores
/// nothing, and its log line holds no token. (`scripts/browser/inspector_test.py` drives the
/// page in Chromium.)
#[test]
fn the_inspector_page_and_its_endpoint() {
    let Some(server) = TestServer::start(Backend::Sqlite, RegistrationPolicy::Restricted) else {
        return;
    };
    let root = server.base.trim_end_matches("/api/v3/onezone").to_owned();
    for path in ["/", "/inspect"] {
        let response = ureq::get(&format!("{root}{path}")).call().unwrap();
        assert_eq!(response.content_type(), "text/html", "{path}");
        let policy = response
            .header("content-security-policy")
            .unwrap_or_default()
            .to_owned();
        assert!(
            policy.starts_with("default-src 'none'; script-src 'sha256-")
                && policy.contains("connect-src 'self'")
                && policy.contains("frame-ancestors 'none'"),
            "{path}: {policy}"
        );
        for (header, value) in [
            ("cache-control", "no-store"),
            ("x-frame-options", "DENY"),
            ("x-content-type-options", "nosniff"),
            ("referrer-policy", "no-referrer"),
        ] {
            assert_eq!(response.header(header), Some(value), "{path} {header}");
        }
        let page = response.into_string().unwrap();
        assert!(page.contains("<h1>Token inspector</h1>") && page.contains("nothing is stored"));
    }
    let inspect = |request_id: &str, body: &str| {
        // What is pasted is a secret like any token: it must not reach a log line.
        if let Ok(sent) = serde_json::from_str::<Value>(body) {
            common::logs::secrets_in(&sent);
        }
        let response = ureq::post(&format!("{root}/inspect"))
            .set("Content-Type", "application/json")
            .set("X-Request-Id", request_id)
            .send_string(body);
        let response = match response {
            Ok(r) | Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{e}"),
        };
        (
            response.status(),
            serde_json::from_str::<Value>(&response.into_string().unwrap()).unwrap(),
        )
    };
    let token = server.temporary_token(ADMIN, json!([]));
    let (status, report) = inspect("inspect-valid", &json!({ "token": token }).to_string());
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["format"], "onedata", "{report}");
    assert_eq!(report["macaroon"]["l"], DOMAIN, "{report}");
    assert_eq!(
        report["onedata"]["identifier"]["subject"],
        format!("usr-{}", server.user_id(ADMIN.0)),
        "{report}"
    );
    assert_eq!(report["onedata"]["caveats"][0]["form"], "time", "{report}");
    // The damaged registration token of the Onedata docs (SPEC §14, example A).
    let damaged = "MDAxNmxvY2F00aW9uIHJlZ2lzdHJ5CjAwM2JpZGVudGlmaW-0Y8";
    let (status, report) = inspect("inspect-damaged", &json!({ "token": damaged }).to_string());
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (
            &report["error"]["layer"],
            &report["error"]["offset"],
            &report["error"]["reason"]
        ),
        (&json!("base62"), &json!(47), &json!("invalid_character")),
        "{report}"
    );
    assert_eq!(
        report["recovered"]["location"]["text"], "registry",
        "{report}"
    );
    // Not a request for a report: Onezone's errors.
    for (row, body, id) in [
        ("no token", "{}".to_owned(), "missingRequiredValue"),
        (
            "not a string",
            r#"{"token": 7}"#.to_owned(),
            "badValueString",
        ),
        ("not JSON", "MDAx".to_owned(), "malformedData"),
        // Public, so bounded like every body: over 64 KiB is refused unread.
        (
            "too large",
            json!({ "token": "M".repeat(macaroon_mint_server::http::MAX_BODY_BYTES) }).to_string(),
            "payloadTooLarge",
        ),
    ] {
        let (status, answer) = inspect("inspect-bad", &body);
        let expected = if id == "payloadTooLarge" { 413 } else { 400 };
        assert_eq!(
            (status, &answer["error"]["id"]),
            (expected, &json!(id)),
            "{row}: {answer}"
        );
    }
    // Nothing pasted is logged: the request lines name the route and status only.
    for id in ["inspect-valid", "inspect-damaged"] {
        let lines = common::logs::request_lines(id);
        assert_eq!(lines.len(), 1, "{id}: {lines:?}");
        assert_eq!(
            (&lines[0]["route"], &lines[0]["status"]),
            (&json!("/inspect"), &json!(200))
        );
    }
    common::logs::check_no_secret_logged();
}

/// A request of [`requests_are_logged_and_counted`] and the log line it must leave.
struct Traced<'a> {
    step: &'a str,
    method: &'a str,
    path: String,
    credentials: Option<(&'a str, String)>,
    status: u16,
    route: &'a str,
    caller: String,
    error: Option<&'a str>,
    auth_error: Option<&'a str>,
}

/// Issue 17: every request leaves one log line (request id, method, route template, status,
/// latency, caller, error ids) and its metrics; the request id comes back in `X-Request-Id`;
/// made-up paths and methods add no label values; nothing secret is logged (the suite's
/// secrets are checked against the whole run's logs by every server on stopping).
fn requests_are_logged_and_counted(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    let tag = format!("{backend:?}-{}", std::process::id());
    let id = |step: &str| format!("{tag}-{step}");
    let admin_id = server.user_id(ADMIN.0);
    let password = "pw-logged-secret-1";
    let auth = |user: &str, pw: &str| Some(("Authorization", basic((user, pw))));

    let (status, created, echoed) = traced(
        &server,
        "POST",
        "/users",
        auth(ADMIN.0, ADMIN.1),
        &id("create"),
        Some(json!({ "username": "logged", "password": password })),
    );
    assert_eq!(
        (status, echoed.as_str()),
        (201, id("create").as_str()),
        "{created}"
    );
    let user_id = created["id"].as_str().unwrap().to_owned();
    let (status, minted, _) = traced(
        &server,
        "POST",
        "/user/tokens/temporary",
        auth("logged", password),
        &id("mint"),
        Some(json!({
            "type": { "accessToken": {} },
            "caveats": [{ "type": "time", "validUntil": server.now() + 600 }],
        })),
    );
    assert_eq!(status, 201, "{minted}");
    let token = minted["token"].as_str().unwrap().to_owned();
    // The same identifier under another key.
    let identifier = OnedataToken::parse(&token)
        .unwrap()
        .macaroon()
        .identifier()
        .to_vec();
    let forged = macaroon_mint::Macaroon::mint(&RootKey::new("0".repeat(64)), DOMAIN, identifier)
        .unwrap()
        .with_first_party(format!("time < {}", server.now() + 60))
        .unwrap()
        .serialize(macaroon_mint::Format::Onedata)
        .unwrap();
    let user_route = "/api/v3/onezone/user";
    let rows = vec![
        Traced {
            step: "token",
            method: "GET",
            path: "/user".into(),
            credentials: Some(("X-Auth-Token", token.clone())),
            status: 200,
            route: user_route,
            caller: format!("user:{user_id}"),
            error: None,
            auth_error: None,
        },
        Traced {
            step: "forged",
            method: "GET",
            path: "/user".into(),
            credentials: Some(("X-Auth-Token", forged)),
            status: 401,
            route: user_route,
            caller: "anonymous".into(),
            error: Some("unauthorized"),
            auth_error: Some("tokenInvalid"),
        },
        Traced {
            step: "bad-password",
            method: "GET",
            path: "/user".into(),
            credentials: auth("logged", "pw-wrong-secret-2"),
            status: 401,
            route: user_route,
            caller: "anonymous".into(),
            error: Some("unauthorized"),
            auth_error: Some("badBasicCredentials"),
        },
        Traced {
            step: "no-credentials",
            method: "GET",
            path: "/user".into(),
            credentials: None,
            status: 401,
            route: user_route,
            caller: "anonymous".into(),
            error: Some("unauthorized"),
            auth_error: None,
        },
        Traced {
            step: "odd-method",
            method: "BREW",
            path: format!("/users/{user_id}/privileges"),
            credentials: None,
            status: 405,
            route: "/api/v3/onezone/users/{id}/privileges",
            caller: "anonymous".into(),
            error: Some("notSupported"),
            auth_error: None,
        },
        Traced {
            step: "made-up-path",
            method: "GET",
            path: "/made-up-path-4f1c9a".into(),
            credentials: None,
            status: 404,
            route: "unmatched",
            caller: "anonymous".into(),
            error: Some("notFound"),
            auth_error: None,
        },
        Traced {
            step: "probe",
            method: "GET",
            path: "/health".into(),
            credentials: None,
            status: 200,
            route: "/health",
            caller: "anonymous".into(),
            error: None,
            auth_error: None,
        },
    ];
    for Traced {
        step,
        method,
        path,
        credentials,
        status,
        route,
        caller,
        error,
        auth_error,
    } in rows
    {
        let request_id = id(step);
        let (got, body, echoed) = traced(&server, method, &path, credentials, &request_id, None);
        assert_eq!(
            (got, echoed.as_str()),
            (status, request_id.as_str()),
            "{step}: {body}"
        );
        let lines = common::logs::request_lines(&request_id);
        assert_eq!(lines.len(), 1, "{step}: one line per request: {lines:?}");
        let line = &lines[0];
        assert_eq!(line["level"], "INFO", "{step}: {line}");
        // Methods outside the standard set are logged (and counted) as "other": a client cannot
        // write its own words into the log or grow the label set.
        let logged_method = if method == "BREW" { "other" } else { method };
        assert_eq!(line["method"], logged_method, "{step}: {line}");
        assert_eq!(line["route"], route, "{step}: {line}");
        assert_eq!(line["status"], status, "{step}: {line}");
        assert_eq!(line["caller"], caller.as_str(), "{step}: {line}");
        assert_eq!(line["client"], "127.0.0.1", "{step}: {line}");
        assert_eq!(line["error"].as_str(), error, "{step}: {line}");
        assert_eq!(line["auth_error"].as_str(), auth_error, "{step}: {line}");
        assert!(
            line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0),
            "{step}: {line}"
        );
    }
    // The first two steps too, with their callers.
    for (step, route, status, caller) in [
        (
            "create",
            "/api/v3/onezone/users",
            201,
            format!("user:{admin_id}"),
        ),
        (
            "mint",
            "/api/v3/onezone/user/tokens/temporary",
            201,
            format!("user:{user_id}"),
        ),
    ] {
        let lines = common::logs::request_lines(&id(step));
        assert_eq!(lines.len(), 1, "{step}: {lines:?}");
        assert_eq!(
            (&lines[0]["route"], &lines[0]["status"], &lines[0]["caller"]),
            (&json!(route), &json!(status), &json!(caller)),
            "{step}"
        );
    }
    // A token refused in the request data (not as a credential): its error is logged, and
    // counted as a refusal by the reason it gives.
    let (status, refused, _) = traced(
        &server,
        "POST",
        "/tokens/verify_access_token",
        None,
        &id("verify-damaged"),
        Some(json!({ "token": "MDAxY2xvY2F0aW9uIGRhbWFnZWQ" })),
    );
    assert_eq!(
        (status, &refused["error"]["details"]["tokenError"]["id"]),
        (400, &json!("badToken")),
        "{refused}"
    );
    let lines = common::logs::request_lines(&id("verify-damaged"));
    assert_eq!(
        (lines.len(), &lines[0]["error"], &lines[0]["token_error"]),
        (1, &json!("badValueToken"), &json!("badToken")),
        "{lines:?}"
    );
    // A client's id that could forge log fields is not logged nor sent back: the answer
    // carries the service's id, and the line has no client id.
    let (_, _, echoed) = traced(&server, "GET", "/health", None, "x\" status=200", None);
    let by_service_id: Vec<Value> = common::logs::lines()
        .into_iter()
        .filter(|line| line["message"] == "request" && line["request_id"] == echoed.as_str())
        .collect();
    assert!(
        !echoed.contains('"')
            && by_service_id.len() == 1
            && by_service_id[0]["client_request_id"].is_null(),
        "{echoed}: {by_service_id:?}"
    );

    let metrics = {
        let url = format!(
            "{}/metrics",
            server.base.trim_end_matches("/api/v3/onezone")
        );
        let response = ureq::get(&url).call().unwrap();
        assert!(
            response
                .content_type()
                .starts_with("application/openmetrics-text"),
            "{}",
            response.content_type()
        );
        response.into_string().unwrap()
    };
    for expected in [
        r#"macaroon_mint_http_requests_total{method="POST",route="/api/v3/onezone/users",status="201"} 1"#,
        r#"macaroon_mint_http_requests_total{method="GET",route="/api/v3/onezone/user",status="200"} 1"#,
        r#"macaroon_mint_http_requests_total{method="GET",route="/api/v3/onezone/user",status="401"} 3"#,
        r#"macaroon_mint_http_requests_total{method="other",route="/api/v3/onezone/users/{id}/privileges",status="405"} 1"#,
        r#"macaroon_mint_http_requests_total{method="GET",route="unmatched",status="404"} 1"#,
        r#"macaroon_mint_http_requests_total{method="GET",route="/health",status="200"} 2"#,
        r#"macaroon_mint_http_request_duration_seconds_count{method="GET",route="/api/v3/onezone/user"} 4"#,
        r#"macaroon_mint_tokens_minted_total{persistence="temporary",type="access"} 1"#,
        r#"macaroon_mint_token_refusals_total{reason="tokenInvalid"} 1"#,
        r#"macaroon_mint_token_refusals_total{reason="badToken"} 1"#,
        "macaroon_mint_password_checks_waiting 0",
        "macaroon_mint_password_checks_running 0",
        "macaroon_mint_http_connections_refused_total 0",
    ] {
        assert!(
            metrics.lines().any(|line| line == expected),
            "{expected} not in:\n{metrics}"
        );
    }
    // A wrong password is not a token refusal; made-up paths and methods are no label values.
    for absent in ["badBasicCredentials", "made-up-path", "BREW", &user_id] {
        assert!(!metrics.contains(absent), "{absent} in:\n{metrics}");
    }
    let store_reads = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"macaroon_mint_store_operation_duration_seconds_count{operation="user_by_username"} "#))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(store_reads.is_some_and(|n| n >= 3), "{metrics}");

    // What this scenario handed out is registered, and not in any line logged so far.
    let (lines, secrets) = common::logs::counts();
    assert!(
        lines > 10 && secrets >= 4,
        "{lines} lines, {secrets} secrets"
    );
    common::logs::check_no_secret_logged();
}

on_both_backends!(
    two_instances_agree_over_http,
    an_unreachable_store_is_unavailable_past_the_trust_window,
    configuration_health_and_readiness_are_public,
    requests_are_logged_and_counted,
    providers_leave_and_are_removed,
    api_caveats_see_one_call_for_both_route_forms,
    infer_access_token_scope_reports_spaces_and_providers,
    provider_tokens_are_managed_by_the_cluster_admin,
    the_invite_flow_registers_a_provider_and_supports_a_space,
    provider_registration_is_checked,
    concurrent_registrations_with_a_single_use_token,
    named_tokens_of_every_type_with_metadata,
    named_tokens_are_renamed_revoked_and_deleted,
    temporary_tokens_of_every_type_and_generations,
    tokens_of_other_users_need_a_token_manager,
    invite_tokens_need_a_target_and_the_right_to_invite,
    confine_attenuates_without_a_key,
    verify_access_and_identity_tokens,
    users_have_full_names_and_optional_passwords,
    created_entities_have_a_location,
    a_token_never_mints_a_stronger_token,
    forged_temporary_tokens_do_not_reveal_the_generation,
    every_authenticated_endpoint_answers_401_first,
    bad_requests_have_exact_error_bodies,
    unknown_entities_methods_and_huge_bodies_answer_json,
    instances_sharing_one_database_see_each_other,
    provider_registration_token_200_as_admin,
    provider_registration_token_open_policy_for_self_only,
    provider_registration_token_403_when_restricted,
    provider_registration_token_401,
    provider_registration_token_404,
    space_support_token_200_for_member_and_admin,
    space_support_token_403,
    space_support_token_401,
    space_support_token_404,
    verify_invite_token_checks_type_secret_and_revocation,
    verify_invite_token_checks_caveats_and_peer_ip,
    create_user_and_privileges_validate_input,
    concurrent_requests_lose_nothing,
    token_auth_mints_both_token_kinds,
    token_caveats_are_checked_against_the_request,
    expired_tokens_are_rejected,
    temporary_tokens_need_a_bounded_expiry,
    revoked_tokens_are_rejected,
    forged_and_wrong_kind_tokens_are_rejected,
    rotated_keys_verify_old_tokens_until_retired,
);

// ---------------------------------------------------------------------------------------------
// The token API of Onezone 21.02 beyond the seed endpoints (issue 13)

/// `201 {"tokenId", "token"}` of a named-token creation: the id and the text.
fn named_of((status, body): &(u16, Value)) -> (String, String) {
    assert_eq!(*status, 201, "{body}");
    let id = body["tokenId"].as_str().unwrap().to_owned();
    let token = body["token"].as_str().unwrap().to_owned();
    (id, token)
}

/// `201 {"token"}` of a temporary-token creation.
fn temporary_of((status, body): &(u16, Value)) -> String {
    assert_eq!(*status, 201, "{body}");
    body["token"].as_str().unwrap().to_owned()
}

/// What a token's identifier says: persistence, subject, type.
fn identifier_of(text: &str) -> (Persistence, Subject, TokenType) {
    let token = OnedataToken::parse(text).unwrap();
    let id = token.identifier().as_v2().unwrap();
    (
        id.persistence(),
        id.subject().clone(),
        id.token_type().clone(),
    )
}

fn named_tokens_of_every_type_with_metadata(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let a = Some(("alice", "pw-a"));
    let space = server.create_space(("alice", "pw-a"), "space s");
    let create = |body: Value| server.call("POST", "/user/tokens/named", a, Some(body));

    let (identity_id, identity) = named_of(&create(json!({
        "name": "who-i-am",
        "type": { "identityToken": {} },
        "caveats": [{ "type": "interface", "interface": "rest" }],
        "customMetadata": { "vm": "worker156" },
    })));
    assert_eq!(
        identifier_of(&identity),
        (
            Persistence::Named,
            Subject::User(alice.clone()),
            TokenType::Identity
        )
    );
    let record = server
        .call("GET", &format!("/tokens/named/{identity_id}"), a, None)
        .1;
    assert_eq!(record["type"], json!({ "identityToken": {} }));
    assert_eq!(
        record["metadata"],
        json!({ "creationTime": server.now(), "custom": { "vm": "worker156" } })
    );
    assert_eq!(
        record["caveats"],
        json!([{ "type": "interface", "interface": "rest" }])
    );
    // An identity token proves who one is; it does not authenticate a request.
    let (status, body) = who_am_i(&server, "X-Auth-Token", &identity);
    assert_eq!(status, 401);
    assert_eq!(
        body["error"]["details"]["authError"]["id"],
        "notAnAccessToken"
    );

    // Invites of the swagger's types, with a usage limit and (into a space) privileges.
    let (join_id, join) = named_of(&create(json!({
        "name": "join",
        "type": { "inviteToken": { "inviteType": "userJoinSpace", "spaceId": space } },
        "usageLimit": 15,
        "privileges": ["space_view", "space_read_data"],
    })));
    assert_eq!(
        identifier_of(&join).2,
        TokenType::invite(InviteType::UserJoinSpace, space.as_str())
    );
    let record = server
        .call("GET", &format!("/tokens/named/{join_id}"), a, None)
        .1;
    assert_eq!(
        record["type"],
        json!({ "inviteToken": { "inviteType": "userJoinSpace", "spaceId": space } })
    );
    assert_eq!(
        record["metadata"],
        json!({
            "creationTime": server.now(), "custom": {}, "usageLimit": 15, "usageCount": 0,
            "privileges": ["space_read_data", "space_view"],
        })
    );
    let (support_id, support) = named_of(&create(json!({
        "name": "support",
        "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } },
        "usageLimit": "infinity",
        "privileges": ["ignored: supportSpace has no member privileges"],
        "revoked": true,
    })));
    let record = server
        .call("GET", &format!("/tokens/named/{support_id}"), a, None)
        .1;
    assert_eq!(record["revoked"], true);
    assert_eq!(record["metadata"]["usageLimit"], "infinity");
    assert_eq!(record["metadata"].get("privileges"), None);
    // Created revoked: verifying it says so.
    let (status, body) = server.call(
        "POST",
        "/tokens/verify_invite_token",
        None,
        Some(json!({ "token": support })),
    );
    assert_eq!(
        (status, &body["error"]["id"]),
        (400, &json!("tokenRevoked"))
    );
    let (_, rop) = named_of(&create(json!({
        "name": "register",
        "type": { "inviteToken": { "inviteType": "registerOneprovider", "adminUserId": alice } },
        "usageLimit": 1,
    })));
    let (status, body) = server.call(
        "POST",
        "/tokens/verify_invite_token",
        None,
        Some(json!({ "token": rop, "expectedInviteType": "registerOneprovider" })),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({ "subject": { "type": "user", "id": alice }, "ttl": null })
    );

    // The request data is checked as Onezone checks it.
    let cases = [
        (
            json!({ "name": "xx", "type": { "identityToken": {} }, "caveats": [{ "type": "api", "whitelist": ["all:all:*"] }] }),
            "badValueCaveat",
        ),
        (
            json!({ "name": "xx", "type": { "inviteToken": { "inviteType": "supportSpace" } } }),
            "badValueTokenType",
        ),
        (
            json!({ "name": "xx", "type": { "inviteToken": { "inviteType": "nope", "spaceId": space } } }),
            "badValueTokenType",
        ),
        (
            json!({ "name": "xx", "type": { "accessToken": {}, "identityToken": {} } }),
            "badValueTokenType",
        ),
        (
            json!({ "name": "xx", "customMetadata": "text" }),
            "badValueJSON",
        ),
        (json!({ "name": "xx", "revoked": "yes" }), "badValueBoolean"),
        (
            json!({ "name": "xx", "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } }, "usageLimit": 0 }),
            "badValueTooLow",
        ),
        (
            json!({ "name": "xx", "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } }, "usageLimit": "many" }),
            "badValueInteger",
        ),
        (
            json!({ "name": "xx", "type": { "inviteToken": { "inviteType": "userJoinSpace", "spaceId": space } }, "privileges": ["oz_users_create"] }),
            "badValueListNotAllowed",
        ),
        (json!({ "name": "join" }), "badValueIdentifierOccupied"),
    ];
    for (body, id) in cases {
        let (status, answer) = create(body.clone());
        assert_eq!(
            (status, &answer["error"]["id"]),
            (400, &json!(id)),
            "{body} → {answer}"
        );
    }
    let (status, answer) = create(json!({ "name": "xx", "usageLimit": 0 }));
    assert_eq!(status, 201, "usageLimit applies to invites only: {answer}");
}

fn named_tokens_are_renamed_revoked_and_deleted(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let a = Some(("alice", "pw-a"));
    let create = |name: &str| {
        named_of(&server.call(
            "POST",
            "/user/tokens/named",
            a,
            Some(json!({ "name": name })),
        ))
    };
    let (laptop_id, laptop) = create("laptop");
    let (phone_id, _) = create("phone");
    let path = format!("/tokens/named/{laptop_id}");
    let patch = |body: Value| server.call("PATCH", &path, a, Some(body));

    // Rename and set custom metadata; the record says so, the name lookup follows.
    assert_eq!(
        patch(json!({ "name": "desk", "customMetadata": { "k": 1 } })),
        (204, Value::Null)
    );
    let record = server.call("GET", &path, a, None).1;
    assert_eq!(
        (&record["name"], &record["metadata"]["custom"]),
        (&json!("desk"), &json!({ "k": 1 }))
    );
    assert_eq!(
        server
            .call("GET", "/user/tokens/named/name/desk", a, None)
            .1["id"],
        json!(laptop_id)
    );
    assert_eq!(
        server.call("GET", "/user/tokens/named/name/laptop", a, None),
        (404, not_found())
    );
    // A name the owner already uses is occupied; a bad name is refused; nothing changes.
    let (status, body) = patch(json!({ "name": "phone", "revoked": true }));
    assert_eq!(
        (status, body),
        (
            400,
            error(
                "badValueIdentifierOccupied",
                Some(json!({ "key": "name" })),
                "Bad value: provided \"name\" is already occupied."
            )
        )
    );
    assert_eq!(
        server.call("GET", &format!("{path}/status"), a, None),
        (200, json!({ "revoked": false }))
    );
    assert_eq!(
        patch(json!({ "name": "" })).1["error"]["id"],
        "badValueName"
    );
    assert_eq!(
        patch(json!({ "customMetadata": [1] })).1["error"]["id"],
        "badValueJSON"
    );

    // Revoke, observe through /status and authentication, un-revoke with a password.
    assert_eq!(patch(json!({ "revoked": true })), (204, Value::Null));
    assert_eq!(
        server.call("GET", &format!("{path}/status"), a, None),
        (200, json!({ "revoked": true }))
    );
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &laptop),
        (401, unauthorized_because(token_revoked()))
    );
    assert_eq!(patch(json!({ "revoked": false })), (204, Value::Null));
    assert_eq!(who_am_i(&server, "X-Auth-Token", &laptop).0, 200);

    let b = Some(("bob", "pw-b"));
    check_cases(
        &server,
        vec![
            // Others: 404 for an unknown id, 403 for another user's token.
            ("GET", format!("{path}/status"), b, None, (403, forbidden())),
            ("DELETE", path.clone(), b, None, (403, forbidden())),
            (
                "GET",
                "/tokens/named/no-such-id/status".into(),
                a,
                None,
                (404, not_found()),
            ),
            (
                "DELETE",
                "/tokens/named/no-such-id".into(),
                a,
                None,
                (404, not_found()),
            ),
            // Listing every token is for token managers.
            ("GET", "/tokens/named".into(), a, None, (403, forbidden())),
        ],
    );
    let (status, all) = server.call("GET", "/tokens/named", Some(ADMIN), None);
    assert_eq!(status, 200);
    let mut expected = vec![laptop_id.clone(), phone_id.clone()];
    expected.sort();
    let mut listed: Vec<String> = serde_json::from_value(all["tokens"].clone()).unwrap();
    listed.sort();
    assert_eq!(listed, expected);

    // Delete one: gone, and the token verifies nothing; then all of the caller's.
    let (_, child) = {
        let (status, body) = server.call_token(
            "POST",
            "/user/tokens/named",
            "X-Auth-Token",
            &laptop,
            Some(json!({ "name": "child" })),
        );
        named_of(&(status, body))
    };
    assert_eq!(server.call("DELETE", &path, a, None), (204, Value::Null));
    assert_eq!(server.call("GET", &path, a, None), (404, not_found()));
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &laptop),
        (401, unauthorized_because(token_invalid()))
    );
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &child),
        (401, unauthorized_because(token_revoked())),
        "minted with a deleted token"
    );
    assert_eq!(
        server.call("DELETE", "/user/tokens/named", a, None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call("GET", "/user/tokens/named", a, None),
        (200, json!({ "tokens": [] }))
    );
    assert_eq!(
        server.call("GET", &format!("/tokens/named/{phone_id}"), a, None),
        (404, not_found())
    );
    // Bob's tokens are untouched by Alice's deletions.
    named_of(&server.call(
        "POST",
        "/user/tokens/named",
        b,
        Some(json!({ "name": "laptop" })),
    ));
    assert_eq!(
        server
            .call("GET", &format!("/users/{bob}/tokens/named"), b, None)
            .1["tokens"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn temporary_tokens_of_every_type_and_generations(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let a = Some(("alice", "pw-a"));
    let space = server.create_space(("alice", "pw-a"), "space s");
    let expiry = json!({ "type": "time", "validUntil": server.now() + 600 });
    let create = |body: Value| server.call("POST", "/user/tokens/temporary", a, Some(body));
    assert_eq!(
        server.call("GET", "/user/tokens/temporary", a, None),
        (200, json!({ "generation": 1 }))
    );

    let identity = temporary_of(&create(
        json!({ "type": { "identityToken": {} }, "caveats": [expiry] }),
    ));
    assert_eq!(
        identifier_of(&identity),
        (
            Persistence::Temporary { generation: 1 },
            Subject::User(alice.clone()),
            TokenType::Identity
        )
    );
    let invite = temporary_of(&create(json!({
        "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } },
        "caveats": [expiry],
    })));
    let verify = |token: &str| {
        server.call(
            "POST",
            "/tokens/verify_invite_token",
            None,
            Some(json!({ "token": token })),
        )
    };
    assert_eq!(
        verify(&invite),
        (
            200,
            json!({ "subject": { "type": "user", "id": alice }, "ttl": 600 })
        )
    );
    // Without an expiry, or with what only a record could hold: refused.
    assert_eq!(
        create(json!({ "type": { "identityToken": {} } })).1["error"]["id"],
        "tokenTimeCaveatRequired"
    );
    for key in ["usageLimit", "customMetadata", "revoked", "privileges"] {
        let mut body = json!({ "caveats": [expiry] });
        body[key] = json!(1);
        let (status, answer) = create(body);
        assert_eq!(status, 400);
        assert_eq!(answer["error"]["id"], "badData", "{key}");
        assert_eq!(answer["error"]["details"]["key"], key);
    }
    // Revoking all temporary tokens moves the generation on and revokes the invite too.
    assert_eq!(
        server.call("DELETE", "/user/tokens/temporary", a, None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call("GET", "/user/tokens/temporary", a, None),
        (200, json!({ "generation": 2 }))
    );
    assert_eq!(
        server.call("GET", &format!("/users/{alice}/tokens/temporary"), a, None),
        (200, json!({ "generation": 2 }))
    );
    assert_eq!(verify(&invite).1["error"]["id"], "tokenRevoked");
}

/// The token management of one subject under `base` (`/users/{id}/tokens`,
/// `/providers/{id}/tokens`): named tokens created (named `name`), listed, deleted and found by
/// name; temporary tokens created (with `expiry`), their generation read, all revoked.
fn token_requests(
    base: &str,
    name: &str,
    expiry: &Value,
) -> [(&'static str, String, Option<Value>); 7] {
    [
        (
            "POST",
            format!("{base}/named"),
            Some(json!({ "name": name })),
        ),
        ("GET", format!("{base}/named"), None),
        ("DELETE", format!("{base}/named"), None),
        ("GET", format!("{base}/named/name/{name}"), None),
        (
            "POST",
            format!("{base}/temporary"),
            Some(json!({ "caveats": [expiry] })),
        ),
        ("GET", format!("{base}/temporary"), None),
        ("DELETE", format!("{base}/temporary"), None),
    ]
}

/// The rows for requests on an entity of someone else's (`id`, in each path): each is
/// forbidden to `stranger`, and not found for `asker` once `id` is replaced by an unknown one.
fn refused_to_strangers<'a>(
    requests: &[(&'a str, String, Option<Value>)],
    stranger: Option<(&'a str, &'a str)>,
    asker: Option<(&'a str, &'a str)>,
    id: &str,
) -> Vec<Case<'a>> {
    requests
        .iter()
        .flat_map(|(method, path, body)| {
            [
                (
                    *method,
                    path.clone(),
                    stranger,
                    body.clone(),
                    (403, forbidden()),
                ),
                (
                    *method,
                    path.replace(id, "no-such-id"),
                    asker,
                    body.clone(),
                    (404, not_found()),
                ),
            ]
        })
        .collect()
}

fn tokens_of_other_users_need_a_token_manager(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    server.create_user("bob", "pw-b");
    let b = Some(("bob", "pw-b"));
    let expiry = json!({ "type": "time", "validUntil": server.now() + 600 });
    let paths = token_requests(&format!("/users/{alice}/tokens"), "nn", &expiry);
    check_cases(&server, refused_to_strangers(&paths, b, b, &alice));
    // A token manager (the admin has every privilege) mints Alice's tokens for her.
    let (status, body) = server.call("POST", &paths[0].1, Some(ADMIN), paths[0].2.clone());
    let (id, token) = named_of(&(status, body));
    assert_eq!(identifier_of(&token).1, Subject::User(alice.clone()));
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &token).1["userId"],
        json!(alice)
    );
    assert_eq!(
        server.call("GET", &paths[1].1, Some(ADMIN), None),
        (200, json!({ "tokens": [id] }))
    );
    assert_eq!(
        server.call("GET", &paths[3].1, Some(ADMIN), None).1["id"],
        json!(id)
    );
    let temporary =
        temporary_of(&server.call("POST", &paths[4].1, Some(ADMIN), paths[4].2.clone()));
    assert_eq!(identifier_of(&temporary).1, Subject::User(alice.clone()));
    assert_eq!(
        server.call("DELETE", &paths[6].1, Some(ADMIN), None),
        (204, Value::Null)
    );
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &temporary),
        (401, unauthorized_because(token_revoked()))
    );
    assert_eq!(
        server.call("DELETE", &paths[2].1, Some(ADMIN), None),
        (204, Value::Null)
    );
    assert_eq!(
        who_am_i(&server, "X-Auth-Token", &token),
        (401, unauthorized_because(token_invalid()))
    );
    // ... but not with a token: a token mints only for its own user.
    let admin_token = server.temporary_token(ADMIN, json!([]));
    let (status, body) = server.call_token(
        "POST",
        &paths[0].1,
        "X-Auth-Token",
        &admin_token,
        paths[0].2.clone(),
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["details"]["hint"]
            .as_str()
            .unwrap()
            .contains("own user"),
        "{body}"
    );
}

fn invite_tokens_need_a_target_and_the_right_to_invite(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let a = Some(("alice", "pw-a"));
    let space = server.create_space(("alice", "pw-a"), "space s");
    let invite = |auth, invite_type: &str, key: &str, target: &str| {
        let body = json!({
            "name": format!("{invite_type} {target}"),
            "type": { "inviteToken": { "inviteType": invite_type, key: target } },
        });
        server.call("POST", "/user/tokens/named", auth, Some(body))
    };
    // Targets that do not exist here: Onezone's inviteTokenTargetIdInvalid.
    for (invite_type, key, target) in [
        ("userJoinSpace", "spaceId", "no-such-space"),
        ("registerOneprovider", "adminUserId", "no-such-user"),
        ("userJoinGroup", "groupId", "g1"),
        ("userJoinCluster", "clusterId", "c1"),
        ("spaceJoinHarvester", "harvesterId", "h1"),
    ] {
        assert_eq!(
            invite(a, invite_type, key, target),
            (
                400,
                error(
                    "inviteTokenTargetIdInvalid",
                    Some(json!({ "id": target })),
                    &format!("The target id \"{target}\" of the invite token is invalid.")
                )
            ),
            "{invite_type}"
        );
    }
    // Bob is no member of the space and holds no oz privilege; Alice holds them all in it.
    let b = Some(("bob", "pw-b"));
    for (invite_type, key, target) in [
        ("userJoinSpace", "spaceId", space.as_str()),
        ("groupJoinSpace", "spaceId", space.as_str()),
        ("supportSpace", "spaceId", space.as_str()),
        ("registerOneprovider", "adminUserId", bob.as_str()),
    ] {
        assert_eq!(
            invite(b, invite_type, key, target),
            (403, forbidden()),
            "{invite_type}"
        );
    }
    for invite_type in ["userJoinSpace", "groupJoinSpace", "supportSpace"] {
        assert_eq!(
            invite(a, invite_type, "spaceId", &space).0,
            201,
            "{invite_type}"
        );
    }
    // Bob may add users to the space, not choose their privileges.
    let grant = json!({ "grant": ["space_add_user"] });
    let path = format!("/spaces/{space}/users/{bob}/privileges");
    assert_eq!(server.call("PATCH", &path, a, Some(grant)).0, 204);
    assert_eq!(invite(b, "userJoinSpace", "spaceId", &space).0, 201);
    let with_privileges = json!({
        "name": "join with privileges",
        "type": { "inviteToken": { "inviteType": "userJoinSpace", "spaceId": space } },
        "privileges": ["space_view", "space_delete"],
    });
    let (status, body) = server.call(
        "POST",
        "/user/tokens/named",
        b,
        Some(with_privileges.clone()),
    );
    assert_eq!(status, 403, "{body}");
    assert!(body["error"]["details"]["hint"]
        .as_str()
        .unwrap()
        .contains("space_set_privileges"));
    assert_eq!(
        server
            .call("POST", "/user/tokens/named", a, Some(with_privileges))
            .0,
        201
    );
    // Registration under the restricted policy needs oz_providers_invite, even for oneself.
    assert_eq!(
        invite(a, "registerOneprovider", "adminUserId", &alice),
        (403, forbidden())
    );
    assert_eq!(
        server.call(
            "POST",
            "/user/clusters/provider_registration_token",
            a,
            None
        ),
        (403, forbidden())
    );
    let (status, body) = server.call(
        "POST",
        "/user/clusters/provider_registration_token",
        Some(ADMIN),
        None,
    );
    let token = token_of(status, &body);
    let admin = server.user_id(ADMIN.0);
    verify_stored(
        &server,
        &token,
        InviteType::RegisterOneprovider,
        &admin,
        &admin,
    );
    // A token with caveats an invite cannot carry mints none.
    let rest_only = server.temporary_token(
        ("alice", "pw-a"),
        json!([{ "type": "interface", "interface": "rest" }]),
    );
    let body = json!({ "name": "nn", "type": { "inviteToken": { "inviteType": "supportSpace", "spaceId": space } } });
    let (status, answer) = server.call_token(
        "POST",
        "/user/tokens/named",
        "X-Auth-Token",
        &rest_only,
        Some(body),
    );
    assert_eq!(status, 403, "{answer}");
    assert!(answer["error"]["details"]["hint"]
        .as_str()
        .unwrap()
        .contains("interface"));
}

fn confine_attenuates_without_a_key(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    server.create_user("alice", "pw-a");
    let token = server.temporary_token(("alice", "pw-a"), json!([]));
    let confine = |body: Value| server.call("POST", "/tokens/confine", None, Some(body));
    // Confined to another address: the token no longer authenticates from here.
    let (status, body) = confine(
        json!({ "token": token, "caveats": [{ "type": "ip", "whitelist": ["192.0.2.1"] }] }),
    );
    assert_eq!(status, 200, "{body}");
    let confined = body["token"].as_str().unwrap().to_owned();
    assert_eq!(body, json!({ "token": confined }));
    let (status, answer) = who_am_i(&server, "X-Auth-Token", &confined);
    assert_eq!(
        (status, &answer["error"]["details"]["authError"]["id"]),
        (401, &json!("tokenCaveatUnverified"))
    );
    // Examine shows the added caveat last; the original is untouched.
    let examined = server
        .call(
            "POST",
            "/tokens/examine",
            None,
            Some(json!({ "token": confined })),
        )
        .1;
    assert_eq!(
        examined["caveats"].as_array().unwrap().last().unwrap(),
        &json!({ "type": "ip", "whitelist": ["192.0.2.1"] })
    );
    assert_eq!(who_am_i(&server, "X-Auth-Token", &token).0, 200);
    // Confined to this address: still works.
    let here = confine(json!({ "token": token, "caveats": ["ip = 127.0.0.1"] })).1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(who_am_i(&server, "X-Auth-Token", &here).0, 200);
    // Bad requests.
    assert_eq!(
        confine(json!({ "token": token })).1["error"]["id"],
        "missingRequiredValue"
    );
    assert_eq!(
        confine(json!({ "caveats": [] })).1["error"]["id"],
        "missingRequiredValue"
    );
    let (status, answer) = confine(json!({ "token": "garbage", "caveats": [] }));
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["id"], "badValueToken");
    assert_eq!(answer["error"]["details"]["key"], "token");
    assert_eq!(answer["error"]["details"]["tokenError"]["id"], "badToken");
    assert_eq!(
        confine(json!({ "token": token, "caveats": [{ "type": "nope" }] })).1["error"]["id"],
        "badValueCaveat"
    );
}

fn verify_access_and_identity_tokens(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let a = Some(("alice", "pw-a"));
    let access = server.temporary_token(
        ("alice", "pw-a"),
        json!([
            { "type": "ip", "whitelist": ["10.0.0.0/8"] },
            { "type": "interface", "interface": "oneclient" },
            { "type": "api", "whitelist": ["ozw/all/user.*.*"] },
            { "type": "consumer", "whitelist": [format!("usr-{bob}")] },
        ]),
    );
    let verify = |path: &str, body: Value| server.call("POST", path, None, Some(body));
    let bob_identity = named_of(&server.call(
        "POST",
        "/user/tokens/named",
        Some(("bob", "pw-b")),
        Some(json!({ "name": "me", "type": { "identityToken": {} } })),
    ))
    .1;
    let everything = json!({
        "token": access, "peerIp": "10.1.2.3", "interface": "oneclient", "consumerToken": bob_identity,
    });
    let access_path = "/tokens/verify_access_token";
    let identity_path = "/tokens/verify_identity_token";
    let post = |path: &str, body: Value, expected: (u16, Value)| -> Case<'static> {
        ("POST", path.to_owned(), None, Some(body), expected)
    };
    check_cases(
        &server,
        vec![
            // Every fact given: verified (the api caveat is left to the operation, as in
            // Onezone).
            post(
                access_path,
                everything.clone(),
                (
                    200,
                    json!({ "subject": { "type": "user", "id": alice }, "ttl": 600 }),
                ),
            ),
            // Wrong types.
            post(
                access_path,
                json!({ "token": bob_identity }),
                (
                    400,
                    error(
                        "notAnAccessToken",
                        Some(json!({ "received": { "identityToken": {} } })),
                        "Provided token is not an access token.",
                    ),
                ),
            ),
            post(
                identity_path,
                json!({ "token": access }),
                (
                    400,
                    error(
                        "notAnIdentityToken",
                        Some(json!({ "received": { "accessToken": {} } })),
                        "Received token is not an identity token.",
                    ),
                ),
            ),
            post(
                identity_path,
                json!({ "token": bob_identity }),
                (
                    200,
                    json!({ "subject": { "type": "user", "id": bob }, "ttl": null }),
                ),
            ),
        ],
    );
    // Each fact left out fails its caveat: nothing is assumed.
    for key in ["peerIp", "interface", "consumerToken"] {
        let mut body = everything.clone();
        body.as_object_mut().unwrap().remove(key);
        let (status, answer) = verify(access_path, body);
        assert_eq!(
            (status, &answer["error"]["id"]),
            (400, &json!("tokenCaveatUnverified")),
            "{key}: {answer}"
        );
    }
    // data.* caveats hold only when the verifying service checks them itself.
    let data = server.temporary_token(("alice", "pw-a"), json!([{ "type": "data.readonly" }]));
    assert_eq!(
        verify(access_path, json!({ "token": data })).1["error"]["id"],
        "tokenCaveatUnverified"
    );
    assert_eq!(
        verify(
            access_path,
            json!({ "token": data, "allowDataAccessCaveats": true })
        )
        .0,
        200
    );
    // Bad tokens, a user's identity as a service.
    let (status, answer) = verify(
        access_path,
        json!({ "token": data, "allowDataAccessCaveats": true, "consumerToken": access }),
    );
    assert_eq!(status, 400);
    assert_eq!(
        (&answer["error"]["id"], &answer["error"]["details"]["key"]),
        (&json!("badValueToken"), &json!("consumerToken"))
    );
    let (status, answer) = verify(
        access_path,
        json!({ "token": data, "allowDataAccessCaveats": true, "serviceToken": bob_identity }),
    );
    assert_eq!(status, 400);
    assert_eq!(
        answer["error"]["details"]["tokenError"]["id"],
        "tokenServiceForbidden"
    );
    for (body, id) in [
        (json!({ "token": "garbage" }), "badValueToken"),
        (
            json!({ "token": access, "interface": "ftp" }),
            "badValueNotAllowed",
        ),
        (
            json!({ "token": access, "peerIp": "x" }),
            "badValueIPv4Address",
        ),
    ] {
        let (status, answer) = verify(access_path, body.clone());
        assert_eq!(
            (status, &answer["error"]["id"]),
            (400, &json!(id)),
            "POST {access_path} with {body}: {answer}"
        );
    }
    // Revocation: a revoked identity token says so.
    let (id, identity) = named_of(&server.call(
        "POST",
        "/user/tokens/named",
        a,
        Some(json!({ "name": "idn", "type": { "identityToken": {} } })),
    ));
    assert_eq!(
        server
            .call(
                "PATCH",
                &format!("/tokens/named/{id}"),
                a,
                Some(json!({ "revoked": true }))
            )
            .0,
        204
    );
    assert_eq!(
        verify(identity_path, json!({ "token": identity })).1["error"]["id"],
        "tokenRevoked"
    );
}

// ---------------------------------------------------------------------------------------------
// Oneproviders: registration and space support consume their invites (issue 13)

/// Registers a provider whose cluster admin is `admin` (`auth`'s user) with a single-use named
/// invite; its id and root token.
fn registered_provider(
    server: &TestServer,
    auth: (&str, &str),
    admin: &str,
    name: &str,
) -> (String, String) {
    let invite_name = format!("register {name}");
    let (_, invite) = named_invite(
        server,
        auth,
        &invite_name,
        "registerOneprovider",
        "adminUserId",
        admin,
        1,
    );
    let (status, body) = server.call(
        "POST",
        "/providers",
        None,
        Some(registration(&invite, name)),
    );
    assert_eq!(status, 200, "{body}");
    (
        body["providerId"].as_str().unwrap().to_owned(),
        body["providerRootToken"].as_str().unwrap().to_owned(),
    )
}

/// A `POST /providers` body for `token`.
fn registration(token: &str, name: &str) -> Value {
    json!({
        "token": token,
        "name": name,
        "adminEmail": "admin@provider.example.com",
        "subdomainDelegation": false,
        "domain": "provider.example.com",
        "latitude": 50.0647,
        "longitude": 19.945,
    })
}

/// A named invite of `auth`'s user (`POST /user/tokens/named`) with a usage limit.
fn named_invite(
    server: &TestServer,
    auth: (&str, &str),
    name: &str,
    invite_type: &str,
    key: &str,
    target: &str,
    usage_limit: u64,
) -> (String, String) {
    named_of(&server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({
            "name": name,
            "type": { "inviteToken": { "inviteType": invite_type, key: target } },
            "usageLimit": usage_limit,
        })),
    ))
}

fn the_invite_flow_registers_a_provider_and_supports_a_space(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let a = ("alice", "pw-a");
    let (invite_id, invite) = named_invite(
        &server,
        a,
        "register",
        "registerOneprovider",
        "adminUserId",
        &alice,
        1,
    );

    // Register: public, the token is the authority; its one use is counted.
    let (status, body) = server.call(
        "POST",
        "/providers",
        None,
        Some(registration(&invite, "p1")),
    );
    assert_eq!(status, 200, "{body}");
    let provider = body["providerId"].as_str().unwrap().to_owned();
    let root = body["providerRootToken"].as_str().unwrap().to_owned();
    assert_eq!(body["adminUserId"], json!(alice));
    assert_eq!(
        identifier_of(&root),
        (
            Persistence::Named,
            Subject::Provider(provider.clone()),
            TokenType::Access { session: None }
        )
    );
    let record = server
        .call("GET", &format!("/tokens/named/{invite_id}"), Some(a), None)
        .1;
    assert_eq!(
        (
            &record["metadata"]["usageLimit"],
            &record["metadata"]["usageCount"]
        ),
        (&json!(1), &json!(1))
    );
    let (status, body) = server.call(
        "POST",
        "/providers",
        None,
        Some(registration(&invite, "p2")),
    );
    assert_eq!(
        (status, body),
        (
            400,
            error(
                "inviteTokenUsageLimitReached",
                None,
                "The usage limit of the invite token has been reached."
            )
        )
    );

    // The provider authenticates with its root token.
    let as_provider = |method: &str, path: &str, body: Option<Value>| {
        server.call_token(method, path, "X-Auth-Token", &root, body)
    };
    let details = json!({
        "providerId": provider, "name": "p1", "domain": "provider.example.com",
        "latitude": 50.0647, "longitude": 19.945, "clusterId": provider, "online": false,
        "creationTime": server.now(),
    });
    assert_eq!(
        as_provider("GET", "/provider", None),
        (200, details.clone())
    );
    assert_eq!(
        server.call("GET", &format!("/providers/{provider}"), Some(a), None),
        (200, details),
        "the cluster's admin"
    );
    // Each principal on the other's routes: authenticated, but the wrong kind.
    assert_eq!(server.call("GET", "/provider", Some(a), None).0, 403);
    assert_eq!(as_provider("GET", "/user", None).0, 403);

    // Support: the space's member mints a support invite, the provider consumes it.
    let space = server.create_space(a, "space s");
    let (_, support) = named_invite(&server, a, "support", "supportSpace", "spaceId", &space, 1);
    assert_eq!(
        as_provider("GET", "/provider/spaces", None),
        (200, json!({ "spaces": [] }))
    );
    let (status, body) = as_provider(
        "POST",
        "/provider/spaces/support",
        Some(json!({ "token": support, "size": 1_000_000 })),
    );
    assert_eq!((status, body), (201, json!({ "id": space })));
    assert_eq!(
        as_provider("GET", "/provider/spaces", None),
        (200, json!({ "spaces": [space] }))
    );
    assert_eq!(
        server.call("GET", &format!("/spaces/{space}/providers"), Some(a), None),
        (200, json!({ "providers": [provider] }))
    );
    assert_eq!(
        server
            .call(
                "GET",
                &format!("/spaces/{space}/providers/{provider}"),
                Some(a),
                None
            )
            .1["providerId"],
        json!(provider)
    );
    // Used up, and supporting twice is refused without using anything.
    assert_eq!(
        as_provider(
            "POST",
            "/provider/spaces/support",
            Some(json!({ "token": support, "size": 1 }))
        )
        .1["error"]["id"],
        "inviteTokenUsageLimitReached"
    );
    let (again_id, again) = named_invite(
        &server,
        a,
        "support again",
        "supportSpace",
        "spaceId",
        &space,
        1,
    );
    assert_eq!(
        as_provider(
            "POST",
            "/provider/spaces/support",
            Some(json!({ "token": again, "size": 1 }))
        ),
        (
            409,
            error("alreadyExists", None, "The resource already exists.")
        )
    );
    let record = server
        .call("GET", &format!("/tokens/named/{again_id}"), Some(a), None)
        .1;
    assert_eq!(
        record["metadata"]["usageCount"], 0,
        "a refused support uses nothing: {record}"
    );
    // A registration token is no support token.
    let (status, body) = as_provider(
        "POST",
        "/provider/spaces/support",
        Some(json!({ "token": invite, "size": 1 })),
    );
    assert_eq!(
        (status, &body["error"]["id"]),
        (400, &json!("notAnInviteToken")),
        "{body}"
    );

    // The provider's own tokens.
    let (status, body) = as_provider(
        "POST",
        "/provider/tokens/named",
        Some(json!({ "name": "ops" })),
    );
    let (ops_id, ops) = named_of(&(status, body));
    assert_eq!(identifier_of(&ops).1, Subject::Provider(provider.clone()));
    assert_eq!(
        server
            .call_token("GET", "/provider", "X-Auth-Token", &ops, None)
            .0,
        200
    );
    let listed = as_provider("GET", "/provider/tokens/named", None).1;
    assert_eq!(
        listed["tokens"].as_array().unwrap().len(),
        2,
        "root and ops: {listed}"
    );
    assert_eq!(
        as_provider("GET", "/provider/tokens/named/name/ops", None).1["subject"],
        json!({ "type": "oneprovider", "id": provider })
    );
    let expiry = json!({ "type": "time", "validUntil": server.now() + 600 });
    let temporary = temporary_of(&as_provider(
        "POST",
        "/provider/tokens/temporary",
        Some(json!({ "caveats": [expiry] })),
    ));
    assert_eq!(
        server
            .call_token("GET", "/provider", "X-Auth-Token", &temporary, None)
            .0,
        200
    );
    assert_eq!(
        as_provider("GET", "/provider/tokens/temporary", None),
        (200, json!({ "generation": 1 }))
    );
    assert_eq!(
        as_provider("DELETE", "/provider/tokens/temporary", None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call_token("GET", "/provider", "X-Auth-Token", &temporary, None),
        (401, unauthorized_because(token_revoked()))
    );
    // The provider's token verifies for a service, as the provider.
    assert_eq!(
        server.call(
            "POST",
            "/tokens/verify_access_token",
            None,
            Some(json!({ "token": ops }))
        ),
        (
            200,
            json!({ "subject": { "type": "oneprovider", "id": provider }, "ttl": null })
        )
    );
    let _ = ops_id;

    // The provider proves itself as the service a token is processed by (serviceToken).
    let (_, provider_identity) = named_of(&as_provider(
        "POST",
        "/provider/tokens/named",
        Some(json!({ "name": "identity", "type": { "identityToken": {} } })),
    ));
    let for_krakow = server.temporary_token(
        a,
        json!([{ "type": "service", "whitelist": [format!("opw-{provider}")] }]),
    );
    let verify = |body: Value| server.call("POST", "/tokens/verify_access_token", None, Some(body));
    assert_eq!(
        verify(json!({ "token": for_krakow, "serviceToken": provider_identity })).0,
        200
    );
    assert_eq!(
        verify(json!({ "token": for_krakow })).1["error"]["id"],
        "tokenCaveatUnverified"
    );
    // Settings, then the member ends the support, then the provider leaves.
    assert_eq!(
        as_provider(
            "PATCH",
            "/provider",
            Some(json!({ "name": "renamed", "latitude": -10.5 }))
        ),
        (204, Value::Null)
    );
    assert_eq!(as_provider("GET", "/provider", None).1["name"], "renamed");
    assert_eq!(
        as_provider("PATCH", "/provider", Some(json!({}))).1["error"]["id"],
        "missingAtLeastOneValue"
    );
    assert_eq!(
        server.call(
            "DELETE",
            &format!("/spaces/{space}/providers/{provider}"),
            Some(a),
            None
        ),
        (204, Value::Null)
    );
    assert_eq!(
        as_provider("GET", "/provider/spaces", None),
        (200, json!({ "spaces": [] }))
    );
    assert_eq!(as_provider("DELETE", "/provider", None), (204, Value::Null));
    assert_eq!(
        as_provider("GET", "/provider", None),
        (401, unauthorized_because(token_invalid()))
    );
    assert_eq!(
        server.call("GET", &format!("/providers/{provider}"), Some(a), None),
        (404, not_found())
    );
}

fn provider_registration_is_checked(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Restricted);
    let alice = server.create_user("alice", "pw-a");
    let a = ("alice", "pw-a");
    // Alice may invite providers while she holds oz_providers_invite.
    let grant = json!({ "grant": ["oz_providers_invite"] });
    assert_eq!(
        server
            .call(
                "PATCH",
                &format!("/users/{alice}/privileges"),
                Some(ADMIN),
                Some(grant)
            )
            .0,
        204
    );
    let (invite_id, invite) = named_invite(
        &server,
        a,
        "register",
        "registerOneprovider",
        "adminUserId",
        &alice,
        5,
    );
    let register = |body: Value| server.call("POST", "/providers", None, Some(body));
    let with = |key: &str, value: Value| {
        let mut body = registration(&invite, "p1");
        body[key] = value;
        body
    };
    let without = |key: &str| {
        let mut body = registration(&invite, "p1");
        body.as_object_mut().unwrap().remove(key);
        body
    };
    let cases = [
        (without("token"), "missingRequiredValue"),
        (without("name"), "missingRequiredValue"),
        (without("adminEmail"), "missingRequiredValue"),
        (without("subdomainDelegation"), "missingRequiredValue"),
        (without("domain"), "missingRequiredValue"),
        (with("subdomainDelegation", json!(true)), "badData"),
        (with("subdomainDelegation", json!("no")), "badValueBoolean"),
        (with("domain", json!("bad domain!")), "badValueDomain"),
        (with("adminEmail", json!("nobody")), "badValueEmail"),
        (with("latitude", json!(91)), "badData"),
        (with("longitude", json!("east")), "badData"),
        (with("token", json!("garbage")), "badValueToken"),
    ];
    for (body, id) in cases {
        let (status, answer) = register(body.clone());
        assert_eq!(
            (status, &answer["error"]["id"]),
            (400, &json!(id)),
            "{body} → {answer}"
        );
    }
    // Nothing was consumed by the refusals; the privilege taken away, the invite is void.
    let record = server
        .call("GET", &format!("/tokens/named/{invite_id}"), Some(a), None)
        .1;
    assert_eq!(record["metadata"]["usageCount"], 0, "{record}");
    let revoke = json!({ "revoke": ["oz_providers_invite"] });
    assert_eq!(
        server
            .call(
                "PATCH",
                &format!("/users/{alice}/privileges"),
                Some(ADMIN),
                Some(revoke)
            )
            .0,
        204
    );
    assert_eq!(
        register(registration(&invite, "p1")),
        (
            400,
            error(
                "inviteTokenSubjectNotAuthorized",
                None,
                "The subject of the invite token is not authorized to issue such invitations."
            )
        )
    );
    // A space support token is no registration token; an IP caveat is checked against the
    // registering client.
    let space = server.create_space(a, "space s");
    let (_, support) = named_invite(&server, a, "support", "supportSpace", "spaceId", &space, 1);
    assert_eq!(
        register(registration(&support, "p1")).1["error"]["id"],
        "notAnInviteToken"
    );
    let admin_invite = token_of_admin_invite(&server);
    let elsewhere = server
        .call(
            "POST",
            "/tokens/confine",
            None,
            Some(json!({ "token": admin_invite, "caveats": ["ip = 192.0.2.1"] })),
        )
        .1["token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        register(registration(&elsewhere, "p1")).1["error"]["id"],
        "tokenCaveatUnverified"
    );
    assert_eq!(register(registration(&admin_invite, "p1")).0, 200);
    // A seed endpoint's token is good for one registration (SPEC §10.5).
    assert_eq!(
        register(registration(&admin_invite, "p2")).1["error"]["id"],
        "inviteTokenUsageLimitReached"
    );
    // Listing and viewing providers: admins and the cluster's admin only.
    assert_eq!(
        server.call("GET", "/providers", Some(a), None),
        (403, forbidden())
    );
    assert_eq!(
        server.call("GET", "/providers", Some(ADMIN), None).1["providers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// A provider registration token of the admin (who holds every oz privilege) for themself.
fn token_of_admin_invite(server: &TestServer) -> String {
    let (status, body) = server.call(
        "POST",
        "/user/clusters/provider_registration_token",
        Some(ADMIN),
        None,
    );
    token_of(status, &body)
}

fn concurrent_registrations_with_a_single_use_token(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let (_, invite) = named_invite(
        &server,
        ("alice", "pw-a"),
        "once",
        "registerOneprovider",
        "adminUserId",
        &alice,
        1,
    );
    let url = server.url("/providers");
    let barrier = std::sync::Barrier::new(8);
    let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (url, invite, barrier) = (&url, &invite, &barrier);
                scope.spawn(move || {
                    barrier.wait();
                    call(
                        url,
                        "POST",
                        None,
                        Some(registration(invite, &format!("p{i}"))),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners = statuses.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(winners, 1, "{statuses:?}");
    for (status, body) in statuses.iter().filter(|(status, _)| *status != 200) {
        assert_eq!(
            (*status, &body["error"]["id"]),
            (400, &json!("inviteTokenUsageLimitReached"))
        );
    }
    assert_eq!(
        server.call("GET", "/providers", Some(ADMIN), None).1["providers"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

fn provider_tokens_are_managed_by_the_cluster_admin(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    server.create_user("bob", "pw-b");
    let a = Some(("alice", "pw-a"));
    let (provider, root) = registered_provider(&server, ("alice", "pw-a"), &alice, "p1");
    let base = format!("/providers/{provider}/tokens");
    let expiry = json!({ "type": "time", "validUntil": server.now() + 600 });

    // Bob is nobody to this provider; an unknown provider is 404.
    let requests = token_requests(&base, "ops", &expiry);
    check_cases(
        &server,
        refused_to_strangers(&requests, Some(("bob", "pw-b")), a, &provider),
    );
    // The cluster's admin mints the provider's tokens, which act for the provider.
    let (id, ops) = named_of(&server.call(
        "POST",
        &format!("{base}/named"),
        a,
        Some(json!({ "name": "ops" })),
    ));
    assert_eq!(identifier_of(&ops).1, Subject::Provider(provider.clone()));
    assert_eq!(
        server
            .call_token("GET", "/provider", "X-Auth-Token", &ops, None)
            .1["providerId"],
        json!(provider)
    );
    assert_eq!(
        server
            .call("GET", &format!("{base}/named/name/ops"), a, None)
            .1["id"],
        json!(id)
    );
    assert_eq!(
        server.call("GET", &format!("{base}/named"), a, None).1["tokens"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let temporary = temporary_of(&server.call(
        "POST",
        &format!("{base}/temporary"),
        a,
        Some(json!({ "caveats": [expiry] })),
    ));
    assert_eq!(
        server
            .call_token("GET", "/provider/spaces", "X-Auth-Token", &temporary, None)
            .0,
        200
    );
    assert_eq!(
        server.call("DELETE", &format!("{base}/temporary"), a, None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call("GET", &format!("{base}/temporary"), a, None),
        (200, json!({ "generation": 2 }))
    );
    assert_eq!(
        server.call_token("GET", "/provider", "X-Auth-Token", &temporary, None),
        (401, unauthorized_because(token_revoked()))
    );
    // One token at a time through /tokens/named/{id}: the provider itself and its cluster's
    // admin (as Onezone lets them), nobody else; only a password un-revokes.
    let record = format!("/tokens/named/{id}");
    let as_root = |method: &str, path: &str, body: Option<Value>| {
        server.call_token(method, path, "X-Auth-Token", &root, body)
    };
    assert_eq!(
        as_root("GET", &record, None).1["subject"],
        json!({ "type": "oneprovider", "id": provider })
    );
    assert_eq!(
        as_root("PATCH", &record, Some(json!({ "revoked": true }))),
        (204, Value::Null)
    );
    assert_eq!(
        server.call_token("GET", "/provider", "X-Auth-Token", &ops, None),
        (401, unauthorized_because(token_revoked()))
    );
    assert_eq!(
        as_root("PATCH", &record, Some(json!({ "revoked": false }))).0,
        403
    );
    assert_eq!(
        server.call("PATCH", &record, a, Some(json!({ "revoked": false }))),
        (204, Value::Null)
    );
    assert_eq!(
        server
            .call_token("GET", "/provider", "X-Auth-Token", &ops, None)
            .0,
        200
    );
    assert_eq!(
        server.call(
            "GET",
            &format!("{record}/status"),
            Some(("bob", "pw-b")),
            None
        ),
        (403, forbidden())
    );
    let alices = named_of(&server.call(
        "POST",
        "/user/tokens/named",
        a,
        Some(json!({ "name": "hers" })),
    ))
    .0;
    assert_eq!(
        as_root("GET", &format!("/tokens/named/{alices}"), None),
        (403, forbidden())
    );
    // Not with a token of hers: a token mints only for its own subject.
    let hers = server.temporary_token(("alice", "pw-a"), json!([]));
    assert_eq!(
        server
            .call_token(
                "POST",
                &format!("{base}/named"),
                "X-Auth-Token",
                &hers,
                Some(json!({ "name": "more" }))
            )
            .0,
        403
    );
    // Deleting the provider's named tokens takes its root token too.
    assert_eq!(
        server.call("DELETE", &format!("{base}/named"), a, None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call_token("GET", "/provider", "X-Auth-Token", &root, None),
        (401, unauthorized_because(token_invalid()))
    );
}

fn infer_access_token_scope_reports_spaces_and_providers(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let bob = server.create_user("bob", "pw-b");
    let a = ("alice", "pw-a");
    let (provider, root) = registered_provider(&server, ("alice", "pw-a"), &alice, "krakow");
    let gamma = server.create_space(a, "Gamma");
    let delta = server.create_space(a, "Delta");
    let (_, support) = named_invite(&server, a, "support", "supportSpace", "spaceId", &gamma, 1);
    let supported = server.call_token(
        "POST",
        "/provider/spaces/support",
        "X-Auth-Token",
        &root,
        Some(json!({ "token": support, "size": 10 })),
    );
    assert_eq!(supported.0, 201);
    let infer =
        |body: Value| server.call("POST", "/tokens/infer_access_token_scope", None, Some(body));
    let krakow = json!({ "name": "krakow", "domain": "provider.example.com", "online": false });

    // Limited to oneclient on the provider: that is no obstacle to learning the scope.
    let token = server.temporary_token(
        a,
        json!([
            { "type": "interface", "interface": "oneclient" },
            { "type": "service", "whitelist": [format!("opw-{provider}")] },
        ]),
    );
    let mut spaces = serde_json::Map::new();
    spaces.insert(
        gamma.clone(),
        json!({ "name": "Gamma", "supports": { provider.clone(): { "readonly": false } } }),
    );
    spaces.insert(delta.clone(), json!({ "name": "Delta", "supports": {} }));
    assert_eq!(
        infer(json!({ "token": token })),
        (
            200,
            json!({
                "validUntil": server.now() + 600,
                "dataAccessScope": { "readonly": false, "spaces": spaces, "providers": { provider.clone(): krakow } },
            })
        )
    );
    // data.path narrows the spaces; data.readonly says so.
    let path = {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.encode(format!("/{delta}/dir"))
    };
    let narrowed = server.temporary_token(
        a,
        json!([{ "type": "data.path", "whitelist": [path] }, { "type": "data.readonly" }]),
    );
    let scope = infer(json!({ "token": narrowed })).1;
    assert_eq!(scope["dataAccessScope"]["readonly"], true);
    assert_eq!(
        scope["dataAccessScope"]["spaces"],
        json!({ delta.clone(): { "name": "Delta", "supports": {} } })
    );
    assert_eq!(scope["dataAccessScope"]["providers"], json!({}));
    // Other caveats still hold: an IP elsewhere, a consumer not proven.
    let elsewhere =
        server.temporary_token(a, json!([{ "type": "ip", "whitelist": ["192.0.2.1"] }]));
    assert_eq!(
        infer(json!({ "token": elsewhere })).1["error"]["id"],
        "tokenCaveatUnverified"
    );
    let for_bob = server.temporary_token(
        a,
        json!([{ "type": "consumer", "whitelist": [format!("usr-{bob}")] }]),
    );
    assert_eq!(
        infer(json!({ "token": for_bob })).1["error"]["id"],
        "tokenCaveatUnverified"
    );
    let bob_identity = named_of(&server.call(
        "POST",
        "/user/tokens/named",
        Some(("bob", "pw-b")),
        Some(json!({ "name": "me", "type": { "identityToken": {} } })),
    ))
    .1;
    assert_eq!(
        infer(json!({ "token": for_bob, "consumerToken": bob_identity })).0,
        200
    );
    // Bob's own token reaches none of Alice's spaces; a provider's token has no data scope.
    let bobs = server.temporary_token(("bob", "pw-b"), json!([]));
    assert_eq!(
        infer(json!({ "token": bobs })).1["dataAccessScope"]["spaces"],
        json!({})
    );
    assert_eq!(
        infer(json!({ "token": root })),
        (200, json!({ "validUntil": null, "dataAccessScope": null }))
    );
    assert_eq!(
        infer(json!({ "token": "garbage" })).1["error"]["id"],
        "badValueToken"
    );
    assert_eq!(infer(json!({})).1["error"]["id"], "missingRequiredValue");
}

/// Review finding M2: an `api` caveat answers the `/user/…` and `/users/{id}/…` forms of one
/// token operation alike (one Onezone API call).
fn api_caveats_see_one_call_for_both_route_forms(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    let auth = ("alice", "pw-a");
    named_of(&server.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "laptop" })),
    ));
    let users_only = server.temporary_token(auth, json!(["api = ozw/all/user.*.*"]));
    let tokens_only =
        server.temporary_token(auth, json!(["api = ozw/get/token.*.user_named_tokens"]));
    for (method, own, theirs) in [
        (
            "GET",
            "/user/tokens/named".to_owned(),
            format!("/users/{alice}/tokens/named"),
        ),
        (
            "DELETE",
            "/user/tokens/named".to_owned(),
            format!("/users/{alice}/tokens/named"),
        ),
        (
            "DELETE",
            "/user/tokens/temporary".to_owned(),
            format!("/users/{alice}/tokens/temporary"),
        ),
        (
            "GET",
            "/user/tokens/named/name/laptop".to_owned(),
            format!("/users/{alice}/tokens/named/name/laptop"),
        ),
    ] {
        for path in [&own, &theirs] {
            let (status, body) = server.call_token(method, path, "X-Auth-Token", &users_only, None);
            assert_eq!(status, 401, "{method} {path}: {body}");
            assert_eq!(
                body["error"]["details"]["authError"]["id"],
                "tokenCaveatUnverified"
            );
        }
    }
    for path in [
        "/user/tokens/named".to_owned(),
        format!("/users/{alice}/tokens/named"),
    ] {
        assert_eq!(
            server
                .call_token("GET", &path, "X-Auth-Token", &tokens_only, None)
                .0,
            200,
            "{path}"
        );
    }
}

fn providers_leave_and_are_removed(backend: Backend) {
    let server = server!(backend, RegistrationPolicy::Open);
    let alice = server.create_user("alice", "pw-a");
    server.create_user("bob", "pw-b");
    let a = ("alice", "pw-a");
    let (provider, root) = registered_provider(&server, a, &alice, "leaving");
    let as_provider = |method: &str, path: &str, body: Option<Value>| {
        server.call_token(method, path, "X-Auth-Token", &root, body)
    };
    // The provider ends its own support of a space.
    let space = server.create_space(a, "space s");
    let (_, support) = named_invite(&server, a, "support", "supportSpace", "spaceId", &space, 1);
    let body = json!({ "token": support, "size": 1024 });
    assert_eq!(
        as_provider("POST", "/provider/spaces/support", Some(body)).0,
        201
    );
    let own_support = format!("/provider/spaces/{space}");
    assert_eq!(
        as_provider("DELETE", &own_support, None),
        (204, Value::Null)
    );
    assert_eq!(
        as_provider("GET", "/provider/spaces", None),
        (200, json!({ "spaces": [] }))
    );
    assert_eq!(
        as_provider("DELETE", &own_support, None),
        (404, not_found())
    );
    // Deleting all its named tokens takes its root token too.
    assert_eq!(
        as_provider("DELETE", "/provider/tokens/named", None),
        (204, Value::Null)
    );
    assert_eq!(
        as_provider("GET", "/provider", None),
        (401, unauthorized_because(token_invalid()))
    );
    // An admin with oz_providers_delete removes a provider; nobody else may.
    let path = format!("/providers/{provider}");
    assert_eq!(
        server.call("DELETE", &path, Some(("bob", "pw-b")), None),
        (403, forbidden())
    );
    assert_eq!(
        server.call("DELETE", &path, Some(ADMIN), None),
        (204, Value::Null)
    );
    assert_eq!(
        server.call("GET", &path, Some(ADMIN), None),
        (404, not_found())
    );
    assert_eq!(
        server.call("DELETE", &path, Some(ADMIN), None),
        (404, not_found())
    );
}

// ---------------------------------------------------------------------------------------------
// Several instances on one database

/// Two instances on one database: tokens minted by A authenticate at B (from B's cache once
/// seen); a named token revoked through A, and a temporary generation bumped through A, are
/// refused by B once its feed brings the change (at once by A, whose own write it is).
fn two_instances_agree_over_http(backend: Backend) {
    let a = server!(backend, RegistrationPolicy::Open);
    let b = TestServer::start_with(a.second_handle(), unique_dir(), RegistrationPolicy::Open);
    let auth = ("alice", "pw-a");
    a.create_user(auth.0, auth.1);
    let (status, body) = a.call(
        "POST",
        "/user/tokens/named",
        Some(auth),
        Some(json!({ "name": "shared" })),
    );
    assert_eq!(status, 201, "{body}");
    let named = body["token"].as_str().unwrap().to_owned();
    let named_id = body["tokenId"].as_str().unwrap().to_owned();
    let temporary = a.temporary_token(auth, json!([]));
    for token in [&named, &temporary] {
        eventually("B answers from its cache", || {
            let hits = b.metric(CACHE_HITS);
            assert_eq!(who_am_i(&b, "X-Auth-Token", token).0, 200);
            b.metric(CACHE_HITS) > hits
        });
    }

    let (status, body) = a.call(
        "PATCH",
        &format!("/tokens/named/{named_id}"),
        Some(auth),
        Some(json!({ "revoked": true })),
    );
    assert_eq!((status, body), (204, Value::Null));
    let revoked = (401, unauthorized_because(token_revoked()));
    assert_eq!(who_am_i(&a, "X-Auth-Token", &named), revoked);
    let took = eventually("B refuses the revoked token", || {
        who_am_i(&b, "X-Auth-Token", &named) == revoked
    });
    eprintln!("{backend:?}: a revocation reached the other instance in {took:?}");

    let (status, body) = a.call("DELETE", "/user/tokens/temporary", Some(auth), None);
    assert_eq!((status, body), (204, Value::Null));
    assert_eq!(who_am_i(&a, "X-Auth-Token", &temporary), revoked);
    let took = eventually("B refuses the old generation", || {
        who_am_i(&b, "X-Auth-Token", &temporary) == revoked
    });
    eprintln!("{backend:?}: a generation bump reached the other instance in {took:?}");
    // B mints too, and A authenticates B's tokens.
    let fresh = b.temporary_token(auth, json!([]));
    assert_eq!(who_am_i(&a, "X-Auth-Token", &fresh).0, 200);
}

/// With its store out of reach, an instance answers from its cache only within the trust
/// window; past it, token and password requests alike are 503 (never a 500, never a cached
/// answer), and it recovers when the store comes back.
fn an_unreachable_store_is_unavailable_past_the_trust_window(backend: Backend) {
    let dir = unique_dir();
    let Some((store, pg_schema)) = open_store(backend, &dir) else {
        return;
    };
    let link = Arc::new(common::cut::Cuttable::new(store));
    let mut server = TestServer::start_with_cache(
        Arc::clone(&link) as Arc<dyn Store>,
        dir,
        RegistrationPolicy::Open,
        CacheSettings::with_trust_window(std::time::Duration::from_millis(500)),
    );
    server.pg_schema = pg_schema;
    let auth = ("alice", "pw-a");
    server.create_user(auth.0, auth.1);
    let token = server.temporary_token(auth, json!([]));
    eventually("the token is answered from the cache", || {
        let hits = server.metric(CACHE_HITS);
        assert_eq!(who_am_i(&server, "X-Auth-Token", &token).0, 200);
        server.metric(CACHE_HITS) > hits
    });

    link.store_cut.store(true, Ordering::SeqCst);
    let unavailable =
        |(status, body): (u16, Value)| status == 503 && body["error"]["id"] == "serviceUnavailable";
    eventually("token requests are unavailable", || {
        unavailable(who_am_i(&server, "X-Auth-Token", &token))
    });
    // The gauge follows within a poll interval.
    eventually("the cache_trusted gauge drops", || {
        server.metric("macaroon_mint_cache_trusted") == 0.0
    });
    assert!(unavailable(server.call("GET", "/user", Some(auth), None)));
    let (status, _) = call(
        &format!("{}/ready", server.base.trim_end_matches("/api/v3/onezone")),
        "GET",
        None,
        None,
    );
    assert_eq!(status, 503);

    link.store_cut.store(false, Ordering::SeqCst);
    eventually("the instance recovers", || {
        who_am_i(&server, "X-Auth-Token", &token).0 == 200
            && server.metric("macaroon_mint_cache_trusted") == 1.0
    });
}
