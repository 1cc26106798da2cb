//! Calendar days of the acquiring side, in Beijing time (UTC+8, no daylight saving): the clearing
//! day of a transaction and the POS terminal's transaction date (`9A`).

/// Offset of Beijing time from UTC, in seconds.
pub const BEIJING_OFFSET_SECS: u64 = 8 * 3600;

/// A civil date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day {
    /// Year, e.g. 2025.
    pub year: i64,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
}

impl Day {
    /// The Beijing calendar day of Unix time `unix` (seconds).
    pub fn beijing(unix: u64) -> Day {
        let days = i64::try_from(unix.saturating_add(BEIJING_OFFSET_SECS) / 86_400).unwrap_or(0);
        civil_from_days(days)
    }

    /// `YYYY-MM-DD`.
    pub fn iso(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// `YYMMDD`, as EMV's transaction date `9A` (n6) spells it.
    pub fn yymmdd(&self) -> String {
        format!(
            "{:02}{:02}{:02}",
            self.year.rem_euclid(100),
            self.month,
            self.day
        )
    }

    /// Parses a strict `YYYY-MM-DD` of a real calendar day (years 1970–9999).
    pub fn parse_iso(text: &str) -> Option<Day> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes.get(4) != Some(&b'-') || bytes.get(7) != Some(&b'-') {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u32> {
            let part = text.get(range)?;
            if !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse().ok()
        };
        let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
        let year = i64::from(year);
        let valid = year >= 1970
            && (1..=12).contains(&month)
            && (1..=days_in_month(year, month)).contains(&day);
        valid.then_some(Day { year, month, day })
    }
}

/// The civil date of a day count since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> Day {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Day { year, month, day }
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_day_changes_at_16_utc() {
        // 2025-03-14T15:59:59Z is 23:59:59 in Beijing; one second later it is the 15th.
        assert_eq!(Day::beijing(1_741_967_999).iso(), "2025-03-14");
        assert_eq!(Day::beijing(1_741_968_000).iso(), "2025-03-15");
        assert_eq!(Day::beijing(1_741_968_000).yymmdd(), "250315");
        assert_eq!(Day::beijing(0).iso(), "1970-01-01");
        // 2024-02-29T00:00:00+08:00 = 2024-02-28T16:00:00Z = 1709136000.
        assert_eq!(Day::beijing(1_709_136_000).iso(), "2024-02-29");
    }

    #[test]
    fn parses_only_real_days() {
        assert_eq!(
            Day::parse_iso("2024-02-29"),
            Some(Day {
                year: 2024,
                month: 2,
                day: 29
            })
        );
        for bad in [
            "2023-02-29",
            "2025-13-01",
            "2025-00-10",
            "2025-3-14",
            "20250314",
            "2025-03-1x",
            "1969-12-31",
            "+025-03-14",
        ] {
            assert_eq!(Day::parse_iso(bad), None, "{bad}");
        }
    }
}
