//! Host side of nudge: datasets, training, model files, and the `nudge` CLI.
