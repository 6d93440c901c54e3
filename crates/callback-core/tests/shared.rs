//! Shared state on a real `redis-server`: many clients and many processes, one portal. Every
//! promise (one call per key, one call per number within the cooldown, one bucket, one OAuth
//! refresh) must hold across them, and an unreachable Redis must refuse before anything is sent.

mod common;

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use callback_core::{
    Auth, CallbackRequest, Client, ClientBuilder, DestinationPolicy, ErrorCode, RateLimit,
};
use callback_fake_portal::redis_server::RedisServer;
use callback_fake_portal::{FakePortal, Fault, FaultKind};
use common::*;

fn shared(p: &FakePortal, redis: &RedisServer) -> ClientBuilder {
    webhook_builder(p)
        .shared_state(redis.url())
        .destination_policy(DestinationPolicy::default())
}

fn keyed(number: &str, key: &str) -> CallbackRequest {
    CallbackRequest::builder()
        .from_line("reg1")
        .to_number(number)
        .text("A visitor asked for a call back")
        .idempotency_key(key)
        .build()
        .unwrap()
}

/// Runs `f(client index, thread index)` on `threads` threads of each client, all released at
/// once; returns every result.
fn at_once<T: Send + 'static>(
    clients: &[Client],
    threads: usize,
    f: impl Fn(&Client, usize, usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(clients.len() * threads));
    let handles: Vec<_> = clients
        .iter()
        .enumerate()
        .flat_map(|(ci, c)| {
            (0..threads).map({
                let (f, barrier) = (f.clone(), barrier.clone());
                move |ti| {
                    let (c, f, barrier) = (c.clone(), f.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        f(&c, ci, ti)
                    })
                }
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

fn separate_clients(p: &FakePortal, redis: &RedisServer, n: usize) -> Vec<Client> {
    (0..n).map(|_| shared(p, redis).build().unwrap()).collect()
}

#[test]
fn one_key_places_one_call_across_clients() {
    let redis = RedisServer::start();
    let p = portal();
    let clients = separate_clients(&p, &redis, 4);
    let results = at_once(&clients, 8, |c, _, _| {
        c.start_callback(&keyed("+12015550120", "form-1"))
    });
    let fresh: Vec<_> = results
        .iter()
        .map(|r| r.as_ref().expect("started or replayed"))
        .filter(|s| !s.deduplicated)
        .collect();
    assert_eq!(fresh.len(), 1, "exactly one start was new");
    assert_eq!(p.ledger().len(), 1, "exactly one call placed");
    let id = fresh[0].call_id.clone();
    assert!(results.iter().all(|r| r.as_ref().unwrap().call_id == id));
}

#[test]
fn one_number_places_one_call_across_clients() {
    let redis = RedisServer::start();
    let p = portal();
    let clients = separate_clients(&p, &redis, 4);
    let results = at_once(&clients, 8, |c, ci, ti| {
        c.start_callback(&keyed("+12015550121", &format!("form-{ci}-{ti}")))
    });
    let ok = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(ok, 1, "one call");
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(r.code(), ErrorCode::DestinationBlocked, "{r}");
        assert_eq!(r.violations()[0].code, "cooldown");
    }
    assert_eq!(p.ledger().len(), 1);
    // And every client sees the cooldown now.
    for c in &clients {
        let e = c.check(&request("+12015550121")).unwrap_err();
        assert_eq!(e.violations()[0].code, "cooldown");
    }
}

#[test]
fn one_bucket_paces_every_client() {
    let redis = RedisServer::start();
    let p = portal_with(|c| {
        c.burst = 10;
        c.drain_per_second = 10.0;
    });
    let rate = RateLimit::Custom {
        burst: 10,
        per_second: 10.0,
    };
    let clients: Vec<_> = (0..4)
        .map(|_| {
            shared(&p, &redis)
                .rate_limit(rate)
                .deadline(Duration::from_secs(20))
                .destination_policy(DestinationPolicy {
                    number_cooldown: Duration::ZERO,
                    number_hourly_cap: 0,
                    ..DestinationPolicy::default()
                })
                .build()
                .unwrap()
        })
        .collect();
    let started = Instant::now();
    let results = at_once(&clients, 8, |c, ci, ti| {
        c.start_callback(&request(&number(100 + ci * 8 + ti)))
    });
    let elapsed = started.elapsed();
    for r in &results {
        assert_eq!(r.as_ref().expect("paced, not refused").timing.attempts, 1);
    }
    assert_eq!(
        p.stats().rate_limited,
        0,
        "the portal never saw its bucket overflow"
    );
    assert_eq!(p.ledger().len(), 32);
    // 8 go at once (two of the 10 slots are kept free), the other 24 one per 1/(10 * 0.98) s.
    let floor = Duration::from_secs_f64(24.0 / (10.0 * 0.98));
    assert!(elapsed >= floor.mul_f64(0.95), "{elapsed:?} < {floor:?}");
}

#[test]
fn one_oauth_refresh_across_clients() {
    let redis = RedisServer::start();
    let p = portal();
    let config = oauth_config(&p);
    let clients: Vec<_> = (0..4)
        .map(|_| {
            fast(Client::builder(Auth::oauth(config.clone()).unwrap()))
                .shared_state(redis.url())
                .build()
                .unwrap()
        })
        .collect();
    // Every client has used (and shared) the pair before it expires.
    for (i, c) in clients.iter().enumerate() {
        c.start_callback(&request(&number(200 + i))).unwrap();
    }
    p.expire_access_tokens();
    let results = at_once(&clients, 8, |c, ci, ti| {
        c.start_callback(&request(&number(210 + ci * 8 + ti)))
    });
    for r in &results {
        r.as_ref().expect("every call succeeds after one refresh");
    }
    assert_eq!(p.stats().refreshes, 1, "exactly one refresh at the portal");
    assert_eq!(p.ledger().len(), 4 + 32);
}

/// A process that was idle while another refreshed finds, after the next expiry, a shared pair
/// that has expired too. Taking that pair is not the refresh the call needed: the call refreshes
/// once more (the pair in force is the one it just adopted) and goes ahead, instead of failing
/// with `auth_failed`.
#[test]
fn an_adopted_pair_that_expired_too_is_refreshed() {
    let redis = RedisServer::start();
    let p = portal();
    let config = oauth_config(&p);
    let client = || {
        fast(Client::builder(Auth::oauth(config.clone()).unwrap()))
            .shared_state(redis.url())
            .build()
            .unwrap()
    };
    let (busy, idle) = (client(), client());
    busy.start_callback(&request(&number(250))).unwrap();
    idle.start_callback(&request(&number(251))).unwrap();
    p.expire_access_tokens();
    // The busy process refreshes and publishes; the idle one still holds the first pair.
    busy.start_callback(&request(&number(252))).unwrap();
    assert_eq!(p.stats().refreshes, 1);
    p.expire_access_tokens();
    let s = idle
        .start_callback(&request(&number(253)))
        .expect("the stale shared pair is refreshed, not reported as auth_failed");
    assert_eq!(
        s.timing.attempts, 3,
        "first pair, adopted pair, refreshed pair"
    );
    assert_eq!(p.stats().refreshes, 2);
    assert_eq!(p.ledger().len(), 4);
}

#[test]
fn two_portals_never_share_state() {
    let redis = RedisServer::start();
    let (p1, p2) = (portal(), portal());
    let c1 = shared(&p1, &redis).build().unwrap();
    let c2 = shared(&p2, &redis).build().unwrap();
    c1.start_callback(&keyed("+12015550122", "form-9")).unwrap();
    let s = c2.start_callback(&keyed("+12015550122", "form-9")).unwrap();
    assert!(!s.deduplicated);
    assert_eq!((p1.ledger().len(), p2.ledger().len()), (1, 1));
}

#[test]
fn an_unreachable_redis_refuses_before_sending_then_service_resumes() {
    let mut redis = RedisServer::start();
    let p = portal();
    let c = shared(&p, &redis)
        .rate_limit(RateLimit::Standard)
        .build()
        .unwrap();
    c.start_callback(&keyed("+12015550123", "form-a")).unwrap();
    redis.stop();
    let requests_before = p.requests().len();
    for r in [
        c.start_callback(&keyed("+12015550124", "form-b")),
        c.start_callback(&request("+12015550125")),
        c.start_callback(&keyed("+12015550123", "form-a")),
    ] {
        let e = r.unwrap_err();
        assert_eq!(e.code(), ErrorCode::SharedStateUnavailable, "{e}");
        assert!(e.retry_safe());
        assert!(e.description().contains("nothing was sent"), "{e}");
    }
    let e = c.lines().unwrap_err();
    assert_eq!(e.code(), ErrorCode::SharedStateUnavailable);
    assert_eq!(
        p.requests().len(),
        requests_before,
        "nothing reached the portal"
    );
    redis.resume();
    let again = c.start_callback(&keyed("+12015550123", "form-a")).unwrap();
    assert!(
        again.deduplicated,
        "the key written before the outage is still known"
    );
    c.start_callback(&keyed("+12015550124", "form-b")).unwrap();
    assert_eq!(p.ledger().len(), 2);
}

#[test]
fn a_call_placed_while_redis_goes_away_is_recorded_when_it_returns() {
    let mut redis = RedisServer::start();
    let p = portal();
    let slow = Fault::once(
        FaultKind::Delay(Duration::from_millis(800)),
        Some("voximplant.callback.start"),
    );
    p.add_fault(slow);
    let a = shared(&p, &redis).build().unwrap();
    let b = shared(&p, &redis)
        .deadline(Duration::from_millis(1500))
        .build()
        .unwrap();
    let req = keyed("+12015550126", "form-c");
    let first = std::thread::spawn({
        let (a, req) = (a.clone(), req.clone());
        move || a.start_callback(&req)
    });
    std::thread::sleep(Duration::from_millis(300));
    redis.stop();
    let started = first.join().unwrap().expect("the call went through");
    assert_eq!(p.ledger().len(), 1);
    // Meanwhile nobody can start anything, with this key or any other.
    let e = b.start_callback(&req).unwrap_err();
    assert_eq!(e.code(), ErrorCode::SharedStateUnavailable);
    redis.resume();
    // Redis still holds the key as in flight (its result is only in `a`'s memory): `b` waits
    // and gives up without calling again.
    let e = b.start_callback(&req).unwrap_err();
    assert_eq!(e.code(), ErrorCode::OutcomeUnknown, "{e}");
    assert_eq!(p.ledger().len(), 1, "never a second call");
    // `a`'s next decision writes what it kept; from then on everybody sees the first answer.
    a.check(&request("+12015550127")).unwrap();
    let replay = b.start_callback(&req).unwrap();
    assert!(replay.deduplicated);
    assert_eq!(replay.call_id, started.call_id);
    let e = b.check(&request("+12015550126")).unwrap_err();
    assert_eq!(
        e.violations()[0].code,
        "cooldown",
        "the number's call was recorded too"
    );
    assert_eq!(p.ledger().len(), 1);
}

#[test]
fn bad_shared_state_urls_are_refused_without_echoing_them() {
    let p = portal();
    for url in [
        "http://127.0.0.1:6379",
        "redis://:s3cretpw@[::1",
        "s3cretpw",
        "",
    ] {
        let e = webhook_builder(&p).shared_state(url).build().unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidRequest, "{url}");
        let v = &e.violations()[0];
        assert_eq!(
            (v.field.as_str(), v.code.as_str()),
            ("shared_state", "invalid_url")
        );
        assert!(!format!("{e:?}").contains("s3cretpw"), "{e:?}");
    }
    // A password in a good URL stays out of every text too.
    let c = webhook_builder(&p)
        .shared_state("redis://:s3cretpw@127.0.0.1:1/0")
        .build()
        .unwrap();
    let e = c
        .start_callback(&keyed("+12015550128", "form-d"))
        .unwrap_err();
    assert_eq!(e.code(), ErrorCode::SharedStateUnavailable);
    assert!(!format!("{e:?} {c:?}").contains("s3cretpw"), "{e:?}");
}

/// The same promises across processes: this test starts four copies of its own binary (the
/// workers below), each with eight threads, against one portal and one Redis.
#[test]
fn four_processes_share_keys_numbers_and_the_bucket() {
    if std::env::var_os("B24CB_SHARED_WORKER").is_some() {
        return worker();
    }
    let redis = RedisServer::start();
    let p = portal_with(|c| {
        c.burst = 10;
        c.drain_per_second = 10.0;
    });
    let go_at = std::time::SystemTime::now() + Duration::from_millis(1500);
    let go_ms = go_at
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        .to_string();
    let children: Vec<_> = (0..4)
        .map(|i| {
            std::process::Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "four_processes_share_keys_numbers_and_the_bucket",
                ])
                .args(["--nocapture", "--test-threads", "1"])
                .env("B24CB_SHARED_WORKER", i.to_string())
                .env("B24CB_WEBHOOK", p.webhook_url())
                .env("B24CB_REDIS", redis.url())
                .env("B24CB_GO_AT", &go_ms)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut lines = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a worker failed");
        let text = String::from_utf8(out.stdout).unwrap();
        lines.extend(
            text.lines()
                // The test harness may print its "test ... " on the same line first.
                .filter_map(|l| l.split_once("RESULT ").map(|(_, r)| r.to_owned())),
        );
    }
    let count = |prefix: &str| lines.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(lines.len(), 4 * 8 * 3, "{lines:?}");
    // Same key, same request from 32 threads in 4 processes: one call, 31 replays.
    assert_eq!(count("key ok new"), 1, "{lines:?}");
    assert_eq!(count("key ok replay"), 31);
    // Same number under 32 keys: one call, 31 refused by the cooldown.
    assert_eq!(count("number ok"), 1);
    assert_eq!(count("number destination_blocked"), 31);
    // 32 distinct numbers: all paced through one bucket, none refused by the portal.
    assert_eq!(count("paced ok"), 32, "{lines:?}");
    assert_eq!(p.stats().rate_limited, 0);
    assert_eq!(p.ledger().len(), 1 + 1 + 32);
}

fn worker() {
    let id: usize = std::env::var("B24CB_SHARED_WORKER")
        .unwrap()
        .parse()
        .unwrap();
    let url = std::env::var("B24CB_WEBHOOK").unwrap();
    let go_at: u64 = std::env::var("B24CB_GO_AT").unwrap().parse().unwrap();
    let client = fast(Client::builder(Auth::webhook(&url).unwrap()))
        .shared_state(std::env::var("B24CB_REDIS").unwrap())
        .rate_limit(RateLimit::Custom {
            burst: 10,
            per_second: 10.0,
        })
        .deadline(Duration::from_secs(30))
        .destination_policy(DestinationPolicy::default())
        .build()
        .unwrap();
    let wait_until = |ms: u64| {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        std::thread::sleep(Duration::from_millis(ms.saturating_sub(now)));
    };
    let phase = |name: &'static str, start: u64, make: fn(usize, usize) -> CallbackRequest| {
        wait_until(start);
        at_once(std::slice::from_ref(&client), 8, move |c, _, t| {
            let r = c.start_callback(&make(id, t));
            match r {
                Ok(s) if s.deduplicated => format!("{name} ok replay"),
                Ok(_) if name == "key" => format!("{name} ok new"),
                Ok(_) => format!("{name} ok"),
                Err(e) => format!("{name} {}", e.code()),
            }
        })
    };
    let mut results = phase("key", go_at, |_, _| keyed("+12015550130", "shared-form"));
    results.extend(phase("number", go_at + 3000, |p, t| {
        keyed("+12015550131", &format!("form-{p}-{t}"))
    }));
    results.extend(phase("paced", go_at + 6000, |p, t| {
        request(&number(300 + p * 8 + t))
    }));
    for r in results {
        println!("RESULT {r}");
    }
}
