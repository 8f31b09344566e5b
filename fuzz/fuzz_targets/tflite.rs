//! Fuzzes the TFLite importer on arbitrary file contents.
//!
//! Every malformed graph must come back as an error naming the file, never a panic or an
//! abort on a huge allocation; whatever imports is checked by [`imported::check`].
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

#[path = "imported.rs"]
mod imported;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = nudge_host::tflite::read(data, Path::new("fuzz.tflite")) {
        imported::check(model);
    }
});
