//! Each case's client runs in a child process (this test binary, started again with
//! [`CHILD_ENV`] set): its peak memory is then the kernel's figure for that process alone, and
//! a crash, a stack overflow or a hang cannot take the suite with it.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use callback_core::{Auth, Client, DestinationPolicy, RateLimit};

/// Set in the child: what it should call.
pub const CHILD_ENV: &str = "B24CB_HOSTILE_CHILD";
/// The name of the test that, in the child, runs the client.
pub const CHILD_TEST: &str = "child_process";
const RESULT_PREFIX: &str = "HOSTILE_OUTCOME ";

/// The client's time limits for one case.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub connect: Duration,
    pub timeout: Duration,
    pub deadline: Duration,
}

impl Limits {
    /// Connect 1 s, timeout 2 s, deadline 4 s.
    pub const NORMAL: Limits = Limits {
        connect: Duration::from_secs(1),
        timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(4),
    };
    /// For the trickling servers: timeout 1 s, deadline 2 s.
    pub const SHORT: Limits = Limits {
        connect: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        deadline: Duration::from_secs(2),
    };
}

/// What the child saw and what it cost.
#[derive(Debug)]
pub struct Outcome {
    /// `ok` or the error code.
    pub code: String,
    pub retry_safe: Option<bool>,
    pub http_status: Option<u16>,
    pub description: String,
    /// The time `start_callback` took, measured in the child.
    pub elapsed: Duration,
    /// The child's peak resident set (from `wait4`).
    pub max_rss_bytes: u64,
}

/// Runs one `start_callback` against `webhook` in a child process, trusting `ca_pem` if given.
// The child is reaped by `wait4` below (which also reads its resource usage), not `wait()`.
#[allow(clippy::zombie_processes)]
pub fn run(webhook: &str, ca_pem: Option<&str>, limits: Limits) -> Outcome {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, webhook)
        .env(
            "B24CB_HOSTILE_LIMITS_MS",
            format!(
                "{},{},{}",
                limits.connect.as_millis(),
                limits.timeout.as_millis(),
                limits.deadline.as_millis()
            ),
        )
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(pem) = ca_pem {
        cmd.env("B24CB_HOSTILE_CA", pem);
    }
    let mut child = cmd.spawn().expect("start the child");
    let pid = child.id() as libc::pid_t;
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = out.read_to_string(&mut s);
            s
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        }),
    );
    // Reap it ourselves to read its own resource usage; kill it if it outlives any deadline.
    let allowed = limits.deadline + Duration::from_secs(20);
    let give_up = Instant::now() + allowed;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own child, not reaped yet; the out-pointers are valid.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if rc == pid {
            break;
        }
        assert_eq!(rc, 0, "wait4: {}", std::io::Error::last_os_error());
        if Instant::now() > give_up {
            // SAFETY: signalling our own unreaped child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("the child did not finish within {allowed:?}; killed");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let stdout = readers.0.join().unwrap();
    let stderr = readers.1.join().unwrap();
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed (status {status:#x}):\n{stdout}\n{stderr}"
    );
    // Linux reports kibibytes, macOS bytes.
    let rss_unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let max_rss_bytes = usage.ru_maxrss as u64 * rss_unit;
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(RESULT_PREFIX).map(|(_, r)| r.to_owned()))
        .unwrap_or_else(|| panic!("no outcome from the child:\n{stdout}\n{stderr}"));
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    Outcome {
        code: v["code"].as_str().unwrap().to_owned(),
        retry_safe: v["retry_safe"].as_bool(),
        http_status: v["http_status"].as_u64().map(|s| s as u16),
        description: v["description"].as_str().unwrap_or_default().to_owned(),
        elapsed: Duration::from_millis(v["elapsed_ms"].as_u64().unwrap()),
        max_rss_bytes,
    }
}

/// The child's side: one call, its result on stdout.
pub fn child_main(webhook: &str) {
    let ms: Vec<u64> = std::env::var("B24CB_HOSTILE_LIMITS_MS")
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    let mut builder = Client::builder(Auth::webhook(webhook).unwrap())
        .connect_timeout(Duration::from_millis(ms[0]))
        .timeout(Duration::from_millis(ms[1]))
        .deadline(Duration::from_millis(ms[2]))
        .rate_limit(RateLimit::Off)
        .user_agent_suffix("hostile/1")
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::ZERO,
            number_hourly_cap: 0,
            ..DestinationPolicy::default()
        });
    if let Ok(pem) = std::env::var("B24CB_HOSTILE_CA") {
        builder = builder.add_root_certificate_pem(pem.into_bytes());
    }
    let client = builder.build().unwrap();
    // Validation (and the number metadata it loads) happens before the clock starts.
    let request = client
        .request()
        .from_line("reg1")
        .to_number("+12025550142")
        .text("A visitor asked for a call back")
        .build()
        .unwrap();
    let started = Instant::now();
    let result = client.start_callback(&request);
    let elapsed_ms = started.elapsed().as_millis() as u64;
    let v = match &result {
        Ok(s) => serde_json::json!({
            "code": "ok",
            "call_id": s.call_id,
            "elapsed_ms": elapsed_ms,
        }),
        Err(e) => serde_json::json!({
            "code": e.code().as_str(),
            "retry_safe": e.retry_safe(),
            "http_status": e.http_status(),
            "description": e.description(),
            "elapsed_ms": elapsed_ms,
        }),
    };
    println!("{RESULT_PREFIX}{v}");
}
