//! `-z`/`--time-cond`, as curl's: a conditional download. The request asks for the document
//! only if it changed after a date (`If-Modified-Since`) or, with a leading `-`, only if it
//! did not (`If-Unmodified-Since`). The date is written out, or it is a file's modification
//! time (`-z page.html -o page.html` fetches the page only when the server's copy is newer).
//!
//! A `304 Not Modified` writes nothing. A server that ignores the condition (nginx's default
//! `if_modified_since exact` answers `200` to any date but the exact one) is judged by its
//! `Last-Modified`, as curl does: a document not newer (or not older) than the date is not
//! written either, and the destination is left as it was.

use std::path::Path;
use std::time::SystemTime;

use duet_blocking::core::cookies::parse_cookie_date;

/// A time condition: the date, and which way it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeCond {
    /// When the document must have changed after (or, with `newer` false, not after).
    pub at: SystemTime,
    /// `If-Modified-Since` (true) or `If-Unmodified-Since` (false).
    pub newer: bool,
}

impl TimeCond {
    /// Reads `-z`'s argument: `[+|-]DATE` or `[+|-]FILE`, a date first (as a cookie's
    /// `Expires` is read, so HTTP's dates and most written ones; a date alone is midnight
    /// UTC), else the modification time of the file of that name. `None` when it is neither;
    /// curl then warns and sends the request without a condition.
    pub fn parse(arg: &str) -> Option<TimeCond> {
        let (newer, rest) = match arg.as_bytes().first() {
            Some(b'-') => (false, &arg[1..]),
            Some(b'+') => (true, &arg[1..]),
            _ => (true, arg),
        };
        let at = parse_date(rest).or_else(|| modified(Path::new(rest)))?;
        Some(TimeCond { at, newer })
    }

    /// The request header that carries the condition.
    pub fn header(&self) -> (&'static str, String) {
        let name = match self.newer {
            true => "If-Modified-Since",
            false => "If-Unmodified-Since",
        };
        (name, httpdate::fmt_http_date(self.at))
    }

    /// Whether a document last modified at `last_modified` meets the condition. HTTP dates
    /// have whole seconds, so the file's time is compared by its seconds too.
    pub fn met_by(&self, last_modified: SystemTime) -> bool {
        let at = whole_seconds(self.at);
        let modified = whole_seconds(last_modified);
        match self.newer {
            true => modified > at,
            false => modified <= at,
        }
    }
}

/// A date as written (see [`TimeCond::parse`]); one without a time of day is midnight.
fn parse_date(text: &str) -> Option<SystemTime> {
    parse_cookie_date(text).or_else(|| parse_cookie_date(&format!("{text} 00:00:00")))
}

/// The modification time of the file at `path`, if there is one.
fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).ok()?.modified().ok()
}

/// `time` without its fraction of a second (before 1970: as it is).
fn whole_seconds(time: SystemTime) -> SystemTime {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(after.as_secs()),
        Err(_) => time,
    }
}

/// A response's `Last-Modified`, when it has a readable one: the cookie-date reader takes
/// HTTP's three date formats and the looser ones servers write.
pub fn last_modified(headers: &duet_blocking::core::Headers) -> Option<SystemTime> {
    parse_cookie_date(std::str::from_utf8(headers.get("last-modified")?).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// Sun, 06 Nov 1994 08:49:37 GMT.
    const EXAMPLE: u64 = 784_111_777;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn a_date_is_read_as_curl_reads_the_usual_ones() {
        for text in [
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
            "06 Nov 1994 08:49:37",
        ] {
            let cond = TimeCond::parse(text).unwrap();
            assert_eq!(
                cond,
                TimeCond {
                    at: at(EXAMPLE),
                    newer: true
                },
                "{text}"
            );
        }
        let midnight = EXAMPLE - (8 * 3600 + 49 * 60 + 37);
        assert_eq!(TimeCond::parse("6 Nov 1994").unwrap().at, at(midnight));
        let older = TimeCond::parse("-Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            older,
            TimeCond {
                at: at(EXAMPLE),
                newer: false
            }
        );
        assert!(TimeCond::parse("+6 Nov 1994").unwrap().newer);
        assert_eq!(TimeCond::parse("not a date, nor a file"), None);
        assert_eq!(TimeCond::parse(""), None);
    }

    #[test]
    fn a_file_gives_its_modification_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("page.html");
        std::fs::write(&path, "old").unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(at(EXAMPLE)).unwrap();
        let arg = path.to_str().unwrap();
        assert_eq!(
            TimeCond::parse(arg),
            Some(TimeCond {
                at: at(EXAMPLE),
                newer: true
            })
        );
        let older = TimeCond::parse(&format!("-{arg}")).unwrap();
        assert_eq!(
            older,
            TimeCond {
                at: at(EXAMPLE),
                newer: false
            }
        );
    }

    #[test]
    fn the_header_is_an_http_date_and_the_check_goes_by_whole_seconds() {
        let newer = TimeCond {
            at: at(EXAMPLE) + Duration::from_millis(700),
            newer: true,
        };
        assert_eq!(
            newer.header(),
            (
                "If-Modified-Since",
                "Sun, 06 Nov 1994 08:49:37 GMT".to_owned()
            )
        );
        assert!(!newer.met_by(at(EXAMPLE)), "the same second is not newer");
        assert!(newer.met_by(at(EXAMPLE + 1)));
        let older = TimeCond {
            newer: false,
            ..newer
        };
        assert_eq!(older.header().0, "If-Unmodified-Since");
        assert!(older.met_by(at(EXAMPLE)) && older.met_by(at(EXAMPLE - 60)));
        assert!(!older.met_by(at(EXAMPLE + 1)));
    }

    #[test]
    fn last_modified_is_read_from_the_response() {
        let mut headers = duet_blocking::core::Headers::new();
        assert_eq!(last_modified(&headers), None);
        headers
            .append("Last-Modified", "Sun, 06 Nov 1994 08:49:37 GMT")
            .unwrap();
        assert_eq!(last_modified(&headers), Some(at(EXAMPLE)));
        let mut asctime = duet_blocking::core::Headers::new();
        asctime
            .append("Last-Modified", "Sun Nov  6 08:49:37 1994")
            .unwrap();
        assert_eq!(last_modified(&asctime), Some(at(EXAMPLE)));
        let mut odd = duet_blocking::core::Headers::new();
        odd.append("Last-Modified", "06-Nov-1994 08:49:37").unwrap();
        assert_eq!(
            last_modified(&odd),
            Some(at(EXAMPLE)),
            "as a browser reads it"
        );
    }
}
