//! The CLI as a user runs it: a real process, the embedded sandbox, a standalone fake portal.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};

fn cli() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_b24-callback"));
    for var in [
        "BITRIX24_WEBHOOK_URL",
        "BITRIX24_CLIENT_ID",
        "BITRIX24_CLIENT_SECRET",
        "BITRIX24_CLIENT_ENDPOINT",
        "BITRIX24_TOKEN_FILE",
        "BITRIX24_DEFAULT_REGION",
        "BITRIX24_ALLOWED_REGIONS",
        "BITRIX24_BLOCKED_REGIONS",
        "BITRIX24_ALLOWED_PREFIXES",
        "BITRIX24_BLOCKED_PREFIXES",
        "BITRIX24_ALLOWED_NUMBER_TYPES",
        "BITRIX24_ALLOW_COSTLY_NUMBERS",
        "BITRIX24_HIGH_RISK_REGIONS",
        "BITRIX24_NUMBER_COOLDOWN",
        "BITRIX24_NUMBER_HOURLY_CAP",
        "BITRIX24_SHARED_STATE",
        "BITRIX24_SHARED_STATE_PREFIX",
        "RUST_LOG",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("B24_CALLBACK_SANDBOX_STAGE_MS", "20");
    cmd
}

fn run(args: &[&str]) -> Output {
    cli()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l:?} ({e})")))
        .collect()
}

#[test]
fn start_in_the_sandbox_follows_the_call_to_its_end() {
    let out = run(&[
        "start",
        "--line",
        "reg1",
        "--to",
        "+12015550123",
        "--text",
        "A visitor asked for a callback",
    ]);
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("SANDBOX") && stderr.contains("No real call is made"),
        "{stderr}"
    );
    assert!(
        stdout.contains("Callback started: CALL_ID callback."),
        "{stdout}"
    );
    for stage in [
        "ringing the manager",
        "speaking the text",
        "dialling the client",
        "connected",
        "ended: answered",
    ] {
        assert!(stdout.contains(stage), "missing {stage:?} in {stdout}");
    }
    assert!(
        !stdout.contains("2015550123") && !stderr.contains("2015550123"),
        "full number printed"
    );
}

#[test]
fn start_json_reports_each_stage_and_the_outcome() {
    let out = run(&[
        "start",
        "--json",
        "--line",
        "reg1",
        "--to",
        "+12015550101",
        "--text",
        "Busy visitor",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events = json_lines(&out);
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect();
    assert_eq!(kinds.first(), Some(&"sandbox"));
    assert!(
        kinds.contains(&"started") && kinds.contains(&"stage"),
        "{kinds:?}"
    );
    let ended = events.last().unwrap();
    assert_eq!(ended["event"], "ended");
    assert_eq!(ended["outcome"], "busy");
    assert_eq!(ended["failed_code"], "486");
    assert!(!text(&out.stdout).contains("2015550101"));
}

#[test]
fn invalid_input_exits_2_with_every_violation() {
    let out = run(&[
        "start",
        "--json",
        "--line",
        "reg 1",
        "--to",
        "+1 201 555 0123;999",
        "--text",
        " ",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let events = json_lines(&out);
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("an error event");
    assert_eq!(error["code"], "invalid_request");
    assert_eq!(error["retry_safe"], true);
    let fields: Vec<&str> = error["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    for field in ["FROM_LINE", "TO_NUMBER", "TEXT_TO_PRONOUNCE"] {
        assert!(fields.contains(&field), "{field} missing from {fields:?}");
    }
}

#[test]
fn refused_by_the_portal_exits_3() {
    let out = run(&[
        "start",
        "--line",
        "reg999",
        "--to",
        "+12015550123",
        "--text",
        "Hello",
    ]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("line_not_found") && stderr.contains("safe to try again"),
        "{stderr}"
    );
}

#[test]
fn outcome_unknown_exits_4() {
    // The magic number whose callback.start fails inside the portal's telephony controller.
    let out = run(&[
        "start",
        "--json",
        "--line",
        "reg1",
        "--to",
        "+12015550106",
        "--text",
        "Hello",
    ]);
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    let events = json_lines(&out);
    let error = events.iter().find(|e| e["event"] == "error").unwrap();
    assert_eq!(error["code"], "outcome_unknown");
    assert_eq!(error["retry_safe"], false);
}

#[test]
fn lines_and_voices_in_the_sandbox() {
    let out = run(&["lines", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let doc = json_lines(&out).pop().unwrap();
    let ids: Vec<&str> = doc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"reg1"), "{ids:?}");

    let out = run(&["voices"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 42, "{stdout}");
    assert!(stdout.contains("ruinternalfemale"));
}

/// `b24-callback fake-portal --json` prints its addresses, answers a plain HTTP client, and exits
/// when its stdin is closed.
#[test]
fn fake_portal_serves_until_stdin_closes() {
    let mut child = cli()
        .args(["fake-portal", "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    let info: serde_json::Value = serde_json::from_str(&line).unwrap();
    let webhook = info["webhook_url"].as_str().unwrap();
    let rest = webhook.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();

    let body = r#"{"FROM_LINE":"reg1","TO_NUMBER":"+12015550123","TEXT_TO_PRONOUNCE":"Hi"}"#;
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "POST /{path}voximplant.callback.start.json HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        answer.contains(r#""RESULT":true"#) && answer.contains(r#""CALL_ID":"callback."#),
        "{answer}"
    );

    drop(child.stdin.take());
    let status = child.wait().unwrap();
    assert!(status.success());
}

/// Even with every log switched on, neither the webhook secret nor the full number is printed.
#[test]
fn trace_logging_leaks_no_secret_and_no_number() {
    let out = cli()
        .env("RUST_LOG", "trace")
        .args([
            "start",
            "-vv",
            "--no-follow",
            "--line",
            "reg1",
            "--to",
            "+12015550123",
            "--text",
            "Hello",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        all.contains("voximplant.callback.start"),
        "the log should show the call: {all}"
    );
    assert!(
        !all.contains("fakewebhooksecret0001"),
        "secret leaked: {all}"
    );
    assert!(!all.contains("2015550123"), "full number leaked: {all}");
}

/// Without -v or RUST_LOG the CLI prints no log lines at all, only its own output.
#[test]
fn quiet_by_default() {
    let out = run(&["voices"]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("DEBUG") && !stderr.contains("INFO"),
        "unexpected log output: {stderr}"
    );
}

/// OAuth from the command line: an expired access token is refreshed through the token file,
/// which then holds the rotated pair, readable by its owner only, with no temporary file left.
#[test]
fn oauth_token_file_is_rotated_privately() {
    use std::os::unix::fs::PermissionsExt;

    let portal =
        callback_fake_portal::FakePortal::start(Default::default()).expect("fake portal starts");
    let grant = portal.issue_tokens();
    let config = portal.config();
    let dir = std::env::temp_dir().join(format!("b24-cli-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.json");
    std::fs::write(
        &path,
        serde_json::json!({"access_token": grant.access_token, "refresh_token": grant.refresh_token})
            .to_string(),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    portal.expire_access_tokens();

    let out = cli()
        .args(["lines", "--json", "--client-id", &config.oauth_client_id])
        .args(["--client-endpoint", &portal.client_endpoint()])
        .args(["--server-endpoint", &portal.server_endpoint()])
        .arg("--token-file")
        .arg(&path)
        .env("BITRIX24_CLIENT_SECRET", &config.oauth_client_secret)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("reg1"));
    assert_eq!(portal.stats().refreshes, 1);

    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let rotated = saved["refresh_token"].as_str().unwrap();
    assert!(!rotated.is_empty());
    assert_ne!(rotated, grant.refresh_token, "the rotated pair was saved");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the token file holds secrets");
    assert!(!path.with_extension("tmp").exists());
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(!all.contains(&config.oauth_client_secret) && !all.contains(rotated));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A local problem (here an unreadable --ca-file) is reported with a code and exit 2, before any
/// traffic.
#[test]
fn unreadable_ca_file_is_invalid_input() {
    let out = run(&["lines", "--json", "--ca-file", "/nonexistent/ca.pem"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let events = json_lines(&out);
    let error = events
        .iter()
        .find(|e| e["event"] == "error")
        .expect("an error event");
    assert_eq!(error["code"], "invalid_request");
    assert!(error["description"].as_str().unwrap().contains("--ca-file"));
}

/// The last JSON line of `check --json` with these extra arguments (and environment).
fn check(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, serde_json::Value) {
    let mut cmd = cli();
    cmd.args(["check", "--json", "--line", "reg1", "--text", "Hello"]);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.stdin(Stdio::null()).output().expect("the binary runs");
    let last = json_lines(&out).pop().expect("a JSON line");
    (out.status.code(), last)
}

#[test]
fn check_answers_without_sending_and_the_policy_is_safe_by_default() {
    let (status, ok) = check(&["--to", "+12015550123"], &[]);
    assert_eq!(status, Some(0), "{ok}");
    assert_eq!(ok["event"], "checked");
    assert_eq!(ok["region"], "US");
    assert_eq!(ok["number_type"], "fixed_line_or_mobile");
    assert!(!ok.to_string().contains("2015550123"));
    for (number, code) in [
        ("+227 09 12 34 56", "premium_rate"),
        ("+881 612 345 678", "international_network"),
        ("+1 876 555 0123", "high_risk_region"),
        ("+44 56 1234 5678", "voip"),
    ] {
        let (status, e) = check(&["--to", number], &[]);
        assert_eq!(status, Some(2), "{number}: {e}");
        assert_eq!(e["code"], "destination_blocked");
        assert_eq!(e["violations"][0]["code"], code, "{number}");
    }
}

#[test]
fn policy_flags_and_their_environment_variables() {
    let jm = "+1 876 555 0123";
    assert_eq!(
        check(&["--to", jm, "--allowed-regions", "JM,US"], &[]).0,
        Some(0)
    );
    assert_eq!(
        check(&["--to", jm], &[("BITRIX24_HIGH_RISK_REGIONS", "none")]).0,
        Some(0)
    );
    assert_eq!(
        check(&["--to", jm, "--allowed-prefixes", "+1876"], &[]).0,
        Some(0)
    );
    let (status, e) = check(
        &["--to", "+12015550123"],
        &[("BITRIX24_ALLOWED_REGIONS", "GB,DE")],
    );
    assert_eq!(status, Some(2));
    assert_eq!(e["violations"][0]["code"], "region_not_allowed");
    let (_, e) = check(
        &["--to", "+12015550123", "--blocked-prefixes", "+1201"],
        &[],
    );
    assert_eq!(e["violations"][0]["code"], "prefix_blocked");
    assert_eq!(
        check(&["--to", "+227 09 12 34 56", "--allow-costly-numbers"], &[]).0,
        Some(0)
    );
    let voip = [
        "--to",
        "+44 56 1234 5678",
        "--allowed-number-types",
        "mobile,voip",
    ];
    assert_eq!(check(&voip, &[]).0, Some(0));
    // Bad values name the flag.
    let (status, e) = check(
        &[
            "--to",
            "+12015550123",
            "--allowed-regions",
            "XX",
            "--blocked-prefixes",
            "44",
        ],
        &[],
    );
    assert_eq!(status, Some(2));
    let fields: Vec<&str> = e["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["--allowed-regions", "--blocked-prefixes"], "{e}");
}

#[test]
fn runs_sharing_redis_share_an_idempotency_key() {
    use callback_fake_portal::redis_server::RedisServer;
    use callback_fake_portal::{FakePortal, FakePortalConfig};

    let redis = RedisServer::start();
    let portal = FakePortal::start(FakePortalConfig::default()).unwrap();
    let runs: Vec<_> = (0..5)
        .map(|_| {
            cli()
                .args(["start", "--json", "--no-follow", "--line", "reg1"])
                .args(["--to", "+12015550140", "--text", "Hello"])
                .args(["--idempotency-key", "job-77", "--webhook-url"])
                .arg(portal.webhook_url())
                .env("BITRIX24_SHARED_STATE", redis.url())
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fresh = 0;
    for run in runs {
        let out = run.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
        let started = json_lines(&out)
            .into_iter()
            .find(|e| e["event"] == "started")
            .expect("started");
        if started["deduplicated"] == false {
            fresh += 1;
        }
    }
    assert_eq!(
        fresh, 1,
        "one run started the call, the others got its answer"
    );
    assert_eq!(portal.ledger().len(), 1);
    // Without Redis the same key would start again: the state really was shared.
    let out = cli()
        .args(["start", "--json", "--no-follow", "--line", "reg1"])
        .args([
            "--to",
            "+12015550141",
            "--text",
            "Hello",
            "--idempotency-key",
            "job-78",
        ])
        .args(["--webhook-url", &portal.webhook_url()])
        .args(["--shared-state", "redis://127.0.0.1:1/0"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "refused, nothing sent");
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["code"], "shared_state_unavailable");
    assert_eq!(portal.ledger().len(), 1);
}
