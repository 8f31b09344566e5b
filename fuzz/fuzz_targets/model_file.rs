//! Fuzzes the host's safetensors reader and model loader on arbitrary file contents.
//!
//! Every malformed file must come back as an error naming the file, never a panic, an
//! abort on a huge allocation, or a model with non-finite weights.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nudge_host::model::ModelFile;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.safetensors");
    let _ = nudge_host::safetensors::parse(data, path);
    if let Ok(model) = ModelFile::parse(data, path) {
        // Whatever loads must be usable: finite weights, a consistent shape.
        let tensors = model.mlp.to_tensors();
        assert_eq!(tensors.len(), 4);
    }
});
