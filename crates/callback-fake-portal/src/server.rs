//! Sockets, HTTP plumbing, routing and socket-level faults.

use crate::admin;
use crate::config::*;
use crate::events::{run_call, send_event};
use crate::reply::{FakeBody, Reply};
use crate::rest::{Answer, Followup, RestRequest, Route, execute};
use crate::state::{Shared, normalize_method};
use crate::util::*;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Map, Value, json};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_rustls::TlsAcceptor;

/// Largest request body accepted.
const MAX_BODY: usize = 1 << 20;

/// Accepts connections until `shutdown` fires.
pub(crate) async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    mut shutdown: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _peer)) = accepted else {
            // Out of descriptors or similar: back off briefly instead of spinning.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = shared.clone();
        match &tls {
            None => {
                tokio::spawn(serve_connection(shared, stream));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await
                    {
                        serve_connection(shared, stream).await;
                    }
                });
            }
        }
    }
}

async fn serve_connection<I>(shared: Arc<Shared>, io: I)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let kill = Arc::new(Notify::new());
    let conn_kill = kill.clone();
    let service = service_fn(move |req| {
        let shared = shared.clone();
        let kill = conn_kill.clone();
        async move { Ok::<_, Infallible>(handle(shared, req, kill).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        // Idle keep-alive connections stay open until the client closes them: closing them
        // server-side would race with clients reusing pooled connections and turn into
        // spurious transport errors in the tests built on this portal.
        .header_read_timeout(None)
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::select! {
        _ = conn => {}
        // Dropping the connection future closes the socket mid-exchange.
        _ = kill.notified() => {}
    }
}

fn header(req: &hyper::http::request::Parts, name: hyper::header::HeaderName) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

enum Target {
    Rest { route: Route, method: String },
    Token,
    Other,
}

fn route(path: &str) -> Target {
    if let Some(rest) = path.strip_prefix("/rest/") {
        let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        let numeric = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
        return match segs.as_slice() {
            [user, secret, method, ..] if numeric(user) => Target::Rest {
                route: Route::Webhook {
                    user: user.to_string(),
                    secret: secret.to_string(),
                },
                method: normalize_method(method),
            },
            [user, secret] if numeric(user) => Target::Rest {
                route: Route::Webhook {
                    user: user.to_string(),
                    secret: secret.to_string(),
                },
                method: String::new(),
            },
            [method] => Target::Rest {
                route: Route::OAuth,
                method: normalize_method(method),
            },
            other => Target::Rest {
                route: Route::OAuth,
                method: normalize_method(&other.join("/")),
            },
        };
    }
    if path == "/rest" {
        return Target::Rest {
            route: Route::OAuth,
            method: String::new(),
        };
    }
    if path == "/oauth/token/" || path == "/oauth/token" {
        return Target::Token;
    }
    Target::Other
}

/// Query and body parameters, merged the way PHP merges `$_GET` and `$_POST` (body wins).
fn parameters(query: &str, content_type: Option<&str>, body: &[u8]) -> Map<String, Value> {
    let mut params = Map::new();
    parse_form(query.as_bytes(), &mut params);
    let ct = content_type.unwrap_or("").to_ascii_lowercase();
    if ct.starts_with("application/json") {
        if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(body) {
            params.extend(obj);
        }
    } else if ct.starts_with("multipart/form-data") {
        parse_multipart(content_type.unwrap_or(""), body, &mut params);
    } else if !body.is_empty() {
        parse_form(body, &mut params);
    }
    params
}

async fn handle(
    shared: Arc<Shared>,
    req: Request<Incoming>,
    kill: Arc<Notify>,
) -> Response<FakeBody> {
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_string();
    let query = parts.uri.query().unwrap_or("").to_string();
    // Exactly as received (`{path}` of the canned answers), `?` of an empty query included.
    let received = parts
        .uri
        .path_and_query()
        .map_or_else(|| path.clone(), |pq| pq.as_str().to_string());
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(c) => c.to_bytes(),
        Err(_) => return Reply::html(413, "Request Entity Too Large").into_response(),
    };

    if path == "/_fake" || path.starts_with("/_fake/") {
        return admin::handle(&shared, parts.method.as_str(), &path, &body).into_response();
    }

    let host = header(&parts, HOST).unwrap_or_default();
    let content_type = header(&parts, CONTENT_TYPE);
    let target = route(&path);
    let (rest_method, fault_key) = match &target {
        Target::Rest { method, .. } => (Some(method.clone()), Some(method.clone())),
        Target::Token => (None, Some("oauth.token".to_string())),
        Target::Other => (None, None),
    };
    let (number, fault) = {
        let mut st = shared.state();
        st.stats.requests += 1;
        match target {
            Target::Rest { .. } => st.stats.rest_requests += 1,
            Target::Token => st.stats.token_requests += 1,
            Target::Other => {}
        }
        let number = st.record(RecordedRequest {
            number: 0,
            http_method: parts.method.to_string(),
            path: path.clone(),
            query: query.clone(),
            host: host.clone(),
            rest_method: rest_method.clone(),
            content_type: content_type.clone(),
            user_agent: header(&parts, USER_AGENT),
            body: String::from_utf8_lossy(&body).into_owned(),
            status: None,
        });
        let host_name = host_part(&host);
        let fault = fault_key
            .as_deref()
            .and_then(|key| st.take_fault(key, matches!(target, Target::Rest { .. }), &host_name));
        (number, fault)
    };

    let params = parameters(&query, content_type.as_deref(), &body);
    let bearer = header(&parts, AUTHORIZATION).and_then(|v| {
        let (scheme, token) = v.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_string())
            .filter(|t| !t.is_empty())
    });
    // Executes the request: its normal answer and the CALL_ID of a call it placed.
    let run = {
        let shared = shared.clone();
        move || -> (Reply, Option<String>) {
            match target {
                Target::Rest { route, method } => {
                    let answer = execute(
                        &shared,
                        RestRequest {
                            route,
                            method,
                            params,
                            bearer,
                            request_number: number,
                        },
                    );
                    finish_rest(&shared, answer)
                }
                Target::Token => (crate::oauth::token_endpoint(&shared, &params), None),
                Target::Other => (Reply::html(404, "Not Found"), None),
            }
        }
    };

    let response = match fault {
        None => run().0.into_response(),
        Some(FaultKind::Delay(d)) => {
            // Its own task: the request still executes when the client gives up meanwhile
            // (hyper drops the connection's futures when the peer goes away).
            let task = tokio::spawn(async move {
                tokio::time::sleep(d).await;
                run().0
            });
            match task.await {
                Ok(reply) => reply.into_response(),
                Err(_) => Reply::html(500, "Internal Server Error").into_response(),
            }
        }
        Some(FaultKind::CloseBeforeExecute) => return close_now(kill).await,
        Some(FaultKind::CloseAfterExecute) => {
            let _ = run();
            return close_now(kill).await;
        }
        Some(FaultKind::Html502) => Reply::html(502, "Bad Gateway").into_response(),
        Some(FaultKind::Html504) => {
            let _ = run();
            Reply::html(504, "Gateway Time-out").into_response()
        }
        Some(FaultKind::TruncatedJson) => {
            let (reply, _) = run();
            shared.state().set_status(number, reply.status);
            return reply.into_truncated(kill);
        }
        Some(FaultKind::Rename) => {
            let port = shared.port;
            let q = if query.is_empty() {
                String::new()
            } else {
                format!("?{query}")
            };
            let location = format!("{}://localhost:{port}{path}{q}", shared.scheme);
            redirect(302, location).into_response()
        }
        Some(FaultKind::Respond {
            status,
            body,
            content_type,
            execute,
        }) => {
            let call_id = if execute { run().1 } else { None };
            let body = fill(&shared, &body, &received, call_id.as_deref());
            Reply::canned(status, content_type.as_deref(), body).into_response()
        }
        Some(FaultKind::Redirect {
            status,
            location,
            execute,
        }) => {
            let call_id = if execute { run().1 } else { None };
            let location = fill(&shared, &location, &received, call_id.as_deref());
            redirect(status, location).into_response()
        }
        Some(FaultKind::Overload) => Reply::json(
            503,
            &json!({"error": "OVERLOAD_LIMIT", "error_description": "REST API is blocked due to overload."}),
        )
        .into_response(),
        Some(FaultKind::QueryLimit) => {
            shared.state().stats.rate_limited += 1;
            Reply::json(
                503,
                &json!({"error": "QUERY_LIMIT_EXCEEDED", "error_description": "Too many requests"}),
            )
            .into_response()
        }
        Some(FaultKind::OperationTimeLimit) => {
            shared.state().stats.operation_time_limited += 1;
            Reply::json(
                429,
                &json!({"error": "OPERATION_TIME_LIMIT", "error_description": "Method is blocked due to operation time limit."}),
            )
            .into_response()
        }
    };
    shared
        .state()
        .set_status(number, response.status().as_u16());
    response
}

/// A redirect with a short HTML page, as a web server sends it.
fn redirect(status: u16, location: String) -> Reply {
    let reason = hyper::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Redirect");
    let mut reply = Reply::html(status, reason);
    reply.headers.push(("location", location));
    reply
}

/// Fills in the placeholders of a canned body or `Location` (see [`FaultKind`]).
fn fill(shared: &Shared, template: &str, received: &str, call_id: Option<&str>) -> String {
    let port = shared.port.to_string();
    fill_placeholders(
        template,
        &[
            ("path", received),
            ("call_id", call_id.unwrap_or("")),
            ("port", &port),
            ("scheme", shared.scheme),
        ],
    )
}

/// Drops the connection without an answer.
async fn close_now(kill: Arc<Notify>) -> Response<FakeBody> {
    kill.notify_one();
    // The connection future (and this one with it) is dropped before this resumes.
    std::future::pending::<Response<FakeBody>>().await
}

/// Starts the call lifecycle (outside any lock) and turns the answer into a reply; also gives
/// the CALL_ID of the call placed, if any.
fn finish_rest(shared: &Arc<Shared>, answer: Answer) -> (Reply, Option<String>) {
    let mut call_id = None;
    match answer.followup {
        Followup::Nothing => {}
        Followup::Call(plan) => {
            call_id = Some(plan.call_id.clone());
            tokio::spawn(run_call(shared.clone(), plan));
        }
        Followup::External(data) => {
            let shared = shared.clone();
            tokio::spawn(async move {
                send_event(&shared, "ONEXTERNALCALLBACKSTART", "", data).await;
            });
        }
    }
    let mut reply = Reply::json(answer.status, &answer.body);
    if let Some(app) = answer.application {
        reply.headers.push(("x-bitrix-rest-application", app));
    }
    (reply, call_id)
}
