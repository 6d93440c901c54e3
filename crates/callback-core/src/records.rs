//! Typed results of the related methods: lines, voices, call records.

/// A line that can be used as `FROM_LINE` (`voximplant.line.get`); `name` is HTML-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: String,
    pub name: String,
}

/// A text-to-speech voice (`voximplant.tts.voices.get`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Voice {
    pub id: String,
    pub name: String,
}

/// What became of a call, from `CALL_FAILED_CODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallOutcome {
    /// 200
    Answered,
    /// 486
    Busy,
    /// 304
    NoAnswer,
    /// 603, 603-S
    Declined,
    /// 402
    InsufficientFunds,
    /// 404, 484
    InvalidNumber,
    /// Anything else (403, 423, 480, 503, OTHER, ...).
    Failed,
}

impl CallOutcome {
    /// Maps Bitrix24's `CALL_FAILED_CODE`.
    pub fn from_failed_code(code: &str) -> CallOutcome {
        match code.trim() {
            "200" => CallOutcome::Answered,
            "486" => CallOutcome::Busy,
            "304" => CallOutcome::NoAnswer,
            "603" | "603-S" => CallOutcome::Declined,
            "402" => CallOutcome::InsufficientFunds,
            "404" | "484" => CallOutcome::InvalidNumber,
            _ => CallOutcome::Failed,
        }
    }

    /// Stable snake_case name, e.g. `"no_answer"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CallOutcome::Answered => "answered",
            CallOutcome::Busy => "busy",
            CallOutcome::NoAnswer => "no_answer",
            CallOutcome::Declined => "declined",
            CallOutcome::InsufficientFunds => "insufficient_funds",
            CallOutcome::InvalidNumber => "invalid_number",
            CallOutcome::Failed => "failed",
        }
    }
}

/// A finished call from `voximplant.statistic.get`. The phone number is kept masked.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRecord {
    pub call_id: String,
    /// `CALL_TYPE` (4 = callback).
    pub call_type: Option<u32>,
    pub outcome: CallOutcome,
    /// Raw `CALL_FAILED_CODE`, e.g. `"486"`.
    pub failed_code: String,
    pub failed_reason: Option<String>,
    pub duration_seconds: u64,
    pub start_date: Option<String>,
    pub masked_number: Option<String>,
    pub cost: Option<String>,
    pub cost_currency: Option<String>,
}
