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

/// A date as written (see [`TimeCond::parse`]); one without a time of day is midnight. A
/// zone with it (`+0100`, `-08:00`, `PST`, `CET`) moves it to UTC, as curl's date reader does;
/// without one it is UTC.
fn parse_date(text: &str) -> Option<SystemTime> {
    let at = parse_cookie_date(text).or_else(|| parse_cookie_date(&format!("{text} 00:00:00")))?;
    let east = zone_offset(text).unwrap_or(0);
    let shift = std::time::Duration::from_secs(east.unsigned_abs());
    match east >= 0 {
        true => at.checked_sub(shift),
        false => at.checked_add(shift),
    }
}

/// The zone a date names (the first word of it that is one; curl's dates write it after the
/// time), as seconds east of UTC: a numeric offset (`+0100`, `-08:00`, `+09`) or one of the
/// usual zone names. `None` when it names none.
fn zone_offset(text: &str) -> Option<i64> {
    let tokens = text.split(|c: char| c.is_ascii_whitespace() || c == ',');
    tokens.filter(|t| !t.is_empty()).find_map(|token| {
        numeric_zone(token).or_else(|| {
            let hours = ZONES
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(token))?
                .1;
            Some(i64::from(hours) * 1800)
        })
    })
}

/// `+HHMM`, `-HH:MM` or `+HH`, in seconds east of UTC.
fn numeric_zone(token: &str) -> Option<i64> {
    let sign = match token.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = token[1..].chars().filter(|&c| c != ':').collect();
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (hours, minutes) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (
            digits[..2].parse::<i64>().ok()?,
            digits[2..].parse::<i64>().ok()?,
        ),
        _ => return None,
    };
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 3600 + minutes * 60))
}

/// Zone names and their offsets from UTC in half hours: RFC 5322's (obsolete) names and
/// the others in common use.
const ZONES: &[(&str, i8)] = &[
    ("GMT", 0),
    ("UT", 0),
    ("UTC", 0),
    ("Z", 0),
    ("WET", 0),
    ("WEST", 2),
    ("BST", 2),
    ("CET", 2),
    ("MET", 2),
    ("CEST", 4),
    ("MEST", 4),
    ("EET", 4),
    ("EEST", 6),
    ("MSK", 6),
    ("JST", 18),
    ("KST", 18),
    ("AEST", 20),
    ("AEDT", 22),
    ("NZST", 24),
    ("NZDT", 26),
    ("AST", -8),
    ("ADT", -6),
    ("EST", -10),
    ("EDT", -8),
    ("CST", -12),
    ("CDT", -10),
    ("MST", -14),
    ("MDT", -12),
    ("PST", -16),
    ("PDT", -14),
    ("AKST", -18),
    ("AKDT", -16),
    ("HST", -20),
];

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
    parse_cookie_date(headers.get_str("last-modified")?)
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
        assert_eq!(
            TimeCond::parse("6 Nov 1994 CET").unwrap().at,
            at(midnight - 3600)
        );
        assert_eq!(TimeCond::parse("not a date, nor a file"), None);
        assert_eq!(TimeCond::parse(""), None);
    }

    #[test]
    fn a_zone_after_the_time_moves_the_date_to_utc_as_curl_does() {
        for (text, east) in [
            ("Sun, 06 Nov 1994 08:49:37 +0100", 3600),
            ("Sun, 06 Nov 1994 08:49:37 +01:00", 3600),
            ("Sun, 06 Nov 1994 08:49:37 +0530", 5 * 3600 + 1800),
            ("Sun, 06 Nov 1994 08:49:37 -0800", -8 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 -08", -8 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 PST", -8 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 pdt", -7 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 CEST", 2 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 JST", 9 * 3600),
            ("Sun, 06 Nov 1994 08:49:37 UTC", 0),
            ("Sun, 06 Nov 1994 08:49:37 Z", 0),
            ("-Sun, 06 Nov 1994 08:49:37 EST", -5 * 3600),
        ] {
            let want = at(EXAMPLE.checked_add_signed(-east).unwrap());
            assert_eq!(TimeCond::parse(text).unwrap().at, want, "{text}");
        }
        // North America's zones, whole hours west of UTC.
        for (zone, east) in [
            ("AST", -4),
            ("ADT", -3),
            ("EST", -5),
            ("EDT", -4),
            ("CST", -6),
            ("CDT", -5),
            ("MST", -7),
            ("MDT", -6),
            ("PST", -8),
            ("PDT", -7),
            ("AKST", -9),
            ("AKDT", -8),
            ("HST", -10),
        ] {
            let text = format!("Sun, 06 Nov 1994 08:49:37 {zone}");
            let want = at(EXAMPLE.checked_add_signed(-east * 3600).unwrap());
            assert_eq!(TimeCond::parse(&text).unwrap().at, want, "{text}");
        }
        // What is not a zone changes nothing: a day's name, a month's, an offset past 14
        // hours or not in hours and minutes.
        for text in [
            "Sun, 06 Nov 1994 08:49:37 +2500",
            "Sun, 06 Nov 1994 08:49:37 +123",
            "Sun, 06 Nov 1994 08:49:37 +0160",
            "Sun, 06 Nov 1994 08:49:37 XYZ",
            "Sunday, 06-Nov-94 08:49:37",
        ] {
            assert_eq!(TimeCond::parse(text).unwrap().at, at(EXAMPLE), "{text}");
        }
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
        assert_eq!(TimeCond::parse(&format!("+{arg}")), TimeCond::parse(arg));
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
