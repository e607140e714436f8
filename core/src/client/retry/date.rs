//! `Retry-After` values (RFC 9110 §10.2.3): `delta-seconds` or an `HTTP-date` in any of the
//! three formats of RFC 9110 §5.6.7, read strictly by their grammar:
//!
//! ```text
//! IMF-fixdate   Sun, 06 Nov 1994 08:49:37 GMT    the one senders must use
//! rfc850-date   Sunday, 06-Nov-94 08:49:37 GMT   obsolete, two-digit year
//! asctime-date  Sun Nov  6 08:49:37 1994         obsolete, ANSI C asctime()
//! ```
//!
//! Lenient date reading (any token order, trailing junk) is the cookie algorithm of
//! RFC 6265bis §5.1.1 and belongs to cookies; a field defined as `HTTP-date` is read as one.

use std::time::{Duration, SystemTime};

use crate::calendar::{days_in_month, unix_secs, utc, year_of_day};

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];
const DAY_NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAY_NAMES: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// How long a `Retry-After` value asks the client to wait, seen at `wall_now`: `None` when
/// the value is neither `delta-seconds` (`1*DIGIT`) nor an `HTTP-date`. A date in the past
/// means no wait; a number too large for a `u64` saturates.
pub(super) fn retry_after(value: &str, wall_now: SystemTime) -> Option<Duration> {
    let value = value.trim_matches([' ', '\t']);
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        let secs = value.bytes().fold(0u64, |n, b| {
            n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        });
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value, wall_now)?;
    Some(at.duration_since(wall_now).unwrap_or(Duration::ZERO))
}

/// Parses an `HTTP-date` (RFC 9110 §5.6.7). `wall_now` places the two-digit year of an
/// `rfc850-date`: a year that would be more than 50 years in the future is the most recent
/// past year with those last two digits.
pub(super) fn parse_http_date(text: &str, wall_now: SystemTime) -> Option<SystemTime> {
    let b = text.as_bytes();
    if let Some((name, rest)) = text.split_once(", ") {
        let rest = rest.as_bytes();
        if DAY_NAMES.contains(&name) && rest.len() == 24 {
            // IMF-fixdate: day-name "," SP date1 SP time-of-day SP GMT, date1 = 2DIGIT SP
            // month SP 4DIGIT.
            let (day, month) = (digits(&rest[0..2])?, month(&rest[3..6])?);
            let sep = [rest[2], rest[6], rest[11], rest[20]] == [b' '; 4];
            if !sep || &rest[21..] != b"GMT" {
                return None;
            }
            return at(i64::from(digits(&rest[7..11])?), month, day, &rest[12..20]);
        }
        if LONG_DAY_NAMES.contains(&name) && rest.len() == 22 {
            // rfc850-date: day-name-l "," SP date2 SP time-of-day SP GMT, date2 = 2DIGIT "-"
            // month "-" 2DIGIT.
            let (day, month) = (digits(&rest[0..2])?, month(&rest[3..6])?);
            let sep = [rest[2], rest[6], rest[9], rest[18]] == [b'-', b'-', b' ', b' '];
            let year = full_year(digits(&rest[7..9])?, wall_now);
            if !sep || &rest[19..] != b"GMT" {
                return None;
            }
            return at(year, month, day, &rest[10..18]);
        }
        return None;
    }
    // asctime-date: day-name SP date3 SP time-of-day SP year, date3 = month SP ( 2DIGIT /
    // ( SP DIGIT ) ).
    if b.len() != 24 || !DAY_NAMES.contains(&text.get(..3)?) {
        return None;
    }
    let day = match b[8] {
        b' ' => digits(&b[9..10])?,
        _ => digits(&b[8..10])?,
    };
    if [b[3], b[7], b[10], b[19]] != [b' '; 4] {
        return None;
    }
    at(
        i64::from(digits(&b[20..24])?),
        month(&b[4..7])?,
        day,
        &b[11..19],
    )
}

/// The number that `text`, all ASCII digits, spells.
fn digits(text: &[u8]) -> Option<u32> {
    text.iter().try_fold(0u32, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u32::from(b - b'0'))
    })
}

/// `month` (case-sensitive, RFC 9110 §5.6.7), 1 to 12.
fn month(text: &[u8]) -> Option<u32> {
    MONTHS
        .iter()
        .position(|m| m[..] == *text)
        .map(|i| i as u32 + 1)
}

/// The instant of a date and `time-of-day` (`HH:MM:SS`, seconds up to 60 for a leap second),
/// `None` if either does not exist.
fn at(year: i64, month: u32, day: u32, time: &[u8]) -> Option<SystemTime> {
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hour, minute, second) = (
        digits(&time[0..2])?,
        digits(&time[3..5])?,
        digits(&time[6..8])?,
    );
    if hour > 23 || minute > 59 || second > 60 || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    utc(year, month, day, hour, minute, second)
}

/// The year of an `rfc850-date`'s two digits, seen at `wall_now` (RFC 9110 §5.6.7): the
/// latest year ending in those digits that is at most 50 years ahead.
fn full_year(two_digits: u32, wall_now: SystemTime) -> i64 {
    let now_year = year_of_day(unix_secs(wall_now).div_euclid(86_400));
    let candidate = now_year - now_year.rem_euclid(100) + 100 + i64::from(two_digits);
    if candidate - 100 > now_year + 50 {
        candidate - 200
    } else {
        candidate - 100 * i64::from(candidate > now_year + 50)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// 1994-11-06T08:49:37Z, the example of RFC 9110 §5.6.7.
    const EXAMPLE: u64 = 784_111_777;

    fn wall(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn unix(text: &str, now: SystemTime) -> Option<u64> {
        parse_http_date(text, now).map(|t| t.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn the_three_formats_of_rfc_9110() {
        let now = wall(EXAMPLE);
        assert_eq!(unix("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(EXAMPLE));
        assert_eq!(unix("Sunday, 06-Nov-94 08:49:37 GMT", now), Some(EXAMPLE));
        assert_eq!(unix("Sun Nov  6 08:49:37 1994", now), Some(EXAMPLE));
        assert_eq!(
            unix("Sun Nov 16 08:49:37 1994", now),
            Some(EXAMPLE + 10 * 86_400)
        );
        assert_eq!(unix("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(0));
        assert_eq!(
            unix("Thu, 29 Feb 2024 23:59:59 GMT", now),
            Some(1_709_251_199)
        );
    }

    #[test]
    fn a_leap_second_is_a_date() {
        let text = "Sat, 31 Dec 2016 23:59:60 GMT";
        assert_eq!(unix(text, wall(EXAMPLE)), Some(1_483_228_800));
    }

    #[test]
    fn anything_else_is_not_a_date() {
        let now = wall(EXAMPLE);
        for text in [
            "",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "sun, 06 Nov 1994 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT ",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1994 08:60:00 GMT",
            "Fri, 29 Feb 2019 08:49:37 GMT",
            "Sun, 31 Apr 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08.49.37 GMT",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun Nov  6 08:49:37 94  ",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "Sonntag, 06-Nov-94 08:49:37 GMT",
            // Each part of each format wrong alone: the zone, a separator, the day name, the
            // length.
            "Sunday, 06-Nov-94 08:49:37 UTC",
            "Sunday, 06 Nov-94 08:49:37 GMT",
            "Xyz Nov  6 08:49:37 1994",
            "Sun Nov  6 08:49:37 19945",
            "Sun Nov  6 08:49:37 1994 ",
            "Sun, 06 Nov 1994 08:49.37 GMT",
            "Sat, 31 Dec 2016 23:59:61 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(text, now), None, "{text:?}");
        }
    }

    #[test]
    fn rfc850_two_digit_years_are_at_most_50_years_ahead() {
        // Seen in 1994: 94 is 1994, 44 is 2044 (50 years ahead), 45 is 1945.
        let in_1994 = wall(EXAMPLE);
        assert_eq!(full_year(94, in_1994), 1994);
        assert_eq!(full_year(44, in_1994), 2044);
        assert_eq!(full_year(45, in_1994), 1945);
        // Seen in 2025: 75 is 2075, 76 is 1976, 0 is 2000.
        let in_2025 = wall(1_750_000_000);
        assert_eq!(full_year(75, in_2025), 2075);
        assert_eq!(full_year(76, in_2025), 1976);
        assert_eq!(full_year(0, in_2025), 2000);
        // Seen in 2099: 01 is 2101, not 2001.
        let in_2099 = wall(4_090_000_000);
        assert_eq!(year_of_day(4_090_000_000 / 86_400), 2099);
        assert_eq!(full_year(1, in_2099), 2101);
        assert_eq!(full_year(49, in_2099), 2149);
        assert_eq!(full_year(50, in_2099), 2050);
        assert_eq!(
            unix("Tuesday, 21-Oct-25 07:28:00 GMT", in_2025),
            Some(1_761_031_680)
        );
    }

    #[test]
    fn retry_after_values() {
        let now = wall(EXAMPLE);
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:51:37 GMT", now),
            Some(Duration::from_secs(120))
        );
        // A date in the past: retry now.
        assert_eq!(
            retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        for bad in ["", "-1", "1.5", "+5", "soon", "12 s"] {
            assert_eq!(retry_after(bad, now), None, "{bad:?}");
        }
    }
}
