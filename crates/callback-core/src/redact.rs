//! Masking of phone numbers and secrets for logs, errors and `Debug`.

/// Masks a phone number: keeps a leading `+` and country-code-sized prefix (at most 3 digits)
/// and the last 2 digits, replaces every other digit by `*`. At least 4 digits are always
/// hidden (short numbers keep less of their prefix), and numbers of 6 digits or fewer are
/// hidden completely.
pub fn mask_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let keep_head = if number.starts_with('+') {
        digits.len().saturating_sub(6).min(3)
    } else {
        0
    };
    let keep_tail = if digits.len() > 6 { 2 } else { 0 };
    let mut out = String::new();
    if number.starts_with('+') {
        out.push('+');
    }
    for (i, d) in digits.iter().enumerate() {
        if i < keep_head || i >= digits.len() - keep_tail {
            out.push(*d);
        } else {
            out.push('*');
        }
    }
    out
}

/// How much outside text [`sanitize_text`] looks at.
const SANITIZE_INPUT_BYTES: usize = 8 * 1024;

/// The first `max` bytes of `text`, cut at a character boundary.
fn head(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Replaces every occurrence of each secret (of 6 characters or more) by `[redacted]`, and
/// the start of one where a text was cut short (`...` at its end).
pub(crate) fn scrub_secrets(text: &str, secrets: &[&str]) -> String {
    let mut out = text.to_owned();
    for s in secrets.iter().filter(|s| s.len() >= 6) {
        if out.contains(*s) {
            out = out.replace(*s, "[redacted]");
        }
        if let Some(body) = out.strip_suffix("...") {
            let cut = (3..s.len())
                .rev()
                .find(|&n| s.is_char_boundary(n) && body.ends_with(&s[..n]));
            if let Some(n) = cut {
                out = format!("{}[redacted]...", &body[..body.len() - n]);
            }
        }
    }
    out
}

/// Parameter names whose values are credentials wherever they appear (`auth=...`).
const SECRET_PARAMETERS: [&str; 6] = [
    "auth",
    "access_token",
    "refresh_token",
    "client_secret",
    "application_token",
    "password",
];

/// Hides what looks like a credential in text from outside: the secret segment of a webhook
/// path (`/rest/1/SECRET/`), and the value of a credential parameter (`access_token=...`,
/// `"auth":"..."`).
fn hide_credentials(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // Webhook paths: /rest/<user>/<secret>...
    while let Some(at) = rest.find("/rest/") {
        let (head, tail) = rest.split_at(at + "/rest/".len());
        out.push_str(head);
        let user_end = tail.find('/').unwrap_or(tail.len());
        let user = &tail[..user_end];
        let is_user = !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric());
        if is_user && user_end < tail.len() {
            let after = &tail[user_end + 1..];
            let secret_end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
                .unwrap_or(after.len());
            // A method name (`voximplant.callback.start`) holds dots; a secret does not.
            if secret_end > 0 && !after[..secret_end].contains('.') {
                out.push_str(user);
                out.push_str("/[redacted]");
                rest = &after[secret_end..];
                continue;
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    for name in SECRET_PARAMETERS {
        out = hide_parameter(&out, name);
    }
    out
}

/// Hides the value after `name=`, `name": "` or `name":` (any case).
fn hide_parameter(text: &str, name: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = lower[i..].find(name) {
        let start = i + found;
        // Form bodies name it in brackets, also percent-encoded: `auth[access_token]=...`,
        // `auth%5Baccess_token%5D=...`.
        let before_ok = start == 0
            || !lower.as_bytes()[start - 1].is_ascii_alphanumeric()
                && lower.as_bytes()[start - 1] != b'_'
            || lower[..start].ends_with("%5b");
        let mut j = start + name.len();
        if lower[j..].starts_with(']') {
            j += 1;
        } else if lower[j..].starts_with("%5d") {
            j += 3;
        }
        let bytes = text.as_bytes();
        let mut saw_separator = false;
        while j < bytes.len() && matches!(bytes[j], b'=' | b':' | b'"' | b'\'' | b' ') {
            saw_separator |= matches!(bytes[j], b'=' | b':');
            j += 1;
        }
        // The value's end is looked for only after a real `name=` / `name:` (looking after
        // every mention would make repeated names quadratic). A value runs on through `=` (a
        // form value may hold one unencoded, base64 pads with it): `auth[x]=x=SECRET` hides
        // all of `x=SECRET`.
        let value_end = (before_ok && saw_separator).then(|| {
            text[j..]
                .find(|c: char| {
                    !(c.is_ascii_alphanumeric()
                        || matches!(c, '_' | '-' | '.' | '%' | '+' | '/' | '='))
                })
                .map_or(text.len(), |k| j + k)
        });
        if let Some(value_end) = value_end.filter(|&end| end > j) {
            out.push_str(&text[i..j]);
            out.push_str("[redacted]");
            i = value_end;
        } else {
            out.push_str(&text[i..start + name.len()]);
            i = start + name.len();
        }
    }
    out.push_str(&text[i..]);
    out
}

/// Makes text that came from outside (a portal's error description, a server's message) safe
/// for errors and logs: credentials it quotes are hidden (a webhook path's secret, the value of
/// `auth=`, `access_token=`, ...), every run of 7 or more digits (optionally with a leading `+`,
/// and with spaces or dashes between digit groups) is masked with [`mask_number`], control
/// characters become spaces and the result is cut at 300 characters.
pub(crate) fn sanitize_text(text: &str) -> String {
    // The result is cut at 300 characters: more than a few KiB of input cannot reach it.
    let text = hide_credentials(head(text, SANITIZE_INPUT_BYTES));
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len().min(1200));
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() || (c == '+' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) {
            // Take the longest run of digits and in-number separators.
            let mut j = i + 1;
            while j < chars.len() {
                let d = chars[j];
                let sep_then_digit = matches!(d, ' ' | '-' | '(' | ')' | '.')
                    && chars.get(j + 1).is_some_and(char::is_ascii_digit);
                if d.is_ascii_digit() || sep_then_digit {
                    j += 1;
                } else {
                    break;
                }
            }
            let run: String = chars[i..j].iter().collect();
            let digits = run.chars().filter(char::is_ascii_digit).count();
            if digits >= 7 {
                out.push_str(&mask_number(&run));
            } else {
                out.push_str(&run);
            }
            i = j;
        } else {
            out.push(if c.is_control() { ' ' } else { c });
            i += 1;
        }
        if out.chars().count() > 300 {
            let cut: String = out.chars().take(300).collect();
            return cut + "...";
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_number("+447911123456"), "+447*******56");
        assert_eq!(mask_number("+12015550123"), "+120******23");
        assert_eq!(mask_number("+420123456"), "+420****56");
        // Short numbers: at least 4 digits hidden, however short.
        assert_eq!(mask_number("+68340021"), "+68****21");
        assert_eq!(mask_number("+6834002"), "+6****02");
        assert_eq!(mask_number("+123456"), "+******");
        assert_eq!(mask_number("2015550123"), "********23");
        assert_eq!(
            sanitize_text("Could not find line reg1"),
            "Could not find line reg1"
        );
        let s = sanitize_text("number +44 7911 123456 refused");
        assert!(!s.contains("123456"), "{s}");
        assert_eq!(sanitize_text("a\nb"), "a b");
    }

    #[test]
    fn a_large_hostile_text_is_sanitised_in_linear_time() {
        // Found by the `sanitize` fuzz target: a credential name followed by value characters
        // but no separator (`auth/auth/...`) was scanned to the end of the text once per
        // occurrence, so a 1 MiB error description from a hostile server took minutes.
        let text = format!("x{}", "auth/".repeat(200_000));
        let started = std::time::Instant::now();
        let out = sanitize_text(&text);
        let took = started.elapsed();
        eprintln!("1 MB of auth/: {took:?}");
        assert!(out.starts_with("xauth/auth/"), "{out}");
        assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    }

    #[test]
    fn credentials_in_outside_text_are_hidden() {
        for (text, secret) in [
            (
                "Not found: /rest/1/s3cr3tw3bh00k/voximplant.callback.start",
                "s3cr3tw3bh00k",
            ),
            ("POST /rest/17/AbC-def_123/ failed", "AbC-def_123"),
            ("bad request auth=tok3n.value&x=1", "tok3n.value"),
            ("{\"access_token\": \"abc123def456\"}", "abc123def456"),
            ("REFRESH_TOKEN=zzz999yyy", "zzz999yyy"),
            ("client_secret: 'k3y'", "k3y"),
            // Found by the `sanitize` fuzz target: the bracket form of form bodies.
            ("auth[access_token]=tok3nvalue1&x=1", "tok3nvalue1"),
            (
                "event=X&auth%5Bapplication_token%5D=fakeapplicationtoken0001",
                "fakeapplicationtoken0001",
            ),
            ("AUTH%5bREFRESH_TOKEN%5d=zzz999yyy", "zzz999yyy"),
            // Found by the same target: a value holding `=` (and another credential's name).
            (
                "auth%5Bapplication_token%5D=application_token=faKeappli1&x=1",
                "faKeappli1",
            ),
        ] {
            let s = sanitize_text(text);
            assert!(!s.contains(secret), "{text} -> {s}");
            assert!(s.contains("[redacted]"), "{text} -> {s}");
        }
        // Base64 padding is part of the value.
        assert_eq!(
            sanitize_text("access_token=abc123==&x=1"),
            "access_token=[redacted]&x=1"
        );
        // Method names and ordinary words survive.
        assert_eq!(
            sanitize_text("Method not found: /rest/voximplant.callback.start"),
            "Method not found: /rest/voximplant.callback.start"
        );
        assert_eq!(
            sanitize_text("authorization failed"),
            "authorization failed"
        );
        assert_eq!(
            scrub_secrets("token tok123456 and tok123456", &["tok123456", "ab"]),
            "token [redacted] and [redacted]"
        );
        // A secret cut off at the end of a shortened text loses its visible start too.
        assert_eq!(
            scrub_secrets("denied for tok12...", &["tok123456"]),
            "denied for [redacted]..."
        );
        // Repeated parameter names cost linear time, not quadratic.
        let long = "auth".repeat(250_000);
        let started = std::time::Instant::now();
        let _ = sanitize_text(&long);
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
    }
}
