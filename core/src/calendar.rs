//! Calendar arithmetic for the date readers (cookie dates, `HTTP-date`s) and the cookie
//! files: the proleptic Gregorian calendar in UTC, and whole Unix seconds.
//!
//! The day-number conversions are Howard Hinnant's `days_from_civil` and `civil_from_days`
//! algorithms, exact for every year an `i64` day count can hold.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Whole Unix seconds of `time`, rounded down; negative before 1970.
pub(crate) fn unix_secs(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let secs = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            if before.subsec_nanos() > 0 {
                -secs - 1
            } else {
                -secs
            }
        }
    }
}

/// The time `secs` Unix seconds from the epoch, or `None` when this platform cannot hold it.
pub(crate) fn from_unix_secs(secs: i64) -> Option<SystemTime> {
    let magnitude = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
}

/// The instant of a UTC date and time that the caller has checked exists (`month` 1 to 12,
/// `day` within [`days_in_month`], the time of day in range), or `None` when this platform
/// cannot hold it.
pub(crate) fn utc(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<SystemTime> {
    let of_day = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
    from_unix_secs(
        days_from_civil(year, month, day)
            .checked_mul(86_400)?
            .checked_add(of_day)?,
    )
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// How many days `month` (1 to 12) of `year` has.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date (`month` 1 to 12), negative before it.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    // Years start in March, so a leap day is the last day of its year.
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The year that day number `days` (from 1970-01-01) falls in.
pub(crate) fn year_of_day(days: i64) -> i64 {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    // Years of the era (from 1 March) with a leap day every fourth year, leaving out the
    // centuries' exceptions: the estimate falls a year short only in the first few days of
    // a March-based year (one day for each century's leap day it counts that never was),
    // where the day of the year comes out past 305 and the month below adds the year back.
    let year_of_era = (day_of_era - day_of_era / 1460) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153; // 0 = March
    year_of_era + era * 400 + i64::from(month_index >= 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_of_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2000, 2, 29), 11_016);
        assert_eq!(days_from_civil(1601, 1, 1), -134_774);
        assert_eq!(
            utc(1994, 11, 6, 8, 49, 37).map(unix_secs),
            Some(784_111_777)
        );
    }

    #[test]
    fn day_numbers_and_years_agree_around_every_turn_of_a_year() {
        for year in [
            -400, 1, 1600, 1601, 1900, 1969, 1970, 2000, 2024, 2100, 9999,
        ] {
            assert_eq!(year_of_day(days_from_civil(year, 1, 1)), year);
            assert_eq!(year_of_day(days_from_civil(year, 1, 1) - 1), year - 1);
            assert_eq!(year_of_day(days_from_civil(year, 12, 31)), year);
            let days: i64 = (1..=12).map(|m| i64::from(days_in_month(year, m))).sum();
            assert_eq!(
                days_from_civil(year + 1, 1, 1) - days_from_civil(year, 1, 1),
                days
            );
        }
    }

    /// The first and last days of 400-year eras (which start on 1 March of a year divisible
    /// by 400), and the turns of centuries within one.
    #[test]
    fn years_at_the_ends_of_an_era() {
        for (year, month, day) in [
            (2000, 3, 1),
            (2000, 2, 29),
            (1600, 3, 1),
            (2400, 2, 29),
            (2100, 3, 1),
            (2100, 2, 28),
            (0, 3, 1),
        ] {
            let days = days_from_civil(year, month, day);
            assert_eq!(year_of_day(days), year, "{year}-{month}-{day}");
        }
    }

    /// Every day of three whole eras and the edges around them, one after another: each day
    /// number follows the last, and each is in its own year (`year_of_day`'s estimate skips
    /// the centuries' exceptions and relies on the month to put it right: this holds it to
    /// every day of a whole 400-year cycle, and the cycle repeats).
    #[test]
    fn every_day_of_three_eras_is_in_its_own_year() {
        let mut expected = days_from_civil(-401, 1, 1);
        for year in -401..=801 {
            for month in 1..=12 {
                for day in 1..=days_in_month(year, month) {
                    let days = days_from_civil(year, month, day);
                    assert_eq!(days, expected, "{year}-{month}-{day}");
                    assert_eq!(year_of_day(days), year, "{year}-{month}-{day}");
                    expected += 1;
                }
            }
        }
    }

    #[test]
    fn leap_years() {
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 12), 31);
    }

    #[test]
    fn unix_seconds_round_down_and_come_back() {
        assert_eq!(unix_secs(UNIX_EPOCH + Duration::from_millis(1_500)), 1);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_millis(1_500)), -2);
        assert_eq!(unix_secs(UNIX_EPOCH - Duration::from_secs(2)), -2);
        for secs in [0, 1, -1, 1_445_412_480, -31_536_000] {
            assert_eq!(from_unix_secs(secs).map(unix_secs), Some(secs));
        }
        // A year whose seconds no i64 holds.
        assert_eq!(utc(1_000_000_000_000, 1, 1, 0, 0, 0), None);
    }
}
