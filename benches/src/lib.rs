//! Shared helpers for the nudge benchmarks.
