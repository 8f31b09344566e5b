//! Fuzzes the IDX readers (images and labels, raw or gzip) on arbitrary file contents.
//!
//! Every malformed file must come back as an error naming the file, never a panic or an
//! abort on a huge allocation; whatever parses must be self-consistent.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nudge_host::idx;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz-idx");
    let Ok(bytes) = idx::decompress_if_gz(data, path) else { return };
    if let Ok(images) = idx::parse_images(&bytes, path) {
        assert_eq!(images.pixels.len(), images.count() * images.rows * images.cols);
    }
    if let Ok(labels) = idx::parse_labels(&bytes, 10, path) {
        assert!(labels.iter().all(|&l| l < 10));
    }
});
