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

/// The `error:` lines of a text run's stderr.
fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error")).collect()
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
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "one line for one problem: {stderr}");
    assert!(
        errors[0].contains("Could not find line reg999")
            && errors[0].ends_with("; run b24-callback lines to see the line ids"),
        "{stderr}"
    );
    assert!(!stderr.contains("Bitrix24 said"), "said twice: {stderr}");
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
    let hint = error["hint"].as_str().unwrap();
    assert!(
        hint.contains("do not retry blindly") && hint.contains("call history"),
        "{hint}"
    );
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
    assert!(e["hint"].as_str().unwrap().contains("Redis"), "{e}");
    assert_eq!(portal.ledger().len(), 1);
}

// ---- errors in flag names, one line per problem, with the next step ----

#[test]
fn violations_name_the_flags_one_line_each_with_the_next_step() {
    let out = run(&[
        "start",
        "--line",
        "reg 1",
        "--to",
        "+1 201 555 0123;999",
        "--text",
        " ",
        "--voice",
        "nosuchvoice",
        "--idempotency-key",
        "",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for field in [
        "FROM_LINE",
        "TO_NUMBER",
        "TEXT_TO_PRONOUNCE",
        "VOICE",
        "idempotency_key",
    ] {
        assert!(!stderr.contains(field), "{field} in {stderr}");
    }
    let errors = error_lines(&stderr);
    let starts: Vec<&str> = errors
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        starts,
        ["--line", "--to", "--text", "--voice", "--idempotency-key"],
        "{stderr}"
    );
    let mut unique = errors.clone();
    unique.dedup();
    assert_eq!(unique.len(), errors.len(), "a line repeated: {stderr}");
    assert!(
        errors[0].contains("[whitespace]; run b24-callback lines"),
        "{stderr}"
    );
    assert!(errors[1].contains("[dial_control]"), "{stderr}");
    assert!(
        errors[3].contains("[unknown_voice]; run b24-callback voices"),
        "{stderr}"
    );
    // Every problem is on its error line; the rest is the sandbox notice.
    let others: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with("error") && !l.starts_with("SANDBOX"))
        .collect();
    assert!(others.is_empty(), "extra lines: {others:?}");
}

#[test]
fn a_national_number_says_how_to_give_the_region() {
    let out = run(&[
        "check",
        "--line",
        "reg1",
        "--to",
        "2015550123",
        "--text",
        "Hi",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].starts_with("error: --to has no country code")
            && errors[0].contains("[region_required]; add --region GB")
            && errors[0].contains("write the number with +"),
        "{stderr}"
    );

    let out = run(&[
        "check",
        "--json",
        "--line",
        "reg1",
        "--to",
        "2015550123",
        "--text",
        "Hi",
    ]);
    let error = json_lines(&out).pop().unwrap();
    assert_eq!(error["code"], "invalid_request");
    assert_eq!(
        error["description"],
        "--to has no country code (+...) and no default region is set"
    );
    let v = &error["violations"][0];
    assert_eq!(v["field"], "TO_NUMBER", "the core's field is kept");
    assert_eq!(v["flag"], "--to");
    assert_eq!(v["code"], "region_required");
    assert!(v["hint"].as_str().unwrap().contains("--region"), "{v}");
    // And with the region it passes.
    let (status, ok) = check(&["--to", "2015550123", "--region", "US"], &[]);
    assert_eq!(status, Some(0), "{ok}");
}

#[test]
fn a_refused_destination_names_the_flag_that_allows_it() {
    for (number, code, flag) in [
        ("+227 09 12 34 56", "premium_rate", "--allowed-number-types"),
        (
            "+881 612 345 678",
            "international_network",
            "--allowed-prefixes",
        ),
        ("+1 876 555 0123", "high_risk_region", "--allowed-regions"),
        ("+44 56 1234 5678", "voip", "--allow-costly-numbers"),
    ] {
        let (status, e) = check(&["--to", number], &[]);
        assert_eq!(status, Some(2), "{number}: {e}");
        let v = &e["violations"][0];
        assert_eq!(v["code"], code);
        assert_eq!(v["flag"], "--to");
        assert!(v["hint"].as_str().unwrap().contains(flag), "{number}: {v}");
        assert!(!e.to_string().contains(&number.replace(' ', "")[3..]));
    }
    let (_, e) = check(
        &["--to", "+12015550123", "--blocked-prefixes", "+1201"],
        &[],
    );
    assert!(
        e["violations"][0]["hint"]
            .as_str()
            .unwrap()
            .contains("--blocked-prefixes"),
        "{e}"
    );
}

/// A fake portal of the test's own, started in this process.
fn portal_with(
    change: impl FnOnce(&mut callback_fake_portal::FakePortalConfig),
) -> callback_fake_portal::FakePortal {
    let mut config = callback_fake_portal::FakePortalConfig::default();
    change(&mut config);
    callback_fake_portal::FakePortal::start(config).expect("fake portal starts")
}

#[test]
fn portal_refusals_say_what_to_check() {
    // A wrong secret: what to check in the webhook, and the secret is not printed.
    let portal = portal_with(|_| {});
    let wrong = portal
        .webhook_url()
        .replace("fakewebhooksecret0001", "wrongsecretwrongsecret77");
    assert_ne!(wrong, portal.webhook_url());
    let out = run(&["lines", "--webhook-url", &wrong]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = text(&out.stderr);
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("[auth_failed]") && errors[0].contains("check the webhook address"),
        "{stderr}"
    );
    assert!(!stderr.contains("wrongsecretwrongsecret77"), "{stderr}");

    // A webhook without the call scope.
    let portal = portal_with(|c| c.webhook_scopes = vec!["telephony".into()]);
    let out = run(&[
        "start",
        "--json",
        "--line",
        "reg1",
        "--to",
        "+12015550123",
        "--text",
        "Hi",
        "--webhook-url",
        &portal.webhook_url(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["code"], "insufficient_scope");
    assert!(
        e["hint"].as_str().unwrap().contains("telephony and call"),
        "{e}"
    );

    // The method's time budget used up: when to try again.
    let portal = portal_with(|_| {});
    portal.add_fault(callback_fake_portal::Fault {
        kind: callback_fake_portal::FaultKind::OperationTimeLimit,
        method: Some("voximplant.line.get".into()),
        times: 0,
        host: None,
    });
    let out = run(&[
        "lines",
        "--json",
        "--deadline",
        "2",
        "--webhook-url",
        &portal.webhook_url(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stdout));
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["code"], "operation_time_limit");
    assert!(e["hint"].as_str().unwrap().starts_with("try again"), "{e}");

    // Too many requests, for longer than the deadline: when to try again.
    let portal = portal_with(|_| {});
    portal.add_fault(callback_fake_portal::Fault {
        kind: callback_fake_portal::FaultKind::QueryLimit,
        method: Some("voximplant.line.get".into()),
        times: 0,
        host: None,
    });
    let out = run(&[
        "lines",
        "--deadline",
        "1",
        "--webhook-url",
        &portal.webhook_url(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("[rate_limited]; try again in a few seconds"),
        "{stderr}"
    );
}

// ---- --json for every error, argument errors included ----

#[test]
fn argument_errors_are_json_with_json() {
    let out = run(&["start", "--json", "--line", "reg1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    let events = json_lines(&out);
    assert_eq!(events.len(), 1, "{events:?}");
    let e = &events[0];
    assert_eq!(e["event"], "error");
    assert_eq!(e["code"], "invalid_request");
    assert_eq!(e["retry_safe"], true);
    let pairs: Vec<(&str, &str, &str)> = e["violations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["field"].as_str().unwrap(),
                v["flag"].as_str().unwrap(),
                v["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        pairs,
        [
            ("TO_NUMBER", "--to", "required"),
            ("TEXT_TO_PRONOUNCE", "--text", "required")
        ]
    );
    assert_eq!(e["hint"], "see b24-callback start --help");

    let out = run(&["lines", "--json", "--rate-limit", "fast"]);
    assert_eq!(out.status.code(), Some(2));
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["violations"][0]["flag"], "--rate-limit");
    assert!(
        e["violations"][0]["message"]
            .as_str()
            .unwrap()
            .contains("standard, enterprise, off"),
        "{e}"
    );

    let out = run(&["voices", "--json", "--verbos"]);
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["violations"][0]["code"], "unknown_argument");
    assert_eq!(e["violations"][0]["flag"], "--verbos");
    assert_eq!(e["violations"][0]["hint"], "did you mean --verbose?");

    let out = run(&["outcome", "--json"]);
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["violations"][0]["flag"], "CALL_ID");
    assert_eq!(e["violations"][0]["field"], "call_id");

    let out = run(&["fake-portal", "--json", "--port", "99999"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        json_lines(&out).pop().unwrap()["violations"][0]["flag"],
        "--port"
    );
}

#[test]
fn argument_errors_are_clap_text_without_json() {
    let out = run(&["start", "--line", "reg1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the following required arguments were not provided")
            && stderr.contains("--to <TO>"),
        "{stderr}"
    );
}

/// A number (or a webhook address) typed without its flag is not echoed back.
#[test]
fn an_unexpected_value_is_not_echoed() {
    for json in [false, true] {
        let mut args = vec![
            "start",
            "--line",
            "reg1",
            "--text",
            "Hi",
            "--to",
            "+12015550123",
            "+12015550199",
        ];
        if json {
            args.push("--json");
        }
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2));
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("2015550199"), "{all}");
        assert!(all.contains("unexpected"), "{all}");
    }
}

// ---- heartbeat ----

/// `start --json` against `portal`, with extra arguments; its events and exit code.
fn start_json(
    portal: &callback_fake_portal::FakePortal,
    to: &str,
    extra: &[&str],
) -> (Option<i32>, Vec<serde_json::Value>) {
    let out = cli()
        .args([
            "start", "--json", "--line", "reg1", "--text", "Hello", "--to", to,
        ])
        .args(["--webhook-url", &portal.webhook_url()])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), json_lines(&out))
}

fn kinds(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

#[test]
fn a_heartbeat_while_following_a_real_call() {
    let portal = portal_with(|c| c.stage_duration = std::time::Duration::from_millis(300));
    let (status, events) = start_json(&portal, "+12015550123", &["--heartbeat", "0.25"]);
    assert_eq!(status, Some(0), "{events:?}");
    let names = kinds(&events);
    let beats: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["event"] == "heartbeat")
        .collect();
    assert!(beats.len() >= 3, "{names:?}");
    let first_beat = names.iter().position(|k| *k == "heartbeat").unwrap();
    let ended = names.iter().position(|k| *k == "ended").unwrap();
    assert!(names.iter().position(|k| *k == "started").unwrap() < first_beat);
    assert!(first_beat < ended && ended == names.len() - 1, "{names:?}");
    assert!(
        !names.contains(&"stage"),
        "a real portal has no stages: {names:?}"
    );
    let started = &events[names.iter().position(|k| *k == "started").unwrap()];
    for beat in &beats {
        assert_eq!(beat["call_id"], started["call_id"]);
        assert!(beat["elapsed_seconds"].is_u64());
        assert!(
            beat["description"]
                .as_str()
                .unwrap()
                .contains("still waiting")
        );
    }
    let last = beats.last().unwrap()["elapsed_seconds"].as_u64().unwrap();
    assert!(last >= 1, "the elapsed time grows: {beats:?}");

    // Off with 0.
    let (status, events) = start_json(&portal, "+12015550124", &["--heartbeat", "0"]);
    assert_eq!(status, Some(0));
    assert!(!kinds(&events).contains(&"heartbeat"));

    // In text.
    let out = cli()
        .args([
            "start",
            "--line",
            "reg1",
            "--text",
            "Hello",
            "--to",
            "+12015550125",
        ])
        .args([
            "--webhook-url",
            &portal.webhook_url(),
            "--heartbeat",
            "0.25",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("  still waiting for the call record: "),
        "{stdout}"
    );
    assert!(stdout.contains(" s so far"), "{stdout}");
}

#[test]
fn no_heartbeat_in_the_sandbox_which_shows_stages() {
    let out = cli()
        .env("B24_CALLBACK_SANDBOX_STAGE_MS", "150")
        .args([
            "start",
            "--json",
            "--line",
            "reg1",
            "--to",
            "+12015550123",
            "--text",
            "Hi",
        ])
        .args(["--heartbeat", "0.05"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success());
    let events = json_lines(&out);
    let kinds = kinds(&events);
    assert!(
        kinds.contains(&"stage") && !kinds.contains(&"heartbeat"),
        "{kinds:?}"
    );
}

// ---- --fail-unanswered ----

#[test]
fn fail_unanswered_exits_5_for_a_call_that_was_not_answered() {
    for (number, fail, code) in [
        ("+12015550101", true, 5),  // busy
        ("+12015550102", true, 5),  // no answer
        ("+12015550103", true, 5),  // declined
        ("+12015550105", true, 5),  // invalid number
        ("+12015550123", true, 0),  // answered
        ("+12015550101", false, 0), // busy, but not asked
    ] {
        let mut args = vec![
            "start", "--json", "--line", "reg1", "--text", "Hi", "--to", number,
        ];
        if fail {
            args.push("--fail-unanswered");
        }
        let out = run(&args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{number} {fail}: {}",
            text(&out.stdout)
        );
        assert_eq!(json_lines(&out).pop().unwrap()["event"], "ended");
    }
}

// ---- outcome: the sandbox and a standalone fake portal ----

#[test]
fn outcome_in_the_sandbox_says_why_it_cannot_know_and_what_to_do() {
    let out = run(&[
        "outcome",
        "callback.0123456789abcdef0123456789abcdef.1700000000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    let line = errors[0];
    assert!(
        line.starts_with("error: CALL_ID is unknown to the sandbox"),
        "{line}"
    );
    assert!(
        line.contains("only as long as one b24-callback run"),
        "{line}"
    );
    assert!(
        line.contains("b24-callback start")
            && line.contains("b24-callback fake-portal")
            && line.contains("--webhook-url"),
        "{line}"
    );

    let out = run(&["outcome", "--json", "--wait", "30", "callback.1.2"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "no waiting for what cannot come"
    );
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["code"], "invalid_request");
    assert_eq!(e["violations"][0]["field"], "call_id");
    assert_eq!(e["violations"][0]["flag"], "CALL_ID");
    assert_eq!(e["violations"][0]["code"], "not_in_sandbox");
}

/// `b24-callback fake-portal` as a process of its own: its webhook, and the process (ended
/// when dropped, by closing its stdin).
struct StandalonePortal {
    child: std::process::Child,
    webhook: String,
}

impl StandalonePortal {
    fn start(stage_ms: &str) -> StandalonePortal {
        let mut child = cli()
            .args(["fake-portal", "--json", "--stage-ms", stage_ms])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let info: serde_json::Value = serde_json::from_str(&line).unwrap();
        let webhook = info["webhook_url"].as_str().unwrap().to_owned();
        StandalonePortal { child, webhook }
    }
}

impl Drop for StandalonePortal {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn outcome_from_another_run_works_with_a_standalone_fake_portal() {
    let portal = StandalonePortal::start("200");
    let started = |number: &str| {
        let out = run(&[
            "start",
            "--json",
            "--no-follow",
            "--line",
            "reg1",
            "--text",
            "Hi",
            "--to",
            number,
            "--webhook-url",
            &portal.webhook,
        ]);
        assert!(out.status.success(), "{}", text(&out.stdout));
        let events = json_lines(&out);
        assert_eq!(
            kinds(&events),
            ["started"],
            "no sandbox: a portal was given"
        );
        events[0]["call_id"].as_str().unwrap().to_owned()
    };
    let answered = started("+12015550123");
    let out = run(&[
        "outcome",
        "--json",
        &answered,
        "--wait",
        "20",
        "--fail-unanswered",
        "--webhook-url",
        &portal.webhook,
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let e = json_lines(&out).pop().unwrap();
    assert_eq!(e["event"], "ended");
    assert_eq!(e["call_id"], answered.as_str());
    assert_eq!(e["outcome"], "answered");

    let busy = started("+12015550101");
    let out = run(&[
        "outcome",
        &busy,
        "--wait",
        "20",
        "--fail-unanswered",
        "--webhook-url",
        &portal.webhook,
    ]);
    assert_eq!(out.status.code(), Some(5));
    assert!(
        text(&out.stdout).contains("ended: busy"),
        "{}",
        text(&out.stdout)
    );
}

// ---- Ctrl-C ----

#[cfg(unix)]
fn interrupt(child: &std::process::Child) {
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: kill(2) with a pid of our own child and a valid signal number.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
}

/// Runs `start` with `args`, reads stdout until a line containing `until`, sends SIGINT;
/// returns the exit code, all of stdout and stderr.
#[cfg(unix)]
fn start_then_interrupt(
    args: &[&str],
    env: &[(&str, &str)],
    until: &str,
) -> (Option<i32>, String, String) {
    let mut cmd = cli();
    cmd.arg("start").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert_ne!(
            reader.read_line(&mut line).unwrap(),
            0,
            "ended before {until:?}: {seen}"
        );
        seen.push_str(&line);
        if line.contains(until) {
            break;
        }
    }
    interrupt(&child);
    reader.read_to_string(&mut seen).unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    (status.code(), seen, stderr)
}

#[cfg(unix)]
#[test]
fn ctrl_c_while_following_says_the_call_goes_on_and_how_to_see_its_end() {
    let portal = StandalonePortal::start("700");
    let (code, stdout, stderr) = start_then_interrupt(
        &[
            "--line",
            "reg1",
            "--to",
            "+12015550123",
            "--text",
            "Hi",
            "--webhook-url",
            &portal.webhook,
        ],
        &[],
        "Waiting for the call to end",
    );
    assert_eq!(code, Some(130), "stdout: {stdout}\nstderr: {stderr}");
    let call_id = stdout
        .lines()
        .find_map(|l| l.strip_prefix("Callback started: CALL_ID "))
        .expect("the start was printed")
        .to_owned();
    assert!(
        stderr.contains(&format!(
            "Interrupted: the portal accepted the callback (CALL_ID {call_id}) and the call goes on without this program."
        )),
        "{stderr}"
    );
    let command = format!("b24-callback outcome {call_id} --wait 600");
    assert!(stderr.lines().any(|l| l.trim() == command), "{stderr}");
    assert!(
        !stdout.contains("ended:"),
        "nothing printed after the interruption: {stdout}"
    );

    // The call did go on: the printed command (with the same portal) sees its end.
    let out = run(&[
        "outcome",
        &call_id,
        "--wait",
        "20",
        "--json",
        "--webhook-url",
        &portal.webhook,
    ]);
    assert!(out.status.success(), "{}", text(&out.stdout));
    let ended = json_lines(&out).pop().unwrap();
    assert_eq!(ended["event"], "ended");
    assert_eq!(ended["outcome"], "answered");
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_json_is_an_interrupted_event() {
    let portal = StandalonePortal::start("700");
    let (code, stdout, stderr) = start_then_interrupt(
        &[
            "--json",
            "--line",
            "reg1",
            "--to",
            "+12015550123",
            "--text",
            "Hi",
            "--webhook-url",
            &portal.webhook,
        ],
        &[],
        "\"started\"",
    );
    assert_eq!(code, Some(130), "{stdout} {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
    let events: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = events.last().unwrap();
    assert_eq!(last["event"], "interrupted", "{events:?}");
    let call_id = events[0]["call_id"].as_str().unwrap();
    assert_eq!(last["call_id"], call_id);
    assert_eq!(last["call_goes_on"], true);
    assert_eq!(
        last["outcome_command"],
        format!("b24-callback outcome {call_id} --wait 600")
    );
}

#[cfg(unix)]
#[test]
fn ctrl_c_in_the_sandbox_says_the_simulated_call_ends_with_it() {
    let (code, stdout, stderr) = start_then_interrupt(
        &["--line", "reg1", "--to", "+12015550123", "--text", "Hi"],
        &[("B24_CALLBACK_SANDBOX_STAGE_MS", "3000")],
        "ringing the manager",
    );
    assert_eq!(code, Some(130), "{stdout} {stderr}");
    assert!(
        stderr.contains("Interrupted: the simulated call callback.")
            && stderr.contains("no real call was made"),
        "{stderr}"
    );
    assert!(!stderr.contains("b24-callback outcome"), "{stderr}");
}

/// Ctrl-C while `voximplant.callback.start` is on its way: the call may ring, so say so.
#[cfg(unix)]
#[test]
fn ctrl_c_while_starting_says_the_call_may_ring() {
    let portal = portal_with(|_| {});
    portal.add_fault(callback_fake_portal::Fault {
        kind: callback_fake_portal::FaultKind::Delay(std::time::Duration::from_secs(20)),
        method: Some("voximplant.callback.start".into()),
        times: 1,
        host: None,
    });
    let child = cli()
        .args([
            "start",
            "--json",
            "--line",
            "reg1",
            "--to",
            "+12015550123",
            "--text",
            "Hi",
        ])
        .args(["--webhook-url", &portal.webhook_url()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let began = std::time::Instant::now();
    while portal.stats().rest_requests == 0 {
        assert!(began.elapsed().as_secs() < 15, "the start never arrived");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{}", text(&out.stderr));
    assert!(
        began.elapsed().as_secs() < 15,
        "the interruption did not wait for the portal"
    );
    let events = json_lines(&out);
    assert_eq!(kinds(&events), ["interrupted"]);
    let e = &events[0];
    assert!(e["call_id"].is_null() && e["call_goes_on"].is_null(), "{e}");
    assert!(
        e["description"]
            .as_str()
            .unwrap()
            .contains("may already have reached the portal, so the call may ring"),
        "{e}"
    );
}

// ---- help ----

#[test]
fn help_documents_the_json_events_and_the_exit_codes() {
    for args in [
        &["--help"][..],
        &["start", "--help"],
        &["outcome", "--help"],
    ] {
        let out = run(args);
        assert!(out.status.success());
        let help = text(&out.stdout);
        for event in [
            "sandbox",
            "started",
            "stage",
            "heartbeat",
            "ended",
            "checked",
            "interrupted",
            "error",
        ] {
            assert!(
                help.lines()
                    .any(|l| l.trim_start().starts_with(&format!("{event} "))),
                "{args:?}: {event} missing"
            );
        }
        assert!(
            help.contains("130") && help.contains("--fail-unanswered"),
            "{help}"
        );
    }
    for command in [
        "start",
        "check",
        "lines",
        "voices",
        "outcome",
        "fake-portal",
    ] {
        let out = run(&[command, "--help"]);
        let help = text(&out.stdout);
        let json = help
            .split("--json")
            .nth(1)
            .unwrap_or_else(|| panic!("{command} has --json"));
        let said = json.lines().nth(1).unwrap_or("").trim();
        assert!(said.starts_with("Print"), "{command}: --json help {said:?}");
    }
}
