//! Helpers shared by the fuzz targets: the checks each target makes on what the library
//! returns, so that a target fails on a broken promise, not only on a panic.

/// Every maximal run of at least `min` ASCII digits in `text`.
pub fn digit_runs(text: &str, min: usize) -> Vec<&str> {
    let mut runs = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_digit() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i - start >= min {
                runs.push(&text[start..i]);
            }
        } else {
            i += 1;
        }
    }
    runs
}

/// All ASCII digits of `text`, in order.
pub fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

/// Panics when `out` contains one of the digit runs of 7 or more digits found in any of
/// `inputs`: a full phone number would have come out verbatim.
pub fn assert_no_long_digit_run(out: &str, inputs: &[&str], what: &str) {
    for input in inputs {
        for run in digit_runs(input, 7) {
            assert!(
                !out.contains(run),
                "{what}: the digit run {run:?} of the input came out verbatim: {out:?}"
            );
        }
    }
}

/// Text as the library would receive it from a caller: UTF-8 as is, anything else decoded
/// lossily (so the byte mutations still reach the parser).
pub fn text_of(data: &[u8]) -> String {
    String::from_utf8_lossy(data).into_owned()
}

/// A status code from the first two bytes (big-endian) and the rest as the body.
pub fn status_and_body(data: &[u8]) -> Option<(u16, &[u8])> {
    if data.len() < 2 {
        return None;
    }
    Some((u16::from_be_bytes([data[0], data[1]]), &data[2..]))
}

/// Every string, object key and number of a JSON document, as text, depth first (what an
/// error text could have been built from once the JSON escapes are decoded).
pub fn json_strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| json_strings(x, out)),
        serde_json::Value::Object(o) => o.iter().for_each(|(k, x)| {
            out.push(k.clone());
            json_strings(x, out)
        }),
        serde_json::Value::Number(n) => out.push(n.to_string()),
        _ => {}
    }
}
