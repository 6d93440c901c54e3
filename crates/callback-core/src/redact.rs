//! Masking of phone numbers and secrets for logs, errors and `Debug`.

/// Masks a phone number: keeps a leading `+` and country-code-sized prefix (at most 3 digits)
/// and the last 2 digits, replaces every other digit by `*`.
pub fn mask_number(number: &str) -> String {
    let digits: Vec<char> = number.chars().filter(|c| c.is_ascii_digit()).collect();
    let keep_head = if number.starts_with('+') {
        digits.len().saturating_sub(4).min(3)
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
