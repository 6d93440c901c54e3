//! Phone numbers: parsing, validity, region and type, exactly as Google's libphonenumber says
//! (the `rlibphonenumber` port and its metadata; `tests/vectors/numbers.json`, generated from
//! libphonenumber itself, is the oracle the test suite holds it to).
//!
//! The library compiles a region's patterns the first time a number of that region is seen
//! and keeps them for the life of its metadata. A caller cycling through every country could
//! grow that to about 150 MiB, so the compiled metadata is a working set: after numbers of
//! [`WORKING_SET_CALLING_CODES`] distinct calling codes it is replaced by a fresh copy (about
//! 10 ms; calls in flight finish on the old one), which bounds the memory whatever the input.

use std::collections::HashSet;
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use rlibphonenumber::{PhoneNumberFormat, PhoneNumberType, PhoneNumberUtil, Region};

/// How many distinct calling codes the compiled metadata serves before it is renewed.
pub const WORKING_SET_CALLING_CODES: usize = 32;

/// What a valid number is, per libphonenumber's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NumberType {
    FixedLine,
    Mobile,
    /// Regions (the NANP, say) whose landlines and mobiles cannot be told apart.
    FixedLineOrMobile,
    TollFree,
    PremiumRate,
    SharedCost,
    Voip,
    PersonalNumber,
    Pager,
    /// Universal access numbers: one number a company routes to its offices.
    Uan,
    Voicemail,
    /// Only for numbers libphonenumber calls invalid.
    Unknown,
}

impl NumberType {
    /// Every type, in libphonenumber's order.
    pub const ALL: [NumberType; 12] = [
        NumberType::FixedLine,
        NumberType::Mobile,
        NumberType::FixedLineOrMobile,
        NumberType::TollFree,
        NumberType::PremiumRate,
        NumberType::SharedCost,
        NumberType::Voip,
        NumberType::PersonalNumber,
        NumberType::Pager,
        NumberType::Uan,
        NumberType::Voicemail,
        NumberType::Unknown,
    ];

    /// The stable snake_case name, e.g. `"premium_rate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            NumberType::FixedLine => "fixed_line",
            NumberType::Mobile => "mobile",
            NumberType::FixedLineOrMobile => "fixed_line_or_mobile",
            NumberType::TollFree => "toll_free",
            NumberType::PremiumRate => "premium_rate",
            NumberType::SharedCost => "shared_cost",
            NumberType::Voip => "voip",
            NumberType::PersonalNumber => "personal_number",
            NumberType::Pager => "pager",
            NumberType::Uan => "uan",
            NumberType::Voicemail => "voicemail",
            NumberType::Unknown => "unknown",
        }
    }

    /// Parses a snake_case name (ASCII case-insensitive).
    pub fn parse(name: &str) -> Option<NumberType> {
        NumberType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(name.trim()))
    }

    fn from_library(t: PhoneNumberType) -> NumberType {
        match t {
            PhoneNumberType::FixedLine => NumberType::FixedLine,
            PhoneNumberType::Mobile => NumberType::Mobile,
            PhoneNumberType::FixedLineOrMobile => NumberType::FixedLineOrMobile,
            PhoneNumberType::TollFree => NumberType::TollFree,
            PhoneNumberType::PremiumRate => NumberType::PremiumRate,
            PhoneNumberType::SharedCost => NumberType::SharedCost,
            PhoneNumberType::VoIP => NumberType::Voip,
            PhoneNumberType::PersonalNumber => NumberType::PersonalNumber,
            PhoneNumberType::Pager => NumberType::Pager,
            PhoneNumberType::UAN => NumberType::Uan,
            PhoneNumberType::VoiceMail => NumberType::Voicemail,
            PhoneNumberType::Unknown => NumberType::Unknown,
        }
    }
}

impl fmt::Display for NumberType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region as given by a caller, checked against the metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KnownRegion(Region);

/// A valid number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Valid {
    pub(crate) e164: String,
    /// ISO 3166 alpha-2, or `"001"` for the international networks; `None` when the metadata
    /// names none.
    pub(crate) region: Option<String>,
    pub(crate) number_type: NumberType,
    pub(crate) calling_code: u16,
}

/// Why a number was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// libphonenumber could not read it as a number at all.
    Unparsable,
    /// It reads as a number, but not a valid one.
    Invalid,
}

/// The compiled metadata and the calling codes it has served.
struct Book {
    util: Arc<PhoneNumberUtil>,
    served: Mutex<HashSet<i32>>,
}

fn fresh_book() -> Book {
    Book {
        util: Arc::new(PhoneNumberUtil::new().expect("the built-in phone metadata loads")),
        served: Mutex::new(HashSet::new()),
    }
}

fn books() -> &'static RwLock<Book> {
    static BOOK: OnceLock<RwLock<Book>> = OnceLock::new();
    BOOK.get_or_init(|| RwLock::new(fresh_book()))
}

/// The regions the metadata knows (they never change: the metadata is built in).
fn supported_regions() -> &'static HashSet<Region> {
    static REGIONS: OnceLock<HashSet<Region>> = OnceLock::new();
    REGIONS.get_or_init(|| util().get_supported_regions().collect())
}

fn util() -> Arc<PhoneNumberUtil> {
    books()
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .util
        .clone()
}

/// Notes that `calling_code` was served; renews the metadata once too many were.
fn served(calling_code: i32) {
    let lock = books();
    {
        let book = lock.read().unwrap_or_else(|p| p.into_inner());
        let mut served = book.served.lock().unwrap_or_else(|p| p.into_inner());
        if served.contains(&calling_code) || served.len() < WORKING_SET_CALLING_CODES {
            served.insert(calling_code);
            return;
        }
    }
    let fresh = fresh_book();
    fresh
        .served
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(calling_code);
    *lock.write().unwrap_or_else(|p| p.into_inner()) = fresh;
    log::debug!("phone metadata renewed after {WORKING_SET_CALLING_CODES} calling codes");
}

impl KnownRegion {
    /// An ISO 3166 alpha-2 region the metadata knows (case and surrounding spaces ignored).
    pub(crate) fn parse(code: &str) -> Option<KnownRegion> {
        let code = code.trim();
        if code.len() != 2 {
            return None;
        }
        let region = Region::from_code(code).ok()?;
        supported_regions()
            .contains(&region)
            .then_some(KnownRegion(region))
    }
}

/// Parses and validates `text` (in international form, or national for `region`).
pub(crate) fn check(text: &str, region: Option<KnownRegion>) -> Result<Valid, Refusal> {
    let util = util();
    let number = util
        .parse(text, region.map(|r| r.0))
        .map_err(|_| Refusal::Unparsable)?;
    served(number.country_code);
    if !util.is_valid_number(&number) {
        return Err(Refusal::Invalid);
    }
    Ok(Valid {
        e164: util.format(&number, PhoneNumberFormat::E164).into_owned(),
        region: util
            .get_region_for_number(&number)
            .map(|r| r.as_region_str().to_string()),
        number_type: NumberType::from_library(util.get_number_type(&number)),
        calling_code: u16::try_from(number.country_code).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip_by_name() {
        for t in NumberType::ALL {
            assert_eq!(NumberType::parse(t.as_str()), Some(t));
        }
        assert_eq!(NumberType::parse("VOIP"), Some(NumberType::Voip));
        assert_eq!(NumberType::parse("landline"), None);
    }

    #[test]
    fn regions_are_the_metadata_regions() {
        assert_eq!(KnownRegion::parse(" gb "), Some(KnownRegion(Region::GB)));
        for bad in ["XX", "001", "GBR", "", "G1"] {
            assert_eq!(KnownRegion::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_working_set_is_renewed_and_keeps_answering() {
        let codes: Vec<u16> = [
            1, 7, 20, 27, 30, 31, 32, 33, 34, 36, 39, 40, 41, 43, 44, 45, 46, 47, 48, 49, 51, 52,
            53, 54, 55, 56, 57, 58, 60, 61, 62, 63, 64, 65, 66, 81, 82, 84, 86, 90,
        ]
        .into();
        assert!(codes.len() > WORKING_SET_CALLING_CODES);
        for round in 0..2 {
            for cc in &codes {
                // Not every such number is valid; each must be answered without a panic.
                let _ = check(&format!("+{cc}123456789"), None);
            }
            let v = check("+12015550123", None).expect("valid after renewal");
            assert_eq!(v.e164, "+12015550123", "round {round}");
            assert_eq!(v.region.as_deref(), Some("US"));
        }
        let served = books().read().unwrap().served.lock().unwrap().len();
        assert!(served <= WORKING_SET_CALLING_CODES, "{served}");
    }
}
