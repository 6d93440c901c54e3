//! `b24-callback`: start Bitrix24 callbacks from the command line, list lines and voices, follow a
//! call to its outcome, or run the fake portal.

// The doc comments of the argument structs are clap's `--help` text, printed as written:
// `[:PASSWORD@]` and `<portal host>` are for people reading help, not rustdoc links or HTML.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

mod args_error;
mod follow;
mod hints;
mod interrupt;
mod output;
mod portal_args;
mod sandbox;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};

use crate::hints::Context;
use crate::interrupt::{Phase, Watch};
use crate::output::{Output, Problem};
use crate::portal_args::{PolicyArgs, PortalArgs};

/// What `--help` says after the options: the JSON events and the exit codes.
const EVENTS_AND_EXIT_CODES: &str = "\
JSON events (--json: one object per line on stdout, each with an \"event\" key):
  sandbox      no portal is configured, so an embedded fake portal answers and no real call is
               made: {portal, description}
  started      the portal accepted the callback: {call_id (null on a REST-application line),
               deduplicated, line, to (masked), attempts, total_ms, limiter_wait_ms,
               portal_moved_to}
  stage        sandbox only, as the simulated call moves on: {stage (ringing_manager,
               speaking_text, dialling_client, connected, ended), description}
  heartbeat    a real portal only, every --heartbeat seconds while the call record has not come:
               {call_id, elapsed_seconds, description}
  ended        the call record: {call_id, outcome (answered, busy, no_answer, declined,
               insufficient_funds, invalid_number, failed), failed_code, failed_reason,
               duration_seconds, start_date, to (masked), cost, cost_currency}
  pending      no record for {call_id} yet: the call has not ended (or the id is unknown)
  checked      `check`: the destination is allowed, nothing was sent: {to, region, number_type}
  note         a remark: {description}
  interrupted  Ctrl-C: {call_id, call_goes_on, outcome_command, description}
  error        {code, retry_safe, description, hint, violations: [{field, flag, code, message,
               hint}], bitrix_code, http_status, operating_reset_at, portal_moved_to}; argument
               errors too (code invalid_request, the flags in `flag`)
`lines` and `voices` print one document instead: {\"lines\": [{id, name}]}, {\"voices\": [{id, name}]}.

Exit codes:
  0    done (the call ended, answered unless --fail-unanswered says otherwise, or was not followed)
  2    invalid input (arguments, invalid_request, destination_blocked): nothing was sent
  3    refused by the portal or the client: nothing was started, a retry is safe
  4    outcome_unknown: sent, but no trustworthy answer came back; do NOT retry blindly
  5    with --fail-unanswered: the call ended unanswered (busy, no answer, declined, failed, ...)
  130  interrupted (Ctrl-C); a call the portal accepted goes on";

/// `--json` of the commands that print events.
const JSON_EVENTS_HELP: &str = "Print JSON lines on stdout instead of text, one object per event \
(listed in `b24-callback --help`); errors too, argument errors included, with the same exit codes";

/// `--json` of the commands that print one document.
const JSON_DOCUMENT_HELP: &str = "Print one JSON document on stdout instead of text; errors as a \
JSON `error` event (argument errors included), with the same exit codes";

/// A number of seconds, 0 or more (a fraction allowed).
fn seconds(text: &str) -> Result<Duration, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| "is not a number of seconds".to_owned())?;
    Duration::try_from_secs_f64(value).map_err(|_| "must be 0 or more seconds".to_owned())
}

/// Start Bitrix24 telephony callbacks (voximplant.callback.start) safely.
///
/// Without BITRIX24_WEBHOOK_URL (or OAuth settings) every command runs against an embedded
/// fake portal: a sandbox in which no real call is made.
#[derive(Parser)]
#[command(
    name = "b24-callback",
    version,
    about,
    long_about,
    after_help = "`b24-callback --help` also lists the JSON events and the exit codes.",
    after_long_help = EVENTS_AND_EXIT_CODES
)]
struct Cli {
    /// More log output on stderr (-v: info, -vv: debug). RUST_LOG works too.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Ring a manager's line, speak a text, then dial the visitor; follow the call to its end.
    ///
    /// Ctrl-C while following ends this program, not the call: it prints the CALL_ID and the
    /// `b24-callback outcome` command that shows how the call ended (exit code 130).
    #[command(after_long_help = EVENTS_AND_EXIT_CODES)]
    Start(StartArgs),
    /// Check a callback against validation and the destination policy without sending anything.
    Check(CheckArgs),
    /// List the lines usable as --line (voximplant.line.get).
    Lines {
        #[command(flatten)]
        portal: PortalArgs,
        #[arg(long, help = JSON_DOCUMENT_HELP)]
        json: bool,
    },
    /// List the text-to-speech voices (voximplant.tts.voices.get).
    Voices {
        #[command(flatten)]
        portal: PortalArgs,
        #[arg(long, help = JSON_DOCUMENT_HELP)]
        json: bool,
    },
    /// Show what became of a call (voximplant.statistic.get), waiting for it to end.
    ///
    /// In the sandbox (no portal configured) every run has an embedded fake portal of its own,
    /// so a CALL_ID from another run is unknown there: follow the call with `start` instead, or
    /// run `b24-callback fake-portal` and point both runs at it with --webhook-url.
    #[command(after_long_help = EVENTS_AND_EXIT_CODES)]
    Outcome(OutcomeArgs),
    /// Run the fake Bitrix24 portal on loopback until stopped (Ctrl-C or stdin closed).
    FakePortal(sandbox::FakePortalArgs),
}

#[derive(clap::Args)]
struct OutcomeArgs {
    /// The CALL_ID printed by `start`.
    call_id: String,
    /// How long to wait for the record to appear, in seconds (0: look once).
    #[arg(long, default_value_t = 0)]
    wait: u64,
    /// While waiting, a sign of life every this many seconds (0: none).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    heartbeat: Duration,
    /// Exit with code 5 when the call ended unanswered (busy, no answer, declined, failed, ...).
    #[arg(long)]
    fail_unanswered: bool,
    #[command(flatten)]
    portal: PortalArgs,
    #[arg(long, help = JSON_EVENTS_HELP)]
    json: bool,
}

/// What a callback is: shared by `start` and `check`.
#[derive(clap::Args)]
struct CallbackArgs {
    /// The line to call from (FROM_LINE), e.g. reg1; `b24-callback lines` lists them.
    #[arg(long)]
    line: String,
    /// The visitor's number, in international form (+12015550123) or national with --region.
    #[arg(long)]
    to: String,
    /// What the manager hears before the visitor is dialled (TEXT_TO_PRONOUNCE).
    #[arg(long)]
    text: String,
    /// Text-to-speech voice id (`b24-callback voices` lists them).
    #[arg(long)]
    voice: Option<String>,
    /// A key that makes a repeated start (a double click, a retried job) return the first result.
    #[arg(long)]
    idempotency_key: Option<String>,
    /// Region for numbers written without +, e.g. GB or DE.
    #[arg(long, env = "BITRIX24_DEFAULT_REGION")]
    region: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
}

#[derive(clap::Args)]
struct CheckArgs {
    #[command(flatten)]
    callback: CallbackArgs,
    #[arg(long, help = JSON_EVENTS_HELP)]
    json: bool,
    #[command(flatten)]
    portal: PortalArgs,
}

#[derive(clap::Args)]
struct StartArgs {
    #[command(flatten)]
    callback: CallbackArgs,
    /// Return once the portal accepted the callback, without following the call.
    #[arg(long)]
    no_follow: bool,
    /// How long to follow the call, in seconds.
    #[arg(long, default_value_t = 600)]
    follow_timeout: u64,
    /// While following a call on a real portal (which reports nothing until the call has
    /// ended), a sign of life every this many seconds (0: none).
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = seconds)]
    heartbeat: Duration,
    /// Exit with code 5 when the followed call ended unanswered (busy, no answer, declined,
    /// failed, ...).
    #[arg(long)]
    fail_unanswered: bool,
    #[arg(long, help = JSON_EVENTS_HELP)]
    json: bool,
    #[command(flatten)]
    portal: PortalArgs,
}

/// Exit codes: distinct for scripts.
pub(crate) mod exit {
    /// Invalid input (bad arguments, invalid_request, destination_blocked).
    pub const INVALID_INPUT: u8 = 2;
    /// The portal or the client refused; nothing was started, a retry is safe.
    pub const REFUSED: u8 = 3;
    /// The request was sent but no trustworthy answer came back: do NOT retry blindly.
    pub const OUTCOME_UNKNOWN: u8 = 4;
    /// With `--fail-unanswered`: the call ended without being answered.
    pub const UNANSWERED: u8 = 5;
    /// Ctrl-C (128 + SIGINT, as shells report a process ended by it).
    pub const INTERRUPTED: u8 = 130;
}

fn exit_code_for(err: &callback_core::Error) -> u8 {
    use callback_core::ErrorCode::*;
    match err.code() {
        InvalidRequest | DestinationBlocked => exit::INVALID_INPUT,
        OutcomeUnknown => exit::OUTCOME_UNKNOWN,
        RateLimited
        | OperationTimeLimit
        | AuthFailed
        | InsufficientScope
        | AccessDenied
        | LineNotFound
        | NumberRejected
        | PortalError
        | Transport
        | SharedStateUnavailable => exit::REFUSED,
    }
}

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return ExitCode::from(args_error::report(e, &args)),
    };
    init_logging(cli.verbose);
    match run(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => ExitCode::from(code),
    }
}

fn init_logging(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let logger =
        env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default))
            .format_target(true)
            .build();
    let max_level = logger.filter();
    if log::set_boxed_logger(Box::new(NoWireTrace(logger))).is_ok() {
        log::set_max_level(max_level);
    }
}

/// At trace level the HTTP and TLS libraries log whole request lines, and a webhook's path
/// holds its secret; the phone-number library logs the numbers it parses (full numbers) at
/// debug and trace level. Whatever RUST_LOG says, those records are dropped.
struct NoWireTrace(env_logger::Logger);

impl NoWireTrace {
    fn is_wire_trace(metadata: &log::Metadata<'_>) -> bool {
        let target = metadata.target();
        target.starts_with("rlibphonenumber")
            || metadata.level() == log::Level::Trace
                && ["ureq", "rustls"].iter().any(|m| target.starts_with(m))
    }
}

impl log::Log for NoWireTrace {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        !Self::is_wire_trace(metadata) && self.0.enabled(metadata)
    }
    fn log(&self, record: &log::Record<'_>) {
        if !Self::is_wire_trace(record.metadata()) {
            self.0.log(record);
        }
    }
    fn flush(&self) {
        self.0.flush();
    }
}

fn run(command: Command) -> Result<(), u8> {
    match command {
        Command::Start(args) => start(args),
        Command::Check(args) => check(args),
        Command::Lines { portal, json } => {
            let out = Output::new(json);
            let session = portal.connect(&out)?;
            let lines = session.client.lines().map_err(|e| out.error(&e))?;
            out.lines(&lines);
            Ok(())
        }
        Command::Voices { portal, json } => {
            let out = Output::new(json);
            let session = portal.connect(&out)?;
            let voices = session.client.voices().map_err(|e| out.error(&e))?;
            out.voices(&voices);
            Ok(())
        }
        Command::Outcome(args) => outcome(args),
        Command::FakePortal(args) => sandbox::serve(args),
    }
}

impl CallbackArgs {
    /// A client for this callback and the request, validated with its rules.
    fn prepare(
        self,
        portal: &PortalArgs,
        out: &Output,
    ) -> Result<(portal_args::Session, callback_core::CallbackRequest), u8> {
        let session = portal.connect_with(&self.policy, self.region, out)?;
        let input = callback_core::RequestInput {
            line: Some(self.line),
            to: Some(self.to),
            text: Some(self.text),
            voice: self.voice,
            idempotency_key: self.idempotency_key,
            violations: Vec::new(),
        };
        let request = session.client.validate(input).map_err(|e| out.error(&e))?;
        Ok((session, request))
    }
}

fn check(args: CheckArgs) -> Result<(), u8> {
    let out = Output::new(args.json);
    let (session, request) = args.callback.prepare(&args.portal, &out)?;
    let destination = session.client.check(&request).map_err(|e| out.error(&e))?;
    out.destination(&destination);
    Ok(())
}

fn outcome(args: OutcomeArgs) -> Result<(), u8> {
    let out = Output::new(args.json);
    let session = args.portal.connect(&out)?;
    let call_id = args.call_id;
    if let Some(portal) = &session.sandbox
        && portal.call(&call_id).is_none()
    {
        return Err(out.fatal_with(
            "the sandbox has no record of this CALL_ID",
            exit::INVALID_INPUT,
            vec![Problem {
                field: "call_id".into(),
                flag: Some("CALL_ID".into()),
                code: "not_in_sandbox".into(),
                message: "is unknown to the sandbox: its fake portal lives only as long as one \
                          b24-callback run, so a call from another run has no record there"
                    .into(),
                hint: Some(
                    "follow the call with b24-callback start (it follows by default), or run \
                     b24-callback fake-portal and point both runs at it with --webhook-url"
                        .into(),
                ),
            }],
        ));
    }
    out.set_context(Context::Call(call_id.clone()));
    let record = if args.wait == 0 {
        session.client.call_record(&call_id)
    } else {
        follow::wait(
            &session.client,
            &out,
            &call_id,
            Duration::from_secs(args.wait),
            Some(args.heartbeat),
            Instant::now(),
        )
    }
    .map_err(|e| out.error(&e))?;
    out.record(&call_id, record.as_ref());
    unanswered(record.as_ref(), args.fail_unanswered)
}

/// `Err(5)` for a record of a call that ended unanswered, when the user asked for that.
fn unanswered(record: Option<&callback_core::CallRecord>, fail: bool) -> Result<(), u8> {
    match record {
        Some(r) if fail && r.outcome != callback_core::CallOutcome::Answered => {
            Err(exit::UNANSWERED)
        }
        _ => Ok(()),
    }
}

fn start(args: StartArgs) -> Result<(), u8> {
    let out = Output::new(args.json);
    let json = args.json;
    let watch = Watch::install(move |phase| Output::new(json).interrupted(phase));
    let (session, request) = args.callback.prepare(&args.portal, &out)?;
    watch.set(Phase::Starting);
    out.set_context(Context::Start);
    let started = session.client.start_callback(&request);
    let started = match started {
        Ok(started) => started,
        Err(e) => {
            watch.set(Phase::Done);
            return Err(out.error(&e));
        }
    };
    let Some(call_id) = started.call_id.clone() else {
        watch.set(Phase::Done);
        out.started(&request, &started);
        out.note("This line belongs to a telephony REST application: the portal returns no CALL_ID, so the call cannot be followed here.");
        return Ok(());
    };
    watch.set(Phase::Following {
        call_id: call_id.clone(),
        sandbox: session.sandbox.is_some(),
    });
    out.started(&request, &started);
    if args.no_follow {
        watch.set(Phase::Done);
        return Ok(());
    }
    out.set_context(Context::Call(call_id.clone()));
    let record = follow::follow(
        &session,
        &out,
        &request,
        &call_id,
        Duration::from_secs(args.follow_timeout),
        Some(args.heartbeat),
    );
    watch.set(Phase::Done);
    unanswered(record?.as_ref(), args.fail_unanswered)
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every argument and subcommand of `command`, recursively, with nothing to say for itself.
    fn without_help(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let help = arg.get_help().or(arg.get_long_help());
            if help.is_none_or(|h| h.to_string().trim().is_empty()) {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            if sub
                .get_about()
                .is_none_or(|a| a.to_string().trim().is_empty())
            {
                missing.push(name.clone());
            }
            without_help(sub, &name, missing);
        }
    }

    #[test]
    fn every_flag_and_subcommand_has_help() {
        let mut command = super::Cli::command();
        command.build();
        command.clone().debug_assert();
        let mut missing = Vec::new();
        without_help(&command, "b24-callback", &mut missing);
        assert!(missing.is_empty(), "no help text: {missing:?}");
        // The walk did reach the flags (`build` added help and version to every command).
        let start = command.find_subcommand("start").unwrap();
        assert!(start.get_arguments().any(|a| a.get_id() == "help"));
        assert!(start.get_arguments().any(|a| a.get_id() == "json"));
    }

    /// The events `--help` documents are the ones the program prints.
    #[test]
    fn the_help_documents_every_json_event() {
        let help = super::EVENTS_AND_EXIT_CODES;
        for event in [
            "sandbox",
            "started",
            "stage",
            "heartbeat",
            "ended",
            "pending",
            "checked",
            "note",
            "interrupted",
            "error",
        ] {
            assert!(
                help.lines().any(|l| l.trim_start().starts_with(event)),
                "{event} not documented"
            );
        }
        for code in ["0", "2", "3", "4", "5", "130"] {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{code} "))),
                "exit code {code} not documented"
            );
        }
    }
}
