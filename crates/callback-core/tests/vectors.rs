//! Runs the shared vectors in `tests/vectors/` (every binding runs the same files).

use callback_core::{CallbackRequest, classify_response, parse_event};
use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../../tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cases(v: &Value) -> &Vec<Value> {
    v["cases"].as_array().expect("cases")
}

#[test]
fn request_vectors() {
    let v = load("requests.json");
    assert!(cases(&v).len() >= 40);
    let mut failures = Vec::new();
    for case in cases(&v) {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let mut b = CallbackRequest::builder()
            .from_line(input["from_line"].as_str().unwrap())
            .to_number(input["to_number"].as_str().unwrap())
            .text(input["text"].as_str().unwrap());
        if let Some(voice) = input.get("voice").and_then(Value::as_str) {
            b = b.voice(voice);
        }
        if let Some(r) = input.get("default_region").and_then(Value::as_str) {
            b = b.default_region(r);
        }
        if let Some(a) = input.get("allow_unknown_voice").and_then(Value::as_bool) {
            b = b.allow_unknown_voice(a);
        }
        let got = b.build();
        let expect = &case["expect"];
        match (got, expect.get("wire_body")) {
            (Ok(r), Some(w)) => {
                if r.wire_body() != w.as_str().unwrap() {
                    failures.push(format!("{name}: wire body {} != {w}", r.wire_body()));
                }
            }
            (Ok(r), None) => failures.push(format!("{name}: accepted: {}", r.wire_body())),
            (Err(e), Some(_)) => failures.push(format!("{name}: refused: {e}")),
            (Err(e), None) => {
                let got: Vec<(String, String)> = e
                    .violations()
                    .iter()
                    .map(|v| (v.field.clone(), v.code.clone()))
                    .collect();
                let want: Vec<(String, String)> = expect["violations"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| {
                        (
                            v["field"].as_str().unwrap().to_owned(),
                            v["code"].as_str().unwrap().to_owned(),
                        )
                    })
                    .collect();
                if got != want {
                    failures.push(format!("{name}: violations {got:?} != {want:?}"));
                }
                assert_eq!(e.code().as_str(), "invalid_request");
                assert!(e.retry_safe());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn response_vectors() {
    let v = load("responses.json");
    assert!(cases(&v).len() >= 40);
    let mut failures = Vec::new();
    for case in cases(&v) {
        let name = case["name"].as_str().unwrap();
        let status = case["http_status"].as_u64().unwrap() as u16;
        let body = case["body"].as_str().unwrap();
        let got = classify_response(status, body.as_bytes());
        let expect = &case["expect"];
        if expect.get("ok").is_some() {
            if let Some(e) = got {
                failures.push(format!("{name}: expected success, got {e}"));
            }
            continue;
        }
        let Some(e) = got else {
            failures.push(format!("{name}: expected an error, got success"));
            continue;
        };
        let code = expect["code"].as_str().unwrap();
        if e.code().as_str() != code {
            failures.push(format!("{name}: code {} != {code} ({e})", e.code()));
        }
        if e.retry_safe() != expect["retry_safe"].as_bool().unwrap() {
            failures.push(format!("{name}: retry_safe {}", e.retry_safe()));
        }
        if e.bitrix_code() != expect["bitrix_code"].as_str() {
            failures.push(format!("{name}: bitrix_code {:?}", e.bitrix_code()));
        }
        if e.http_status() != Some(status) {
            failures.push(format!("{name}: http_status {:?}", e.http_status()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn event_vectors() {
    let v = load("events.json");
    let token = v["application_token"].as_str().unwrap();
    let mut failures = Vec::new();
    for case in cases(&v) {
        let name = case["name"].as_str().unwrap();
        let body = case["body"].as_str().unwrap();
        let expect = &case["expect"];
        match (parse_event(body.as_bytes(), token), expect.get("code")) {
            (Ok(ev), None) => {
                if ev.event != expect["event"].as_str().unwrap() {
                    failures.push(format!("{name}: event {}", ev.event));
                }
                if ev.call_id() != expect["call_id"].as_str() {
                    failures.push(format!("{name}: call_id {:?}", ev.call_id()));
                }
                if let Some(o) = expect.get("outcome").and_then(Value::as_str)
                    && ev.outcome().map(|x| x.as_str()) != Some(o)
                {
                    failures.push(format!("{name}: outcome {:?}", ev.outcome()));
                }
            }
            (Ok(ev), Some(c)) => failures.push(format!("{name}: accepted {ev:?}, wanted {c}")),
            (Err(e), None) => failures.push(format!("{name}: refused: {e}")),
            (Err(e), Some(c)) => {
                if e.code().as_str() != c.as_str().unwrap() {
                    failures.push(format!("{name}: code {} != {c}", e.code()));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
