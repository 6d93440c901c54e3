//! The portal's REST logic: limits, authentication, method lookup, scopes and the handlers.
//! Everything here runs under the state lock and never blocks or sleeps.

use crate::config::*;
use crate::state::*;
use crate::util::*;
use serde_json::{Map, Value, json};
use std::cmp::Ordering;
use std::time::Duration;

/// Where the credentials of a REST request come from.
pub(crate) enum Route {
    /// `/rest/{user_id}/{secret}/{method}`.
    Webhook { user: String, secret: String },
    /// `/rest/{method}` with an access token.
    OAuth,
}

pub(crate) struct RestRequest {
    pub route: Route,
    /// Normalised (lower-case, no `.json`).
    pub method: String,
    /// Query and body parameters merged (body wins).
    pub params: Map<String, Value>,
    /// Token of an `Authorization: Bearer` header.
    pub bearer: Option<String>,
    pub request_number: u64,
}

/// A call the handler placed; the caller starts its lifecycle once the lock is released.
pub(crate) struct CallPlan {
    pub call_id: String,
    pub line: String,
    pub number: String,
    pub outcome: CallOutcome,
    pub stage_duration: Duration,
    pub started_at: f64,
}

/// What happens after the answer, outside the lock.
pub(crate) enum Followup {
    Nothing,
    /// A simulated call to run.
    Call(CallPlan),
    /// `ONEXTERNALCALLBACKSTART` for the telephony app owning a REST-app line.
    External(Vec<(&'static str, String)>),
}

pub(crate) struct Answer {
    pub status: u16,
    pub body: Value,
    /// `X-Bitrix-Rest-Application` (OAuth calls only).
    pub application: Option<String>,
    pub followup: Followup,
}

impl Answer {
    pub fn error(status: u16, code: &str, description: &str) -> Answer {
        Answer {
            status,
            body: json!({"error": code, "error_description": description}),
            application: None,
            followup: Followup::Nothing,
        }
    }
}

/// A failed handler: status, `error`, `error_description`.
struct Failure(u16, String, String);

struct Identity {
    /// Key of the operating budget (per webhook or per application).
    key: String,
    scopes: Vec<String>,
    application: Option<String>,
    webhook: bool,
}

/// The magic destination that makes `voximplant.callback.start` itself fail.
pub(crate) const CONTROLLER_FAILURE_NUMBER: &str = "12015550106";

/// Outcome chosen by the destination's digits.
pub(crate) fn outcome_for(number: &str) -> CallOutcome {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.as_str() {
        "12015550101" => CallOutcome::Busy,
        "12015550102" => CallOutcome::NoAnswer,
        "12015550103" => CallOutcome::Declined,
        "12015550104" => CallOutcome::InsufficientFunds,
        "12015550105" => CallOutcome::InvalidNumber,
        _ => CallOutcome::Answered,
    }
}

/// Which scope each known method needs (`None` = no scope needed).
fn method_scope(method: &str) -> Option<Option<&'static str>> {
    Some(match method {
        // The server registers callback.start (like the infocall methods) under `call`.
        "voximplant.callback.start" => Some("call"),
        "voximplant.line.get" | "voximplant.tts.voices.get" | "voximplant.statistic.get" => {
            Some("telephony")
        }
        "scope" => None,
        _ => return None,
    })
}

pub(crate) fn execute(shared: &Shared, req: RestRequest) -> Answer {
    let t0 = now_unix();
    let cfg = shared.config().clone();
    let mut st = shared.state();

    // 1. The leaky bucket sees every REST request, whatever its credentials.
    if !st.bucket_admit(cfg.burst, cfg.drain_per_second) {
        st.stats.rate_limited += 1;
        return Answer::error(503, "QUERY_LIMIT_EXCEEDED", "Too many requests");
    }

    // 2. Authentication.
    let ident = match authenticate(&cfg, &st, &req, t0) {
        Ok(i) => i,
        Err(Failure(status, code, text)) => {
            st.stats.auth_failures += 1;
            return Answer::error(status, &code, &text);
        }
    };

    // 3. Method lookup.
    let Some(scope) = method_scope(&req.method) else {
        return Answer::error(404, "ERROR_METHOD_NOT_FOUND", "Method not found!");
    };

    // 4. Scope. The docs (system-errors) give 403 for `insufficient_scope`; b24pysdk's live
    //    tests saw 401. We answer the documented 403.
    if let Some(scope) = scope
        && !ident.scopes.iter().any(|s| s == scope)
    {
        st.stats.auth_failures += 1;
        let by = if ident.webhook {
            "webhook token"
        } else {
            "access token"
        };
        let mut a = Answer::error(
            403,
            "insufficient_scope",
            &format!("The request requires higher privileges than provided by the {by}"),
        );
        a.application = ident.application;
        return a;
    }

    // 5. The per-method operating budget: once the accumulated handler time within the
    //    window reaches the limit, the method is blocked until old buckets drop out.
    let op_key = format!("{}|{}", ident.key, req.method);
    if st.operating_used(&op_key, t0) >= cfg.operating_limit.as_secs_f64() {
        st.stats.operation_time_limited += 1;
        let mut a = Answer::error(
            429,
            "OPERATION_TIME_LIMIT",
            "Method is blocked due to operation time limit.",
        );
        a.application = ident.application;
        return a;
    }

    // 6. The handler.
    let outcome = match req.method.as_str() {
        "voximplant.callback.start" => callback_start(&cfg, &mut st, &req, t0),
        "voximplant.line.get" => line_get(&cfg).map(|v| (v, Map::new(), Followup::Nothing)),
        "voximplant.tts.voices.get" => Ok((voices(), Map::new(), Followup::Nothing)),
        "voximplant.statistic.get" => statistic_get(&st, &req.params),
        "scope" => Ok((json!(ident.scopes), Map::new(), Followup::Nothing)),
        _ => Err(Failure(
            404,
            "ERROR_METHOD_NOT_FOUND".into(),
            "Method not found!".into(),
        )),
    };

    // 7. Time accounting (errors of the handler count too: it ran).
    let processing = if req.method == "voximplant.callback.start" {
        cfg.callback_processing.as_secs_f64()
    } else {
        (now_unix() - t0).max(0.000_001)
    };
    let (operating, reset_at) = st.operating_add(&op_key, t0, processing);
    drop(st);

    match outcome {
        Err(Failure(status, code, text)) => {
            let mut a = Answer::error(status, &code, &text);
            a.application = ident.application;
            a
        }
        Ok((result, extra, followup)) => {
            let start = t0.floor();
            let finish = t0 + processing;
            let mut body = Map::new();
            body.insert("result".into(), result);
            body.extend(extra);
            body.insert(
                "time".into(),
                json!({
                    "start": start as i64,
                    "finish": finish,
                    "duration": finish - start,
                    "processing": int_or_float(processing),
                    "date_start": iso_date(start),
                    "date_finish": iso_date(finish),
                    "operating_reset_at": reset_at,
                    "operating": operating,
                }),
            );
            Answer {
                status: 200,
                body: Value::Object(body),
                application: ident.application,
                followup,
            }
        }
    }
}

fn authenticate(
    cfg: &FakePortalConfig,
    st: &State,
    req: &RestRequest,
    now: f64,
) -> Result<Identity, Failure> {
    match &req.route {
        Route::Webhook { user, secret } => {
            // An unknown webhook code is "Wrong authorization data" (401 in the docs and in
            // live tests); a valid code used under another user's id is INVALID_CREDENTIALS,
            // with the 401 observed live (the docs table says 403).
            if secret != &cfg.webhook_secret {
                return Err(Failure(
                    401,
                    "NO_AUTH_FOUND".into(),
                    "Wrong authorization data".into(),
                ));
            }
            if user != &cfg.webhook_user_id.to_string() {
                return Err(Failure(
                    401,
                    "INVALID_CREDENTIALS".into(),
                    "Invalid request credentials".into(),
                ));
            }
            Ok(Identity {
                key: format!("webhook:{user}"),
                scopes: cfg.webhook_scopes.clone(),
                application: None,
                webhook: true,
            })
        }
        Route::OAuth => {
            // Header first, then `auth`, then `access_token`, as the server looks them up.
            let token = req
                .bearer
                .clone()
                .or_else(|| non_empty(req.params.get("auth")))
                .or_else(|| non_empty(req.params.get("access_token")));
            let Some(token) = token else {
                return Err(Failure(
                    401,
                    "NO_AUTH_FOUND".into(),
                    "Wrong authorization data".into(),
                ));
            };
            let Some(info) = st.access_tokens.get(&token) else {
                return Err(Failure(
                    401,
                    "invalid_token".into(),
                    "Unable to get application by token".into(),
                ));
            };
            if info.expires_at <= now {
                return Err(Failure(
                    401,
                    "expired_token".into(),
                    "The access token provided has expired.".into(),
                ));
            }
            Ok(Identity {
                key: format!("app:{}", cfg.oauth_client_id),
                scopes: info.scopes.clone(),
                application: Some(cfg.oauth_client_id.clone()),
                webhook: false,
            })
        }
    }
}

fn non_empty(v: Option<&Value>) -> Option<String> {
    let s = param_string(v);
    (!s.is_empty()).then_some(s)
}

type HandlerResult = Result<(Value, Map<String, Value>, Followup), Failure>;

fn callback_start(
    cfg: &FakePortalConfig,
    st: &mut State,
    req: &RestRequest,
    t0: f64,
) -> HandlerResult {
    st.stats.callback_requests += 1;
    let business = |text: String| {
        let code = if cfg.empty_error_code {
            ""
        } else {
            "ERROR_CORE"
        };
        Failure(400, code.to_string(), text)
    };
    // Keys are read exactly as written: FROM_LINE, TO_NUMBER, TEXT_TO_PRONOUNCE, VOICE.
    if !cfg.outgoing_call_permission {
        return Err(Failure(
            403,
            "ACCESS_DENIED".into(),
            "Access denied!".into(),
        ));
    }
    let line = param_string(req.params.get("FROM_LINE"));
    let rest_app = cfg.rest_app_lines.iter().any(|l| l == &line);
    if !rest_app && !cfg.lines.iter().any(|(id, _)| id == &line) {
        return Err(business(format!("Could not find line {line}")));
    }
    let number = strip_number(&param_string(req.params.get("TO_NUMBER")));
    if number.is_empty() {
        return Err(business("Phone number is not correct".into()));
    }
    let text = param_string(req.params.get("TEXT_TO_PRONOUNCE"));
    let voice = non_empty(req.params.get("VOICE"));
    let mut entry = LedgerEntry {
        call_id: None,
        line: line.clone(),
        number: number.clone(),
        text,
        voice,
        placed_at: t0,
        request_number: req.request_number,
    };
    if rest_app {
        // The portal only hands the request to the telephony app owning the line.
        let event = vec![
            ("PHONE_NUMBER", entry.number.clone()),
            ("TEXT", entry.text.clone()),
            ("VOICE", entry.voice.clone().unwrap_or_default()),
            ("CRM_ENTITY_TYPE", String::new()),
            ("CRM_ENTITY_ID", String::new()),
            ("LINE_NUMBER", entry.line.clone()),
        ];
        st.ledger.push(entry);
        st.stats.calls_placed += 1;
        return Ok((
            json!({"RESULT": true, "CALL_ID": null}),
            Map::new(),
            Followup::External(event),
        ));
    }
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    if digits == CONTROLLER_FAILURE_NUMBER {
        return Err(business("Parse error or connect error from server".into()));
    }
    let call_id = format!("callback.{}.{}", random_hex(32), t0.floor() as i64);
    entry.call_id = Some(call_id.clone());
    st.ledger.push(entry);
    st.stats.calls_placed += 1;
    st.calls.insert(
        call_id.clone(),
        CallState {
            call_id: call_id.clone(),
            line: line.clone(),
            number: number.clone(),
            stage: CallStage::RingingManager,
            outcome: None,
            failed_code: None,
            duration: 0,
        },
    );
    st.call_order.push(call_id.clone());
    let plan = CallPlan {
        call_id: call_id.clone(),
        line,
        number,
        outcome: outcome_for(&digits),
        stage_duration: cfg.stage_duration,
        started_at: t0,
    };
    Ok((
        json!({"RESULT": true, "CALL_ID": call_id}),
        Map::new(),
        Followup::Call(plan),
    ))
}

fn line_get(cfg: &FakePortalConfig) -> Result<Value, Failure> {
    if !cfg.line_list_permission {
        return Err(Failure(
            403,
            "ACCESS_DENIED".into(),
            "Access denied!".into(),
        ));
    }
    let map: Map<String, Value> = cfg
        .lines
        .iter()
        .map(|(id, name)| (id.clone(), Value::String(html_escape(name))))
        .collect();
    Ok(Value::Object(map))
}

/// The 42 voices the server knows: id, language label, gender, provider.
const VOICES: &[(&str, &str, &str, bool)] = &[
    ("auenglishfemale", "English (Australia)", "female", true),
    ("brportuguesefemale", "Portuguese (Brazil)", "female", true),
    ("caenglishfemale", "English (Canada)", "female", false),
    ("cafrenchfemale", "French (Canada)", "female", true),
    ("cafrenchmale", "French (Canada)", "male", true),
    ("chchinesefemale", "Chinese (China)", "female", false),
    ("chchinesemale", "Chinese (China)", "male", false),
    ("eurcatalanfemale", "Catalan", "female", false),
    ("eurczechfemale", "Czech", "female", false),
    ("eurdanishfemale", "Danish", "female", false),
    ("eurdutchfemale", "Dutch", "female", false),
    ("eurfinnishfemale", "Finnish", "female", false),
    ("eurfrenchfemale", "French", "female", true),
    ("eurfrenchmale", "French", "male", true),
    ("eurgermanfemale", "German", "female", false),
    ("eurgermanmale", "German", "male", false),
    ("euritalianfemale", "Italian", "female", false),
    ("euritalianmale", "Italian", "male", false),
    ("eurnorwegianfemale", "Norwegian", "female", false),
    ("eurpolishfemale", "Polish", "female", false),
    ("eurportuguesefemale", "Portuguese", "female", false),
    ("eurportuguesemale", "Portuguese", "male", false),
    ("eurspanishfemale", "Spanish", "female", false),
    ("eurspanishmale", "Spanish", "male", false),
    ("eurturkishfemale", "Turkish", "female", false),
    ("eurturkishmale", "Turkish", "male", false),
    ("hkchinesefemale", "Chinese (Hong Kong)", "female", false),
    ("huhungarianfemale", "Hungarian", "female", false),
    ("jpjapanesefemale", "Japanese", "female", false),
    ("jpjapanesemale", "Japanese", "male", false),
    ("krkoreanfemale", "Korean", "female", false),
    ("krkoreanmale", "Korean", "male", false),
    ("ruinternalfemale", "Russian", "female", false),
    ("ruinternalmale", "Russian", "male", false),
    ("swswedishfemale", "Swedish", "female", false),
    ("twchinesefemale", "Chinese (Taiwan)", "female", false),
    ("ukenglishfemale", "English (UK)", "female", true),
    ("ukenglishmale", "English (UK)", "male", true),
    ("usenglishfemale", "English (US)", "female", true),
    ("usenglishmale", "English (US)", "male", true),
    ("usspanishfemale", "Spanish (US)", "female", true),
    ("usspanishmale", "Spanish (US)", "male", true),
];

/// The voice ids served by `voximplant.tts.voices.get`.
pub fn voice_ids() -> Vec<&'static str> {
    VOICES.iter().map(|v| v.0).collect()
}

fn voices() -> Value {
    let map: Map<String, Value> = VOICES
        .iter()
        .map(|(id, lang, gender, amazon)| {
            let provider = if *amazon { "Amazon" } else { "Default" };
            (
                id.to_string(),
                Value::String(format!("{lang} ({gender}) ({provider})")),
            )
        })
        .collect();
    Value::Object(map)
}

/// The statistic record written when a simulated call ends (every value a string or null).
pub(crate) fn statistic_record(
    id: u64,
    plan: &CallPlan,
    user_id: u32,
    outcome: CallOutcome,
) -> Map<String, Value> {
    let cost = if outcome == CallOutcome::Answered {
        "1.2600"
    } else {
        "0.0000"
    };
    let record = json!({
        "ID": id.to_string(),
        "PORTAL_USER_ID": user_id.to_string(),
        "PORTAL_NUMBER": plan.line,
        "PHONE_NUMBER": plan.number,
        "CALL_ID": plan.call_id,
        "EXTERNAL_CALL_ID": null,
        "CALL_CATEGORY": "external",
        "CALL_LOG": null,
        "CALL_DURATION": outcome.duration_seconds().to_string(),
        "CALL_START_DATE": iso_date(plan.started_at),
        "CALL_RECORD_URL": null,
        "CALL_VOTE": null,
        "COST": cost,
        "COST_CURRENCY": "USD",
        "CALL_FAILED_CODE": outcome.failed_code(),
        "CALL_FAILED_REASON": outcome.failed_reason(),
        "CRM_ENTITY_TYPE": null,
        "CRM_ENTITY_ID": null,
        "CRM_ACTIVITY_ID": null,
        "REST_APP_ID": null,
        "REST_APP_NAME": null,
        "TRANSCRIPT_ID": null,
        "TRANSCRIPT_PENDING": "N",
        "SESSION_ID": format!("{}", 500_000_000 + id),
        "REDIAL_ATTEMPT": null,
        "COMMENT": null,
        "RECORD_DURATION": null,
        "RECORD_FILE_ID": null,
        "CALL_TYPE": "4",
    });
    match record {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

const PAGE_SIZE: usize = 50;

fn statistic_get(st: &State, params: &Map<String, Value>) -> HandlerResult {
    let filter = match params.get("FILTER") {
        Some(Value::Object(m)) => m.clone(),
        _ => Map::new(),
    };
    let mut rows: Vec<&Map<String, Value>> = st
        .statistics
        .iter()
        .filter(|rec| filter.iter().all(|(k, v)| filter_matches(rec, k, v)))
        .collect();
    let sort = param_string(params.get("SORT"));
    let desc = param_string(params.get("ORDER")).eq_ignore_ascii_case("DESC");
    let sort_key = if sort.is_empty() {
        "ID".to_string()
    } else {
        sort
    };
    rows.sort_by(|a, b| {
        let o = compare(
            &param_string(a.get(&sort_key)),
            &param_string(b.get(&sort_key)),
        );
        if desc { o.reverse() } else { o }
    });
    let total = rows.len();
    let start = param_string(params.get("start"))
        .parse::<usize>()
        .unwrap_or(0);
    let page: Vec<Value> = rows
        .iter()
        .skip(start)
        .take(PAGE_SIZE)
        .map(|m| Value::Object((*m).clone()))
        .collect();
    let mut extra = Map::new();
    if start + PAGE_SIZE < total {
        extra.insert("next".into(), json!(start + PAGE_SIZE));
    }
    extra.insert("total".into(), json!(total));
    Ok((Value::Array(page), extra, Followup::Nothing))
}

/// Compares numerically when both sides are numbers, else as strings.
fn compare(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.cmp(b),
    }
}

/// One `FILTER` entry: `KEY`, `=KEY`, `!KEY`, `!=KEY`, `>KEY`, `>=KEY`, `<KEY`, `<=KEY`.
/// An array value means "any of".
fn filter_matches(rec: &Map<String, Value>, key: &str, want: &Value) -> bool {
    let ops = ["!=", ">=", "<=", "=", "!", ">", "<"];
    let (op, field) = ops
        .iter()
        .find_map(|op| key.strip_prefix(op).map(|f| (*op, f)))
        .unwrap_or(("=", key));
    let have = param_string(rec.get(field));
    let wanted: Vec<String> = match want {
        Value::Array(items) => items.iter().map(|v| param_string(Some(v))).collect(),
        Value::Object(items) => items.values().map(|v| param_string(Some(v))).collect(),
        v => vec![param_string(Some(v))],
    };
    match op {
        "=" => wanted.contains(&have),
        "!" | "!=" => !wanted.contains(&have),
        _ => wanted.iter().all(|w| {
            let o = compare(&have, w);
            match op {
                ">" => o == Ordering::Greater,
                ">=" => o != Ordering::Less,
                "<" => o == Ordering::Less,
                _ => o != Ordering::Greater,
            }
        }),
    }
}
