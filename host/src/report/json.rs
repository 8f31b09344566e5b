//! `report.json`: every number of the report (not the images), as pretty-printed JSON.
//!
//! The layout is [`Report`]'s: `models[i].pairs.success_rate[source][target]` (null on the
//! diagonal), `models[i].pairs.median_linf`, `models[i].pairs.median_iterations`,
//! `models[i].epsilon.curves[k].accuracy[j]` at `models[i].epsilon.epsilons[j]`, and so on.

use super::Report;
use crate::error::{Error, Result};

/// The JSON text of `report`.
pub fn render(report: &Report) -> Result<String> {
    serde_json::to_string_pretty(report)
        .map(|mut s| {
            s.push('\n');
            s
        })
        .map_err(|e| Error::argument("report.json", e.to_string()))
}
