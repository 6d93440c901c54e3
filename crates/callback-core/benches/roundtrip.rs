//! Whole calls over real loopback sockets against the in-process fake portal: what the client
//! adds on top of the network (validation, policy, limiter bookkeeping, JSON, classification).

use std::time::Duration;

use callback_core::{Auth, Client, DestinationPolicy, RateLimit};
use callback_fake_portal::{FakePortal, FakePortalConfig};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let portal = FakePortal::start(FakePortalConfig {
        burst: 1_000_000,
        drain_per_second: 1_000_000.0,
        callback_processing: Duration::ZERO,
        operating_limit: Duration::from_secs(1_000_000),
        stage_duration: Duration::from_secs(3600),
        ..FakePortalConfig::default()
    })
    .expect("fake portal");
    let client = Client::builder(Auth::webhook(&portal.webhook_url()).unwrap())
        .rate_limit(RateLimit::Off)
        .destination_policy(DestinationPolicy {
            number_cooldown: Duration::ZERO,
            ..DestinationPolicy::default()
        })
        .build()
        .unwrap();
    let request = client
        .request()
        .from_line("reg1")
        .to_number("+12015550123")
        .text("A visitor asked for a callback")
        .build()
        .unwrap();

    let mut group = c.benchmark_group("loopback");
    group
        .sample_size(30)
        .measurement_time(Duration::from_secs(5));
    group.bench_function("start_callback", |b| {
        b.iter(|| client.start_callback(&request).expect("started"))
    });
    group.bench_function("voices", |b| b.iter(|| client.voices().expect("voices")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
