//! Local hot paths: validating a request, rendering its wire body, classifying answers.

use callback_core::{CallbackRequest, classify_response};
use criterion::{Criterion, black_box, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    // Warm the phone metadata once, outside the measurement.
    let _ = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+447911123456")
        .text("x")
        .build();

    c.bench_function("validate_e164", |b| {
        b.iter(|| {
            CallbackRequest::builder()
                .from_line(black_box("reg1"))
                .to_number(black_box("+44 7911 123456"))
                .text(black_box("A visitor asked for a call back"))
                .voice(black_box("ukenglishfemale"))
                .build()
                .unwrap()
        })
    });
    c.bench_function("validate_national_with_region", |b| {
        b.iter(|| {
            CallbackRequest::builder()
                .from_line(black_box("reg1"))
                .to_number(black_box("07911 123456"))
                .default_region("GB")
                .text(black_box("A visitor asked for a call back"))
                .build()
                .unwrap()
        })
    });
    c.bench_function("validate_all_violations", |b| {
        b.iter(|| {
            CallbackRequest::builder()
                .from_line(black_box("reg 1"))
                .to_number(black_box("+44 7911 123456;1"))
                .text(black_box(""))
                .voice(black_box("nope"))
                .build()
                .unwrap_err()
        })
    });
    let req = CallbackRequest::builder()
        .from_line("reg1")
        .to_number("+447911123456")
        .text("A visitor asked for a call back")
        .voice("ukenglishfemale")
        .build()
        .unwrap();
    c.bench_function("wire_body", |b| b.iter(|| black_box(&req).wire_body()));

    let success = br#"{"result":{"RESULT":true,"CALL_ID":"callback.72f42b118e019a4cc47629ff60525f43.1773736077"},"time":{"start":1773736066,"finish":1773736067.708955,"duration":1.7089550495147705,"processing":1,"date_start":"2026-03-17T11:27:46+02:00","date_finish":"2026-03-17T11:27:47+02:00","operating_reset_at":1773736666,"operating":0.9574570655822754}}"#;
    let error = br#"{"error":"ERROR_CORE","error_description":"Could not find line reg000000"}"#;
    let html = b"<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    c.bench_function("classify_success", |b| {
        b.iter(|| classify_response(black_box(200), black_box(success)))
    });
    c.bench_function("classify_error_envelope", |b| {
        b.iter(|| classify_response(black_box(400), black_box(error)))
    });
    c.bench_function("classify_html_502", |b| {
        b.iter(|| classify_response(black_box(502), black_box(html)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
