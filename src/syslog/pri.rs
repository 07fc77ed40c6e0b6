//! `<PRI>`: facility and severity in one number, 0–191.

use super::SyslogError;

/// The highest valid PRI: facility 23 (local7), severity 7 (debug).
pub const MAX_PRIORITY: u16 = 191;

/// Reads `<PRI>` at the start of `line`.
///
/// Returns `Ok(None)` when the line does not start with `<` (a PRI-less line), and
/// an error when it starts with `<` but holds no valid PRI.
pub fn parse_pri(line: &[u8]) -> Result<Option<(u8, &[u8])>, SyslogError> {
    if line.first() != Some(&b'<') {
        return Ok(None);
    }
    let digits = line[1..]
        .iter()
        .take(4)
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 || digits > 3 {
        return Err(SyslogError::new(1, "PRI: 1 to 3 digits"));
    }
    if line.get(1 + digits) != Some(&b'>') {
        return Err(SyslogError::new(1 + digits, "PRI: '>' after the digits"));
    }
    let value = line[1..1 + digits]
        .iter()
        .fold(0u16, |acc, b| acc * 10 + (b - b'0') as u16);
    if value > MAX_PRIORITY {
        return Err(SyslogError::new(1, "PRI: a number from 0 to 191"));
    }
    Ok(Some((value as u8, &line[2 + digits..])))
}

/// The facility name of a facility code (RFC 5424 table, names as syslog(3) has them).
pub fn facility_name(code: u8) -> &'static str {
    const NAMES: [&str; 24] = [
        "kern",
        "user",
        "mail",
        "daemon",
        "auth",
        "syslog",
        "lpr",
        "news",
        "uucp",
        "cron",
        "authpriv",
        "ftp",
        "ntp",
        "security",
        "console",
        "solaris-cron",
        "local0",
        "local1",
        "local2",
        "local3",
        "local4",
        "local5",
        "local6",
        "local7",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown")
}

/// The severity name of a severity code.
pub fn severity_name(code: u8) -> &'static str {
    const NAMES: [&str; 8] = [
        "emergency",
        "alert",
        "critical",
        "error",
        "warning",
        "notice",
        "informational",
        "debug",
    ];
    NAMES.get(code as usize).copied().unwrap_or("unknown")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_pri() {
        assert_eq!(parse_pri(b"<189>x").unwrap(), Some((189, &b"x"[..])));
        assert_eq!(parse_pri(b"<0>").unwrap(), Some((0, &b""[..])));
        assert_eq!(parse_pri(b"no pri").unwrap(), None);
    }

    #[test]
    fn invalid_pri() {
        assert_eq!(parse_pri(b"<192>x").unwrap_err().offset, 1);
        assert!(parse_pri(b"<999>x").is_err());
        assert!(parse_pri(b"<1890>x").is_err());
        assert!(parse_pri(b"<>x").is_err());
        assert!(parse_pri(b"<12").is_err());
        assert!(parse_pri(b"<a>").is_err());
    }
}
