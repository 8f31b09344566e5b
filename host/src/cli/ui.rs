//! Progress bars and plain output. Bars draw only on a terminal; lines printed through
//! [`say`] appear either way, above a running bar.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `len` steps with a message, drawn on stderr only if it is a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let pb =
        if std::io::stderr().is_terminal() { ProgressBar::new(len) } else { ProgressBar::hidden() };
    pb.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// Prints a line to stdout, above the bar if one is drawing.
pub fn say(pb: &ProgressBar, line: &str) {
    if pb.is_hidden() {
        println!("{line}");
    } else {
        pb.println(line);
    }
}
