//! The client-side limiter against the fake portal's own bucket. In a test binary of their
//! own, so that no other test's threads compete with their timing on a small machine.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use callback_core::{CallbackRequest, CallbackStarted, CancelToken, Client, ErrorCode, RateLimit};
use common::*;

/// Starts every request on its own thread, all released at once; returns the results and the
/// time from the release until the last one returned.
fn start_all_at_once(
    c: &Client,
    requests: Vec<CallbackRequest>,
) -> (Vec<Result<CallbackStarted, callback_core::Error>>, Duration) {
    let gate = Arc::new(std::sync::Barrier::new(requests.len() + 1));
    let threads: Vec<_> = requests
        .into_iter()
        .map(|r| {
            let (c, gate) = (c.clone(), gate.clone());
            std::thread::spawn(move || {
                gate.wait();
                c.start_callback(&r)
            })
        })
        .collect();
    gate.wait();
    let released = Instant::now();
    let results = threads.into_iter().map(|t| t.join().unwrap()).collect();
    (results, released.elapsed())
}

/// A burst of X+50 calls against a bucket of X: paced, never refused, and no slower than
/// needed (within 10 % of the theoretical minimum of 50 / drain seconds).
#[test]
fn limiter_paces_a_burst_without_refusals() {
    const BURST: u32 = 10;
    // 10/s makes the minimum 5 s: the 10 % margin is then 500 ms, of which the limiter's own
    // safety margin (one slot and 2 % of the rate) takes 200 ms, leaving 300 ms for the last
    // request's latency on a loaded machine (at 25/s that was 120 ms).
    const DRAIN: f64 = 10.0;
    let p = portal_with(|c| {
        c.burst = BURST;
        c.drain_per_second = DRAIN;
    });
    let c = webhook_builder(&p)
        .rate_limit(RateLimit::Custom {
            burst: BURST,
            per_second: DRAIN,
        })
        .deadline(Duration::from_secs(20))
        .build()
        .unwrap();
    let calls = BURST as usize + 50;
    let requests: Vec<_> = (0..calls).map(|i| request(&number(300 + i))).collect();
    let (results, elapsed) = start_all_at_once(&c, requests);
    let elapsed = elapsed.as_secs_f64();
    for r in &results {
        let s = r.as_ref().expect("every call admitted");
        assert_eq!(s.timing.attempts, 1, "no retry was needed");
    }
    assert_eq!(p.stats().rate_limited, 0);
    assert_eq!(p.ledger().len(), calls);
    let minimum = 50.0 / DRAIN;
    // What the portal's bucket saw: the spread of the placement times.
    let placed: Vec<f64> = p.ledger().iter().map(|e| e.placed_at).collect();
    let first = placed.iter().cloned().fold(f64::INFINITY, f64::min);
    let last = placed.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let span = last - first;
    eprintln!("limiter: portal span {span:.3} s, caller {elapsed:.3} s, minimum {minimum:.3} s");
    assert!(
        span >= minimum * 0.95 && span <= minimum * 1.10,
        "calls spread over {span:.3} s at the portal, theoretical minimum {minimum:.3} s"
    );
    // The caller's view adds the last request's latency.
    assert!(
        elapsed >= minimum * 0.95 && elapsed <= minimum * 1.10,
        "took {elapsed:.3} s, theoretical minimum {minimum:.3} s"
    );
    assert!(
        results
            .iter()
            .any(|r| r.as_ref().unwrap().timing.limiter_wait > Duration::ZERO)
    );
}

#[test]
fn limiter_refuses_what_cannot_fit_and_honours_cancel() {
    let p = portal();
    let c = webhook_builder(&p)
        .rate_limit(RateLimit::Custom {
            burst: 2,
            per_second: 1.0,
        })
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    c.start_callback(&request("+12015550109")).unwrap();
    let e = c.start_callback(&request("+12015550110")).unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert!(e.retry_safe());

    let c = webhook_builder(&p)
        .rate_limit(RateLimit::Custom {
            burst: 2,
            per_second: 0.5,
        })
        .deadline(Duration::from_secs(10))
        .build()
        .unwrap();
    c.start_callback(&request("+12015550111")).unwrap();
    let cancel = CancelToken::new();
    let c2 = c.clone();
    let cancel2 = cancel.clone();
    let waiter = std::thread::spawn(move || {
        c2.start_callback_cancellable(&request("+12015550112"), &cancel2)
    });
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    cancel.cancel();
    let e = waiter.join().unwrap().unwrap_err();
    assert_eq!(e.code(), ErrorCode::RateLimited);
    assert!(t.elapsed() < Duration::from_millis(500));
    assert_eq!(p.ledger().len(), 2);
}

/// 90 calls at once against a portal whose bucket has the client's numbers (burst 50, drain
/// scaled up to keep the test short): all paced, none refused by the portal. The drain is slow
/// enough that the time between a slot and its request's arrival at the portal (a new
/// connection, an unoptimised build on a loaded machine: tens of milliseconds) stays well
/// below the two slots the limiter keeps free.
#[test]
fn ninety_concurrent_calls_see_no_query_limit() {
    let p = portal_with(|c| {
        c.burst = 50;
        c.drain_per_second = 15.0;
    });
    let c = webhook_builder(&p)
        .rate_limit(RateLimit::Custom {
            burst: 50,
            per_second: 15.0,
        })
        .deadline(Duration::from_secs(20))
        .build()
        .unwrap();
    let requests: Vec<_> = (0..90).map(|i| request(&number(500 + i))).collect();
    let (results, _) = start_all_at_once(&c, requests);
    for r in results {
        let s = r.expect("admitted");
        assert_eq!(s.timing.attempts, 1);
    }
    assert_eq!(p.stats().rate_limited, 0);
    assert_eq!(p.ledger().len(), 90);
}
