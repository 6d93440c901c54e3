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

/// Makes text that came from outside (a portal's error description, a server's message) safe
/// for errors and logs: every run of 7 or more digits (optionally with a leading `+`, and with
/// spaces or dashes between digit groups) is masked with [`mask_number`], control characters
/// become spaces and the result is cut at 300 characters.
pub(crate) fn sanitize_text(text: &str) -> String {
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
}
