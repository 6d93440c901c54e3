//! The destination policy: which valid numbers may be called at all.
//!
//! Safe by default: only landlines, mobiles and toll-free numbers ([`SAFE_NUMBER_TYPES`]);
//! never the international networks ([`INTERNATIONAL_NETWORKS`]: satellite phones and the
//! like) nor the destinations most abused by toll fraud ([`HIGH_RISK_REGIONS`]) unless the
//! policy names them explicitly; and, in the guard, a per-number cooldown and hourly cap. Each
//! refusal is a `destination_blocked` error whose one violation (field `TO_NUMBER`) names the
//! rule in its code.

use std::time::Duration;

use crate::error::{Error, ErrorCode, Violation};
use crate::number::NumberType;
use crate::request::CallbackRequest;

/// The number types called by default. Every other type has a price set by the number's
/// operator rather than the regulated price of a landline or mobile, and none is a number a
/// visitor leaves for a call back: premium rate and shared cost (the caller pays extra, the
/// classic toll-fraud target), personal numbers (forwarded at the owner's tariff), pagers and
/// voicemail (nobody answers), universal access numbers (company hotlines, often shared cost
/// or premium) and VoIP ranges (unregulated termination rates, common in revenue-share fraud).
pub const SAFE_NUMBER_TYPES: [NumberType; 4] = [
    NumberType::FixedLine,
    NumberType::Mobile,
    NumberType::FixedLineOrMobile,
    NumberType::TollFree,
];

/// Calling codes of the international networks (satellite and other non-geographic services,
/// region `"001"`): Inmarsat (870), UPT (878), GMSS satellite (881), international networks
/// (882, 883), OCHA (888) and international premium rate (979). A minute to them costs many
/// times a landline's. Refused unless `allowed_prefixes` (or `allowed_regions` with `"001"`)
/// names them.
pub const INTERNATIONAL_NETWORKS: [u16; 7] = [870, 878, 881, 882, 883, 888, 979];

/// Regions refused by default because calls to them are the usual cash-out of toll fraud
/// (international revenue share fraud): high termination rates, and numbers that fraudsters
/// lease. Lifted for a region that `allowed_regions` names (or a number that
/// `allowed_prefixes` matches); replaced by `high_risk_regions`.
///
/// * Caribbean destinations inside the North American numbering plan, dialled as `+1` like a US
///   number: Antigua and Barbuda, Anguilla, Barbados, Bermuda, the Bahamas, Dominica, the
///   Dominican Republic, Grenada, Jamaica, St Kitts and Nevis, the Cayman Islands, St Lucia,
///   Montserrat, Sint Maarten, Turks and Caicos, Trinidad and Tobago, St Vincent, the British
///   Virgin Islands.
/// * Remote islands and territories of the Pacific, Atlantic and Indian oceans: the Cook
///   Islands, Micronesia, Kiribati, the Marshall Islands, Nauru, Niue, Papua New Guinea, the
///   Solomon Islands, Tokelau, Tonga, Tuvalu, Vanuatu, Wallis and Futuna, Samoa, Ascension,
///   St Helena, Tristan da Cunha, Diego Garcia, the Falklands.
/// * Countries most often named in operators' fraud reports: Cuba, Somalia, Sierra Leone,
///   Guinea, Guinea-Bissau, Liberia, São Tomé and Príncipe, Chad, Eritrea, the Comoros.
pub const HIGH_RISK_REGIONS: [&str; 47] = [
    "AG", "AI", "BB", "BM", "BS", "DM", "DO", "GD", "JM", "KN", "KY", "LC", "MS", "SX", "TC", "TT",
    "VC", "VG", // Caribbean (+1)
    "CK", "FM", "KI", "MH", "NR", "NU", "PG", "SB", "TK", "TO", "TV", "VU", "WF", "WS", "AC", "SH",
    "TA", "IO", "FK", // remote islands and territories
    "CU", "SO", "SL", "GN", "GW", "LR", "ST", "TD", "ER", "KM", // fraud reports
];

/// The region of the international networks.
pub const NON_GEOGRAPHIC_REGION: &str = "001";

/// Which destinations the client refuses before any network traffic (`destination_blocked`).
///
/// The rules apply in this order (the first that refuses names the violation code):
/// `blocked_prefixes` (`prefix_blocked`), `blocked_regions` (`region_blocked`), the allow
/// lists (`region_not_allowed` / `prefix_not_allowed`: with either list set, a number must
/// match one of them), the international networks (`international_network`), the high-risk
/// regions (`high_risk_region`), the number type (the type's name, e.g. `premium_rate`); then
/// the guard's `cooldown` and `hourly_cap`.
#[derive(Debug, Clone, PartialEq)]
pub struct DestinationPolicy {
    /// ISO 3166 alpha-2 regions the business serves (`["GB", "DE"]`); empty = any region.
    /// Naming a high-risk region here allows it; `"001"` allows the international networks.
    pub allowed_regions: Vec<String>,
    /// Regions never called.
    pub blocked_regions: Vec<String>,
    /// E.164 prefixes (`"+44"`, `"+1201"`) allowed; empty = any. Matching one lifts the
    /// international-network and high-risk rules for that number.
    pub allowed_prefixes: Vec<String>,
    /// E.164 prefixes never called (`"+4470"`).
    pub blocked_prefixes: Vec<String>,
    /// Refuse number types outside `allowed_number_types`. Default `true`; `false` allows any
    /// valid number's type.
    pub block_costly_numbers: bool,
    /// The types called when `block_costly_numbers` is on. Default [`SAFE_NUMBER_TYPES`].
    pub allowed_number_types: Vec<NumberType>,
    /// Regions refused unless allowed explicitly. Default [`HIGH_RISK_REGIONS`].
    pub high_risk_regions: Vec<String>,
    /// A number that was called is refused for this long (a bot hammering one number, a
    /// double click). Default 60 s; zero turns it off.
    pub number_cooldown: Duration,
    /// At most this many calls to one number in any rolling hour. Default 5; zero turns it off.
    pub number_hourly_cap: u32,
}

impl Default for DestinationPolicy {
    fn default() -> Self {
        DestinationPolicy {
            allowed_regions: Vec::new(),
            blocked_regions: Vec::new(),
            allowed_prefixes: Vec::new(),
            blocked_prefixes: Vec::new(),
            block_costly_numbers: true,
            allowed_number_types: SAFE_NUMBER_TYPES.to_vec(),
            high_risk_regions: HIGH_RISK_REGIONS.iter().map(|r| (*r).to_owned()).collect(),
            number_cooldown: Duration::from_secs(60),
            number_hourly_cap: 5,
        }
    }
}

/// A `destination_blocked` error for `TO_NUMBER` with one violation.
pub(crate) fn blocked(code: &str, message: String) -> Error {
    Error::new(
        ErrorCode::DestinationBlocked,
        format!("TO_NUMBER: {message}"),
    )
    .with_violations(vec![Violation {
        field: "TO_NUMBER".into(),
        code: code.into(),
        message,
    }])
}

fn has(list: &[String], region: &str) -> bool {
    list.iter().any(|r| r.eq_ignore_ascii_case(region))
}

impl DestinationPolicy {
    /// Refuses what the policy does not allow.
    pub(crate) fn check(&self, request: &CallbackRequest) -> Result<(), Error> {
        let number = request.to_number();
        let masked = request.masked_number();
        let region = request.destination_region().unwrap_or("");
        let shown_region = if region.is_empty() { "(none)" } else { region };
        let matching =
            |prefixes: &[String]| prefixes.iter().any(|p| number.starts_with(p.as_str()));

        if matching(&self.blocked_prefixes) {
            return Err(blocked(
                "prefix_blocked",
                format!("{masked} starts with a prefix the destination policy blocks"),
            ));
        }
        if has(&self.blocked_regions, region) {
            return Err(blocked(
                "region_blocked",
                format!(
                    "{masked} is in region {shown_region}, which the destination policy blocks"
                ),
            ));
        }
        let prefix_allowed = matching(&self.allowed_prefixes);
        let region_allowed = has(&self.allowed_regions, region);
        let lists_set = !self.allowed_regions.is_empty() || !self.allowed_prefixes.is_empty();
        if lists_set && !prefix_allowed && !region_allowed {
            let (code, why) = if self.allowed_regions.is_empty() {
                ("prefix_not_allowed", "matches none of the prefixes")
            } else {
                ("region_not_allowed", "is in a region")
            };
            return Err(blocked(
                code,
                format!("{masked} {why} the destination policy allows (region {shown_region})"),
            ));
        }
        let explicit = prefix_allowed || region_allowed;
        if !explicit && INTERNATIONAL_NETWORKS.contains(&request.calling_code()) {
            return Err(blocked(
                "international_network",
                format!(
                    "{masked} is on an international network (+{}), a costly destination the \
                     policy refuses unless it is allowed explicitly",
                    request.calling_code()
                ),
            ));
        }
        if !explicit && has(&self.high_risk_regions, region) {
            return Err(blocked(
                "high_risk_region",
                format!(
                    "{masked} is in region {shown_region}, a destination often used for toll \
                     fraud, which the policy refuses unless it is allowed explicitly"
                ),
            ));
        }
        let kind = request.number_type();
        if self.block_costly_numbers && !self.allowed_number_types.contains(&kind) {
            return Err(blocked(
                kind.as_str(),
                format!(
                    "{masked} is a {} number, a type the destination policy does not call",
                    kind.as_str().replace('_', " ")
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_high_risk_regions_are_metadata_regions() {
        for r in HIGH_RISK_REGIONS {
            assert!(crate::request::is_known_region(r), "{r}");
        }
        let mut sorted = HIGH_RISK_REGIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), HIGH_RISK_REGIONS.len());
    }
}
