//! `-v`: what happens, on stderr, as curl shows it: duet's log records as `* ` lines, each
//! request head sent as `> ` lines and each response head received as `< ` lines (every hop:
//! redirects and authentication rounds too). The request head is shown as the client's
//! hooks see it: as sent, the framing field (`Content-Length` or `Transfer-Encoding`) last.

use std::io::Write;

use duet_blocking::core::{RequestHead, ResponseHead};

/// Prints duet's log records (debug and up) on stderr as `* ` lines, from now on. Only the
/// first call in a process installs the logger.
pub fn install_logger() {
    if log::set_logger(&Stderr).is_ok() {
        log::set_max_level(log::LevelFilter::Debug);
    }
}

struct Stderr;

impl log::Log for Stderr {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("duet")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            // A closed stderr has nobody to tell.
            let _ = writeln!(std::io::stderr().lock(), "* {}", record.args());
        }
    }

    fn flush(&self) {}
}

/// A request head as `> ` lines, ending with a lone `>`.
pub fn request_lines(head: &RequestHead) -> String {
    let mut text = format!("> {} {} HTTP/1.1\n", head.method(), head.target());
    for (name, value) in head.headers().iter() {
        text.push_str(&format!("> {name}: {}\n", String::from_utf8_lossy(value)));
    }
    text.push_str(">\n");
    text
}

/// A response head as `< ` lines, ending with a lone `<`.
pub fn response_lines(head: &ResponseHead) -> String {
    let mut text = format!("< {:?} {}", head.version(), head.status().as_u16());
    if !head.reason().is_empty() {
        text.push(' ');
        text.push_str(&String::from_utf8_lossy(head.reason()));
    }
    text.push('\n');
    for (name, value) in head.headers().iter() {
        text.push_str(&format!("< {name}: {}\n", String::from_utf8_lossy(value)));
    }
    text.push_str("<\n");
    text
}

/// Writes `text` to stderr at once (a closed stderr has nobody to tell).
pub fn show(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use log::Log;

    #[test]
    fn only_duets_own_records_are_shown() {
        let enabled = |target: &str| {
            Stderr.enabled(
                &log::Metadata::builder()
                    .target(target)
                    .level(log::Level::Debug)
                    .build(),
            )
        };
        assert!(enabled("duet_core::client::call") && enabled("duet_blocking"));
        assert!(!enabled("rustls::client::hs") && !enabled("mio::poll"));
    }
}
