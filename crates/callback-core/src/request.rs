//! `CallbackRequest`: the validated input of `voximplant.callback.start`.
//!
//! Everything the caller hands in is untrusted (it usually comes from a public web form), so it is
//! checked once, here, and every problem is reported together.

use crate::error::{Error, Violation};
use crate::number::{KnownRegion, NumberType, Refusal};

/// Longest `TEXT_TO_PRONOUNCE` accepted, in characters (Unicode scalar values).
pub const MAX_TEXT_CHARS: usize = 1000;
/// Longest `FROM_LINE` accepted, in characters.
pub const MAX_LINE_CHARS: usize = 64;
/// Longest idempotency key accepted, in characters.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// The 42 voice ids Bitrix24's text-to-speech knows.
pub const KNOWN_VOICES: [&str; 42] = [
    "auenglishfemale",
    "brportuguesefemale",
    "caenglishfemale",
    "cafrenchfemale",
    "cafrenchmale",
    "chchinesefemale",
    "chchinesemale",
    "eurcatalanfemale",
    "eurczechfemale",
    "eurdanishfemale",
    "eurdutchfemale",
    "eurfinnishfemale",
    "eurfrenchfemale",
    "eurfrenchmale",
    "eurgermanfemale",
    "eurgermanmale",
    "euritalianfemale",
    "euritalianmale",
    "eurnorwegianfemale",
    "eurpolishfemale",
    "eurportuguesefemale",
    "eurportuguesemale",
    "eurspanishfemale",
    "eurspanishmale",
    "eurturkishfemale",
    "eurturkishmale",
    "hkchinesefemale",
    "huhungarianfemale",
    "jpjapanesefemale",
    "jpjapanesemale",
    "krkoreanfemale",
    "krkoreanmale",
    "ruinternalfemale",
    "ruinternalmale",
    "swswedishfemale",
    "twchinesefemale",
    "ukenglishfemale",
    "ukenglishmale",
    "usenglishfemale",
    "usenglishmale",
    "usspanishfemale",
    "usspanishmale",
];

/// Longest raw `TO_NUMBER` input looked at, in characters (formatting included).
const MAX_NUMBER_INPUT_CHARS: usize = 40;
/// Longest `VOICE` id accepted, in characters.
const MAX_VOICE_CHARS: usize = 64;

/// See [`CallbackRequest::fingerprint`].
pub(crate) type Fingerprint = [u8; 32];

/// A validated callback request. Build it with [`CallbackRequest::builder`] (or
/// [`crate::Client::request`], which applies the client's rules).
///
/// Its `Debug` output masks the destination number.
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub(crate) from_line: String,
    pub(crate) to_number: String,
    pub(crate) text: String,
    pub(crate) voice: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) number_type: NumberType,
    pub(crate) calling_code: u16,
}

impl std::fmt::Debug for CallbackRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackRequest")
            .field("from_line", &self.from_line)
            .field("to_number", &self.masked_number())
            .field("text_chars", &self.text.chars().count())
            .field("voice", &self.voice)
            .field(
                "idempotency_key",
                &self.idempotency_key.as_ref().map(|_| "[set]"),
            )
            .field("region", &self.region)
            .finish()
    }
}

/// The raw, untrusted input of one callback as a binding received it: what
/// [`CallbackRequestBuilder::input`] (and [`crate::Client::validate`]) take.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RequestInput {
    /// `FROM_LINE`.
    pub line: Option<String>,
    /// `TO_NUMBER`: the visitor's number as typed.
    pub to: Option<String>,
    /// `TEXT_TO_PRONOUNCE`.
    pub text: Option<String>,
    /// `VOICE`; `None` lets the portal choose.
    pub voice: Option<String>,
    pub idempotency_key: Option<String>,
    /// Problems the binding found while converting its values (a Python string with a lone
    /// surrogate, say), reported together with the core's own; a field named here is not also
    /// reported as missing.
    pub violations: Vec<Violation>,
}

impl std::fmt::Debug for RequestInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestInput")
            .field("line", &self.line)
            .field("to", &self.to.as_deref().map(crate::redact::mask_number))
            .field("text_chars", &self.text.as_ref().map(|t| t.chars().count()))
            .field("voice", &self.voice)
            .field(
                "idempotency_key",
                &self.idempotency_key.as_ref().map(|_| "[set]"),
            )
            .field("violations", &self.violations)
            .finish()
    }
}

/// Collects the raw, untrusted input; [`CallbackRequestBuilder::build`] validates it once and
/// reports every violation together.
///
/// Its `Debug` output masks the destination number.
#[derive(Clone, Default)]
pub struct CallbackRequestBuilder {
    pub(crate) from_line: Option<String>,
    pub(crate) to_number: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) voice: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) default_region: Option<String>,
    pub(crate) allow_unknown_voice: bool,
    /// Violations found by the binding before the core saw the input.
    pub(crate) refused: Vec<Violation>,
}

impl std::fmt::Debug for CallbackRequestBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackRequestBuilder")
            .field("from_line", &self.from_line)
            .field(
                "to_number",
                &self.to_number.as_deref().map(crate::redact::mask_number),
            )
            .field("voice", &self.voice)
            .field("default_region", &self.default_region)
            .field("allow_unknown_voice", &self.allow_unknown_voice)
            .finish_non_exhaustive()
    }
}

impl CallbackRequest {
    pub fn builder() -> CallbackRequestBuilder {
        CallbackRequestBuilder::default()
    }
    /// `FROM_LINE` as sent.
    pub fn from_line(&self) -> &str {
        &self.from_line
    }
    /// `TO_NUMBER` normalised to E.164 (`+12015550123`). Do not log it: see [`Self::masked_number`].
    pub fn to_number(&self) -> &str {
        &self.to_number
    }
    /// `TEXT_TO_PRONOUNCE`, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// `VOICE`, lower-cased; `None` lets the portal pick its default voice.
    pub fn voice(&self) -> Option<&str> {
        self.voice.as_deref()
    }
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// ISO 3166 region of the destination (`"GB"`; `"001"` for the international networks
    /// such as satellite phones), when the metadata names one.
    pub fn destination_region(&self) -> Option<&str> {
        self.region.as_deref()
    }
    /// What the destination is, per libphonenumber (mobile, premium rate, ...).
    pub fn number_type(&self) -> NumberType {
        self.number_type
    }
    /// The destination's calling code (`44` for `+44...`).
    pub fn calling_code(&self) -> u16 {
        self.calling_code
    }
    /// A digest of what the call does (line, number, text, voice): an idempotency key is
    /// bound to it, so a key reused for another request is refused instead of answered with
    /// the first request's result. SHA-256 over the length-prefixed fields: the same on every
    /// machine and build.
    pub(crate) fn fingerprint(&self) -> Fingerprint {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        for field in [
            self.from_line.as_str(),
            self.to_number.as_str(),
            self.text.as_str(),
            self.voice.as_deref().unwrap_or(""),
        ] {
            ctx.update(&(field.len() as u64).to_be_bytes());
            ctx.update(field.as_bytes());
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }
    /// The number with all but the country code and the last two digits hidden: `+44*******23`.
    pub fn masked_number(&self) -> String {
        crate::redact::mask_number(&self.to_number)
    }
    /// The exact JSON body sent to `voximplant.callback.start`: the four upper-case keys,
    /// string values, compact (`VOICE` left out when not set).
    pub fn wire_body(&self) -> String {
        let mut out = String::with_capacity(64 + self.text.len());
        let mut field = |key: &str, value: &str| {
            out.push(if out.is_empty() { '{' } else { ',' });
            out.push('"');
            out.push_str(key);
            out.push_str("\":");
            out.push_str(&serde_json::to_string(value).unwrap_or_default());
        };
        field("FROM_LINE", &self.from_line);
        field("TO_NUMBER", &self.to_number);
        field("TEXT_TO_PRONOUNCE", &self.text);
        if let Some(v) = &self.voice {
            field("VOICE", v);
        }
        out.push('}');
        out
    }
}

impl CallbackRequestBuilder {
    pub fn from_line(mut self, v: impl Into<String>) -> Self {
        self.from_line = Some(v.into());
        self
    }
    pub fn to_number(mut self, v: impl Into<String>) -> Self {
        self.to_number = Some(v.into());
        self
    }
    pub fn text(mut self, v: impl Into<String>) -> Self {
        self.text = Some(v.into());
        self
    }
    pub fn voice(mut self, v: impl Into<String>) -> Self {
        self.voice = Some(v.into());
        self
    }
    /// Replaces the voice; `None` leaves `VOICE` out of the request.
    pub fn voice_opt(mut self, v: Option<String>) -> Self {
        self.voice = v;
        self
    }
    pub fn idempotency_key(mut self, v: impl Into<String>) -> Self {
        self.idempotency_key = Some(v.into());
        self
    }
    /// Region (ISO 3166 alpha-2, e.g. `"GB"`) for numbers written without `+`.
    pub fn default_region(mut self, v: impl Into<String>) -> Self {
        self.default_region = Some(v.into());
        self
    }
    /// Accept `VOICE` ids outside [`KNOWN_VOICES`].
    pub fn allow_unknown_voice(mut self, allow: bool) -> Self {
        self.allow_unknown_voice = allow;
        self
    }
    /// Takes every field a binding received at once (fields left `None` stay unset).
    pub fn input(mut self, input: RequestInput) -> Self {
        let RequestInput {
            line,
            to,
            text,
            voice,
            idempotency_key,
            violations,
        } = input;
        self.from_line = line.or(self.from_line);
        self.to_number = to.or(self.to_number);
        self.text = text.or(self.text);
        self.voice = voice.or(self.voice);
        self.idempotency_key = idempotency_key.or(self.idempotency_key);
        self.refused.extend(violations);
        self
    }
    /// Validates everything; on failure an `invalid_request` [`Error`] lists every violation.
    ///
    /// Violations come in field order `FROM_LINE`, `TO_NUMBER`, `TEXT_TO_PRONOUNCE`, `VOICE`,
    /// `idempotency_key`, `default_region`. Codes:
    ///
    /// | field | codes |
    /// |---|---|
    /// | `FROM_LINE` | `required`, `whitespace`, `control_character`, `too_long` |
    /// | `TO_NUMBER` | `required`, `too_long`, `letters`, `dial_control`, `control_character`, `invalid_character`, `region_required`, `unparsable`, `invalid_number` |
    /// | `TEXT_TO_PRONOUNCE` | `required`, `control_character`, `too_long` |
    /// | `VOICE` | `empty`, `invalid_character`, `too_long`, `unknown_voice` |
    /// | `idempotency_key` | `empty`, `control_character`, `too_long` |
    /// | `default_region` | `unknown_region` |
    pub fn build(self) -> Result<CallbackRequest, Error> {
        let mut v = Violations {
            list: Vec::new(),
            refused: self.refused,
        };

        let from_line = v.unless_refused("FROM_LINE", |v| check_line(self.from_line.as_deref(), v));

        // The region first: the number needs it, but its violation is reported last.
        let mut region_violation = None;
        let default_region = match self.default_region.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(r) => match KnownRegion::parse(r) {
                Some(region) => Some(region),
                None => {
                    region_violation = Some(Violation {
                        field: "default_region".into(),
                        code: "unknown_region".into(),
                        message: "is not an ISO 3166 alpha-2 region the phone metadata knows"
                            .into(),
                    });
                    None
                }
            },
        };
        let region_given = self
            .default_region
            .as_deref()
            .is_some_and(|r| !r.trim().is_empty());
        let number = v.unless_refused("TO_NUMBER", |v| {
            check_number(self.to_number.as_deref(), default_region, region_given, v)
        });
        let text = v.unless_refused("TEXT_TO_PRONOUNCE", |v| check_text(self.text.as_deref(), v));
        let voice = v
            .unless_refused("VOICE", |v| {
                Some(check_voice(
                    self.voice.as_deref(),
                    self.allow_unknown_voice,
                    v,
                ))
            })
            .flatten();
        let key = v
            .unless_refused("idempotency_key", |v| {
                Some(check_key(self.idempotency_key.as_deref(), v))
            })
            .flatten();
        if let Some(rv) = region_violation {
            v.list.push(rv);
        }
        v.list.append(&mut v.refused);

        if !v.list.is_empty() {
            return Err(Error::invalid(v.list));
        }
        let number = number.expect("number checked");
        Ok(CallbackRequest {
            from_line: from_line.expect("line checked"),
            to_number: number.e164,
            text: text.expect("text checked"),
            voice,
            idempotency_key: key,
            region: number.region,
            number_type: number.number_type,
            calling_code: number.calling_code,
        })
    }
}

struct Violations {
    list: Vec<Violation>,
    /// The binding's own violations, not yet placed in field order.
    refused: Vec<Violation>,
}

impl Violations {
    /// Checks a field, unless the binding already refused it: then its violations take the
    /// field's place in the list and the field counts as missing.
    fn unless_refused<T>(
        &mut self,
        field: &str,
        check: impl FnOnce(&mut Violations) -> Option<T>,
    ) -> Option<T> {
        if self.refused.iter().any(|r| r.field == field) {
            let (own, rest) = std::mem::take(&mut self.refused)
                .into_iter()
                .partition(|r| r.field == field);
            self.refused = rest;
            self.list.extend::<Vec<Violation>>(own);
            None
        } else {
            check(self)
        }
    }

    fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.list.push(Violation {
            field: field.into(),
            code: code.into(),
            message: message.into(),
        });
    }
}

/// A valid number (the fake portal's fictional NANP range) that [`warm_up`] validates once.
const WARM_UP_NUMBER: &str = "+12015550144";

/// Loads the phone-number metadata now instead of on the first validation.
///
/// libphonenumber's metadata (the `rlibphonenumber` crate) is loaded lazily the first time a
/// number is validated: a few tens of milliseconds in a release build, hundreds in a debug
/// build. Call this once at start-up, from a thread that may block (bindings call it from a
/// background thread or with their interpreter's lock released), so that the first
/// [`CallbackRequestBuilder::build`] does not pay for it. It validates one fixed number through
/// the same code path as a real request.
///
/// Idempotent and thread-safe: the first call does the work, callers that arrive meanwhile wait
/// for it, and every later call returns at once. It never panics (a failure to load is left to
/// the first real validation to report). Calling it is never required; validation works the
/// same without it.
pub fn warm_up() {
    WARM.get_or_init(|| {
        let warmed = std::panic::catch_unwind(|| {
            CallbackRequest::builder()
                .from_line("warm-up")
                .to_number(WARM_UP_NUMBER)
                .text("warm-up")
                .build()
                .is_ok()
        });
        debug_assert!(
            matches!(warmed, Ok(true)),
            "the warm-up number must validate"
        );
    });
}

static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();

/// True once [`warm_up`] has finished (a single atomic load): lets a binding skip releasing
/// its interpreter lock for a warm-up that is already done.
pub fn is_warmed_up() -> bool {
    WARM.get().is_some()
}

/// Starts [`warm_up`] on a background thread, once per process (later calls do nothing).
/// For runtimes that load the library into a long-lived process (Node.js); not for processes
/// that may fork right after loading it, whose child could inherit a half-done load.
pub fn warm_up_in_background() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        // If no thread can be started, the first validation loads the metadata itself.
        let _ = std::thread::Builder::new()
            .name("bitrix24-callback-warm-up".into())
            .spawn(warm_up);
    });
}

/// Whether `region` is an ISO 3166 alpha-2 region the phone metadata knows (case and
/// surrounding spaces ignored).
pub(crate) fn is_known_region(region: &str) -> bool {
    KnownRegion::parse(region).is_some()
}

fn check_line(line: Option<&str>, v: &mut Violations) -> Option<String> {
    const F: &str = "FROM_LINE";
    let Some(line) = line.filter(|l| !l.is_empty()) else {
        v.add(
            F,
            "required",
            "is required (a line id from voximplant.line.get)",
        );
        return None;
    };
    let before = v.list.len();
    if line.chars().any(char::is_whitespace) {
        v.add(F, "whitespace", "must not contain whitespace");
    }
    if line.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        v.add(
            F,
            "control_character",
            "must not contain control characters",
        );
    }
    if line.chars().count() > MAX_LINE_CHARS {
        v.add(
            F,
            "too_long",
            format!("is longer than {MAX_LINE_CHARS} characters"),
        );
    }
    (v.list.len() == before).then(|| line.to_owned())
}

fn check_number(
    raw: Option<&str>,
    default_region: Option<KnownRegion>,
    region_given: bool,
    v: &mut Violations,
) -> Option<crate::number::Valid> {
    const F: &str = "TO_NUMBER";
    let raw = raw.map(str::trim).unwrap_or("");
    if raw.is_empty() {
        v.add(F, "required", "is required");
        return None;
    }
    if raw.chars().count() > MAX_NUMBER_INPUT_CHARS {
        v.add(
            F,
            "too_long",
            format!("is longer than {MAX_NUMBER_INPUT_CHARS} characters"),
        );
        return None;
    }
    let before = v.list.len();
    let (mut letters, mut dial, mut control, mut other) = (false, false, false, false);
    for (i, c) in raw.chars().enumerate() {
        match c {
            '0'..='9' | ' ' | '-' | '.' | '(' | ')' | '/' => {}
            '+' if i == 0 => {}
            ',' | ';' | '#' | '*' => dial = true,
            c if c.is_alphabetic() => letters = true,
            c if c.is_control() => control = true,
            _ => other = true,
        }
    }
    if letters {
        v.add(
            F,
            "letters",
            "must not contain letters (vanity numbers and extensions are refused)",
        );
    }
    if dial {
        v.add(
            F,
            "dial_control",
            "must not contain dial-control characters (, ; # *)",
        );
    }
    if control {
        v.add(
            F,
            "control_character",
            "must not contain control characters",
        );
    }
    if other {
        v.add(
            F,
            "invalid_character",
            "may contain only digits, a leading +, spaces and - . ( ) /",
        );
    }
    if v.list.len() > before {
        return None;
    }
    let international = raw.starts_with('+') || raw.starts_with("00") && default_region.is_none();
    if !international && default_region.is_none() {
        if !region_given {
            v.add(
                F,
                "region_required",
                "has no country code (+...) and no default region is set",
            );
        }
        return None;
    }
    let digits_only: String = raw.chars().filter(|c| c.is_ascii_digit()).collect();
    if digits_only.len() < 3 || digits_only.len() > 17 {
        v.add(F, "unparsable", "does not look like a phone number");
        return None;
    }
    // "00" with no region: treat as the international prefix.
    let text_for_parse = if raw.starts_with("00") && default_region.is_none() {
        format!("+{}", &digits_only[2..])
    } else {
        raw.to_owned()
    };
    // The default region goes along even with a `+`: libphonenumber itself decides what it
    // means then (nothing, for a valid calling code).
    let region = default_region;
    match crate::number::check(&text_for_parse, region) {
        Ok(valid) => Some(valid),
        Err(Refusal::Unparsable) => {
            v.add(F, "unparsable", "is not a phone number");
            None
        }
        Err(Refusal::Invalid) => {
            v.add(
                F,
                "invalid_number",
                "is not a valid number according to the phone numbering metadata",
            );
            None
        }
    }
}

fn check_text(text: Option<&str>, v: &mut Violations) -> Option<String> {
    const F: &str = "TEXT_TO_PRONOUNCE";
    let text = text.map(str::trim).unwrap_or("");
    if text.is_empty() {
        v.add(
            F,
            "required",
            "is required (the text spoken to the manager)",
        );
        return None;
    }
    let before = v.list.len();
    if text.chars().any(char::is_control) {
        v.add(
            F,
            "control_character",
            "must not contain control characters (line breaks and tabs included)",
        );
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        v.add(
            F,
            "too_long",
            format!("is longer than {MAX_TEXT_CHARS} characters"),
        );
    }
    (v.list.len() == before).then(|| text.to_owned())
}

fn check_voice(voice: Option<&str>, allow_unknown: bool, v: &mut Violations) -> Option<String> {
    const F: &str = "VOICE";
    let voice = voice?.trim();
    if voice.is_empty() {
        v.add(
            F,
            "empty",
            "is empty (leave it out to use the portal's default voice)",
        );
        return None;
    }
    if voice.chars().count() > MAX_VOICE_CHARS {
        v.add(
            F,
            "too_long",
            format!("is longer than {MAX_VOICE_CHARS} characters"),
        );
        return None;
    }
    if !voice
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        v.add(
            F,
            "invalid_character",
            "may contain only ASCII letters, digits, _ - .",
        );
        return None;
    }
    let voice = voice.to_ascii_lowercase();
    if !allow_unknown && !KNOWN_VOICES.contains(&voice.as_str()) {
        v.add(
            F,
            "unknown_voice",
            "is not one of the known voice ids (see voximplant.tts.voices.get)",
        );
        return None;
    }
    Some(voice)
}

fn check_key(key: Option<&str>, v: &mut Violations) -> Option<String> {
    const F: &str = "idempotency_key";
    let key = key?;
    if key.is_empty() {
        v.add(F, "empty", "is empty");
        return None;
    }
    let before = v.list.len();
    if key.chars().any(char::is_control) {
        v.add(
            F,
            "control_character",
            "must not contain control characters",
        );
    }
    if key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        v.add(
            F,
            "too_long",
            format!("is longer than {MAX_IDEMPOTENCY_KEY_CHARS} characters"),
        );
    }
    (v.list.len() == before).then(|| key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> CallbackRequestBuilder {
        CallbackRequest::builder()
            .from_line("reg1")
            .to_number("+447911123456")
            .text("Call the visitor back")
    }

    fn codes(e: &Error) -> Vec<(String, String)> {
        e.violations()
            .iter()
            .map(|v| (v.field.clone(), v.code.clone()))
            .collect()
    }

    #[test]
    fn warm_up_is_idempotent_and_validation_works_after_it() {
        let threads: Vec<_> = (0..4).map(|_| std::thread::spawn(warm_up)).collect();
        for t in threads {
            t.join().unwrap();
        }
        warm_up();
        let r = base().to_number("+1 201 555 0144").build().unwrap();
        assert_eq!(r.to_number(), "+12015550144");
        let e = base().to_number("+44 7700 900123").build().unwrap_err();
        assert_eq!(
            codes(&e),
            [("TO_NUMBER".to_owned(), "invalid_number".to_owned())]
        );
    }

    #[test]
    fn unknown_region_check_matches_build() {
        for (region, unknown) in [
            ("GB", false),
            (" gb ", false),
            ("", false),
            ("  ", false),
            ("XX", true),
            ("GBR", true),
            ("4", true),
        ] {
            assert_eq!(
                !region.trim().is_empty() && !is_known_region(region),
                unknown,
                "{region:?}"
            );
            let built = base().default_region(region).build();
            assert_eq!(built.is_err(), unknown, "{region:?}");
        }
    }

    #[test]
    fn valid_request_and_wire_body() {
        let r = base().voice("UKEnglishFemale").build().unwrap();
        assert_eq!(
            r.wire_body(),
            r#"{"FROM_LINE":"reg1","TO_NUMBER":"+447911123456","TEXT_TO_PRONOUNCE":"Call the visitor back","VOICE":"ukenglishfemale"}"#
        );
        let r = base().build().unwrap();
        assert!(!r.wire_body().contains("VOICE"));
    }

    #[test]
    fn fake_portal_magic_numbers_validate() {
        for n in 0..=9 {
            let r = base().to_number(format!("+1201555010{n}")).build().unwrap();
            assert_eq!(r.destination_region(), Some("US"));
        }
    }

    #[test]
    fn every_violation_reported() {
        let e = CallbackRequest::builder()
            .from_line("reg 1")
            .to_number("+44 7911 123456;1")
            .text("  ")
            .voice("klingon")
            .build()
            .unwrap_err();
        assert_eq!(
            codes(&e),
            vec![
                ("FROM_LINE".into(), "whitespace".into()),
                ("TO_NUMBER".into(), "dial_control".into()),
                ("TEXT_TO_PRONOUNCE".into(), "required".into()),
                ("VOICE".into(), "unknown_voice".into()),
            ]
        );
        assert!(!e.description().contains("7911123456"));
    }

    #[test]
    fn national_numbers_need_a_region() {
        let e = base().to_number("07911 123456").build().unwrap_err();
        assert_eq!(
            codes(&e),
            vec![("TO_NUMBER".into(), "region_required".into())]
        );
        let r = base()
            .to_number("07911 123456")
            .default_region("gb")
            .build()
            .unwrap();
        assert_eq!(r.to_number(), "+447911123456");
    }

    #[test]
    fn number_types_come_from_the_metadata() {
        // What libphonenumber says (tests/vectors/numbers.json holds the full oracle).
        for (number, kind) in [
            ("+44 871 234 5678", NumberType::PremiumRate),
            ("+33 884 01 23 45", NumberType::SharedCost),
            ("+44 56 1234 5678", NumberType::Voip),
            ("+227 09 12 34 56", NumberType::PremiumRate),
            ("+7 800 555 35 35", NumberType::TollFree),
        ] {
            let r = base().to_number(number).build().unwrap();
            assert_eq!(r.number_type(), kind, "{number}");
        }
    }
}
