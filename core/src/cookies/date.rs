//! The cookie-date algorithm of RFC 6265bis §5.1.1, which reads `Expires` values as browsers
//! do: the tokens may come in any order, with any delimiters and trailing junk
//! (`Wed, 21 Oct 2015 07:28:00 GMT`, `Wednesday, 21-Oct-15 07:28:00 GMT`,
//! `Wed Oct 21 07:28:00 2015`, `21 Oct 2015 7:28:00`).

use std::time::SystemTime;

use crate::calendar::{days_in_month, utc};

const MONTHS: [&[u8; 3]; 12] = [
    b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec",
];

/// delimiter = %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E (§5.1.1).
fn is_delimiter(byte: u8) -> bool {
    matches!(byte, 0x09 | 0x20..=0x2f | 0x3b..=0x40 | 0x5b..=0x60 | 0x7b..=0x7e)
}

/// `min*maxDIGIT ( non-digit *OCTET )`: the number its leading digits spell, when there are
/// `min` to `max` of them; the rest of the token is ignored.
fn leading_number(token: &[u8], min: usize, max: usize) -> Option<(u32, &[u8])> {
    let digits = token.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits < min || digits > max {
        return None;
    }
    let value = token[..digits]
        .iter()
        .fold(0, |n, &b| n * 10 + u32::from(b - b'0'));
    Some((value, &token[digits..]))
}

/// `time = hms-time ( non-digit *OCTET )`, `hms-time = time-field ":" time-field ":"
/// time-field`, `time-field = 1*2DIGIT`.
fn parse_time(token: &[u8]) -> Option<(u32, u32, u32)> {
    let (hour, rest) = leading_number(token, 1, 2)?;
    let (minute, rest) = leading_number(rest.strip_prefix(b":")?, 1, 2)?;
    let (second, _) = leading_number(rest.strip_prefix(b":")?, 1, 2)?;
    Some((hour, minute, second))
}

/// `month = ( "jan" / ... / "dec" ) *OCTET`, case-insensitive.
fn parse_month(token: &[u8]) -> Option<u32> {
    let prefix = token.get(..3)?.to_ascii_lowercase();
    let index = MONTHS.iter().position(|m| m[..] == prefix[..])?;
    Some(index as u32 + 1)
}

/// Parses a date as browsers read a cookie's `Expires` (RFC 6265bis §5.1.1): a time, a day,
/// a month name and a year, in any order and with any delimiters, read as UTC (a zone is
/// ignored), such as `Wed, 21 Oct 2015 07:28:00 GMT` or `21-Oct-15 7:28:00`. `None` when
/// the algorithm says to fail (a missing part, a value out of range, a day that does not
/// exist, a year before 1601).
pub fn parse_cookie_date(text: &str) -> Option<SystemTime> {
    let (mut time, mut day, mut month, mut year) = (None, None, None, None);
    for token in text
        .as_bytes()
        .split(|&b| is_delimiter(b))
        .filter(|t| !t.is_empty())
    {
        if time.is_none()
            && let Some(found) = parse_time(token)
        {
            time = Some(found);
        } else if day.is_none()
            && let Some((found, _)) = leading_number(token, 1, 2)
        {
            day = Some(found);
        } else if month.is_none()
            && let Some(found) = parse_month(token)
        {
            month = Some(found);
        } else if year.is_none()
            && let Some((found, _)) = leading_number(token, 2, 4)
        {
            year = Some(found);
        }
    }
    let ((hour, minute, second), day, month, year) = (time?, day?, month?, year?);
    // Step 3-4: two-digit years.
    let year = i64::from(match year {
        70..=99 => year + 1900,
        0..=69 => year + 2000,
        _ => year,
    });
    // Step 5: abort on values out of range, then on dates that do not exist.
    if !(1..=31).contains(&day) || year < 1601 || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    if day > days_in_month(year, month) {
        return None;
    }
    utc(year, month, day, hour, minute, second)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(text: &str) -> Option<i64> {
        parse_cookie_date(text).map(super::super::cookie::to_unix_secs)
    }

    const OCT_21_2015: i64 = 1_445_412_480; // 2015-10-21T07:28:00Z

    #[test]
    fn the_usual_formats() {
        assert_eq!(unix("Wed, 21 Oct 2015 07:28:00 GMT"), Some(OCT_21_2015));
        assert_eq!(unix("Wednesday, 21-Oct-15 07:28:00 GMT"), Some(OCT_21_2015));
        assert_eq!(unix("Wed Oct 21 07:28:00 2015"), Some(OCT_21_2015));
        assert_eq!(unix("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn lenient_like_browsers() {
        assert_eq!(unix("21 Oct 2015 7:28:00"), Some(OCT_21_2015));
        assert_eq!(unix("2015 october 21 07:28:00"), Some(OCT_21_2015));
        assert_eq!(
            unix("Wed, 21 OCT 2015 07:28:00 GMT+0200"),
            Some(OCT_21_2015)
        );
        assert_eq!(unix("21/Oct/2015:07:28:00 +0000"), None); // "2015:07:28:00" is no time token
        assert_eq!(unix("Wed,21-Oct-2015 07:28:00junk"), Some(OCT_21_2015));
        assert_eq!(unix("Wed, 21st Oct 2015 07:28:00"), Some(OCT_21_2015));
    }

    #[test]
    fn two_digit_years() {
        assert_eq!(unix("1 Jan 70 00:00:00"), Some(0));
        assert_eq!(unix("1 Jan 69 00:00:00"), Some(3_124_224_000)); // 2069
        assert_eq!(unix("1 Jan 99 00:00:00"), Some(915_148_800)); // 1999
    }

    #[test]
    fn before_1970_and_the_1601_floor() {
        assert_eq!(unix("1 Jan 1969 00:00:00"), Some(-31_536_000));
        assert!(unix("1 Jan 1601 00:00:00").is_some());
        assert_eq!(unix("31 Dec 1600 23:59:59"), None);
    }

    #[test]
    fn out_of_range_and_impossible_dates_fail() {
        assert_eq!(unix("30 Feb 2015 00:00:00"), None);
        assert_eq!(unix("29 Feb 2015 00:00:00"), None);
        assert_eq!(unix("29 Feb 2016 00:00:00"), Some(1_456_704_000));
        assert_eq!(unix("31 Apr 2015 00:00:00"), None);
        // The last second of a day is the latest time allowed.
        assert_eq!(unix("21 Oct 2015 23:59:59"), Some(1_445_471_999));
        assert_eq!(unix("21 Oct 2015 24:00:00"), None);
        assert_eq!(unix("21 Oct 2015 23:60:00"), None);
        assert_eq!(unix("21 Oct 2015 23:59:60"), None);
        assert_eq!(unix("0 Oct 2015 00:00:00"), None);
        assert_eq!(unix("32 Oct 2015 00:00:00"), None);
    }

    #[test]
    fn missing_parts_fail() {
        assert_eq!(unix("21 Oct 2015"), None);
        assert_eq!(unix("Oct 2015 07:28:00"), None);
        assert_eq!(unix("21 2015 07:28:00"), None);
        assert_eq!(unix("21 Oct 07:28:00"), None);
        assert_eq!(unix(""), None);
        assert_eq!(unix("tomorrow"), None);
        assert_eq!(unix("123 Oct 2015 07:28:00"), None); // "123" is a year, so no day
    }

    #[test]
    fn first_match_of_each_part_wins() {
        // Later tokens only fill parts still missing: the second time is ignored.
        assert_eq!(unix("07:28:00 21 Oct 2015 08:00:00"), Some(OCT_21_2015));
    }
}
