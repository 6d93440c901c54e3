//! Everything the CLI prints: human-readable text by default, JSON lines with `--json`.
//!
//! Phone numbers are printed masked; secrets are never printed.

use std::cell::RefCell;
use std::io::Write;

use serde_json::{Value, json};

use callback_core::{
    CallRecord, CallbackRequest, CallbackStarted, Destination, Error, ErrorParts, Line, Voice,
};

use crate::hints::{self, Context};
use crate::interrupt::Phase;

pub struct Output {
    json: bool,
    context: RefCell<Context>,
}

/// One problem of an error, as the command line names it.
pub struct Problem {
    /// The core's name of the input (`TO_NUMBER`), or the flag when the core has none.
    pub field: String,
    /// The flag that sets it (`--to`), or `CALL_ID` for the positional argument.
    pub flag: Option<String>,
    pub code: String,
    pub message: String,
    /// The next step, when there is one.
    pub hint: Option<String>,
}

impl Problem {
    /// The problem as one line of text: the flag, then what is wrong with it.
    fn text(&self, name_the_flag: bool) -> String {
        match (&self.flag, name_the_flag) {
            (Some(flag), true) => format!("{flag} {}", self.message),
            _ => self.message.clone(),
        }
    }
}

/// A whole error as the command line reports it (from the core, from clap, or its own).
pub struct Report {
    pub code: &'static str,
    pub retry_safe: bool,
    pub description: String,
    pub problems: Vec<Problem>,
    /// The next step for the error as a whole.
    pub hint: Option<String>,
    pub bitrix_code: Option<String>,
    pub http_status: Option<u16>,
    pub operating_reset_at: Option<i64>,
    pub portal_moved_to: Option<String>,
}

impl Report {
    /// An error of the command line itself, with one problem or none.
    pub fn local(
        code: &'static str,
        description: impl Into<String>,
        problems: Vec<Problem>,
    ) -> Report {
        Report {
            code,
            retry_safe: true,
            description: description.into(),
            problems,
            hint: None,
            bitrix_code: None,
            http_status: None,
            operating_reset_at: None,
            portal_moved_to: None,
        }
    }
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output {
            json,
            context: RefCell::new(Context::Read),
        }
    }

    /// What the command is doing now (it decides the next step after `outcome_unknown`).
    pub fn set_context(&self, context: Context) {
        *self.context.borrow_mut() = context;
    }

    fn emit(&self, value: Value) {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`| head`) is not worth a panic.
        let _ = writeln!(stdout, "{value}").and_then(|()| stdout.flush());
    }

    /// Prints a core error and returns the process exit code for it.
    pub fn error(&self, err: &Error) -> u8 {
        let exit = crate::exit_code_for(err);
        let ErrorParts {
            code,
            retry_safe,
            description,
            bitrix_code,
            http_status,
            violations,
            operating_reset_at,
            portal_moved_to,
        } = err.clone().into_parts();
        let problems = violations
            .into_iter()
            .map(|v| {
                let flag = if v.field.starts_with("--") {
                    Some(v.field.clone())
                } else {
                    hints::flag_for(&v.field).map(str::to_owned)
                };
                Problem {
                    hint: hints::violation_hint(code, &v.field, &v.code),
                    field: v.field,
                    flag,
                    code: v.code,
                    message: v.message,
                }
            })
            .collect();
        let hint = hints::error_hint(code, operating_reset_at, &self.context.borrow(), unix_now());
        self.report(&Report {
            code: code.as_str(),
            retry_safe,
            description,
            problems,
            hint,
            bitrix_code,
            http_status,
            operating_reset_at,
            portal_moved_to,
        });
        exit
    }

    /// Prints an error: in text one line per problem, each with its next step; in JSON one
    /// `error` event.
    pub fn report(&self, r: &Report) {
        // Violations of the input read after the flag (`--to has no country code`); a refused
        // destination is a sentence of its own.
        let name_the_flag = r.code == "invalid_request";
        let description = if r.problems.is_empty() {
            r.description.clone()
        } else {
            r.problems
                .iter()
                .map(|p| p.text(name_the_flag))
                .collect::<Vec<_>>()
                .join("; ")
        };
        if self.json {
            let violations: Vec<Value> = r
                .problems
                .iter()
                .map(|p| {
                    json!({
                        "field": p.field,
                        "flag": p.flag,
                        "code": p.code,
                        "message": p.message,
                        "hint": p.hint,
                    })
                })
                .collect();
            self.emit(json!({
                "event": "error",
                "code": r.code,
                "retry_safe": r.retry_safe,
                "description": description,
                "hint": r.hint,
                "bitrix_code": r.bitrix_code,
                "http_status": r.http_status,
                "violations": violations,
                "operating_reset_at": r.operating_reset_at,
                "portal_moved_to": r.portal_moved_to,
            }));
            return;
        }
        let next =
            |hint: &Option<String>| hint.as_ref().map(|h| format!("; {h}")).unwrap_or_default();
        let mut stderr = std::io::stderr().lock();
        for p in &r.problems {
            let _ = writeln!(
                stderr,
                "error: {} [{}]{}",
                p.text(name_the_flag),
                p.code,
                next(&p.hint)
            );
        }
        if r.problems.is_empty() {
            let mut line = format!("error: {} [{}]", r.description, r.code);
            if let Some(bitrix) = r.bitrix_code.as_deref().filter(|b| !b.is_empty())
                && !r.description.contains(bitrix)
            {
                let status = r
                    .http_status
                    .map(|s| format!(", HTTP {s}"))
                    .unwrap_or_default();
                line.push_str(&format!(" (Bitrix24: {bitrix:?}{status})"));
            }
            if let Some(to) = &r.portal_moved_to {
                line.push_str(&format!(
                    " (the portal moved to {to}: update your settings)"
                ));
            }
            line.push_str(&next(&r.hint));
            let _ = writeln!(stderr, "{line}");
        } else if let Some(hint) = &r.hint {
            let _ = writeln!(stderr, "  {hint}");
        }
        let refused_input = matches!(r.code, "invalid_request" | "destination_blocked");
        if r.retry_safe && !refused_input && *self.context.borrow() == Context::Start {
            let _ = writeln!(
                stderr,
                "Nothing was started: once the cause is fixed, it is safe to try again."
            );
        }
    }

    /// Where a checked callback would ring.
    pub fn destination(&self, d: &Destination) {
        if self.json {
            self.emit(json!({
                "event": "checked",
                "to": d.masked_number(),
                "region": d.region,
                "number_type": d.number_type.as_str(),
            }));
        } else {
            println!(
                "Allowed: {} ({}, region {}). Nothing was sent.",
                d.masked_number(),
                d.number_type.as_str().replace('_', " "),
                d.region.as_deref().unwrap_or("none")
            );
        }
    }

    /// An error of the CLI itself (bad file, missing option, no local portal): nothing was
    /// sent. Prints it with the code matching `exit` and returns `exit`.
    pub fn fatal(&self, message: &str, exit: u8) -> u8 {
        self.fatal_with(message, exit, Vec::new())
    }

    /// [`Self::fatal`] with the problems of the input that caused it.
    pub fn fatal_with(&self, message: &str, exit: u8, problems: Vec<Problem>) -> u8 {
        let code = if exit == crate::exit::INVALID_INPUT {
            "invalid_request"
        } else {
            "transport"
        };
        self.report(&Report::local(code, message, problems));
        exit
    }

    pub fn sandbox_notice(&self, base_url: &str) {
        let text = format!(
            "SANDBOX: no BITRIX24_WEBHOOK_URL and no OAuth settings, so this runs against an embedded \
             fake Bitrix24 portal at {base_url}. No real call is made."
        );
        if self.json {
            self.emit(json!({"event": "sandbox", "portal": base_url, "description": text}));
        } else {
            eprintln!("{text}");
        }
    }

    pub fn note(&self, text: &str) {
        if self.json {
            self.emit(json!({"event": "note", "description": text}));
        } else {
            println!("{text}");
        }
    }

    pub fn started(&self, request: &CallbackRequest, started: &CallbackStarted) {
        let t = &started.timing;
        if self.json {
            self.emit(json!({
                "event": "started",
                "call_id": started.call_id,
                "deduplicated": started.deduplicated,
                "line": request.from_line(),
                "to": request.masked_number(),
                "attempts": t.attempts,
                "total_ms": t.total.as_millis() as u64,
                "limiter_wait_ms": t.limiter_wait.as_millis() as u64,
                "portal_moved_to": started.portal_moved_to,
            }));
            return;
        }
        let id = started
            .call_id
            .as_deref()
            .unwrap_or("(none: REST application line)");
        let again = if started.deduplicated {
            " (same idempotency key: first result, portal not called again)"
        } else {
            ""
        };
        println!("Callback started: CALL_ID {id}{again}");
        println!(
            "  line {} -> {}, {} request(s), {} ms",
            request.from_line(),
            request.masked_number(),
            t.attempts,
            t.total.as_millis()
        );
        if let Some(moved) = &started.portal_moved_to {
            println!("  note: the portal has moved to {moved}; update your settings");
        }
    }

    /// A stage of the call as it progresses (sandbox only: a real portal reports the end alone).
    pub fn stage(&self, stage: &str, text: &str) {
        if self.json {
            self.emit(json!({"event": "stage", "stage": stage, "description": text}));
        } else {
            println!("  {text}");
        }
    }

    /// While following a call on a real portal: the wait goes on.
    pub fn heartbeat(&self, call_id: &str, elapsed: std::time::Duration) {
        let seconds = elapsed.as_secs();
        let text = format!(
            "still waiting for the call record: {seconds} s so far (Bitrix24 writes it when the \
             call ends)"
        );
        if self.json {
            self.emit(json!({
                "event": "heartbeat",
                "call_id": call_id,
                "elapsed_seconds": seconds,
                "description": text,
            }));
        } else {
            println!("  {text}");
        }
    }

    /// Ctrl-C: says what became of the call and how to learn its end, then ends the process
    /// with [`crate::exit::INTERRUPTED`]. Both output streams stay locked until then, so that
    /// nothing the command was printing follows this.
    pub fn interrupted(&self, phase: &Phase) -> ! {
        let mut stdout = std::io::stdout().lock();
        let mut stderr = std::io::stderr().lock();
        let (call_id, goes_on, command, text): (
            Option<&str>,
            Option<bool>,
            Option<String>,
            String,
        ) = match phase {
            Phase::Preparing => (
                None,
                Some(false),
                None,
                "Interrupted before anything was sent: no call was started.".to_owned(),
            ),
            Phase::Starting => (
                None,
                None,
                None,
                "Interrupted while starting the callback: the request may already have \
                     reached the portal, so the call may ring. Check the call history in Bitrix24 \
                     before trying again."
                    .to_owned(),
            ),
            Phase::Following {
                call_id,
                sandbox: false,
            } => (
                Some(call_id),
                Some(true),
                Some(format!("b24-callback outcome {call_id} --wait 600")),
                format!(
                    "Interrupted: the portal accepted the callback (CALL_ID {call_id}) and the \
                         call goes on without this program."
                ),
            ),
            Phase::Following {
                call_id,
                sandbox: true,
            } => (
                Some(call_id),
                Some(false),
                None,
                format!(
                    "Interrupted: the simulated call {call_id} ends with this program (the \
                         sandbox's fake portal lives only as long as one run); no real call was made."
                ),
            ),
            Phase::Done => (None, None, None, String::new()),
        };
        if self.json && !text.is_empty() {
            let value = json!({
                "event": "interrupted",
                "call_id": call_id,
                "call_goes_on": goes_on,
                "outcome_command": command,
                "description": text,
            });
            let _ = writeln!(stdout, "{value}");
        } else if !text.is_empty() {
            let _ = writeln!(stderr, "{text}");
            if let Some(command) = &command {
                let _ = writeln!(
                    stderr,
                    "To see how it ends, run (with the same portal settings):\n  {command}"
                );
            }
        }
        let _ = stdout.flush();
        let _ = stderr.flush();
        std::process::exit(i32::from(crate::exit::INTERRUPTED))
    }

    pub fn record(&self, call_id: &str, record: Option<&CallRecord>) {
        match record {
            None => {
                if self.json {
                    self.emit(json!({"event": "pending", "call_id": call_id}));
                } else {
                    println!(
                        "No record yet for {call_id}: the call has not ended (or the id is unknown)."
                    );
                }
            }
            Some(r) => {
                if self.json {
                    self.emit(json!({
                        "event": "ended",
                        "call_id": r.call_id,
                        "outcome": r.outcome.as_str(),
                        "failed_code": r.failed_code,
                        "failed_reason": r.failed_reason,
                        "duration_seconds": r.duration_seconds,
                        "start_date": r.start_date,
                        "to": r.masked_number,
                        "cost": r.cost,
                        "cost_currency": r.cost_currency,
                    }));
                } else {
                    let reason = r
                        .failed_reason
                        .as_deref()
                        .map(|s| format!(" ({s})"))
                        .unwrap_or_default();
                    println!(
                        "  ended: {}{reason}, {} s, CALL_FAILED_CODE {}",
                        r.outcome.as_str().replace('_', " "),
                        r.duration_seconds,
                        r.failed_code
                    );
                }
            }
        }
    }

    pub fn lines(&self, lines: &[Line]) {
        if self.json {
            let items: Vec<Value> = lines
                .iter()
                .map(|l| json!({"id": l.id, "name": l.name}))
                .collect();
            self.emit(json!({"lines": items}));
        } else if lines.is_empty() {
            println!("The portal has no lines.");
        } else {
            let width = lines.iter().map(|l| l.id.len()).max().unwrap_or(0);
            for l in lines {
                println!("{:width$}  {}", l.id, l.name);
            }
        }
    }

    pub fn voices(&self, voices: &[Voice]) {
        if self.json {
            let items: Vec<Value> = voices
                .iter()
                .map(|v| json!({"id": v.id, "name": v.name}))
                .collect();
            self.emit(json!({"voices": items}));
        } else {
            let width = voices.iter().map(|v| v.id.len()).max().unwrap_or(0);
            for v in voices {
                println!("{:width$}  {}", v.id, v.name);
            }
        }
    }
}
