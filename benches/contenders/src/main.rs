//! `b24-bench`: the Rust contenders that `benches/run` starts, each as a fresh process that
//! does its work and prints one line of JSON on stdout (errors on stderr, exit code 1).
//!
//! ```text
//! b24-bench seq --client floor|ureq|ureq-timeout|core --url WEBHOOK --calls N [--warmup N]
//!     [--ca PEM_FILE] [--limiter off|BURST,PER_SECOND] [--shared-state URL] [--prefix P]
//!     [--policy off|default] [--numbers same|distinct]
//! b24-bench conc --url WEBHOOK --threads T --calls N_PER_THREAD
//! b24-bench paced --url WEBHOOK --calls N --burst B --drain D [--shared-state URL]
//!     [--prefix P] [--start-at UNIX_MS]
//! b24-bench validate --vectors tests/vectors/numbers.json [--rounds R]
//! b24-bench delay --queue Q --ms MS      (root, inside a network namespace: see delay.rs)
//! ```
//!
//! `WEBHOOK` is an incoming-webhook address (`http://127.0.0.1:PORT/rest/1/SECRET/`). Every
//! contender sends the same `voximplant.callback.start` POST with a JSON body over a
//! keep-alive connection; `core` goes through the public API (`Client::request()...build()`
//! then `start_callback`, validation included), with the per-number cooldown and hourly cap
//! off and no client-side pacing unless asked for.

mod delay;
mod floor;
mod measure;

use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use callback_core::{Auth, CallbackRequest, Client, DestinationPolicy, RateLimit};
use serde_json::{Value, json};

use crate::measure::{Run, rss_kib, unix_ms};

const LINE: &str = "reg1";
/// A fictional NANP number the fake portal answers (outside its magic 555-010x numbers).
const NUMBER: &str = "+12015550123";
const TEXT: &str = "A visitor asked for a call back";
const METHOD: &str = "voximplant.callback.start";

type Failure = Box<dyn std::error::Error>;

struct Args(HashMap<String, String>);

impl Args {
    fn parse(raw: &[String]) -> Result<Args, Failure> {
        let mut map = HashMap::new();
        let mut it = raw.iter();
        while let Some(key) = it.next() {
            let name = key
                .strip_prefix("--")
                .ok_or_else(|| format!("expected --NAME VALUE, got {key}"))?;
            let value = it.next().ok_or_else(|| format!("--{name} needs a value"))?;
            map.insert(name.to_owned(), value.clone());
        }
        Ok(Args(map))
    }
    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
    fn req(&self, name: &str) -> Result<&str, Failure> {
        self.get(name)
            .ok_or_else(|| format!("--{name} is required").into())
    }
    fn num<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, Failure> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("--{name}: not a number: {v}").into()),
        }
    }
}

fn main() -> ExitCode {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = raw.split_first() else {
        eprintln!("usage: b24-bench seq|conc|paced|validate|delay --NAME VALUE ...");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|args| match command.as_str() {
        "seq" => seq(&args),
        "conc" => conc(&args),
        "paced" => paced(&args),
        "validate" => validate(&args),
        "delay" => delay::run(
            args.num("queue", 0)?,
            Duration::from_secs_f64(args.num::<f64>("ms", 20.0)? / 1000.0),
        )
        .map(|released| json!({ "released": released }))
        .map_err(Into::into),
        other => Err(format!("unknown command {other}").into()),
    });
    match result {
        Ok(out) => {
            println!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("b24-bench {command}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn method_url(webhook: &str) -> String {
    format!("{}/{METHOD}", webhook.trim_end_matches('/'))
}

fn wire_body(number: &str) -> String {
    format!(r#"{{"FROM_LINE":"{LINE}","TO_NUMBER":"{number}","TEXT_TO_PRONOUNCE":"{TEXT}"}}"#)
}

/// The `i`-th number of a run: always [`NUMBER`], or distinct valid fictional numbers.
fn number(distinct: bool, i: usize) -> String {
    if distinct {
        format!("+1201555{:04}", 1000 + i % 9000)
    } else {
        NUMBER.to_owned()
    }
}

/// A key prefix no other process uses, so that Redis state from earlier runs never counts.
fn unique_prefix() -> String {
    format!("b24bench:{}:{}:", std::process::id(), unix_ms() as u64)
}

/// callback-core's client as the benchmark configures it.
fn core_client(args: &Args) -> Result<Client, Failure> {
    let limiter = match args.get("limiter").unwrap_or("off") {
        "off" => RateLimit::Off,
        spec => {
            let (b, r) = spec
                .split_once(',')
                .ok_or("--limiter is off or BURST,PER_SECOND")?;
            RateLimit::Custom {
                burst: b.parse()?,
                per_second: r.parse()?,
            }
        }
    };
    let mut policy = DestinationPolicy::default();
    if args.get("policy").unwrap_or("off") == "off" {
        policy.number_cooldown = Duration::ZERO;
        policy.number_hourly_cap = 0;
    }
    let mut builder = Client::builder(Auth::webhook(args.req("url")?)?)
        .rate_limit(limiter)
        .destination_policy(policy)
        .timeout(Duration::from_secs(30))
        .deadline(Duration::from_secs(120));
    if let Some(ca) = args.get("ca") {
        builder = builder.add_root_certificate_pem(std::fs::read(ca)?);
    }
    if let Some(url) = args.get("shared-state") {
        builder = builder
            .shared_state(url)
            .shared_state_prefix(args.get("prefix").map_or_else(unique_prefix, str::to_owned));
    }
    Ok(builder.build()?)
}

fn core_call(client: &Client, to: &str) -> Result<(), callback_core::Error> {
    let request: CallbackRequest = client
        .request()
        .from_line(LINE)
        .to_number(to)
        .text(TEXT)
        .build()?;
    client.start_callback(&request).map(|_| ())
}

fn ureq_agent(args: &Args, with_timeout: bool) -> Result<ureq::Agent, Failure> {
    let mut config = ureq::Agent::config_builder();
    if with_timeout {
        config = config.timeout_global(Some(Duration::from_secs(30)));
    }
    if let Some(ca) = args.get("ca") {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let cert = Certificate::from_pem(&std::fs::read(ca)?)?;
        config = config.tls_config(
            TlsConfig::builder()
                .root_certs(RootCerts::Specific(Arc::new(vec![cert])))
                .build(),
        );
    }
    Ok(config.build().into())
}

/// What a hand-written ureq client does: a JSON body, the answer parsed, `result` looked for.
fn ureq_call(agent: &ureq::Agent, url: &str, to: &str) -> Result<(), Failure> {
    let body = serde_json::to_string(&json!({
        "FROM_LINE": LINE,
        "TO_NUMBER": to,
        "TEXT_TO_PRONOUNCE": TEXT,
    }))?;
    let mut response = agent
        .post(url)
        .header("Content-Type", "application/json")
        .send(body.as_bytes())?;
    let answer: Value = serde_json::from_str(&response.body_mut().read_to_string()?)?;
    if answer.get("result").is_none() {
        return Err(format!("no result in {answer}").into());
    }
    Ok(())
}

/// N sequential calls by one contender, after `warmup` untimed ones (connection, metadata).
fn seq(args: &Args) -> Result<Value, Failure> {
    let client_name = args.req("client")?.to_owned();
    let url = args.req("url")?;
    let calls: usize = args.num("calls", 1000)?;
    let warmup: usize = args.num("warmup", 1)?;
    let distinct = args.get("numbers") == Some("distinct");
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let mut note = |e: String| *errors.entry(e).or_default() += 1;
    // The first (untimed) call: connection, handshake, validation metadata.
    let mut first: Option<Duration> = None;

    let summary = match client_name.as_str() {
        "floor" => {
            let t0 = Instant::now();
            let mut floor = floor::Floor::connect(&method_url(url))?;
            for i in 0..warmup {
                floor.post(&wire_body(&number(distinct, i)))?;
                first.get_or_insert(t0.elapsed());
            }
            let mut run = Run::start(calls);
            for i in 0..calls {
                let status = run.time(|| floor.post(&wire_body(&number(distinct, warmup + i))))?;
                if status != 200 {
                    note(format!("http_{status}"));
                }
            }
            run.finish(calls)
        }
        "ureq" | "ureq-timeout" => {
            let agent = ureq_agent(args, client_name == "ureq-timeout")?;
            let url = method_url(url);
            for i in 0..warmup {
                let t0 = Instant::now();
                ureq_call(&agent, &url, &number(distinct, i))?;
                first.get_or_insert(t0.elapsed());
            }
            let mut run = Run::start(calls);
            for i in 0..calls {
                if let Err(e) = run.time(|| ureq_call(&agent, &url, &number(distinct, warmup + i)))
                {
                    note(e.to_string());
                }
            }
            run.finish(calls)
        }
        "core" => {
            let client = core_client(args)?;
            for i in 0..warmup {
                let t0 = Instant::now();
                core_call(&client, &number(distinct, i))?;
                first.get_or_insert(t0.elapsed());
            }
            let mut run = Run::start(calls);
            for i in 0..calls {
                if let Err(e) = run.time(|| core_call(&client, &number(distinct, warmup + i))) {
                    note(e.code().as_str().to_owned());
                }
            }
            run.finish(calls)
        }
        other => return Err(format!("unknown --client {other}").into()),
    };
    let mut out = summary;
    out["client"] = json!(client_name);
    out["errors"] = json!(errors);
    out["first_us"] = json!(first.map_or(0.0, |d| d.as_secs_f64() * 1e6));
    Ok(out)
}

/// T threads sharing one callback-core client, N calls each, all started at once.
fn conc(args: &Args) -> Result<Value, Failure> {
    let threads: usize = args.num("threads", 4)?;
    let per_thread: usize = args.num("calls", 200)?;
    let client = core_client(args)?;
    core_call(&client, NUMBER)?;
    let barrier = Barrier::new(threads + 1);
    let (started, cpu0, results) = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let client = &client;
                let barrier = &barrier;
                scope.spawn(move || {
                    let mut samples = Vec::with_capacity(per_thread);
                    let mut errors = 0u64;
                    barrier.wait();
                    for _ in 0..per_thread {
                        let t0 = Instant::now();
                        if core_call(client, NUMBER).is_err() {
                            errors += 1;
                        }
                        samples.push(t0.elapsed());
                    }
                    (samples, errors)
                })
            })
            .collect();
        let cpu0 = measure::process_cpu();
        let started = Instant::now();
        barrier.wait();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a benchmark thread panicked"))
            .collect();
        (started, cpu0, results)
    });
    let wall = started.elapsed();
    let cpu = measure::process_cpu().saturating_sub(cpu0);
    let total = threads * per_thread;
    let errors: u64 = results.iter().map(|(_, e)| e).sum();
    let mut all: Vec<Duration> = results.into_iter().flat_map(|(s, _)| s).collect();
    all.sort();
    let us = |d: Duration| d.as_secs_f64() * 1e6;
    let pick = |p: f64| us(all[((p * all.len() as f64) as usize).min(all.len() - 1)]);
    Ok(json!({
        "client": "core",
        "threads": threads,
        "calls": total,
        "wall_s": wall.as_secs_f64(),
        "calls_per_s": total as f64 / wall.as_secs_f64(),
        "p50_us": pick(0.5),
        "p99_us": pick(0.99),
        "cpu_us_per_call": us(cpu) / total as f64,
        "errors": errors,
    }))
}

/// N sequential calls paced by the client's bucket; with --shared-state, several processes
/// share it through Redis. Reports the wall-clock start and end so runs can be lined up.
fn paced(args: &Args) -> Result<Value, Failure> {
    let calls: usize = args.num("calls", 300)?;
    let burst: u32 = args.num("burst", 20)?;
    let drain: f64 = args.num("drain", 10.0)?;
    let mut options = HashMap::new();
    options.insert("url".to_owned(), args.req("url")?.to_owned());
    options.insert("limiter".to_owned(), format!("{burst},{drain}"));
    for key in ["shared-state", "prefix", "ca"] {
        if let Some(v) = args.get(key) {
            options.insert(key.to_owned(), v.to_owned());
        }
    }
    let client = core_client(&Args(options))?;
    // Validation metadata loaded before the clock starts (a long-running server has it).
    callback_core::warm_up();
    if let Some(at) = args.get("start-at") {
        let wait_ms = at.parse::<f64>()? - unix_ms();
        if wait_ms > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait_ms / 1000.0));
        }
    }
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    let start_ms = unix_ms();
    let mut run = Run::start(calls);
    let mut ok = 0u64;
    for _ in 0..calls {
        match run.time(|| core_call(&client, NUMBER)) {
            Ok(()) => ok += 1,
            Err(e) => *errors.entry(e.code().as_str().to_owned()).or_default() += 1,
        }
    }
    let end_ms = unix_ms();
    let mut out = run.finish(calls);
    out["client"] = json!("core");
    out["ok"] = json!(ok);
    out["errors"] = json!(errors);
    out["start_ms"] = json!(start_ms);
    out["end_ms"] = json!(end_ms);
    Ok(out)
}

/// Regions of the "working set" mix: fewer calling codes than the core keeps compiled
/// (`WORKING_SET_CALLING_CODES`), as a business calling a few countries sees.
const WORKING_SET_REGIONS: [&str; 16] = [
    "US", "CA", "GB", "DE", "FR", "IT", "ES", "PL", "NL", "BR", "MX", "IN", "TR", "UA", "KZ", "AU",
];

/// Phone validation cost: one US number again and again, the example numbers of a few regions
/// ([`WORKING_SET_REGIONS`]), then every region's (`examples` of tests/vectors/numbers.json);
/// resident memory before, after the first number, after the few regions and after all.
fn validate(args: &Args) -> Result<Value, Failure> {
    let rss_start = rss_kib().0;
    let vectors: Value = serde_json::from_str(&std::fs::read_to_string(args.req("vectors")?)?)?;
    let all = vectors["examples"]
        .as_array()
        .ok_or("no examples in the vectors file")?;
    let pick = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        all.iter()
            .filter(|e| keep(e["region"].as_str().unwrap_or("")))
            .filter_map(|e| e["input"].as_str().map(str::to_owned))
            .collect()
    };
    let examples = pick(&|_| true);
    let working_set = pick(&|r| WORKING_SET_REGIONS.contains(&r));
    let rounds: usize = args.num("rounds", 5)?;
    let build = |to: &str| {
        CallbackRequest::builder()
            .from_line(LINE)
            .to_number(to)
            .text(TEXT)
            .build()
    };
    let rss_before_first = rss_kib().0;
    let t0 = Instant::now();
    build(NUMBER)?;
    let first_us = t0.elapsed().as_secs_f64() * 1e6;
    let rss_after_us = rss_kib().0;

    let us_iterations = 2000 * rounds.max(1);
    let t0 = Instant::now();
    for _ in 0..us_iterations {
        build(NUMBER)?;
    }
    let us_per_number = t0.elapsed().as_secs_f64() * 1e6 / us_iterations as f64;

    // Each set's first pass is timed on its own (a region's patterns are compiled the first
    // time one of its numbers is seen), then its warm passes.
    let mut refused = 0usize;
    let mut passes = |set: &[String]| {
        let t0 = Instant::now();
        for n in set {
            if build(n).is_err() {
                refused += 1;
            }
        }
        let first = t0.elapsed().as_secs_f64() * 1e6 / set.len().max(1) as f64;
        let rss = rss_kib().0;
        let t0 = Instant::now();
        for _ in 0..rounds {
            for n in set {
                let _ = build(n);
            }
        }
        // No warm pass at all (--rounds 0, the smoke run) reports none.
        let warm = (rounds > 0)
            .then(|| t0.elapsed().as_secs_f64() * 1e6 / (rounds * set.len()).max(1) as f64);
        (first, warm, rss)
    };
    let (ws_first, ws_warm, rss_after_ws) = passes(&working_set);
    let (mixed_first, mixed_warm, rss_after_all) = passes(&examples);
    let (rss_end, hwm) = rss_kib();
    Ok(json!({
        "client": "core",
        "numbers": examples.len(),
        "working_set_numbers": working_set.len(),
        "refused": refused,
        "first_number_us": first_us,
        "us_number_us": us_per_number,
        "ws_first_pass_us": ws_first,
        "ws_us": ws_warm,
        "rss_after_ws_kib": rss_after_ws,
        "mixed_first_pass_us": mixed_first,
        "mixed_us": mixed_warm,
        "rss_start_kib": rss_start,
        "rss_before_first_kib": rss_before_first,
        "rss_after_us_kib": rss_after_us,
        "rss_after_all_kib": rss_after_all,
        "rss_end_kib": rss_end,
        "hwm_kib": hwm,
    }))
}
