//! The simulated call lifecycle and delivery of telephony events to the registered handler.

use crate::config::*;
use crate::rest::{CallPlan, statistic_record};
use crate::state::Shared;
use crate::util::*;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long one event delivery may take before it counts as failed.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Runs one call through its stages; events go out in order from this one task.
pub(crate) async fn run_call(shared: Arc<Shared>, plan: CallPlan) {
    let stage = plan.stage_duration;
    let line_is_number = plan.line.chars().all(|c| c.is_ascii_digit());
    send_event(
        &shared,
        "ONVOXIMPLANTCALLINIT",
        &plan.call_id,
        vec![
            ("CALL_ID", plan.call_id.clone()),
            ("CALL_TYPE", "4".into()),
            ("ACCOUNT_SEARCH_ID", plan.line.clone()),
            ("PHONE_NUMBER", plan.number.clone()),
            (
                "CALLER_ID",
                if line_is_number {
                    plan.line.clone()
                } else {
                    String::new()
                },
            ),
        ],
    )
    .await;
    tokio::time::sleep(stage).await;
    set_stage(&shared, &plan.call_id, CallStage::SpeakingText);
    tokio::time::sleep(stage).await;
    set_stage(&shared, &plan.call_id, CallStage::DiallingClient);
    tokio::time::sleep(stage).await;
    let user_id = shared.config().webhook_user_id;
    if plan.outcome == CallOutcome::Answered {
        set_stage(&shared, &plan.call_id, CallStage::Connected);
        send_event(
            &shared,
            "ONVOXIMPLANTCALLSTART",
            &plan.call_id,
            vec![
                ("CALL_ID", plan.call_id.clone()),
                ("USER_ID", user_id.to_string()),
            ],
        )
        .await;
        tokio::time::sleep(stage).await;
    }
    // The call ends: state and statistic record first, so a handler reacting to the END
    // event already finds the record.
    let outcome = plan.outcome;
    {
        let mut st = shared.state();
        if let Some(call) = st.calls.get_mut(&plan.call_id) {
            call.stage = CallStage::Ended;
            call.outcome = Some(outcome);
            call.failed_code = Some(outcome.failed_code().to_string());
            call.duration = outcome.duration_seconds();
        }
        st.statistic_seq += 1;
        let record = statistic_record(st.statistic_seq, &plan, user_id, outcome);
        st.statistics.push(record);
    }
    let cost = if outcome == CallOutcome::Answered {
        "1.2600"
    } else {
        "0.0000"
    };
    send_event(
        &shared,
        "ONVOXIMPLANTCALLEND",
        &plan.call_id,
        vec![
            ("CALL_ID", plan.call_id.clone()),
            ("CALL_TYPE", "4".into()),
            ("PHONE_NUMBER", plan.number.clone()),
            ("PORTAL_NUMBER", plan.line.clone()),
            ("PORTAL_USER_ID", user_id.to_string()),
            ("CALL_DURATION", outcome.duration_seconds().to_string()),
            ("CALL_START_DATE", iso_date(plan.started_at)),
            ("COST", cost.into()),
            ("COST_CURRENCY", "USD".into()),
            ("CALL_FAILED_CODE", outcome.failed_code().into()),
            ("CALL_FAILED_REASON", outcome.failed_reason().into()),
            ("CRM_ACTIVITY_ID", String::new()),
        ],
    )
    .await;
}

fn set_stage(shared: &Shared, call_id: &str, stage: CallStage) {
    if let Some(call) = shared.state().calls.get_mut(call_id) {
        call.stage = stage;
    }
}

/// The body of an event as the portal POSTs it: form-urlencoded with bracket keys.
pub(crate) fn event_body(
    shared: &Shared,
    event: &str,
    handler_id: u32,
    data: &[(&str, String)],
    application_token: &str,
) -> String {
    let base = shared.base_url();
    let domain = format!("127.0.0.1:{}", shared.port);
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("event", event);
    form.append_pair("event_handler_id", &handler_id.to_string());
    for (k, v) in data {
        form.append_pair(&format!("data[{k}]"), v);
    }
    form.append_pair("ts", &(now_unix().floor() as i64).to_string());
    form.append_pair("auth[domain]", &domain);
    form.append_pair("auth[client_endpoint]", &format!("{base}/rest/"));
    form.append_pair("auth[server_endpoint]", &format!("{base}/rest/"));
    form.append_pair("auth[member_id]", &shared.member_id);
    form.append_pair("auth[application_token]", application_token);
    form.finish()
}

/// Handler ids, stable per event name like the portal's bindings.
fn handler_id(event: &str) -> u32 {
    match event {
        "ONVOXIMPLANTCALLINIT" => 11,
        "ONVOXIMPLANTCALLSTART" => 12,
        "ONVOXIMPLANTCALLEND" => 13,
        _ => 14,
    }
}

pub(crate) async fn send_event(
    shared: &Arc<Shared>,
    event: &str,
    call_id: &str,
    data: Vec<(&str, String)>,
) {
    let (handler, token) = {
        let cfg = shared.config();
        (cfg.event_handler.clone(), cfg.application_token.clone())
    };
    let Some(url) = handler else { return };
    let body = event_body(shared, event, handler_id(event), &data, &token);
    let result = tokio::time::timeout(DELIVERY_TIMEOUT, post_form(&url, &body)).await;
    let (status, error) = match result {
        Ok(Ok(status)) => (Some(status), None),
        Ok(Err(e)) => (None, Some(e)),
        Err(_) => (None, Some("timed out".to_string())),
    };
    let mut st = shared.state();
    if status.is_some_and(|s| (200..300).contains(&s)) {
        st.stats.events_delivered += 1;
    } else {
        st.stats.events_failed += 1;
    }
    st.events.push(DeliveredEvent {
        event: event.to_string(),
        call_id: call_id.to_string(),
        handler_url: url,
        body,
        status,
        error,
    });
}

/// A minimal HTTP/1.1 POST over a fresh connection; returns the answer's status.
async fn post_form(url: &str, body: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "only http:// handler URLs are supported".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let mut stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: Bitrix24 Webhook Engine\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("write: {e}"))?;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    // Read until the status line is complete (the rest of the answer is not needed).
    loop {
        let n = stream
            .read(&mut buf)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buf[..n]);
        if answer.windows(2).any(|w| w == b"\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "no HTTP status in the answer".to_string())
}
