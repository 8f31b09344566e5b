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
        // Whatever loads must be usable: finite weights, consistent shapes.
        let network = model.model.network().expect("a loaded model is a valid network");
        let tensors = model.model.to_tensors();
        let values: usize = tensors.iter().map(|(_, t)| t.data.len() / 4).sum();
        assert_eq!(values, network.param_count());
    }
});
