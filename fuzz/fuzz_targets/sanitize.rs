//! The text sanitiser: `fuzzing::sanitize(text)`, which every text from outside (a portal's
//! error description, an event's values) goes through before it reaches an error or a log.
//!
//! Input: the text. An input starting with `*` is amplified: the byte after it says how many
//! times (a power of two, up to 256 KiB in all) the rest is repeated, so that small inputs can
//! find slow paths on the large texts a hostile server may send (answers up to 1 MiB are read).
#![no_main]

use callback_core::fuzzing::sanitize;
use callback_core_fuzz::{assert_no_long_digit_run, text_of};
use libfuzzer_sys::fuzz_target;

/// Amplified texts stop at 256 KiB: a quarter of the largest answer read, enough to turn a
/// quadratic path into a timeout, small enough to keep a few hundred runs a second.
const MAX_TEXT_BYTES: usize = 256 * 1024;

/// Parameter names whose values are credentials wherever they appear.
const SECRET_PARAMETERS: [&str; 6] = [
    "auth",
    "access_token",
    "refresh_token",
    "client_secret",
    "application_token",
    "password",
];

fn value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '%' | '+' | '/' | '=')
}

/// Values given to a credential parameter in `text`: `name=VALUE`, `name: VALUE`,
/// `"name": "VALUE"`, and the bracket forms of form bodies, `auth[name]=VALUE` (also
/// percent-encoded). A value ends at the first character that cannot be in one; a name that
/// stands inside an earlier value (`auth=access_token=...`) is part of that value. Only values
/// of 8 or more characters that occur once in the text, so that their absence from the
/// output says they were hidden.
fn credential_values(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    // (where the name starts, the value's range)
    let mut given: Vec<(usize, usize, usize)> = Vec::new();
    for name in SECRET_PARAMETERS {
        let mut from = 0;
        while let Some(at) = lower[from..].find(name) {
            let start = from + at;
            from = start + name.len();
            let before = &lower[..start];
            let boundary = before.is_empty()
                || before.ends_with("%5b")
                || before
                    .chars()
                    .last()
                    .is_some_and(|c| !c.is_ascii_alphanumeric() && c != '_');
            if !boundary {
                continue;
            }
            let mut rest = &text[from..];
            for close in ["]", "%5D", "%5d"] {
                if let Some(r) = rest.strip_prefix(close) {
                    rest = r;
                    break;
                }
            }
            let after_quote = rest.trim_start_matches(['"', '\'', ' ']);
            let Some(r) = after_quote
                .strip_prefix('=')
                .or_else(|| after_quote.strip_prefix(':'))
            else {
                continue;
            };
            let r = r.trim_start_matches(['"', '\'', ' ', '=', ':']);
            let value_start = text.len() - r.len();
            let end = r.find(|c: char| !value_char(c)).unwrap_or(r.len());
            given.push((start, value_start, value_start + end));
        }
    }
    given.sort_unstable();
    let mut found = Vec::new();
    let mut taken_until = 0;
    for (start, from, to) in given {
        if start < taken_until {
            continue;
        }
        taken_until = to;
        let value = &text[from..to];
        if value.len() >= 8 && text.matches(value).count() == 1 && !"[redacted]".contains(value) {
            found.push(value.to_owned());
        }
    }
    found
}

fuzz_target!(|data: &[u8]| {
    let text = match data {
        [b'*', times, rest @ ..] if !rest.is_empty() => {
            let times = (1usize << (times % 21))
                .min(MAX_TEXT_BYTES / rest.len())
                .max(1);
            text_of(&rest.repeat(times))
        }
        _ => text_of(data),
    };
    let out = sanitize(&text);
    let chars = out.chars().count();
    assert!(chars <= 303, "{chars} chars");
    if chars > 300 {
        assert!(out.ends_with("..."), "cut without a mark: {out:?}");
    }
    assert!(
        !out.chars().any(char::is_control),
        "control character: {out:?}"
    );
    assert_no_long_digit_run(&out, &[&text], "sanitised text");
    // Short texts only: a long one is cut, and checking every value would be slow.
    if text.len() <= 4096 {
        for value in credential_values(&text) {
            assert!(!out.contains(&value), "credential {value:?} shown: {out:?}");
        }
    }
});
