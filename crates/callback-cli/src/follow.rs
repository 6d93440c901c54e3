//! Following a started callback until it ends.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use callback_core::{CallRecord, CallbackRequest, Client, Error, ErrorCode};

use crate::output::Output;
use crate::portal_args::Session;

/// Follows the call: in the sandbox every stage is shown as the simulated call moves on; with a
/// real portal only the end is observable (Bitrix24 writes the call record when the call ends),
/// so a heartbeat says every `heartbeat` that the wait goes on. Returns the record (`None` when
/// the call had not ended within `timeout`), already printed.
pub fn follow(
    session: &Session,
    out: &Output,
    request: &CallbackRequest,
    call_id: &str,
    timeout: Duration,
    heartbeat: Option<Duration>,
) -> Result<Option<CallRecord>, u8> {
    let started = Instant::now();
    let heartbeat = if let Some(portal) = &session.sandbox {
        // Stages move in this order; a poll may jump over some, which are then reported in
        // order (a call that was not answered never reaches `connected`).
        const ORDER: [&str; 5] = [
            "ringing_manager",
            "speaking_text",
            "dialling_client",
            "connected",
            "ended",
        ];
        let mut shown = 0;
        while started.elapsed() < timeout && shown < ORDER.len() {
            let Some(state) = portal.call(call_id) else {
                break;
            };
            let reached = ORDER
                .iter()
                .position(|s| *s == state.stage.as_str())
                .map_or(0, |i| i + 1);
            let answered = state.outcome.is_none_or(|o| o.as_str() == "answered");
            for stage in &ORDER[shown.min(reached)..reached] {
                if *stage != "connected" || answered {
                    out.stage(stage, &describe(stage, request));
                }
            }
            shown = shown.max(reached);
            std::thread::sleep(Duration::from_millis(50));
        }
        // The stages were the sign of life.
        None
    } else {
        out.note(
            "Waiting for the call to end (Bitrix24 reports the outcome once the call is over)...",
        );
        heartbeat
    };
    let left = timeout.saturating_sub(started.elapsed());
    let record =
        wait(&session.client, out, call_id, left, heartbeat, started).map_err(|e| out.error(&e))?;
    out.record(call_id, record.as_ref());
    Ok(record)
}

/// [`Client::wait_for_outcome`] (its polling schedule untouched, on a thread of its own), with a
/// `heartbeat` event every `every` while no record has come; `since` is when the wait began as
/// the user sees it.
pub fn wait(
    client: &Client,
    out: &Output,
    call_id: &str,
    timeout: Duration,
    every: Option<Duration>,
    since: Instant,
) -> Result<Option<CallRecord>, Error> {
    let Some(every) = every.filter(|d| !d.is_zero()) else {
        return client.wait_for_outcome(call_id, timeout);
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel();
        scope.spawn(move || {
            let _ = tx.send(client.wait_for_outcome(call_id, timeout));
        });
        let mut next = since + every;
        loop {
            match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
                Ok(result) => return result,
                Err(RecvTimeoutError::Timeout) => {
                    out.heartbeat(call_id, since.elapsed());
                    next += every;
                }
                // Only a panic of the waiting thread drops the sender; the scope re-raises it.
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(Error::internal(ErrorCode::PortalError));
                }
            }
        }
    })
}

fn describe(stage: &str, request: &CallbackRequest) -> String {
    match stage {
        "ringing_manager" => format!("ringing the manager on line {}", request.from_line()),
        "speaking_text" => "manager answered; speaking the text".to_owned(),
        "dialling_client" => format!("dialling the client {}", request.masked_number()),
        "connected" => "client answered: connected".to_owned(),
        "ended" => "call ended".to_owned(),
        other => other.replace('_', " "),
    }
}
