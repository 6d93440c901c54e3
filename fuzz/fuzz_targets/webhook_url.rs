//! The webhook URL parser: `Auth::webhook(text)`.
//!
//! Input: the address as typed.
#![no_main]

use std::net::IpAddr;
use std::sync::LazyLock;

use callback_core::{Auth, ErrorCode};
use callback_core_fuzz::text_of;
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};

/// The texts of every refusal, from addresses that provoke each one.
static FIXED: LazyLock<Vec<String>> = LazyLock::new(|| {
    [
        "nonsense",
        "data:text/plain,x",
        "http://example.com/rest/1/abcsecret123/",
        "ftp://example.com/rest/1/abcsecret123/",
        "https://u:p@example.com/rest/1/abcsecret123/",
        "https://example.com/api/1/abcsecret123/",
        "https://example.com/rest/1/abcsecret123/?x=1",
        "https://example.com/rest/1!/abcsecret123/",
        "https://example.com/rest/1/abc!secret/",
    ]
    .iter()
    .map(|u| Auth::webhook(u).expect_err("a refused address").to_string())
    .collect()
});

fn loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

fuzz_target!(|data: &[u8]| {
    let text = text_of(data);
    match Auth::webhook(&text) {
        Ok(auth) => {
            let Auth::Webhook(w) = &auth else {
                panic!("Auth::webhook gave {auth:?}");
            };
            // Only https, or plain http to a loopback host; no credentials; nothing but the base.
            let base = Url::parse(w.portal()).expect("the portal base is a URL");
            let host = base.host().expect("the portal base has a host");
            match base.scheme() {
                "https" => {}
                "http" => assert!(loopback(&host), "http to {host}: {w}"),
                other => panic!("scheme {other}: {w}"),
            }
            assert!(
                base.username().is_empty() && base.password().is_none(),
                "{w}"
            );
            assert_eq!(base.path(), "/", "{w}");
            assert!(base.query().is_none() && base.fragment().is_none(), "{w}");
            assert!(!w.user_id().is_empty());
            // The input parses the same way; its secret is the segment after the user id.
            let input = Url::parse(text.trim()).expect("accepted, so it parses");
            assert!(input.username().is_empty() && input.password().is_none());
            assert!(input.query().is_none() && input.fragment().is_none());
            let segments: Vec<&str> = input
                .path_segments()
                .map(|s| s.filter(|p| !p.is_empty()).collect())
                .unwrap_or_default();
            assert_eq!(segments.first(), Some(&"rest"));
            assert_eq!(segments.get(1), Some(&w.user_id()));
            assert!(segments.len() >= 3, "no secret segment");
            // Debug and Display are exactly the base and the user id with the secret as
            // `[redacted]`: nothing of the secret is shown.
            let want = format!("{}/rest/{}/[redacted]/", w.portal(), w.user_id());
            assert_eq!(w.to_string(), want);
            assert_eq!(format!("{auth:?}"), format!("Webhook(WebhookUrl({want}))"));
        }
        Err(e) => {
            assert_eq!(e.code(), ErrorCode::InvalidRequest, "{e:?}");
            let [v] = e.violations() else {
                panic!("one violation expected: {e:?}");
            };
            assert_eq!(v.field, "webhook_url");
            // Every refusal is one of the fixed texts: nothing of the address is echoed.
            assert!(FIXED.contains(&e.to_string()), "a new error text: {e:?}");
        }
    }
});
