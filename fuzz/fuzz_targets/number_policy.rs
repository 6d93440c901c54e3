//! The number parser with validation, and the destination policy.
//!
//! Input (text, lines separated by `\n`):
//!
//! ```text
//! TO_NUMBER
//! DEFAULT_REGION            (empty: none)
//! name=value                (any number of these, in any order)
//! ```
//!
//! where `name` is a policy list (`allowed_regions`, `blocked_regions`, `allowed_prefixes`,
//! `blocked_prefixes`, `allowed_number_types`, `high_risk_regions`; comma-separated),
//! `block_costly_numbers` (`true`/`false`) or a request field (`from_line`, `text`, `voice`,
//! `key`). The request goes through `CallbackRequest::builder()...build()`; a valid one through
//! `Client::check` on a client with that policy (clients are kept per policy, built once).
#![no_main]

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use callback_core::{
    Auth, CallbackRequest, Client, ClientOptions, Error, ErrorCode, HIGH_RISK_REGIONS,
    INTERNATIONAL_NETWORKS, NumberType, PolicyOptions, SAFE_NUMBER_TYPES, mask_number,
};
use callback_core_fuzz::{assert_no_long_digit_run, digits_of, text_of};
use libfuzzer_sys::fuzz_target;

const WEBHOOK: &str = "http://127.0.0.1:9/rest/1/fuzzsecret0001/";

#[derive(Default, Debug)]
struct Input {
    number: String,
    region: String,
    allowed_regions: Option<Vec<String>>,
    blocked_regions: Option<Vec<String>>,
    allowed_prefixes: Option<Vec<String>>,
    blocked_prefixes: Option<Vec<String>>,
    allowed_number_types: Option<Vec<String>>,
    high_risk_regions: Option<Vec<String>>,
    block_costly_numbers: Option<bool>,
    from_line: Option<String>,
    text: Option<String>,
    voice: Option<String>,
    key: Option<String>,
}

impl Input {
    fn parse(text: &str) -> Input {
        let mut lines = text.split('\n');
        let mut input = Input {
            number: lines.next().unwrap_or("").to_owned(),
            region: lines.next().unwrap_or("").to_owned(),
            ..Input::default()
        };
        for line in lines {
            let Some((name, value)) = line.split_once('=') else {
                continue;
            };
            let list = || Some(value.split(',').map(str::to_owned).collect::<Vec<_>>());
            match name {
                "allowed_regions" => input.allowed_regions = list(),
                "blocked_regions" => input.blocked_regions = list(),
                "allowed_prefixes" => input.allowed_prefixes = list(),
                "blocked_prefixes" => input.blocked_prefixes = list(),
                "allowed_number_types" => input.allowed_number_types = list(),
                "high_risk_regions" => input.high_risk_regions = list(),
                "block_costly_numbers" => input.block_costly_numbers = Some(value == "true"),
                "from_line" => input.from_line = Some(value.to_owned()),
                "text" => input.text = Some(value.to_owned()),
                "voice" => input.voice = Some(value.to_owned()),
                "key" => input.key = Some(value.to_owned()),
                _ => {}
            }
        }
        input
    }

    fn policy(&self) -> PolicyOptions {
        PolicyOptions {
            allowed_regions: self.allowed_regions.clone(),
            blocked_regions: self.blocked_regions.clone(),
            allowed_prefixes: self.allowed_prefixes.clone(),
            blocked_prefixes: self.blocked_prefixes.clone(),
            block_costly_numbers: self.block_costly_numbers,
            allowed_number_types: self.allowed_number_types.clone(),
            high_risk_regions: self.high_risk_regions.clone(),
            ..PolicyOptions::default()
        }
    }

    /// Every text the caller handed in.
    fn texts(&self) -> Vec<&str> {
        let mut all = vec![self.number.as_str(), self.region.as_str()];
        for list in [
            &self.allowed_regions,
            &self.blocked_regions,
            &self.allowed_prefixes,
            &self.blocked_prefixes,
            &self.allowed_number_types,
            &self.high_risk_regions,
        ]
        .into_iter()
        .flatten()
        {
            all.extend(list.iter().map(String::as_str));
        }
        for field in [&self.from_line, &self.text, &self.voice, &self.key]
            .into_iter()
            .flatten()
        {
            all.push(field);
        }
        all
    }
}

/// Clients by policy, built once each (at most a few hundred kept).
static CLIENTS: LazyLock<Mutex<HashMap<String, Result<Client, Error>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

fn client_for(input: &Input) -> Result<Client, Error> {
    let policy = input.policy();
    let key = format!("{policy:?}");
    let mut clients = CLIENTS.lock().unwrap();
    if clients.len() > 256 {
        clients.clear();
    }
    clients
        .entry(key)
        .or_insert_with(|| {
            let auth = Auth::webhook(WEBHOOK).expect("the fuzz webhook is valid");
            Client::with_options(
                auth,
                ClientOptions {
                    policy,
                    ..ClientOptions::default()
                },
            )
        })
        .clone()
}

const REQUEST_FIELDS: [&str; 6] = [
    "FROM_LINE",
    "TO_NUMBER",
    "TEXT_TO_PRONOUNCE",
    "VOICE",
    "idempotency_key",
    "default_region",
];

/// The error's every text: what a log line or a binding's exception could show.
fn error_texts(e: &Error) -> String {
    format!("{e} {e:?}")
}

fn has_region(list: &[String], region: &str) -> bool {
    list.iter()
        .any(|r| r.trim().eq_ignore_ascii_case(region) && !region.is_empty())
}

fn compact_prefixes(list: &Option<Vec<String>>) -> Vec<String> {
    list.iter()
        .flatten()
        .map(|p| p.chars().filter(|c| !matches!(c, ' ' | '-')).collect())
        .collect()
}

fn check_request(input: &Input, r: &CallbackRequest) {
    // `+`, the calling code, then the national number: digits only. The national number has
    // 2 to 17 digits, libphonenumber's bounds (not E.164's 15 in all: it calls some German
    // toll-free numbers of 17 digits in all valid, and so does the library).
    let e164 = r.to_number();
    let digits = e164.strip_prefix('+').expect("E.164 starts with +");
    assert!(
        digits.chars().all(|c| c.is_ascii_digit()),
        "not E.164: {e164:?}"
    );
    assert!(
        !digits.starts_with('0'),
        "a calling code never starts with 0"
    );
    let cc = r.calling_code().to_string();
    assert!(
        (1..=3).contains(&cc.len()) && digits.starts_with(&cc),
        "calling code {cc} of {e164}"
    );
    let national = digits.len() - cc.len();
    assert!((2..=17).contains(&national), "length of {e164:?}");
    assert_ne!(
        r.number_type(),
        NumberType::Unknown,
        "a valid number has a type"
    );
    if let Some(region) = r.destination_region() {
        assert!(
            region == "001"
                || (region.len() == 2 && region.chars().all(|c| c.is_ascii_uppercase())),
            "region {region:?}"
        );
    }
    // The normalised number holds the digits typed (national prefixes may be dropped or added).
    let typed = digits_of(&input.number);
    assert!(!typed.is_empty(), "a number without digits was accepted");
    assert_eq!(r.masked_number(), mask_number(e164));
    let shown = format!("{r:?}");
    let echoed_elsewhere = [r.from_line(), r.voice().unwrap_or(""), r.text()]
        .iter()
        .any(|f| f.contains(digits));
    if !echoed_elsewhere {
        assert!(!shown.contains(digits), "Debug shows the number: {shown}");
    }
    assert!(r.wire_body().contains(&format!("\"TO_NUMBER\":\"{e164}\"")));
}

fn check_destination(input: &Input, r: &CallbackRequest, client: &Client) {
    let e164 = r.to_number();
    let region = r.destination_region().unwrap_or("");
    let blocked_prefixes = compact_prefixes(&input.blocked_prefixes);
    let allowed_prefixes = compact_prefixes(&input.allowed_prefixes);
    let blocked_regions = input.blocked_regions.clone().unwrap_or_default();
    let allowed_regions = input.allowed_regions.clone().unwrap_or_default();
    let high_risk = input
        .high_risk_regions
        .clone()
        .unwrap_or_else(|| HIGH_RISK_REGIONS.iter().map(|r| (*r).to_owned()).collect());
    let allowed_types: Vec<NumberType> = match &input.allowed_number_types {
        None => SAFE_NUMBER_TYPES.to_vec(),
        Some(names) => names.iter().filter_map(|n| NumberType::parse(n)).collect(),
    };
    let prefix_match = |list: &[String]| list.iter().any(|p| e164.starts_with(p.as_str()));
    let prefix_allowed = prefix_match(&allowed_prefixes);
    let region_allowed = has_region(&allowed_regions, region);
    let lists_set = !allowed_regions.is_empty() || !allowed_prefixes.is_empty();
    let explicit = prefix_allowed || region_allowed;
    let costly_blocked = input.block_costly_numbers.unwrap_or(true);

    match client.check(r) {
        Ok(d) => {
            assert_eq!(d.number, e164);
            assert_eq!(d.region.as_deref(), r.destination_region());
            assert_eq!(d.number_type, r.number_type());
            // Nothing the policy refuses gets through.
            assert!(
                !prefix_match(&blocked_prefixes),
                "blocked prefix allowed: {d:?}"
            );
            assert!(
                !has_region(&blocked_regions, region),
                "blocked region: {d:?}"
            );
            assert!(!lists_set || explicit, "outside the allow lists: {d:?}");
            if !explicit {
                assert!(
                    !INTERNATIONAL_NETWORKS.contains(&r.calling_code()),
                    "international network allowed: {d:?}"
                );
                assert!(!has_region(&high_risk, region), "high-risk region: {d:?}");
            }
            if costly_blocked {
                assert!(
                    allowed_types.contains(&r.number_type()),
                    "type not allowed: {d:?}"
                );
            }
            let shown = format!("{d:?}");
            if !region.contains(&e164[1..]) {
                assert!(
                    !shown.contains(&e164[1..]),
                    "Debug shows the number: {shown}"
                );
            }
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::DestinationBlocked, "{e:?}");
            assert!(e.retry_safe());
            let [v] = e.violations() else {
                panic!("one violation expected: {e:?}");
            };
            assert_eq!(v.field, "TO_NUMBER");
            // The rule named is one the number breaks.
            let breaks = match v.code.as_str() {
                "prefix_blocked" => prefix_match(&blocked_prefixes),
                "region_blocked" => has_region(&blocked_regions, region),
                "region_not_allowed" | "prefix_not_allowed" => lists_set && !explicit,
                "international_network" => {
                    !explicit && INTERNATIONAL_NETWORKS.contains(&r.calling_code())
                }
                "high_risk_region" => !explicit && has_region(&high_risk, region),
                other => {
                    NumberType::parse(other) == Some(r.number_type())
                        && costly_blocked
                        && !allowed_types.contains(&r.number_type())
                }
            };
            assert!(
                breaks,
                "refused for a rule the number does not break: {e:?}"
            );
            let texts = error_texts(&e);
            if e164.len() > 7 {
                assert!(!texts.contains(&e164[1..]), "full number in {texts}");
            }
            assert_no_long_digit_run(&texts, &input.texts(), "check error");
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text_of(data);
    let input = Input::parse(&text);
    let mut builder = CallbackRequest::builder()
        .from_line(input.from_line.clone().unwrap_or_else(|| "reg1".into()))
        .to_number(input.number.clone())
        .text(
            input
                .text
                .clone()
                .unwrap_or_else(|| "Please call back".into()),
        );
    if !input.region.is_empty() {
        builder = builder.default_region(input.region.clone());
    }
    if let Some(v) = &input.voice {
        builder = builder.voice(v.clone());
    }
    if let Some(k) = &input.key {
        builder = builder.idempotency_key(k.clone());
    }
    let request = match builder.build() {
        Ok(r) => r,
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e:?}");
            assert!(e.retry_safe());
            assert!(!e.violations().is_empty(), "{e:?}");
            for v in e.violations() {
                assert!(REQUEST_FIELDS.contains(&v.field.as_str()), "{v:?}");
                assert!(!v.code.is_empty() && !v.message.is_empty(), "{v:?}");
            }
            let texts = error_texts(&e);
            assert_no_long_digit_run(&texts, &input.texts(), "validation error");
            let typed = digits_of(&input.number);
            if typed.len() >= 7 {
                assert!(!texts.contains(&typed), "the number's digits in {texts}");
            }
            return;
        }
    };
    check_request(&input, &request);
    match client_for(&input) {
        Ok(client) => check_destination(&input, &request, &client),
        Err(e) => {
            // Only the policy values can be wrong; they are named, never echoed.
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e:?}");
            assert!(!e.violations().is_empty());
            for v in e.violations() {
                assert!(
                    v.field.contains("regions")
                        || v.field.contains("prefixes")
                        || v.field.contains("number_types"),
                    "{v:?}"
                );
            }
            assert_no_long_digit_run(&error_texts(&e), &input.texts(), "policy error");
        }
    }
});
