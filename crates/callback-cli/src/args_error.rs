//! clap's own errors (a missing flag, an unknown one, a bad value): clap's text by default, a
//! JSON `error` event naming the flags when `--json` is among the arguments.

use std::ffi::OsString;

use clap::CommandFactory;
use clap::error::{ContextKind, ContextValue, ErrorKind};

use crate::exit;
use crate::hints;
use crate::output::{Output, Problem, Report};

/// Reports a parse error and returns the exit code (or exits, for help and version).
pub fn report(err: clap::Error, args: &[OsString]) -> u8 {
    if matches!(
        err.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        err.exit();
    }
    if !wants_json(args) {
        // An unexpected value may be a phone number or a webhook address typed without its
        // flag: clap's message, but without the value.
        if let Some(value) = unexpected_value(&err) {
            let text = err.render().to_string().replace(&value, "…");
            eprint!("{text}");
            return exit::INVALID_INPUT;
        }
        err.exit();
    }
    let problems = problems(&err);
    let command = subcommand(args);
    let hint = Some(match &command {
        Some(c) => format!("see b24-callback {c} --help"),
        None => "see b24-callback --help".to_owned(),
    });
    let description = problems
        .iter()
        .map(|p| match &p.flag {
            Some(f) => format!("{f} {}", p.message),
            None => p.message.clone(),
        })
        .collect::<Vec<_>>()
        .join("; ");
    Output::new(true).report(&Report {
        hint,
        ..Report::local("invalid_request", description, problems)
    });
    exit::INVALID_INPUT
}

/// `--json` among the arguments (before a `--` that ends them).
fn wants_json(args: &[OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| *a != "--")
        .any(|a| a == "--json")
}

/// The subcommand named in the arguments, if any.
fn subcommand(args: &[OsString]) -> Option<String> {
    let cli = crate::Cli::command();
    let names: Vec<&str> = cli.get_subcommands().map(|c| c.get_name()).collect();
    args.iter()
        .skip(1)
        .filter_map(|a| a.to_str())
        .find(|a| names.contains(a))
        .map(str::to_owned)
}

fn string(err: &clap::Error, kind: ContextKind) -> Option<String> {
    match err.get(kind)? {
        ContextValue::String(s) => Some(s.clone()),
        ContextValue::Strings(v) => v.first().cloned(),
        _ => None,
    }
}

fn strings(err: &clap::Error, kind: ContextKind) -> Vec<String> {
    match err.get(kind) {
        Some(ContextValue::String(s)) => vec![s.clone()],
        Some(ContextValue::Strings(v)) => v.clone(),
        _ => Vec::new(),
    }
}

/// The value of an "unexpected argument" error that is not a flag.
fn unexpected_value(err: &clap::Error) -> Option<String> {
    if err.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    string(err, ContextKind::InvalidArg).filter(|a| !a.starts_with('-'))
}

/// `--line <LINE>` → `--line`; `<CALL_ID>` → `CALL_ID`; `--jsn=x` → `--jsn`.
fn flag_of(arg: &str) -> String {
    let first = arg.split_whitespace().next().unwrap_or(arg);
    let first = first.split('=').next().unwrap_or(first);
    first
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

fn problem(flag: Option<String>, code: &str, message: String, hint: Option<String>) -> Problem {
    let field = flag
        .as_deref()
        .map_or("arguments", hints::field_for)
        .to_owned();
    Problem {
        field,
        flag,
        code: code.to_owned(),
        message,
        hint,
    }
}

fn problems(err: &clap::Error) -> Vec<Problem> {
    let arg = || string(err, ContextKind::InvalidArg).map(|a| flag_of(&a));
    match err.kind() {
        ErrorKind::MissingRequiredArgument => strings(err, ContextKind::InvalidArg)
            .iter()
            .map(|a| problem(Some(flag_of(a)), "required", "is required".into(), None))
            .collect(),
        ErrorKind::MissingSubcommand | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            vec![problem(
                Some("COMMAND".into()),
                "required",
                "is required (start, check, lines, voices, outcome or fake-portal)".into(),
                None,
            )]
        }
        ErrorKind::UnknownArgument => {
            let suggestion = string(err, ContextKind::SuggestedArg)
                .map(|s| format!("did you mean {}?", flag_of(&s)));
            match string(err, ContextKind::InvalidArg) {
                Some(a) if a.starts_with('-') => vec![problem(
                    Some(flag_of(&a)),
                    "unknown_argument",
                    "is not an option of this command".into(),
                    suggestion,
                )],
                _ => vec![problem(
                    None,
                    "unexpected_value",
                    "an unexpected value was given (values go after their flag, e.g. --to \
                     +12015550123)"
                        .into(),
                    suggestion,
                )],
            }
        }
        ErrorKind::InvalidSubcommand => {
            let suggestion =
                string(err, ContextKind::SuggestedSubcommand).map(|s| format!("did you mean {s}?"));
            vec![problem(
                Some("COMMAND".into()),
                "unknown_command",
                "is not one of start, check, lines, voices, outcome, fake-portal".into(),
                suggestion,
            )]
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => {
            let valid = strings(err, ContextKind::ValidValue);
            let given = string(err, ContextKind::InvalidValue);
            let mut message = if given.as_deref() == Some("") {
                "needs a value".to_owned()
            } else {
                "has an invalid value".to_owned()
            };
            if !valid.is_empty() {
                message.push_str(&format!(" (one of: {})", valid.join(", ")));
            } else if let Some(source) = std::error::Error::source(err) {
                message.push_str(&format!(" ({source})"));
            }
            vec![problem(arg(), "invalid_value", message, None)]
        }
        ErrorKind::ArgumentConflict => {
            let prior = string(err, ContextKind::PriorArg).map(|a| flag_of(&a));
            let message = match prior {
                Some(p) => format!("cannot be used with {p}"),
                None => "cannot be used with the other arguments".into(),
            };
            vec![problem(arg(), "conflict", message, None)]
        }
        ErrorKind::TooManyValues | ErrorKind::TooFewValues | ErrorKind::WrongNumberOfValues => {
            vec![problem(
                arg(),
                "invalid_value",
                "has the wrong number of values".into(),
                None,
            )]
        }
        ErrorKind::NoEquals => vec![problem(
            arg(),
            "invalid_value",
            "needs its value after = (--flag=VALUE)".into(),
            None,
        )],
        _ => {
            let text = err.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            vec![problem(
                None,
                "invalid_argument",
                first.trim_start_matches("error: ").to_owned(),
                None,
            )]
        }
    }
}
