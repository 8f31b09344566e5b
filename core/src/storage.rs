//! Caller-owned buffers of f32 whose length is known only at run time: a network's arena,
//! an attack's gradient.

/// Storage for `len` f32 elements, zeroed: a fixed array on a device, a heap buffer on a
/// host.
///
/// Implemented for `[f32; N]` (a fixed buffer: `zeroed` ignores `len`; if `N` is too small,
/// [`Network::classifier`](crate::Network::classifier) fails with
/// [`Error::ArenaTooSmall`](crate::Error::ArenaTooSmall) and an attack with
/// [`Error::Length`](crate::Error::Length), before any work), and with the `alloc` feature
/// for `Vec<f32>` (exactly `len`).
pub trait ArenaStorage {
    /// A zeroed arena of at least `len` elements, if this storage can hold that many.
    fn zeroed(len: usize) -> Self;
    /// The elements.
    fn as_mut_slice(&mut self) -> &mut [f32];
    /// Whether `zeroed(len)` holds at least `len` elements.
    fn can_hold(len: usize) -> bool;
}

impl<const N: usize> ArenaStorage for [f32; N] {
    fn zeroed(_len: usize) -> Self {
        [0.0; N]
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
    fn can_hold(len: usize) -> bool {
        len <= N
    }
}

/// A heap arena of exactly the length asked for (feature `alloc`).
#[cfg(feature = "alloc")]
impl ArenaStorage for alloc::vec::Vec<f32> {
    fn zeroed(len: usize) -> Self {
        alloc::vec![0.0; len]
    }
    fn as_mut_slice(&mut self) -> &mut [f32] {
        self
    }
    fn can_hold(_len: usize) -> bool {
        true
    }
}
