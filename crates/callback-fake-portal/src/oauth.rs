//! The OAuth token endpoint (`/oauth/token/`), shaped like Bitrix24's token server.

use crate::reply::Reply;
use crate::state::Shared;
use crate::util::*;
use serde_json::{Map, Value, json};

fn oauth_error(status: u16, code: &str, description: Option<&str>) -> Reply {
    let body = match description {
        Some(d) => json!({"error": code, "error_description": d}),
        None => json!({"error": code}),
    };
    Reply::json(status, &body)
}

/// `grant_type=refresh_token&client_id&client_secret&refresh_token` (GET query or POST form).
pub(crate) fn token_endpoint(shared: &Shared, params: &Map<String, Value>) -> Reply {
    let cfg = shared.config().clone();
    let get = |k: &str| param_string(params.get(k));
    let mut st = shared.state();
    let grant_type = get("grant_type");
    let fail = |st: &mut crate::state::State, reply: Reply| {
        st.stats.refresh_failures += 1;
        reply
    };
    if grant_type.is_empty() {
        return fail(
            &mut st,
            oauth_error(
                400,
                "invalid_request",
                Some("The grant type was not specified in the request"),
            ),
        );
    }
    if grant_type != "refresh_token" {
        return fail(
            &mut st,
            oauth_error(
                400,
                "unsupported_grant_type",
                Some("The grant type is not supported by this server"),
            ),
        );
    }
    if get("client_id") != cfg.oauth_client_id || get("client_secret") != cfg.oauth_client_secret {
        return fail(
            &mut st,
            oauth_error(
                401,
                "invalid_client",
                Some("The client credentials are invalid"),
            ),
        );
    }
    let refresh = get("refresh_token");
    if refresh.is_empty() {
        return fail(
            &mut st,
            oauth_error(
                400,
                "invalid_request",
                Some("No \"refresh_token\" parameter found"),
            ),
        );
    }
    // Single use: the token is consumed by the first successful grant. The real token
    // server answers a used or unknown one with a bare `{"error":"invalid_grant"}`.
    if !st.refresh_tokens.remove(&refresh) {
        return fail(&mut st, oauth_error(400, "invalid_grant", None));
    }
    let grant = st.issue_tokens(&cfg);
    st.stats.refreshes += 1;
    drop(st);
    let base = shared.base_url();
    let body = json!({
        "access_token": grant.access_token,
        "expires": (now_unix().floor() as i64) + grant.expires_in as i64,
        "expires_in": grant.expires_in,
        "scope": cfg.oauth_scopes.join(","),
        "domain": format!("127.0.0.1:{}", shared.port),
        "server_endpoint": format!("{base}/rest/"),
        "status": "L",
        "client_endpoint": format!("{base}/rest/"),
        "member_id": shared.member_id,
        "user_id": cfg.webhook_user_id,
        "refresh_token": grant.refresh_token,
    });
    Reply::json(200, &body)
}
