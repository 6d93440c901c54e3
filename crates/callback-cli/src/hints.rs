//! What the command line calls each input, and the next step after each error.
//!
//! The core names request fields as Bitrix24 does (`TO_NUMBER`), the command line by its flags
//! (`--to`); options already come from the core with flag names (`OptionNames::Flags`).

use callback_core::{ErrorCode, NumberType, SAFE_NUMBER_TYPES};

/// The flag (or positional argument) that sets a field the core names, if the CLI has one.
pub fn flag_for(field: &str) -> Option<&'static str> {
    Some(match field {
        "FROM_LINE" => "--line",
        "TO_NUMBER" => "--to",
        "TEXT_TO_PRONOUNCE" => "--text",
        "VOICE" => "--voice",
        "idempotency_key" => "--idempotency-key",
        "default_region" => "--region",
        "call_id" => "CALL_ID",
        "webhook_url" => "--webhook-url",
        "client_id" => "--client-id",
        "client_secret" => "--client-secret",
        "client_endpoint" => "--client-endpoint",
        "server_endpoint" => "--server-endpoint",
        "access_token" | "refresh_token" => "--token-file",
        "rate_limit" => "--rate-limit",
        _ => return None,
    })
}

/// The core field a flag sets, for argument errors found before the core is asked (so that a
/// script sees the same `field` either way).
pub fn field_for(flag: &str) -> &str {
    match flag {
        "--line" => "FROM_LINE",
        "--to" => "TO_NUMBER",
        "--text" => "TEXT_TO_PRONOUNCE",
        "--voice" => "VOICE",
        "--idempotency-key" => "idempotency_key",
        "--region" => "default_region",
        "CALL_ID" => "call_id",
        other => other,
    }
}

/// What the command was doing when the error came: it decides what `outcome_unknown` means.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Context {
    /// Reading (lines, voices, check): nothing can have been started.
    #[default]
    Read,
    /// Sending `voximplant.callback.start`.
    Start,
    /// Reading the record of this call (following it, or `outcome`).
    Call(String),
}

/// The next step for one violation of an `invalid_request` or `destination_blocked` error.
pub fn violation_hint(error: ErrorCode, field: &str, code: &str) -> Option<String> {
    if error == ErrorCode::DestinationBlocked {
        return Some(blocked_hint(code));
    }
    let hint = match (field, code) {
        ("FROM_LINE", _) => "run b24-callback lines to see the line ids",
        ("TO_NUMBER", "region_required") => {
            "add --region GB (the visitor's country) or write the number with +"
        }
        ("TO_NUMBER", "required" | "too_long") => {
            "give the visitor's number, e.g. --to +12015550123"
        }
        ("TO_NUMBER", _) => {
            "write the visitor's number in international form, e.g. +12015550123, nothing else"
        }
        ("VOICE", _) => "run b24-callback voices to see the voice ids, or leave --voice out",
        ("default_region" | "--region", _) => {
            "give an ISO 3166 alpha-2 region such as GB, DE or US"
        }
        ("call_id", _) => "pass the CALL_ID that b24-callback start printed",
        ("webhook_url" | "--webhook-url", _) => {
            "copy the whole webhook address from Bitrix24: https://PORTAL/rest/USER_ID/SECRET/"
        }
        ("access_token" | "refresh_token", _) => {
            "the --token-file needs {\"access_token\": ..., \"refresh_token\": ...}"
        }
        ("--allowed-regions" | "--blocked-regions" | "--high-risk-regions", _) => {
            "regions are ISO 3166 alpha-2 codes such as GB,DE (001: the international networks)"
        }
        ("--allowed-prefixes" | "--blocked-prefixes", _) => {
            "prefixes are E.164 beginnings with +, such as +44,+1201"
        }
        ("--allowed-number-types", _) => {
            return Some(format!(
                "number types are {}",
                names(&NumberType::ALL).join(", ")
            ));
        }
        _ => return None,
    };
    Some(hint.to_owned())
}

fn names(types: &[NumberType]) -> Vec<&'static str> {
    types.iter().map(|t| t.as_str()).collect()
}

/// Which policy flag would let a refused destination through.
fn blocked_hint(code: &str) -> String {
    match code {
        "prefix_blocked" => {
            "it matches --blocked-prefixes (BITRIX24_BLOCKED_PREFIXES); remove that \
                             prefix to call it"
                .to_owned()
        }
        "region_blocked" => {
            "its region is in --blocked-regions (BITRIX24_BLOCKED_REGIONS); remove \
                             it there to call it"
                .to_owned()
        }
        "region_not_allowed" | "prefix_not_allowed" => {
            "add its region to --allowed-regions or its \
                                                        prefix to --allowed-prefixes to call it"
                .to_owned()
        }
        "international_network" => "allow it explicitly with --allowed-prefixes and its calling \
                                    code (e.g. +881) or --allowed-regions 001"
            .to_owned(),
        "high_risk_region" => "allow it explicitly with --allowed-regions and its region (or \
                               --allowed-prefixes), or change --high-risk-regions"
            .to_owned(),
        "cooldown" => "wait for the cooldown to pass; --number-cooldown sets it (0: off), and it \
                       is kept per client unless --shared-state is set"
            .to_owned(),
        "hourly_cap" => "wait, or raise --number-hourly-cap (0: off)".to_owned(),
        number_type => format!(
            "to call {} numbers, pass --allowed-number-types {},{number_type} (or \
             --allow-costly-numbers for any type)",
            number_type.replace('_', " "),
            names(&SAFE_NUMBER_TYPES).join(","),
        ),
    }
}

/// The next step for an error as a whole (errors with violations mostly have theirs per
/// violation). `now` is unix time in seconds, for `operation_time_limit`.
pub fn error_hint(
    code: ErrorCode,
    operating_reset_at: Option<i64>,
    context: &Context,
    now: i64,
) -> Option<String> {
    use ErrorCode::*;
    let hint = match code {
        InvalidRequest | DestinationBlocked | PortalError => return None,
        LineNotFound => "run b24-callback lines to see the line ids".to_owned(),
        NumberRejected => "check the number with b24-callback check; write it with +".to_owned(),
        RateLimited => "try again in a few seconds: other programs may be using the portal's \
                        request budget (--shared-state shares the pacing with them; --deadline \
                        waits longer)"
            .to_owned(),
        OperationTimeLimit => match operating_reset_at {
            Some(at) if at > now => format!(
                "try again in {} s, when the method's time budget resets",
                at - now
            ),
            _ => "try again in a few minutes: Bitrix24 budgets each method's processing time \
                  per 10 minutes"
                .to_owned(),
        },
        AuthFailed => "check the webhook address (--webhook-url / BITRIX24_WEBHOOK_URL): the \
                       portal, the user id and the secret, and that the webhook still exists in \
                       Bitrix24; with OAuth, a refresh token that expired needs a new sign-in"
            .to_owned(),
        InsufficientScope => "the webhook (or application) needs the scopes telephony and call: \
                              tick both in its settings in Bitrix24"
            .to_owned(),
        AccessDenied => "the webhook's user needs the telephony permission \"Outgoing call - \
                         Perform - Any\", and the portal's plan must allow telephony"
            .to_owned(),
        Transport => "check the portal address and the network; behind a TLS-inspecting proxy \
                      pass its CA with --ca-file"
            .to_owned(),
        SharedStateUnavailable => "check that the Redis server of --shared-state \
                                   (BITRIX24_SHARED_STATE) is running and reachable"
            .to_owned(),
        OutcomeUnknown => match context {
            Context::Call(id) => format!(
                "reading is harmless: run b24-callback outcome {id} again, or check the call \
                 history in Bitrix24"
            ),
            Context::Start => "the portal may have started the call: do not retry blindly; \
                               check the call history in Bitrix24 (or b24-callback outcome \
                               CALL_ID, if you have the CALL_ID) first"
                .to_owned(),
            Context::Read => "nothing was started; try again in a moment".to_owned(),
        },
    };
    Some(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_request_field_has_a_flag() {
        for field in [
            "FROM_LINE",
            "TO_NUMBER",
            "TEXT_TO_PRONOUNCE",
            "VOICE",
            "idempotency_key",
        ] {
            let flag = flag_for(field).unwrap();
            assert_eq!(field_for(flag), field);
        }
    }

    #[test]
    fn every_error_code_but_the_per_violation_ones_has_a_next_step() {
        for code in ErrorCode::ALL {
            let hint = error_hint(code, None, &Context::Start, 0);
            let per_violation = matches!(
                code,
                ErrorCode::InvalidRequest | ErrorCode::DestinationBlocked | ErrorCode::PortalError
            );
            assert_eq!(hint.is_none(), per_violation, "{code}");
        }
        let hint = error_hint(
            ErrorCode::OperationTimeLimit,
            Some(1_090),
            &Context::Read,
            1_000,
        );
        assert!(hint.unwrap().contains("in 90 s"));
    }

    #[test]
    fn a_refused_number_type_names_the_flag_that_allows_it() {
        let hint = violation_hint(ErrorCode::DestinationBlocked, "TO_NUMBER", "voip").unwrap();
        assert!(
            hint.contains("--allowed-number-types fixed_line,"),
            "{hint}"
        );
        assert!(
            hint.ends_with(",voip (or --allow-costly-numbers for any type)"),
            "{hint}"
        );
    }
}
