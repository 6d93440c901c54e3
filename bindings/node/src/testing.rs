//! The fake portal in this process, for `bitrix24-callback/testing` (`testing.js` wraps the
//! handle of these functions in the documented `FakePortal` class). The portal serves on
//! loopback from its own threads; nothing here runs on the JS thread but quick reads of its
//! state. Options and records cross as JSON text with camelCase keys: this is test tooling, not
//! a hot path, and serde refuses an unknown key by its name.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use callback_fake_portal::{
    CallState, DeliveredEvent, FakePortal, FakePortalConfig, Fault, FaultKind, LedgerEntry,
    RecordedRequest, Stats,
};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::errors::type_error;

/// `FakePortal.start({...})`: every key optional.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PortalOptions {
    tls: Option<bool>,
    port: Option<f64>,
    burst: Option<f64>,
    drain_per_second: Option<f64>,
    stage_ms: Option<f64>,
    webhook_user_id: Option<f64>,
    webhook_secret: Option<String>,
    webhook_scopes: Option<Vec<String>>,
    oauth_client_id: Option<String>,
    oauth_client_secret: Option<String>,
    oauth_scopes: Option<Vec<String>>,
    access_token_lifetime_ms: Option<f64>,
    operating_limit_ms: Option<f64>,
    callback_processing_ms: Option<f64>,
    outgoing_call_permission: Option<bool>,
    line_list_permission: Option<bool>,
    empty_error_code: Option<bool>,
    lines: Option<serde_json::Map<String, Value>>,
    rest_app_lines: Option<Vec<String>>,
    application_token: Option<String>,
    event_handler: Option<String>,
}

/// `portal.addFault({...})`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FaultOptions {
    kind: String,
    method: Option<String>,
    times: Option<f64>,
    host: Option<String>,
    delay_ms: Option<f64>,
    status: Option<f64>,
    body: Option<String>,
    content_type: Option<String>,
    execute: Option<bool>,
    location: Option<String>,
}

/// A serde error as a `TypeError` (its text names the key: "unknown field `brust`, expected
/// one of ..."; the values are the test's own).
fn bad_json(env: &Env, what: &str, e: serde_json::Error) -> Error {
    let text = e.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    type_error(env, format!("{what}: {text}"))
}

fn whole(env: &Env, what: &str, value: Option<f64>, max: f64) -> Result<Option<f64>> {
    match value {
        Some(n) if !(n.fract() == 0.0 && (0.0..=max).contains(&n)) => Err(type_error(
            env,
            format!("FakePortal.start: `{what}` must be a whole number from 0 to {max}"),
        )),
        other => Ok(other),
    }
}

fn millis(env: &Env, what: &str, value: Option<f64>) -> Result<Option<Duration>> {
    match value {
        None => Ok(None),
        Some(ms) => Duration::try_from_secs_f64(ms / 1000.0).map(Some).map_err(|_| {
            type_error(
                env,
                format!("FakePortal.start: `{what}` must be a finite, non-negative number of milliseconds"),
            )
        }),
    }
}

fn config(env: &Env, options: &str) -> Result<FakePortalConfig> {
    let mut c = FakePortalConfig::default();
    let o: PortalOptions =
        serde_json::from_str(options).map_err(|e| bad_json(env, "FakePortal.start", e))?;
    c.tls = o.tls.unwrap_or(c.tls);
    if let Some(port) = whole(env, "port", o.port, 65535.0)? {
        c.port = port as u16;
    }
    if let Some(burst) = whole(env, "burst", o.burst, f64::from(u32::MAX))? {
        c.burst = burst as u32;
    }
    if let Some(drain) = o.drain_per_second {
        if !(drain.is_finite() && drain >= 0.0) {
            return Err(type_error(
                env,
                "FakePortal.start: `drainPerSecond` must be a finite, non-negative number",
            ));
        }
        c.drain_per_second = drain;
    }
    if let Some(d) = millis(env, "stageMs", o.stage_ms)? {
        c.stage_duration = d;
    }
    if let Some(id) = whole(env, "webhookUserId", o.webhook_user_id, f64::from(u32::MAX))? {
        c.webhook_user_id = id as u32;
    }
    if let Some(d) = millis(env, "accessTokenLifetimeMs", o.access_token_lifetime_ms)? {
        c.access_token_lifetime = d;
    }
    if let Some(d) = millis(env, "operatingLimitMs", o.operating_limit_ms)? {
        c.operating_limit = d;
    }
    if let Some(d) = millis(env, "callbackProcessingMs", o.callback_processing_ms)? {
        c.callback_processing = d;
    }
    let keep = |v: Option<String>, d: &mut String| {
        if let Some(v) = v {
            *d = v;
        }
    };
    keep(o.webhook_secret, &mut c.webhook_secret);
    keep(o.oauth_client_id, &mut c.oauth_client_id);
    keep(o.oauth_client_secret, &mut c.oauth_client_secret);
    keep(o.application_token, &mut c.application_token);
    if let Some(s) = o.webhook_scopes {
        c.webhook_scopes = s;
    }
    if let Some(s) = o.oauth_scopes {
        c.oauth_scopes = s;
    }
    c.outgoing_call_permission = o
        .outgoing_call_permission
        .unwrap_or(c.outgoing_call_permission);
    c.line_list_permission = o.line_list_permission.unwrap_or(c.line_list_permission);
    c.empty_error_code = o.empty_error_code.unwrap_or(c.empty_error_code);
    if let Some(lines) = o.lines {
        let mut list = Vec::new();
        for (id, name) in lines {
            let Value::String(name) = name else {
                return Err(type_error(
                    env,
                    "FakePortal.start: `lines` must map line ids to names (strings)",
                ));
            };
            list.push((id, name));
        }
        c.lines = list;
    }
    if let Some(l) = o.rest_app_lines {
        c.rest_app_lines = l;
    }
    if o.event_handler.is_some() {
        c.event_handler = o.event_handler;
    }
    Ok(c)
}

/// The portal behind the handle `testing.js` keeps (`None` once closed).
type Handle = External<Mutex<Option<FakePortal>>>;

/// Starts a fake portal on a pool thread (binding the socket, generating the TLS CA); resolves
/// its handle. `options` is the JSON text of `FakePortal.start`'s options.
#[napi(catch_unwind, skip_typescript, js_name = "fakePortalStart")]
pub fn fake_portal_start<'env>(
    env: &'env Env,
    options: String,
) -> Result<Either<AsyncTask<StartPortal>, PromiseRaw<'env, Unknown<'env>>>> {
    match config(env, &options) {
        Ok(config) => Ok(Either::A(AsyncTask::new(StartPortal {
            config: Some(config),
        }))),
        Err(e) => Ok(Either::B(PromiseRaw::reject(env, e)?)),
    }
}

pub struct StartPortal {
    config: Option<FakePortalConfig>,
}

impl Task for StartPortal {
    type Output = FakePortal;
    type JsValue = Unknown<'static>;

    fn compute(&mut self) -> Result<FakePortal> {
        let config = self.config.take().unwrap_or_default();
        FakePortal::start(config).map_err(|e| {
            Error::new(
                Status::GenericFailure,
                format!("the fake portal cannot start: {e}"),
            )
        })
    }

    fn resolve(&mut self, env: Env, portal: FakePortal) -> Result<Unknown<'static>> {
        let handle: Handle = External::new(Mutex::new(Some(portal)));
        let raw = unsafe { Handle::to_napi_value(env.raw(), handle)? };
        unsafe { Unknown::from_napi_value(env.raw(), raw) }
    }
}

fn closed() -> Error {
    Error::new(Status::GenericFailure, "the fake portal is closed")
}

fn ledger_json(e: &LedgerEntry) -> Value {
    json!({
        "callId": e.call_id, "line": e.line, "number": e.number, "text": e.text,
        "voice": e.voice, "placedAt": e.placed_at, "requestNumber": e.request_number,
    })
}

fn stats_json(s: &Stats) -> Value {
    let Stats {
        requests,
        rest_requests,
        token_requests,
        refreshes,
        refresh_failures,
        rate_limited,
        operation_time_limited,
        auth_failures,
        callback_requests,
        calls_placed,
        faults_applied,
        events_delivered,
        events_failed,
    } = s;
    json!({
        "requests": requests, "restRequests": rest_requests, "tokenRequests": token_requests,
        "refreshes": refreshes, "refreshFailures": refresh_failures, "rateLimited": rate_limited,
        "operationTimeLimited": operation_time_limited, "authFailures": auth_failures,
        "callbackRequests": callback_requests, "callsPlaced": calls_placed,
        "faultsApplied": faults_applied, "eventsDelivered": events_delivered,
        "eventsFailed": events_failed,
    })
}

fn request_json(r: &RecordedRequest) -> Value {
    json!({
        "number": r.number, "httpMethod": r.http_method, "path": r.path, "query": r.query,
        "host": r.host, "restMethod": r.rest_method, "contentType": r.content_type,
        "userAgent": r.user_agent, "body": r.body, "status": r.status,
    })
}

fn call_json(c: &CallState) -> Value {
    json!({
        "callId": c.call_id, "line": c.line, "number": c.number, "stage": c.stage.as_str(),
        "outcome": c.outcome.map(|o| o.as_str()), "failedCode": c.failed_code,
        "duration": c.duration,
    })
}

fn event_json(e: &DeliveredEvent) -> Value {
    json!({
        "event": e.event, "callId": e.call_id, "handlerUrl": e.handler_url, "body": e.body,
        "status": e.status, "error": e.error,
    })
}

/// One operation on a running portal, by name; `arg` is the JSON text of its argument (the
/// fault of `addFault`). Answers JSON text (`null` for the operations that only act).
#[napi(catch_unwind, skip_typescript, js_name = "fakePortalCall")]
pub fn fake_portal_call(
    env: Env,
    handle: &Handle,
    what: String,
    arg: Option<String>,
) -> Result<String> {
    let guard = handle.lock().map_err(|_| closed())?;
    let portal = guard.as_ref().ok_or_else(closed)?;
    let list = |items: Vec<Value>| Value::Array(items).to_string();
    Ok(match what.as_str() {
        "info" => portal.info_json(),
        "webhookUrl" => Value::String(portal.webhook_url()).to_string(),
        "ledger" => list(portal.ledger().iter().map(ledger_json).collect()),
        "stats" => stats_json(&portal.stats()).to_string(),
        "requests" => list(portal.requests().iter().map(request_json).collect()),
        "calls" => list(portal.calls().iter().map(call_json).collect()),
        "events" => list(portal.events().iter().map(event_json).collect()),
        "issueTokens" => {
            let t = portal.issue_tokens();
            json!({
                "accessToken": t.access_token, "refreshToken": t.refresh_token,
                "expiresIn": t.expires_in,
            })
            .to_string()
        }
        "expireAccessTokens" => {
            portal.expire_access_tokens();
            "null".to_owned()
        }
        "addFault" => {
            let f: FaultOptions = serde_json::from_str(arg.as_deref().unwrap_or("null"))
                .map_err(|e| bad_json(&env, "addFault", e))?;
            let fault = to_fault(&env, f)?;
            if let Err(why) = fault.kind.validate() {
                return Err(type_error(&env, format!("addFault: {why}")));
            }
            portal.add_fault(fault);
            "null".to_owned()
        }
        "clearFaults" => {
            portal.clear_faults();
            "null".to_owned()
        }
        "reset" => {
            portal.reset();
            "null".to_owned()
        }
        other => {
            return Err(Error::new(
                Status::InvalidArg,
                format!("fake portal: no operation {other}"),
            ));
        }
    })
}

/// Stops the portal on a pool thread (its connections close, its threads end); a portal
/// already closed resolves at once.
#[napi(catch_unwind, skip_typescript, js_name = "fakePortalClose")]
pub fn fake_portal_close(handle: &Handle) -> AsyncTask<ClosePortal> {
    let portal = handle.lock().ok().and_then(|mut p| p.take());
    AsyncTask::new(ClosePortal { portal })
}

fn to_fault(env: &Env, f: FaultOptions) -> Result<Fault> {
    let FaultOptions {
        kind,
        method,
        times,
        host,
        delay_ms,
        status,
        body,
        content_type,
        execute,
        location,
    } = f;
    let bad = |why: &str| type_error(env, format!("addFault: {why}"));
    // Which keys each kind reads, besides `kind`, `method`, `times` and `host`.
    let given: HashSet<&str> = [
        ("delayMs", delay_ms.is_some()),
        ("status", status.is_some()),
        ("body", body.is_some()),
        ("contentType", content_type.is_some()),
        ("execute", execute.is_some()),
        ("location", location.is_some()),
    ]
    .into_iter()
    .filter_map(|(k, on)| on.then_some(k))
    .collect();
    let allowed: &[&str] = match kind.as_str() {
        "delay" => &["delayMs"],
        "respond" => &["status", "body", "contentType", "execute"],
        "redirect" => &["status", "location", "execute"],
        _ => &[],
    };
    if let Some(extra) = given.iter().find(|k| !allowed.contains(k)) {
        return Err(bad(&format!(
            "`{extra}` does not apply to a `{kind}` fault"
        )));
    }
    let status = || -> Result<u16> {
        match status {
            Some(s) if s.fract() == 0.0 && (100.0..=999.0).contains(&s) => Ok(s as u16),
            _ => Err(bad("`status` must be an HTTP status")),
        }
    };
    let kind = match kind.as_str() {
        "respond" => FaultKind::Respond {
            status: status()?,
            body: body.unwrap_or_default(),
            content_type,
            execute: execute.unwrap_or(false),
        },
        "redirect" => FaultKind::Redirect {
            status: status()?,
            location: location.ok_or_else(|| bad("a `redirect` fault needs `location`"))?,
            execute: execute.unwrap_or(false),
        },
        name => {
            let delay = Duration::try_from_secs_f64(delay_ms.unwrap_or(0.0) / 1000.0)
                .map_err(|_| bad("`delayMs` must be a finite, non-negative number"))?;
            FaultKind::from_name(name, delay).ok_or_else(|| {
                bad(
                    "`kind` must be one of delay, close_before_execute, close_after_execute, \
                     html_502, html_504, truncated_json, rename, overload, query_limit, \
                     operation_time_limit, respond, redirect",
                )
            })?
        }
    };
    let times = match times {
        None => 1,
        Some(t) if t.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&t) => t as u32,
        Some(_) => return Err(bad("`times` must be a whole number (0: until cleared)")),
    };
    Ok(Fault {
        kind,
        method,
        times,
        host,
    })
}

pub struct ClosePortal {
    portal: Option<FakePortal>,
}

impl Task for ClosePortal {
    type Output = ();
    type JsValue = ();

    fn compute(&mut self) -> Result<()> {
        drop(self.portal.take());
        Ok(())
    }

    fn resolve(&mut self, _env: Env, _: ()) -> Result<()> {
        Ok(())
    }
}
