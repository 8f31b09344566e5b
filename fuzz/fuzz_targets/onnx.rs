//! Fuzzes the ONNX importer on arbitrary file contents.
//!
//! Every malformed graph must come back as an error naming the file, never a panic or an
//! abort on a huge allocation; whatever imports must be a valid network whose parameters
//! the layer table can name, two tensors per layer with parameters.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(imported) = nudge_host::onnx::read(data, Path::new("fuzz.onnx")) else { return };
    let network = imported.model.network().expect("an imported model is a valid network");
    let with_params = network.layers().iter().filter(|l| l.param_count() > 0).count();
    assert_eq!(imported.tensors.len(), 2 * with_params);
    // Huge inputs are valid networks too, but running one would only test this harness.
    if network.input_len() <= 65_536 {
        let mut arena = vec![0.0f32; network.arena_len()];
        let x = vec![0.5f32; network.input_len()];
        network.forward(&x, &mut arena).expect("a valid network runs");
    }
});
