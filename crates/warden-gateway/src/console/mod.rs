//! The web console at `/console` on the admin plane: pages rendered here
//! from the admin API's own answers (`warden-console` draws them), a
//! session cookie in exchange for an admin token, a CSRF token on every
//! state-changing request, and a Content-Security-Policy without inline
//! script.
//!
//! Every page and action calls the admin API's handler with the signed-in
//! person's token, so roles are enforced exactly as on the API (an auditor's
//! approve is refused by the approve handler itself), and every change is
//! audited under the token's name.

mod actions;
mod data;
mod pages;

use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use parking_lot::Mutex;
use warden_console::views::audit::VerifyState;
use warden_console::{Session, Sessions, Viewer};

use crate::error::ApiError;
use crate::state::Gateway;

/// What the console keeps on a node: its sessions and the last *verify now*.
#[derive(Debug, Default)]
pub(crate) struct ConsoleState {
    pub(crate) sessions: Sessions,
    pub(crate) verify: Arc<Mutex<VerifyState>>,
}

/// The console's routes (merged into the admin router).
pub(crate) fn router() -> Router<Arc<Gateway>> {
    Router::new()
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route("/console/", get(pages::overview))
        .route("/console/login", get(pages::login).post(actions::login))
        .route("/console/logout", post(actions::logout))
        .route("/console/static/{name}", get(asset))
        .route("/console/agents", get(pages::agents))
        .route("/console/agents/{name}", get(pages::agent))
        .route("/console/agents/{name}/{action}", post(actions::agent))
        .route("/console/activity", get(pages::activity))
        .route("/console/records/{index}", get(pages::record))
        .route("/console/proofs/{index}", get(pages::proof))
        .route("/console/approvals", get(pages::approvals))
        .route("/console/approvals/{id}/{verdict}", post(actions::decide))
        .route("/console/alerts", get(pages::alerts))
        .route("/console/incidents", get(pages::incidents))
        .route("/console/incidents/{id}", get(pages::incident))
        .route("/console/incidents/{id}/report", get(pages::report))
        .route(
            "/console/incidents/{id}/close",
            post(actions::close_incident),
        )
        .route("/console/audit", get(pages::audit))
        .route(
            "/console/audit/verify",
            get(pages::verify_status).post(actions::verify),
        )
        .route("/console/audit/export", get(pages::export))
        .route("/console/policies", get(pages::policies))
        .route("/console/events", get(pages::events))
        .layer(axum::middleware::map_response(secure_headers))
}

/// Headers every console answer carries.
async fn secure_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    let set = |h: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        h.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        warden_console::CSP,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    if !headers.contains_key(header::CACHE_CONTROL) {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    response
}

async fn asset(Path(name): Path<String>) -> Response {
    match warden_console::assets::get(&name) {
        Some((body, kind)) => (
            [
                (header::CONTENT_TYPE, kind),
                (header::CACHE_CONTROL, "private, max-age=300"),
            ],
            body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

/// A signed-in request: its session. Without one, the answer is the
/// sign-in page.
pub(crate) struct Signed {
    pub(crate) id: String,
    pub(crate) session: Session,
}

impl FromRequestParts<Arc<Gateway>> for Signed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        gw: &Arc<Gateway>,
    ) -> Result<Self, Self::Rejection> {
        let id = parts
            .headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(warden_console::session::cookie_value)
            .map(str::to_owned);
        match id.and_then(|id| gw.console.sessions.get(&id).map(|s| (id, s))) {
            Some((id, session)) => Ok(Signed { id, session }),
            None => Err(Redirect::to("/console/login").into_response()),
        }
    }
}

impl Signed {
    /// Headers that carry the person's credential to an admin API handler.
    pub(crate) fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Ok(value) =
            HeaderValue::from_str(&format!("Bearer {}", self.session.credential.as_str()))
        {
            headers.insert(header::AUTHORIZATION, value);
        }
        headers
    }

    /// Who is looking.
    pub(crate) fn viewer(&self) -> Viewer {
        Viewer {
            name: self.session.name.clone(),
            role: self.session.role,
            csrf: self.session.csrf.clone(),
        }
    }

    /// A page for this viewer.
    pub(crate) fn page(&self, title: &str, key: &str, body: &str) -> Response {
        Html(warden_console::layout::page(
            &self.viewer(),
            title,
            key,
            body,
        ))
        .into_response()
    }

    /// The answer to an admin API error: back to sign-in when the token no
    /// longer works, otherwise a page that says what is wrong.
    pub(crate) fn fail(&self, gw: &Gateway, error: ApiError) -> Response {
        if error.status == StatusCode::UNAUTHORIZED {
            gw.console.sessions.close(&self.id);
            return Redirect::to("/console/login").into_response();
        }
        (
            error.status,
            Html(warden_console::layout::error_page(
                &self.viewer(),
                error.status.as_u16(),
                &error.message,
            )),
        )
            .into_response()
    }
}
