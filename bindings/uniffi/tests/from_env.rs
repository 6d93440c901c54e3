//! `CallbackClient::from_env`: the command line's variables, explicit options on top. A test
//! binary of its own, because it changes the process environment.

use std::time::Duration;

use callback_fake_portal::{FakePortal, FakePortalConfig};
use callback_uniffi::{CallbackClient, CallbackError, CallbackRequest, ClientOptions};

fn request(number: &str) -> CallbackRequest {
    CallbackRequest {
        from_line: "reg1".into(),
        to_number: number.into(),
        text: "A visitor asked for a call back".into(),
        voice: None,
        idempotency_key: None,
    }
}

fn fields(err: &CallbackError) -> Vec<String> {
    err.details()
        .violations
        .into_iter()
        .map(|v| v.field)
        .collect()
}

fn set(name: &str, value: &str) {
    // SAFETY: this test binary has one test; nothing else reads the environment meanwhile.
    unsafe { std::env::set_var(name, value) }
}

fn unset(name: &str) {
    // SAFETY: as above.
    unsafe { std::env::remove_var(name) }
}

#[test]
fn from_env_reads_the_variables_and_explicit_options_win() {
    let portal = FakePortal::start(FakePortalConfig {
        stage_duration: Duration::from_millis(20),
        ..FakePortalConfig::default()
    })
    .unwrap();

    unset("BITRIX24_WEBHOOK_URL");
    unset("BITRIX24_CLIENT_ID");
    let err = CallbackClient::from_env(None, None).unwrap_err();
    assert_eq!(fields(&err), ["BITRIX24_WEBHOOK_URL"]);

    set("BITRIX24_WEBHOOK_URL", &portal.webhook_url());
    set("BITRIX24_DEFAULT_REGION", "US");
    set("BITRIX24_TIMEOUT", "soon");
    let err = CallbackClient::from_env(None, None).unwrap_err();
    assert_eq!(fields(&err), ["BITRIX24_TIMEOUT"]);
    assert!(!format!("{err:?} {err}").contains("fakewebhooksecret0001"));
    set("BITRIX24_TIMEOUT", "5");

    // The default region comes from the environment: a national number is accepted.
    let client = CallbackClient::from_env(None, None).unwrap();
    let built = client.validate(request("(201) 555-0140")).unwrap();
    assert_eq!(built.to_number, "+12015550140");
    client
        .start_callback_blocking(request("(201) 555-0140"), None)
        .unwrap();
    assert_eq!(portal.ledger().len(), 1);

    // An explicit option overrides its variable; a bad explicit option is named as the app
    // spells it, a bad variable by the variable.
    let explicit = ClientOptions {
        default_region: Some("GB".into()),
        user_agent_suffix: Some("env-test".into()),
        ..ClientOptions::default()
    };
    let client = CallbackClient::from_env(Some(explicit.clone()), None).unwrap();
    assert_eq!(
        client.validate(request("020 7946 0000")).unwrap().to_number,
        "+442079460000"
    );
    let err = CallbackClient::from_env(
        Some(ClientOptions {
            deadline: Some(Duration::ZERO),
            ..explicit.clone()
        }),
        None,
    )
    .unwrap_err();
    assert_eq!(fields(&err), ["deadline"]);
    set("BITRIX24_DEFAULT_REGION", "XX");
    let err = CallbackClient::from_env(None, None).unwrap_err();
    assert_eq!(fields(&err), ["BITRIX24_DEFAULT_REGION"]);
    // ... unless the app's own option replaces it.
    assert!(CallbackClient::from_env(Some(explicit), None).is_ok());
    unset("BITRIX24_DEFAULT_REGION");
    unset("BITRIX24_TIMEOUT");
    unset("BITRIX24_WEBHOOK_URL");
}
