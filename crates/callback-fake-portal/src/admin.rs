//! The JSON admin endpoint under `/_fake/` (never rate-limited, never recorded).

use crate::config::*;
use crate::reply::Reply;
use crate::state::{ActiveFault, Shared};
use serde_json::{Map, Value, json};
use std::time::Duration;

pub(crate) fn handle(shared: &Shared, method: &str, path: &str, body: &[u8]) -> Reply {
    let sub = path
        .trim_start_matches("/_fake")
        .trim_matches('/')
        .to_string();
    let parsed: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => return bad_request(&format!("body is not JSON: {e}")),
        }
    };
    match (method, sub.as_str()) {
        ("GET", "info") | ("GET", "") => Reply::json(200, &info_json(shared)),
        ("GET", "ledger") => {
            let calls: Vec<Value> = shared.state().ledger.iter().map(ledger_json).collect();
            Reply::json(200, &json!({ "calls": calls }))
        }
        ("GET", "stats") => Reply::json(200, &stats_json(&shared.state().stats)),
        ("GET", "requests") => {
            let requests: Vec<Value> = shared.state().requests.iter().map(request_json).collect();
            Reply::json(200, &json!({ "requests": requests }))
        }
        ("GET", "faults") => Reply::json(200, &faults_json(shared)),
        ("POST", "faults") => match fault_from_json(&parsed) {
            Ok(fault) => {
                add_fault(shared, fault);
                Reply::json(200, &faults_json(shared))
            }
            Err(e) => bad_request(&e),
        },
        ("DELETE", "faults") => {
            shared.state().faults.clear();
            Reply::json(200, &faults_json(shared))
        }
        ("POST", "oauth/tokens") => {
            let cfg = shared.config().clone();
            let grant = shared.state().issue_tokens(&cfg);
            let base = shared.base_url();
            Reply::json(
                200,
                &json!({
                    "access_token": grant.access_token,
                    "refresh_token": grant.refresh_token,
                    "expires_in": grant.expires_in,
                    "client_id": cfg.oauth_client_id,
                    "client_secret": cfg.oauth_client_secret,
                    "client_endpoint": format!("{base}/rest/"),
                    "server_endpoint": format!("{base}/rest/"),
                }),
            )
        }
        ("POST", "oauth/expire") => {
            shared.state().expire_access_tokens();
            Reply::json(200, &json!({"ok": true}))
        }
        ("GET", "config") => Reply::json(200, &config_json(&shared.config())),
        ("POST", "config") => {
            let mut cfg = shared.config().clone();
            match apply_config(&mut cfg, &parsed) {
                Ok(()) => {
                    let out = config_json(&cfg);
                    *shared.config() = cfg;
                    Reply::json(200, &out)
                }
                Err(e) => bad_request(&e),
            }
        }
        ("POST", "events") => {
            // Both fields are checked before either is applied: a bad request changes nothing.
            let handler = match parsed.get("handler_url") {
                Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
                Some(Value::Null) | Some(Value::String(_)) => None,
                _ => return bad_request("handler_url (string or null) is required"),
            };
            let token = match parsed.get("application_token") {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return bad_request("application_token must be a string"),
            };
            let mut cfg = shared.config();
            cfg.event_handler = handler;
            if let Some(token) = token {
                cfg.application_token = token;
            }
            Reply::json(
                200,
                &json!({"handler_url": cfg.event_handler, "application_token": cfg.application_token}),
            )
        }
        ("GET", "events") => {
            let events: Vec<Value> = shared.state().events.iter().map(event_json).collect();
            Reply::json(200, &json!({ "events": events }))
        }
        ("GET", "calls") => {
            let st = shared.state();
            let calls: Vec<Value> = st
                .call_order
                .iter()
                .filter_map(|id| st.calls.get(id))
                .map(call_json)
                .collect();
            Reply::json(200, &json!({ "calls": calls }))
        }
        ("POST", "reset") => {
            shared.state().reset();
            Reply::json(200, &json!({"ok": true}))
        }
        ("GET", s) if s.starts_with("calls/") => {
            let id = &s["calls/".len()..];
            match shared.state().calls.get(id) {
                Some(c) => Reply::json(200, &call_json(c)),
                None => Reply::json(404, &json!({"error": "unknown call"})),
            }
        }
        _ => Reply::json(
            404,
            &json!({"error": format!("no admin route {method} /_fake/{sub}")}),
        ),
    }
}

fn bad_request(msg: &str) -> Reply {
    Reply::json(400, &json!({ "error": msg }))
}

pub(crate) fn add_fault(shared: &Shared, fault: Fault) {
    let remaining = fault.times;
    shared.state().faults.push(ActiveFault { fault, remaining });
}

/// Keys every fault kind accepts (`delay_ms` too: clients send it with every kind).
const FAULT_KEYS: &[&str] = &["kind", "method", "times", "host", "delay_ms"];
/// Keys of the kinds with fields of their own.
const RESPOND_KEYS: &[&str] = &["status", "body", "content_type", "execute"];
const REDIRECT_KEYS: &[&str] = &["status", "location", "execute"];

fn fault_from_json(v: &Value) -> Result<Fault, String> {
    let obj = v.as_object().ok_or("a fault must be a JSON object")?;
    let kind = v
        .get("kind")
        .and_then(Value::as_str)
        .ok_or("kind (string) is required")?;
    let own_keys: &[&str] = match kind {
        "respond" => RESPOND_KEYS,
        "redirect" => REDIRECT_KEYS,
        _ => &[],
    };
    for key in obj.keys() {
        let key = key.as_str();
        if FAULT_KEYS.contains(&key) || own_keys.contains(&key) {
            continue;
        }
        return Err(
            if RESPOND_KEYS.contains(&key) || REDIRECT_KEYS.contains(&key) {
                format!("{key} does not apply to fault kind {kind:?}")
            } else {
                format!("unknown fault key {key:?}")
            },
        );
    }
    let status = || -> Result<u16, String> {
        v.get("status")
            .and_then(Value::as_u64)
            .and_then(|s| u16::try_from(s).ok())
            .ok_or_else(|| format!("{kind}: status (integer) is required"))
    };
    let execute = || -> Result<bool, String> {
        match v.get("execute") {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(_) => Err("execute must be a boolean".into()),
        }
    };
    let kind = match kind {
        "respond" => FaultKind::Respond {
            status: status()?,
            body: match v.get("body") {
                Some(Value::String(s)) => s.clone(),
                None | Some(Value::Null) => {
                    return Err("respond: body (a string or any JSON value) is required".into());
                }
                // Any other JSON value is sent as its compact text.
                Some(other) => other.to_string(),
            },
            content_type: optional_string(v, "content_type")?,
            execute: execute()?,
        },
        "redirect" => FaultKind::Redirect {
            status: status()?,
            location: v
                .get("location")
                .and_then(Value::as_str)
                .ok_or("redirect: location (string) is required")?
                .to_string(),
            execute: execute()?,
        },
        name => {
            let delay_ms = v.get("delay_ms").and_then(Value::as_u64).unwrap_or(0);
            FaultKind::from_name(name, Duration::from_millis(delay_ms))
                .ok_or_else(|| format!("unknown fault kind {name:?}"))?
        }
    };
    kind.validate()?;
    let times = match v.get("times") {
        None | Some(Value::Null) => 1,
        Some(t) => t
            .as_u64()
            .and_then(|t| u32::try_from(t).ok())
            .ok_or("times must be a non-negative integer")?,
    };
    Ok(Fault {
        kind,
        method: optional_string(v, "method")?,
        times,
        host: optional_string(v, "host")?,
    })
}

fn optional_string(v: &Value, key: &str) -> Result<Option<String>, String> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("{key} must be a string or null")),
    }
}

fn faults_json(shared: &Shared) -> Value {
    let faults: Vec<Value> = shared
        .state()
        .faults
        .iter()
        .map(|f| {
            let delay_ms = match f.fault.kind {
                FaultKind::Delay(d) => d.as_millis() as u64,
                _ => 0,
            };
            let mut item = json!({
                "kind": f.fault.kind.as_str(),
                "method": f.fault.method,
                "host": f.fault.host,
                "times": f.fault.times,
                "remaining": f.remaining,
                "delay_ms": delay_ms,
            });
            let own = match &f.fault.kind {
                FaultKind::Respond {
                    status,
                    body,
                    content_type,
                    execute,
                } => json!({
                    "status": status,
                    "body": body,
                    "content_type": content_type,
                    "execute": execute,
                }),
                FaultKind::Redirect {
                    status,
                    location,
                    execute,
                } => json!({"status": status, "location": location, "execute": execute}),
                _ => json!({}),
            };
            if let (Value::Object(item), Value::Object(own)) = (&mut item, own) {
                item.extend(own);
            }
            item
        })
        .collect();
    json!({ "faults": faults })
}

pub(crate) fn info_json(shared: &Shared) -> Value {
    let cfg = shared.config().clone();
    let base = shared.base_url();
    json!({
        "base_url": base,
        "webhook_url": format!("{base}/rest/{}/{}/", cfg.webhook_user_id, cfg.webhook_secret),
        "client_endpoint": format!("{base}/rest/"),
        "server_endpoint": format!("{base}/rest/"),
        "token_url": format!("{base}/oauth/token/"),
        "admin_url": format!("{base}/_fake/"),
        "ca_pem": shared.ca_pem,
        "webhook_user_id": cfg.webhook_user_id,
        "webhook_secret": cfg.webhook_secret,
        "oauth_client_id": cfg.oauth_client_id,
        "oauth_client_secret": cfg.oauth_client_secret,
        "application_token": cfg.application_token,
        "member_id": shared.member_id,
        "config": config_json(&cfg),
    })
}

pub(crate) fn config_json(cfg: &FakePortalConfig) -> Value {
    let lines: Map<String, Value> = cfg
        .lines
        .iter()
        .map(|(id, name)| (id.clone(), Value::String(name.clone())))
        .collect();
    json!({
        "tls": cfg.tls,
        "webhook_user_id": cfg.webhook_user_id,
        "webhook_scopes": cfg.webhook_scopes,
        "oauth_scopes": cfg.oauth_scopes,
        "access_token_lifetime_seconds": cfg.access_token_lifetime.as_secs(),
        "burst": cfg.burst,
        "drain_per_second": cfg.drain_per_second,
        "operating_limit_seconds": cfg.operating_limit.as_secs_f64(),
        "callback_processing_ms": cfg.callback_processing.as_millis() as u64,
        "outgoing_call_permission": cfg.outgoing_call_permission,
        "line_list_permission": cfg.line_list_permission,
        "empty_error_code": cfg.empty_error_code,
        "lines": lines,
        "rest_app_lines": cfg.rest_app_lines,
        "stage_ms": cfg.stage_duration.as_millis() as u64,
        "event_handler": cfg.event_handler,
    })
}

fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| format!("{key} must be an array of strings"))
}

fn number(v: &Value, key: &str) -> Result<f64, String> {
    v.as_f64()
        .filter(|x| x.is_finite() && *x >= 0.0)
        .ok_or_else(|| format!("{key} must be a non-negative number"))
}

/// A duration given as a number of `unit` seconds; one too large for a `Duration` is refused
/// (converting it would panic).
fn seconds(v: &Value, key: &str, unit: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(number(v, key)? * unit).map_err(|_| format!("{key} is too large"))
}

fn boolean(v: &Value, key: &str) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| format!("{key} must be a boolean"))
}

fn string(v: &Value, key: &str) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{key} must be a string"))
}

/// Applies a partial update; unknown keys are an error (so typos do not pass silently).
pub(crate) fn apply_config(cfg: &mut FakePortalConfig, update: &Value) -> Result<(), String> {
    let obj = update
        .as_object()
        .ok_or("config update must be an object")?;
    for (key, v) in obj {
        // A few spellings other tools use for the same settings.
        let key = match key.as_str() {
            "drain" => "drain_per_second",
            "token_lifetime" | "token_lifetime_seconds" | "access_token_lifetime" => {
                "access_token_lifetime_seconds"
            }
            "operating_limit" => "operating_limit_seconds",
            "stage_duration_ms" => "stage_ms",
            other => other,
        };
        match key {
            // Read-only: accepted so that a config read from GET can be posted back.
            "tls" => {
                if v.as_bool() != Some(cfg.tls) {
                    return Err("tls cannot be changed while running".into());
                }
            }
            "burst" => cfg.burst = number(v, key)?.min(u32::MAX as f64) as u32,
            "drain_per_second" => cfg.drain_per_second = number(v, key)?,
            "webhook_user_id" => cfg.webhook_user_id = number(v, key)?.min(u32::MAX as f64) as u32,
            "webhook_secret" => cfg.webhook_secret = string(v, key)?,
            "webhook_scopes" => cfg.webhook_scopes = strings(v, key)?,
            "oauth_client_id" => cfg.oauth_client_id = string(v, key)?,
            "oauth_client_secret" => cfg.oauth_client_secret = string(v, key)?,
            "oauth_scopes" => cfg.oauth_scopes = strings(v, key)?,
            "access_token_lifetime_seconds" => cfg.access_token_lifetime = seconds(v, key, 1.0)?,
            "operating_limit_seconds" => cfg.operating_limit = seconds(v, key, 1.0)?,
            "callback_processing_ms" => cfg.callback_processing = seconds(v, key, 0.001)?,
            "stage_ms" => cfg.stage_duration = seconds(v, key, 0.001)?,
            "outgoing_call_permission" => cfg.outgoing_call_permission = boolean(v, key)?,
            "line_list_permission" => cfg.line_list_permission = boolean(v, key)?,
            "empty_error_code" => cfg.empty_error_code = boolean(v, key)?,
            "application_token" => cfg.application_token = string(v, key)?,
            "event_handler" => {
                cfg.event_handler = match v {
                    Value::Null => None,
                    Value::String(s) if s.is_empty() => None,
                    Value::String(s) => Some(s.clone()),
                    _ => return Err("event_handler must be a string or null".into()),
                }
            }
            "rest_app_lines" => cfg.rest_app_lines = strings(v, key)?,
            "lines" => {
                cfg.lines = match v {
                    Value::Object(m) => m
                        .iter()
                        .map(|(id, name)| Ok((id.clone(), string(name, key)?)))
                        .collect::<Result<Vec<_>, String>>()?,
                    Value::Array(items) => items
                        .iter()
                        .map(|pair| {
                            let p = strings(pair, key)?;
                            match p.as_slice() {
                                [id, name] => Ok((id.clone(), name.clone())),
                                _ => Err("lines entries must be [id, name]".to_string()),
                            }
                        })
                        .collect::<Result<Vec<_>, String>>()?,
                    _ => return Err("lines must be an object or an array of [id, name]".into()),
                }
            }
            other => return Err(format!("unknown config key {other:?}")),
        }
    }
    Ok(())
}

pub(crate) fn ledger_json(e: &LedgerEntry) -> Value {
    json!({
        "call_id": e.call_id,
        "line": e.line,
        "number": e.number,
        "text": e.text,
        "voice": e.voice,
        "placed_at": e.placed_at,
        "request_number": e.request_number,
    })
}

pub(crate) fn stats_json(s: &Stats) -> Value {
    json!({
        "requests": s.requests,
        "rest_requests": s.rest_requests,
        "token_requests": s.token_requests,
        "refreshes": s.refreshes,
        "refresh_failures": s.refresh_failures,
        "rate_limited": s.rate_limited,
        "operation_time_limited": s.operation_time_limited,
        "auth_failures": s.auth_failures,
        "callback_requests": s.callback_requests,
        "calls_placed": s.calls_placed,
        "faults_applied": s.faults_applied,
        "events_delivered": s.events_delivered,
        "events_failed": s.events_failed,
    })
}

pub(crate) fn request_json(r: &RecordedRequest) -> Value {
    json!({
        "number": r.number,
        "http_method": r.http_method,
        "path": r.path,
        "query": r.query,
        "host": r.host,
        "rest_method": r.rest_method,
        "content_type": r.content_type,
        "user_agent": r.user_agent,
        "body": r.body,
        "status": r.status,
    })
}

pub(crate) fn call_json(c: &CallState) -> Value {
    json!({
        "call_id": c.call_id,
        "line": c.line,
        "number": c.number,
        "stage": c.stage.as_str(),
        "outcome": c.outcome.map(CallOutcome::as_str),
        "failed_code": c.failed_code,
        "duration": c.duration,
    })
}

pub(crate) fn event_json(e: &DeliveredEvent) -> Value {
    json!({
        "event": e.event,
        "call_id": e.call_id,
        "handler_url": e.handler_url,
        "body": e.body,
        "status": e.status,
        "error": e.error,
    })
}
