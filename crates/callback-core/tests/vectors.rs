//! Runs the shared vectors in `tests/vectors/` (every binding runs the same files).

use callback_core::{
    Auth, CallbackRequest, Client, ClientOptions, ErrorCode, PolicyOptions, classify_response,
    parse_event,
};
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

fn strings(v: &Value) -> Option<Vec<String>> {
    v.as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
}

#[test]
fn policy_vectors() {
    let v = load("policy.json");
    assert!(cases(&v).len() >= 30);
    let auth = Auth::webhook("http://127.0.0.1:9/rest/1/policyvectors01/").unwrap();
    let mut failures = Vec::new();
    for case in cases(&v) {
        let name = case["name"].as_str().unwrap();
        let p = &case["policy"];
        let policy = PolicyOptions {
            allowed_regions: strings(&p["allowed_regions"]),
            blocked_regions: strings(&p["blocked_regions"]),
            allowed_prefixes: strings(&p["allowed_prefixes"]),
            blocked_prefixes: strings(&p["blocked_prefixes"]),
            block_costly_numbers: p["block_costly_numbers"].as_bool(),
            allowed_number_types: strings(&p["allowed_number_types"]),
            high_risk_regions: strings(&p["high_risk_regions"]),
            ..PolicyOptions::default()
        };
        let options = ClientOptions {
            policy,
            ..ClientOptions::default()
        };
        let client = Client::with_options(auth.clone(), options).expect(name);
        let request = client
            .request()
            .from_line("reg1")
            .to_number(case["number"].as_str().unwrap())
            .text("policy vector")
            .build()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expect = &case["expect"];
        match (client.check(&request), expect.get("code")) {
            (Ok(d), None) => {
                let got = (d.region.as_deref(), d.number_type.as_str());
                let want = (expect["region"].as_str(), expect["type"].as_str().unwrap());
                if got != want {
                    failures.push(format!("{name}: {got:?} != {want:?}"));
                }
            }
            (Ok(d), Some(code)) => failures.push(format!("{name}: allowed ({d:?}), not {code}")),
            (Err(e), want) => {
                let got = e.violations().first().map(|v| v.code.as_str());
                if e.code() != ErrorCode::DestinationBlocked || got != want.and_then(Value::as_str)
                {
                    failures.push(format!("{name}: {e}"));
                }
                assert!(e.retry_safe());
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
