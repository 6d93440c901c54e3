//! The blocking client, in small modules:
//!
//! * [`options`]: every option as plain data, checked in one place;
//! * `builder`: [`ClientBuilder`], the typed front of those options;
//! * `guard`: the destination policy, the per-number cooldown and the idempotency keys;
//! * `exchange`: one logical call (limiter, request, answer, the retry decision);
//! * `api`: [`Client`] and the calls users make.

mod api;
mod builder;
pub(crate) mod exchange;
mod guard;
pub(crate) mod options;

pub use api::Client;
pub use builder::ClientBuilder;
pub use options::{Binding, ClientOptions, OptionNames, PolicyOptions, RateLimitOption, Span};
