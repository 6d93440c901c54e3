//! `uniffi-bindgen`: generates the Kotlin and Swift sources of `callback-uniffi` in library
//! mode, from the compiled shared library (see `bindings/uniffi/generate.sh`).
//!
//! A separate crate keeps uniffi's `cli` feature (clap, askama, goblin, ...) out of the
//! binding crate itself.

fn main() {
    uniffi::uniffi_bindgen_main()
}
