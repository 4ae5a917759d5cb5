//! The token inspector: a page for people debugging tokens (`GET /`, `GET /inspect`) and the
//! endpoint it calls (`POST /inspect`).
//!
//! The page is one HTML document with its style and script inline, built into the binary: no
//! CDN, no other request than its own `POST /inspect`. Its Content-Security-Policy allows
//! exactly that inline style and script (by their SHA-256) and connections to this origin, so
//! text from a token can never run as script even if it reached the page as markup (the script
//! writes every value with `textContent`).
//!
//! `POST /inspect` `{"token": "<any format>"}` answers `200` with
//! [`macaroon_mint::report::inspect`]'s JSON, for damaged input too (the report then holds the
//! error and what was recovered). Nothing is verified, stored or looked up; the request's log
//! line holds its route and status, never the token.

use std::sync::OnceLock;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse as _, Response};
use axum::Json;
use base64::Engine as _;
use sha2::{Digest as _, Sha256};

use super::body::{ExamineToken, JsonBody};
use super::routes::Answer;

const PAGE: &str = include_str!("inspector/page.html");
const STYLE: &str = include_str!("inspector/style.css");
const SCRIPT: &str = include_str!("inspector/app.js");

struct Built {
    html: String,
    policy: HeaderValue,
}

fn hash(source: &str) -> String {
    let digest = Sha256::digest(source.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let html = PAGE
            .replacen("/*STYLE*/", STYLE, 1)
            .replacen("/*SCRIPT*/", SCRIPT, 1);
        let policy = format!(
            "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; \
             img-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash(SCRIPT),
            hash(STYLE)
        );
        Built {
            html,
            policy: HeaderValue::from_str(&policy)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
        }
    })
}

/// Headers every inspector answer carries: nothing cached, no framing, no sniffing, no referrer.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

/// `GET /` and `GET /inspect`: the page.
pub(crate) async fn page() -> Response {
    let built = built();
    let mut response = private(built.html.clone().into_response());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, built.policy.clone());
    response
}

/// `POST /inspect` `{"token"}` → the token's report (see the module documentation).
pub(crate) async fn inspect(body: JsonBody) -> Answer {
    let text = body.parse::<ExamineToken>()?.token()?;
    // A lenient decode of up to 64 KiB of damaged input: off the async workers, like the store.
    let report =
        super::blocking(move || Ok(macaroon_mint::report::inspect(text.as_bytes(), false))).await?;
    Ok(private(Json(report.json).into_response()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_whole_and_its_policy_names_its_inline_code() {
        let built = built();
        assert!(!built.html.contains("/*STYLE*/") && !built.html.contains("/*SCRIPT*/"));
        assert!(built.html.contains(SCRIPT) && built.html.contains(STYLE));
        let policy = built.policy.to_str().unwrap();
        assert!(
            policy.contains(&hash(SCRIPT)) && policy.contains(&hash(STYLE)),
            "{policy}"
        );
        assert!(policy.starts_with("default-src 'none';"), "{policy}");
        // No external asset: every URL the page names is its own endpoint.
        for needle in ["http://", "https://", "src=", "href="] {
            assert!(!built.html.contains(needle), "{needle}");
        }
    }
}
