//! Input gradients of the first 1,000 MNIST test digits, timed `runs` times back to back;
//! prints the fastest and the median run.
//!
//! On a shared virtual machine whose speed drifts within minutes, the fastest of many short
//! runs is the steadier figure, and running two builds in alternation (an A/B) compares
//! them under the same conditions; criterion's medians spread over a few seconds each.
//!
//! ```sh
//! cargo run --release -p nudge-benches --example best_of -- batch 100
//! cargo run --release -p nudge-benches --example best_of -- one_by_one 100
//! ```
//!
//! `batch` is `batch/input_grads_1000/64` (batches of 8), `one_by_one` is
//! `batch/input_grads_1000_one_by_one/64`, and `network` is `one_by_one` with the same MLP run
//! as a [`Network`](nudge_core::Network) (the same bits, so the same checksum). The last line is a checksum of the gradients, the
//! same for any two builds that give the same bits.

use nudge_benches::{
    IN, MODEL_SEED, OUT, TARGET, images, kernel_forward_input_grad, random_params,
};
use nudge_core::model::MlpWorkspace;
use nudge_core::{Classifier, LayerSpec, Network, Objective, Shape};
use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

const H: usize = 64;
const N: usize = 1000;
const BATCH: usize = 8;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args.first().map_or("batch", String::as_str);
    let runs = match args.get(1).map(|s| s.parse::<usize>()) {
        None => 100,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            eprintln!("error: runs must be a positive integer");
            return ExitCode::FAILURE;
        }
    };
    if !matches!(mode, "batch" | "one_by_one" | "network") {
        eprintln!("error: mode must be `batch`, `one_by_one` or `network`, not `{mode}`");
        return ExitCode::FAILURE;
    }
    let params = random_params::<H>(MODEL_SEED);
    let model = params.as_model();
    let (xs, source) = images(N);
    let mut grads = vec![[0.0f32; IN]; N];
    let mut ws: [MlpWorkspace<H, OUT>; BATCH] = core::array::from_fn(|_| model.workspace());
    let objectives = [Objective::Targeted { target: TARGET }; BATCH];
    let theta = params.as_model().parts().concat();
    let layers =
        [LayerSpec::Dense { outputs: H }, LayerSpec::Relu, LayerSpec::Dense { outputs: OUT }];
    let network = Network::new(Shape::flat(IN), &layers, &theta).expect("valid MLP");
    let network = network.classifier::<Vec<f32>, OUT>().expect("784 in, 10 out");
    let mut network_ws = network.workspace();

    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        if mode == "batch" {
            let (x_blocks, x_tail) = black_box(&xs).as_chunks::<BATCH>();
            let (g_blocks, g_tail) = grads.as_chunks_mut::<BATCH>();
            for (x, g) in x_blocks.iter().zip(g_blocks) {
                let evaluations =
                    model.input_gradients(x.each_ref(), objectives, &mut ws, g.each_mut());
                black_box(evaluations.expect("finite model and input"));
            }
            for (x, g) in x_tail.iter().zip(g_tail) {
                kernel_forward_input_grad(&model, x, &mut ws[0], g);
            }
        } else if mode == "network" {
            for (x, g) in black_box(&xs).iter().zip(grads.iter_mut()) {
                let evaluation = network.input_gradient(x, objectives[0], &mut network_ws, g);
                black_box(evaluation.expect("finite model and input"));
            }
        } else {
            for (x, g) in black_box(&xs).iter().zip(grads.iter_mut()) {
                kernel_forward_input_grad(&model, x, &mut ws[0], g);
            }
        }
        black_box(&grads);
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let (fastest, median) = (times[0], times[times.len() / 2]);
    println!("{mode}: {N} {source}, {runs} runs");
    println!(
        "fastest {:.0} µs ({:.0} images/s), median {:.0} µs",
        fastest * 1e6,
        N as f64 / fastest,
        median * 1e6
    );
    let checksum: f64 = grads.iter().flatten().map(|&g| f64::from(g)).sum();
    println!("checksum {checksum:e}");
    ExitCode::SUCCESS
}
