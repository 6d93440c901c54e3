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

fn text_of(v: Option<&serde_json::Value>) -> Option<String> {
    match v? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn decode(name: &str) -> String {
    html_escape::decode_html_entities(name).into_owned()
}

/// A map id → name, or a list of objects carrying the id and the name under the first present
/// of `id_keys` / `name_keys`; names HTML-decoded, sorted by id.
fn id_name_pairs(
    result: &serde_json::Value,
    id_keys: &[&str],
    name_keys: &[&str],
) -> Vec<(String, String)> {
    let first =
        |item: &serde_json::Value, keys: &[&str]| keys.iter().find_map(|k| text_of(item.get(*k)));
    let mut out: Vec<(String, String)> = match result {
        serde_json::Value::Object(map) => map
            .iter()
            .map(|(id, name)| (id.clone(), decode(&text_of(Some(name)).unwrap_or_default())))
            .collect(),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| {
                let id = first(item, id_keys)?;
                Some((id, decode(&first(item, name_keys).unwrap_or_default())))
            })
            .collect(),
        _ => Vec::new(),
    };
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// `voximplant.line.get`'s result: a map id → name (also tolerated: a list of objects with
/// `LINE_ID`/`ID` and `NUMBER`/`NAME`).
pub(crate) fn lines_from(result: &serde_json::Value) -> Vec<Line> {
    id_name_pairs(result, &["LINE_ID", "ID"], &["NUMBER", "NAME"])
        .into_iter()
        .map(|(id, name)| Line { id, name })
        .collect()
}

/// `voximplant.tts.voices.get`'s result: a map id → label (also tolerated: a list of objects
/// with `ID` and `NAME`).
pub(crate) fn voices_from(result: &serde_json::Value) -> Vec<Voice> {
    id_name_pairs(result, &["ID"], &["NAME"])
        .into_iter()
        .map(|(id, name)| Voice { id, name })
        .collect()
}

/// The record of `call_id` in `voximplant.statistic.get`'s result list.
pub(crate) fn record_from(result: &serde_json::Value, call_id: &str) -> Option<CallRecord> {
    let items = result.as_array()?;
    let item = items
        .iter()
        .find(|i| text_of(i.get("CALL_ID")).as_deref() == Some(call_id))?;
    let failed_code = text_of(item.get("CALL_FAILED_CODE")).unwrap_or_else(|| "OTHER".into());
    let non_empty = |k: &str| text_of(item.get(k)).filter(|s| !s.trim().is_empty());
    Some(CallRecord {
        call_id: call_id.to_owned(),
        call_type: non_empty("CALL_TYPE").and_then(|s| s.trim().parse().ok()),
        outcome: CallOutcome::from_failed_code(&failed_code),
        failed_code,
        failed_reason: non_empty("CALL_FAILED_REASON").map(|r| crate::redact::sanitize_text(&r)),
        duration_seconds: non_empty("CALL_DURATION")
            .and_then(|s| s.trim().parse::<f64>().ok())
            .map(|f| f.max(0.0) as u64)
            .unwrap_or(0),
        start_date: non_empty("CALL_START_DATE"),
        masked_number: non_empty("PHONE_NUMBER").map(|n| crate::redact::mask_number(&n)),
        cost: non_empty("COST"),
        cost_currency: non_empty("COST_CURRENCY"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_results() {
        let lines = lines_from(&json!({"sip7": "A &amp; B &quot;x&quot;", "reg1": "Sales"}));
        assert_eq!(lines[0].id, "reg1");
        assert_eq!(lines[1].name, "A & B \"x\"");
        // The list forms: the first present key wins; items without an id are skipped.
        let lines = lines_from(&json!([
            {"LINE_ID": "sip2", "ID": "ignored", "NUMBER": "+1 201", "NAME": "ignored"},
            {"ID": 7, "NAME": "Hall &lt;2&gt;"},
            {"NAME": "no id"}
        ]));
        assert_eq!(
            lines,
            vec![
                Line {
                    id: "7".into(),
                    name: "Hall <2>".into()
                },
                Line {
                    id: "sip2".into(),
                    name: "+1 201".into()
                },
            ]
        );
        let voices = voices_from(&json!([{"ID": "v2", "NAME": "B"}, {"ID": "v1"}]));
        assert_eq!(
            voices,
            vec![
                Voice {
                    id: "v1".into(),
                    name: String::new()
                },
                Voice {
                    id: "v2".into(),
                    name: "B".into()
                },
            ]
        );
        let voices = voices_from(&json!({"ruinternalfemale": "Russian (female)"}));
        assert_eq!(voices[0].name, "Russian (female)");
        assert!(lines_from(&json!("nonsense")).is_empty());
        let r = record_from(
            &json!([{"CALL_ID": "c1", "CALL_FAILED_CODE": 486, "CALL_DURATION": "0",
                     "PHONE_NUMBER": "+12015550101", "CALL_TYPE": "4"}]),
            "c1",
        )
        .unwrap();
        assert_eq!(r.outcome, CallOutcome::Busy);
        assert_eq!(r.call_type, Some(4));
        assert!(!r.masked_number.unwrap().contains("5550101"));
    }
}
