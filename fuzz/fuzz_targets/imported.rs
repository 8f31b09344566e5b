//! What every importer's fuzz target checks of a file that imports.

use nudge_host::checkpoint::Matched;

/// `imported` must be a valid network whose parameters the layer table can name, two
/// tensors per layer with parameters, and (when small enough to be worth it) it runs.
pub fn check(imported: Matched) {
    let network = imported.model.network().expect("an imported model is a valid network");
    let with_params = network.layers().iter().filter(|l| l.param_count() > 0).count();
    assert_eq!(imported.tensors.len(), 2 * with_params);
    // Huge inputs are valid networks too, but running one would only test this harness.
    if network.input_len() <= 65_536 {
        let mut arena = vec![0.0f32; network.arena_len()];
        let x = vec![0.5f32; network.input_len()];
        network.forward(&x, &mut arena).expect("a valid network runs");
    }
}
