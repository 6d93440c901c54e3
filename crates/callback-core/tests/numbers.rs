//! The phone-number oracle: every case of `tests/vectors/numbers.json` (generated from Google's
//! libphonenumber, metadata 9.0.42) must get libphonenumber's answer from validation: the same
//! E.164 form, region and type for a valid number, `invalid_number` for a number it parses but
//! calls invalid, `unparsable` for one it cannot parse.

use callback_core::{CallbackRequest, ErrorCode, NumberType};
use serde_json::Value;

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/vectors/numbers.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("numbers.json")).expect("JSON")
}

fn text(case: &Value, key: &str) -> Option<String> {
    case.get(key).and_then(Value::as_str).map(str::to_owned)
}

/// What validation answers for one case, in the oracle's terms.
fn answer(case: &Value) -> Value {
    let mut b = CallbackRequest::builder()
        .from_line("reg1")
        .text("oracle")
        .to_number(text(case, "input").unwrap());
    if let Some(region) = text(case, "region_given") {
        b = b.default_region(region);
    }
    match b.build() {
        Ok(r) => serde_json::json!({
            "valid": true,
            "e164": r.to_number(),
            "region": r.destination_region(),
            "type": r.number_type().as_str(),
        }),
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidRequest);
            let codes: Vec<&str> = e.violations().iter().map(|v| v.code.as_str()).collect();
            serde_json::json!({ "refused": codes })
        }
    }
}

fn expected(case: &Value) -> Value {
    if case["parsed"] != Value::Bool(true) {
        return serde_json::json!({ "refused": ["unparsable"] });
    }
    if case["valid"] != Value::Bool(true) {
        return serde_json::json!({ "refused": ["invalid_number"] });
    }
    serde_json::json!({
        "valid": true,
        "e164": case["e164"],
        "region": case["region"],
        "type": case["type"],
    })
}

#[test]
fn validation_agrees_with_libphonenumber_on_every_vector() {
    let v = vectors();
    assert_eq!(v["metadata_version"], "9.0.42");
    let mut checked = 0;
    let mut disagreements = Vec::new();
    for section in ["examples", "cases_of_interest", "random"] {
        let cases = v[section].as_array().expect(section);
        assert!(!cases.is_empty(), "{section}");
        for case in cases {
            checked += 1;
            let (got, want) = (answer(case), expected(case));
            if got != want {
                disagreements.push(format!(
                    "{section}: {} -> {got} (oracle {want})",
                    case["input"]
                ));
            }
        }
    }
    assert!(checked > 5000, "{checked}");
    assert!(
        disagreements.is_empty(),
        "{} of {checked} cases disagree:\n{}",
        disagreements.len(),
        disagreements[..disagreements.len().min(40)].join("\n")
    );
}

#[test]
fn every_type_name_of_the_oracle_is_a_number_type() {
    let v = vectors();
    for case in v["examples"].as_array().unwrap() {
        let t = case["type"].as_str().unwrap();
        assert!(NumberType::parse(t).is_some(), "{t}");
    }
}
