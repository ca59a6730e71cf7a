//! Fuzzes the Web Annotation parser: any JSON a client posts must produce a draft or an error
//! that names what is wrong, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = glossa::w3c::parse_annotation(&json, "http://desk.test");
    }
});
