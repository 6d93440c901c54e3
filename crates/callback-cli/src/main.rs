//! `b24-callback`: start Bitrix24 callbacks from the command line, list lines and voices, follow a
//! call to its outcome, or run the fake portal.

mod follow;
mod output;
mod portal_args;
mod sandbox;

use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use crate::output::Output;
use crate::portal_args::{PolicyArgs, PortalArgs};

/// Start Bitrix24 telephony callbacks (voximplant.callback.start) safely.
///
/// Without BITRIX24_WEBHOOK_URL (or OAuth settings) every command runs against an embedded
/// fake portal: a sandbox in which no real call is made.
#[derive(Parser)]
#[command(name = "b24-callback", version, about, long_about)]
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
    Start(StartArgs),
    /// Check a callback against validation and the destination policy without sending anything.
    Check(CheckArgs),
    /// List the lines usable as --line (voximplant.line.get).
    Lines {
        #[command(flatten)]
        portal: PortalArgs,
        /// One JSON document on stdout instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the text-to-speech voices (voximplant.tts.voices.get).
    Voices {
        #[command(flatten)]
        portal: PortalArgs,
        #[arg(long)]
        json: bool,
    },
    /// Show what became of a call (voximplant.statistic.get), waiting for it to end.
    Outcome {
        /// The CALL_ID printed by `start`.
        call_id: String,
        /// How long to wait for the record to appear, in seconds (0: look once).
        #[arg(long, default_value_t = 0)]
        wait: u64,
        #[command(flatten)]
        portal: PortalArgs,
        #[arg(long)]
        json: bool,
    },
    /// Run the fake Bitrix24 portal on loopback until stopped (Ctrl-C or stdin closed).
    FakePortal(sandbox::FakePortalArgs),
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
    /// One JSON line on stdout instead of text.
    #[arg(long)]
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
    /// JSON lines on stdout instead of text.
    #[arg(long)]
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
    let cli = Cli::parse();
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
        Command::Outcome {
            call_id,
            wait,
            portal,
            json,
        } => {
            let out = Output::new(json);
            let session = portal.connect(&out)?;
            let record = if wait == 0 {
                session.client.call_record(&call_id)
            } else {
                session
                    .client
                    .wait_for_outcome(&call_id, Duration::from_secs(wait))
            }
            .map_err(|e| out.error(&e))?;
            out.record(&call_id, record.as_ref());
            Ok(())
        }
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

fn start(args: StartArgs) -> Result<(), u8> {
    let out = Output::new(args.json);
    let (session, request) = args.callback.prepare(&args.portal, &out)?;
    let started = session
        .client
        .start_callback(&request)
        .map_err(|e| out.error(&e))?;
    out.started(&request, &started);
    let Some(call_id) = started.call_id.clone() else {
        out.note("This line belongs to a telephony REST application: the portal returns no CALL_ID, so the call cannot be followed here.");
        return Ok(());
    };
    if args.no_follow {
        return Ok(());
    }
    follow::follow(
        &session,
        &out,
        &request,
        &call_id,
        Duration::from_secs(args.follow_timeout),
    )
}
