//! Small helpers: request parameters, clock, random ids, escaping.

use serde_json::{Map, Value};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix time in fractional seconds.
pub(crate) fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// `YYYY-MM-DDTHH:MM:SS+00:00` for a unix time (UTC).
pub(crate) fn iso_date(unix: f64) -> String {
    let secs = unix.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+00:00",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

/// Gregorian date of a day count since 1970-01-01 (proleptic calendar, era arithmetic).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // day of era, 0..=146096
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // 0..=399
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // 0..=365, March-based
    let mp = (5 * doy + 2) / 153; // month index from March
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + if month <= 2 { 1 } else { 0 };
    (year, month, day)
}

/// `n` random lower-case hex digits.
pub(crate) fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..n)
        .map(|_| HEX[fastrand::usize(..HEX.len())] as char)
        .collect()
}

/// A token shaped like Bitrix24's: 32 characters of `[a-z0-9]`.
pub(crate) fn random_token() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..32)
        .map(|_| ALPHABET[fastrand::usize(..ALPHABET.len())] as char)
        .collect()
}

/// What `htmlspecialchars` does to a line name.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#039;"),
            _ => out.push(c),
        }
    }
    out
}

/// Replaces every `{name}` of `values` in `template` with its value, in one pass (an inserted
/// value is not searched again); any other `{...}` stays as it is.
pub(crate) fn fill_placeholders(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    'scan: while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let inner = &rest[i + 1..];
        for (name, value) in values {
            if inner
                .strip_prefix(name)
                .is_some_and(|after| after.starts_with('}'))
            {
                out.push_str(value);
                rest = &inner[name.len() + 1..];
                continue 'scan;
            }
        }
        out.push('{');
        rest = inner;
    }
    out.push_str(rest);
    out
}

/// The host part of a `Host` header (or of a fault's `host`), lower-cased: the port is dropped
/// and IPv6 brackets removed (`[::1]:8080` → `::1`, `LocalHost:80` → `localhost`).
pub(crate) fn host_part(host: &str) -> String {
    let host = host.trim();
    let name = if let Some(bracketed) = host.strip_prefix('[') {
        bracketed.split(']').next().unwrap_or(bracketed)
    } else if host.matches(':').count() == 1 {
        host.split(':').next().unwrap_or(host)
    } else {
        // A name without a port, or a bare IPv6 address.
        host
    };
    name.to_ascii_lowercase()
}

/// The portal's number cleanup: keep digits and `#*+,;`, drop everything else.
pub(crate) fn strip_number(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_digit() || matches!(c, '#' | '*' | '+' | ',' | ';'))
        .collect()
}

/// Parses `a=1&b[c]=2&d[]=3` into nested JSON the way PHP builds `$_GET`/`$_POST`.
pub(crate) fn parse_form(input: &[u8], into: &mut Map<String, Value>) {
    for (key, value) in form_urlencoded::parse(input) {
        let path = bracket_path(&key);
        if path.is_empty() {
            continue;
        }
        insert_path(into, &path, Value::String(value.into_owned()));
    }
}

/// Parses a `multipart/form-data` body (text fields only; file parts are skipped).
pub(crate) fn parse_multipart(content_type: &str, body: &[u8], into: &mut Map<String, Value>) {
    let Some(boundary) = content_type.split(';').find_map(|p| {
        let (k, v) = p.trim().split_once('=')?;
        k.eq_ignore_ascii_case("boundary")
            .then(|| v.trim().trim_matches('"').to_string())
    }) else {
        return;
    };
    let text = String::from_utf8_lossy(body);
    let delimiter = format!("--{boundary}");
    for part in text.split(delimiter.as_str()).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.strip_prefix("\r\n").unwrap_or(part);
        let Some((head, value)) = part.split_once("\r\n\r\n") else {
            continue;
        };
        let value = value.strip_suffix("\r\n").unwrap_or(value);
        let disposition = head
            .split("\r\n")
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition:"))
            .unwrap_or("");
        let attr = |name: &str| {
            disposition.split(';').find_map(|p| {
                let (k, v) = p.trim().split_once('=')?;
                (k.trim() == name).then(|| v.trim().trim_matches('"').to_string())
            })
        };
        if attr("filename").is_some() {
            continue;
        }
        if let Some(name) = attr("name") {
            let path = bracket_path(&name);
            if !path.is_empty() {
                insert_path(into, &path, Value::String(value.to_string()));
            }
        }
    }
}

/// `FILTER[CALL_ID]` → `["FILTER", "CALL_ID"]`; `a[]` → `["a", ""]`.
fn bracket_path(key: &str) -> Vec<String> {
    let Some(open) = key.find('[') else {
        return vec![key.to_string()];
    };
    let head = &key[..open];
    if head.is_empty() {
        return vec![key.to_string()];
    }
    let mut path = vec![head.to_string()];
    let mut rest = &key[open..];
    while let Some(stripped) = rest.strip_prefix('[') {
        match stripped.find(']') {
            Some(close) => {
                path.push(stripped[..close].to_string());
                rest = &stripped[close + 1..];
            }
            None => break,
        }
    }
    path
}

fn insert_path(map: &mut Map<String, Value>, path: &[String], value: Value) {
    let key = if path[0].is_empty() {
        // `a[]` appends: use the next free numeric index, as PHP does.
        let next = map
            .keys()
            .filter_map(|k| k.parse::<u64>().ok())
            .map(|n| n + 1)
            .max()
            .unwrap_or(0);
        next.to_string()
    } else {
        path[0].clone()
    };
    if path.len() == 1 {
        map.insert(key, value);
        return;
    }
    let slot = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert_path(inner, &path[1..], value);
    }
}

/// A parameter as PHP would see it after string conversion.
pub(crate) fn param_string(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Bool(true)) => "1".to_string(),
        Some(Value::Bool(false)) => String::new(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => other.to_string(),
    }
}

/// A JSON number that is an integer when the value is whole (the real `time` object mixes both).
pub(crate) fn int_or_float(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9.0e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let values = [("path", "/a?b={path}"), ("call_id", "")];
        assert_eq!(
            fill_placeholders(r#"{"p":"{path}","c":"{call_id}","x":"{port}"}"#, &values),
            r#"{"p":"/a?b={path}","c":"","x":"{port}"}"#
        );
        assert_eq!(
            fill_placeholders("{path}{path", &values),
            "/a?b={path}{path"
        );
        assert_eq!(fill_placeholders("{}{", &values), "{}{");
        assert_eq!(fill_placeholders("", &values), "");
    }

    #[test]
    fn host_parts() {
        assert_eq!(host_part("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_part("LocalHost"), "localhost");
        assert_eq!(host_part("localhost:1"), "localhost");
        assert_eq!(host_part("[::1]:8080"), "::1");
        assert_eq!(host_part("[::1]"), "::1");
        assert_eq!(host_part("::1"), "::1");
        assert_eq!(host_part(""), "");
    }

    #[test]
    fn dates() {
        assert_eq!(iso_date(0.0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso_date(1_773_736_066.5), "2026-03-17T08:27:46+00:00");
        assert_eq!(iso_date(951_782_400.0), "2000-02-29T00:00:00+00:00");
    }

    #[test]
    fn brackets() {
        let mut m = Map::new();
        parse_form(
            b"FILTER%5BCALL_ID%5D=x&a[]=1&a[]=2&plain=%2B1&b[c][d]=e",
            &mut m,
        );
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"FILTER":{"CALL_ID":"x"},"a":{"0":"1","1":"2"},"plain":"+1","b":{"c":{"d":"e"}}})
        );
    }

    #[test]
    fn multipart() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"FROM_LINE\"\r\n\r\nreg1\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"FILTER[CALL_ID]\"\r\n\r\nx\r\n\
--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.txt\"\r\n\r\nfile\r\n--XyZ--\r\n";
        let mut m = Map::new();
        parse_multipart("multipart/form-data; boundary=XyZ", body, &mut m);
        assert_eq!(
            Value::Object(m),
            serde_json::json!({"FROM_LINE": "reg1", "FILTER": {"CALL_ID": "x"}})
        );
    }

    #[test]
    fn strip() {
        assert_eq!(strip_number("+1 (201) 555-0101 ext;2#"), "+12015550101;2#");
        assert_eq!(strip_number("abc"), "");
    }
}
