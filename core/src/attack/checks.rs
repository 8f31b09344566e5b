//! Range checks shared by the attacks' `validate`, each failing with the parameter's name.

use crate::error::Error;

/// `value` must be finite and `> 0` (a step size).
pub(super) fn positive(name: &'static str, value: f32) -> Result<(), Error> {
    if value > 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, expected: "finite and > 0" })
    }
}

/// `value` must be finite and `≥ 0` (a budget ε).
pub(super) fn non_negative(name: &'static str, value: f32) -> Result<(), Error> {
    if value >= 0.0 && value.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidParameter { name, expected: "finite and ≥ 0" })
    }
}

/// `count` must be at least one (an iteration budget).
pub(super) fn at_least_one(name: &'static str, count: u32) -> Result<(), Error> {
    if count >= 1 { Ok(()) } else { Err(Error::InvalidParameter { name, expected: "≥ 1" }) }
}
