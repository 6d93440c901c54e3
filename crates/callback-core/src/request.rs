//! `CallbackRequest`: the validated input of `voximplant.callback.start`.
//!
//! SKELETON: signatures are the contract; the bodies are being filled in.

use crate::error::Error;

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

/// A validated callback request. Build it with [`CallbackRequest::builder`] (or
/// [`crate::Client::request`], which applies the client's rules).
#[derive(Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub(crate) from_line: String,
    pub(crate) to_number: String,
    pub(crate) text: String,
    pub(crate) voice: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) region: Option<String>,
}

/// Collects the raw, untrusted input; [`CallbackRequestBuilder::build`] validates it once and
/// reports every violation together.
#[derive(Clone, Default)]
pub struct CallbackRequestBuilder {
    pub(crate) from_line: Option<String>,
    pub(crate) to_number: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) voice: Option<String>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) default_region: Option<String>,
    pub(crate) allow_unknown_voice: bool,
}

impl CallbackRequest {
    pub fn builder() -> CallbackRequestBuilder {
        CallbackRequestBuilder::default()
    }
    /// `FROM_LINE` as sent.
    pub fn from_line(&self) -> &str {
        &self.from_line
    }
    /// `TO_NUMBER` normalised to E.164 (`+447700900123`). Do not log it: see [`Self::masked_number`].
    pub fn to_number(&self) -> &str {
        &self.to_number
    }
    /// `TEXT_TO_PRONOUNCE`, trimmed.
    pub fn text(&self) -> &str {
        &self.text
    }
    pub fn voice(&self) -> Option<&str> {
        self.voice.as_deref()
    }
    pub fn idempotency_key(&self) -> Option<&str> {
        self.idempotency_key.as_deref()
    }
    /// ISO 3166 region of the destination (`"GB"`), when the metadata knows it.
    pub fn destination_region(&self) -> Option<&str> {
        self.region.as_deref()
    }
    /// The number with all but the country code and the last two digits hidden: `+44*******23`.
    pub fn masked_number(&self) -> String {
        crate::redact::mask_number(&self.to_number)
    }
    /// The exact JSON body sent to `voximplant.callback.start`: the four upper-case keys,
    /// string values, compact.
    pub fn wire_body(&self) -> String {
        todo_body()
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
    /// Validates everything; on failure an `invalid_request` [`Error`] lists every violation.
    pub fn build(self) -> Result<CallbackRequest, Error> {
        Err(Error::invalid(Vec::new()))
    }
}

fn todo_body() -> String {
    String::new()
}
