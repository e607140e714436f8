//! duet's log records, captured in this process for the cases that check what the clients
//! log. Tests run side by side, so a case picks its own records out by its server's address.

use std::sync::{Mutex, Once};

static RECORDS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.target().starts_with("duet")
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            RECORDS
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(line);
        }
    }

    fn flush(&self) {}
}

/// Starts keeping duet's records of level debug and up (once per process; later calls do
/// nothing).
pub fn capture() {
    static START: Once = Once::new();
    START.call_once(|| {
        log::set_logger(&Capture).expect("no other logger in the test process");
        log::set_max_level(log::LevelFilter::Debug);
    });
}

/// The records kept so far that contain `needle` (say, a server's address), oldest first.
pub fn records_with(needle: &str) -> Vec<String> {
    RECORDS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .filter(|line| line.contains(needle))
        .cloned()
        .collect()
}
