//! Fuzzes the `.npy` reader on arbitrary file contents.
//!
//! Every malformed file must come back as an error naming the file, never a panic or an
//! abort on a huge allocation; whatever parses must be self-consistent.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use nudge_host::npy::{self, Dtype};

fuzz_target!(|data: &[u8]| {
    let Ok(array) = npy::parse(data, Path::new("fuzz.npy")) else { return };
    let size = match array.dtype {
        Dtype::U8 => 1,
        Dtype::F32 => 4,
        Dtype::Int { bytes, .. } => bytes,
    };
    let elements: usize = array.shape.iter().product();
    assert_eq!(array.data.len(), elements * size);
    assert_eq!(array.to_f32().len(), elements);
    if array.dtype != Dtype::F32 {
        assert_eq!(array.to_i64().len(), elements);
    }
});
