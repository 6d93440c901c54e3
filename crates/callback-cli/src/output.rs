//! Everything the CLI prints: human-readable text by default, JSON lines with `--json`.
//!
//! Phone numbers are printed masked; secrets are never printed.

use serde_json::{Value, json};

use callback_core::{
    CallRecord, CallbackRequest, CallbackStarted, Destination, Error, ErrorParts, Line, Voice,
};

pub struct Output {
    json: bool,
}

impl Output {
    pub fn new(json: bool) -> Output {
        Output { json }
    }

    fn emit(&self, value: Value) {
        println!("{value}");
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
        if self.json {
            self.emit(json!({
                "event": "error",
                "code": code.as_str(),
                "retry_safe": retry_safe,
                "description": description,
                "bitrix_code": bitrix_code,
                "http_status": http_status,
                "violations": violations,
                "operating_reset_at": operating_reset_at,
                "portal_moved_to": portal_moved_to,
            }));
            return exit;
        }
        eprintln!("error [{code}]: {description}");
        if let Some(bitrix) = bitrix_code {
            let status = http_status
                .map(|s| format!(", HTTP {s}"))
                .unwrap_or_default();
            eprintln!("  Bitrix24 said: {bitrix:?}{status}");
        }
        for v in &violations {
            eprintln!("  {}: {} ({})", v.field, v.message, v.code);
        }
        if let Some(at) = operating_reset_at {
            eprintln!("  The method's time budget resets at unix time {at}.");
        }
        if let Some(to) = portal_moved_to {
            eprintln!("  The portal moved to {to}.");
        }
        if retry_safe {
            eprintln!("  Nothing was started; it is safe to try again once the cause is fixed.");
        } else {
            eprintln!(
                "  The portal may have started the call. Do not retry blindly: check the call \
                 history (or `b24-callback outcome`) first."
            );
        }
        exit
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
        let code = if exit == crate::exit::INVALID_INPUT {
            "invalid_request"
        } else {
            "transport"
        };
        if self.json {
            self.emit(
                json!({"event": "error", "code": code, "retry_safe": true, "description": message}),
            );
        } else {
            eprintln!("error: {message}");
        }
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
