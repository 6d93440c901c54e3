//! The redirect target parser: `fuzzing::redirect_target(location, current_base)`, which
//! decides where a 301/302/308 from a renamed portal may move the client.
//!
//! Input: one byte choosing the current base, then the `Location` header's value.
#![no_main]

use std::net::IpAddr;

use callback_core::fuzzing::redirect_target;
use callback_core_fuzz::text_of;
use libfuzzer_sys::fuzz_target;
use url::{Host, Url};

/// Current bases as the client holds them (`scheme://host[:port]`, as `Auth::webhook` and the
/// OAuth endpoints produce them).
const BASES: [&str; 6] = [
    "https://portal.bitrix24.com",
    "https://portal.bitrix24.de:8443",
    "https://[2001:db8::1]",
    "http://127.0.0.1:9",
    "http://localhost:8080",
    "http://[::1]:9",
];

fn loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => IpAddr::V4(*ip).is_loopback(),
        Host::Ipv6(ip) => IpAddr::V6(*ip).is_loopback(),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, location)) = data.split_first() else {
        return;
    };
    let base = BASES[usize::from(pick) % BASES.len()];
    let location = text_of(location);
    let Ok(target) = redirect_target(&location, base) else {
        return;
    };
    let t = Url::parse(&target).expect("an accepted target is a URL");
    let host = t.host().expect("an accepted target has a host");
    // Never less secure: https stays https; plain http only from and to loopback.
    if base.starts_with("https://") {
        assert_eq!(t.scheme(), "https", "{base} -> {target}");
    } else {
        match t.scheme() {
            "https" => {}
            "http" => assert!(loopback(&host), "{base} -> {target}"),
            other => panic!("{base} -> {target}: scheme {other}"),
        }
    }
    // Only a base: no credentials, no path, query or fragment.
    assert!(
        t.username().is_empty() && t.password().is_none(),
        "{target}"
    );
    assert!(!target.contains('@'), "{target}");
    assert_eq!(t.path(), "/", "{target}");
    assert!(t.query().is_none() && t.fragment().is_none(), "{target}");
    assert_eq!(
        target,
        t.as_str().trim_end_matches('/'),
        "the target is in its normal form"
    );
    assert_ne!(target, base, "a redirect to itself");
    // It came from a REST path, resolved against the current base.
    let joined = Url::parse(base)
        .unwrap()
        .join(&location)
        .expect("it resolved");
    assert!(joined.path().starts_with("/rest/"), "{location:?}");
    assert!(joined.username().is_empty() && joined.password().is_none());
});
