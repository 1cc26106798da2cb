//! Fault rules written as text, for the command line (`mock-backend --fault SPEC`):
//! `KIND[@PATH_PREFIX][*TIMES]`, where KIND is `drop`, `lose-answer`, `delay-MS`, `status-CODE`,
//! `status-after-CODE`, `truncate` or `reset`. Examples: `lose-answer@/rps/v1/payments`,
//! `status-503@/bank*3`, `delay-2000`.

use super::{Fault, FaultRule};
use std::time::Duration;

/// A fault spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec {spec:?}: {reason} (KIND[@PATH_PREFIX][*TIMES]; KIND: drop, lose-answer, delay-MS, status-CODE, status-after-CODE, truncate, reset)")]
pub struct FaultSpecError {
    spec: String,
    reason: &'static str,
}

impl std::str::FromStr for FaultRule {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let bad = |reason| FaultSpecError {
            spec: spec.to_owned(),
            reason,
        };
        let (rest, times) = match spec.rsplit_once('*') {
            Some((rest, times)) => (
                rest,
                times
                    .parse::<usize>()
                    .ok()
                    .filter(|t| *t > 0)
                    .ok_or(bad("TIMES must be a positive number"))?,
            ),
            None => (spec, 1),
        };
        let (kind, prefix) = match rest.split_once('@') {
            Some((kind, prefix)) if prefix.starts_with('/') => (kind, prefix),
            Some(_) => return Err(bad("PATH_PREFIX must start with /")),
            None => (rest, ""),
        };
        let number = |text: &str| text.parse::<u64>().map_err(|_| bad("not a number"));
        let status = |text: &str| {
            number(text)?
                .try_into()
                .ok()
                .filter(|code| (100..=599).contains(code))
                .ok_or(bad("CODE must be an HTTP status"))
        };
        let fault = match kind {
            "drop" => Fault::DropRequest,
            "lose-answer" => Fault::LoseAnswer,
            "truncate" => Fault::TruncateBody,
            "reset" => Fault::ResetMidResponse,
            _ => {
                if let Some(code) = kind.strip_prefix("status-after-") {
                    Fault::StatusAfterForward(status(code)?)
                } else if let Some(code) = kind.strip_prefix("status-") {
                    Fault::Status(status(code)?)
                } else if let Some(ms) = kind.strip_prefix("delay-") {
                    Fault::Delay(Duration::from_millis(number(ms)?))
                } else {
                    return Err(bad("unknown KIND"));
                }
            }
        };
        Ok(FaultRule::path(prefix, fault).times(times))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_parse_into_rules() {
        let rule: FaultRule = "lose-answer@/rps/v1/payments".parse().unwrap();
        assert_eq!(rule, FaultRule::path("/rps/v1/payments", Fault::LoseAnswer));
        let rule: FaultRule = "status-503@/bank*3".parse().unwrap();
        assert_eq!(rule, FaultRule::path("/bank", Fault::Status(503)).times(3));
        let rule: FaultRule = "delay-2000".parse().unwrap();
        assert_eq!(
            rule,
            FaultRule::path("", Fault::Delay(Duration::from_secs(2)))
        );
        let rule: FaultRule = "status-after-502*2".parse().unwrap();
        assert_eq!(rule.fault, Fault::StatusAfterForward(502));
        assert_eq!(rule.times, 2);
        for (spec, fault) in [
            ("drop", Fault::DropRequest),
            ("truncate", Fault::TruncateBody),
            ("reset", Fault::ResetMidResponse),
        ] {
            assert_eq!(spec.parse::<FaultRule>().unwrap().fault, fault);
        }
    }

    #[test]
    fn bad_specs_say_what_is_wrong() {
        for spec in [
            "",
            "explode",
            "status-99",
            "status-abc",
            "delay-",
            "drop@rps",
            "drop*0",
            "drop*x",
        ] {
            let err = spec.parse::<FaultRule>().unwrap_err();
            assert!(err.to_string().contains("bad fault spec"), "{spec}: {err}");
        }
    }
}
