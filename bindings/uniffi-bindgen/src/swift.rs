//! `uniffi-bindgen-swift`: uniffi's Swift-only generator, for building an XCFramework of
//! `callback-uniffi` (see `bindings/uniffi/README.md`, "iOS").

fn main() {
    uniffi::uniffi_bindgen_swift()
}
