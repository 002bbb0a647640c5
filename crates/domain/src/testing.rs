//! 核酸检测: pooled tubes (混采) and what a lab result means for each member.

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// How many people one tube takes: 单采, 5合1, 10合1, 20合1.
pub const POOL_SIZES: [u32; 4] = [1, 5, 10, 20];

/// A tube's barcode: 6 to 32 letters, digits or hyphens.
pub fn parse_barcode(field: &str, raw: &str) -> Result<String, FieldError> {
    let b = raw.trim();
    if (6..=32).contains(&b.len()) && b.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        Ok(b.to_ascii_uppercase())
    } else {
        Err(FieldError::new(
            field,
            "barcode",
            "试管条码应为6到32位字母、数字或连字符",
            "a barcode is 6 to 32 letters, digits or hyphens",
        ))
    }
}

pub fn parse_pool_size(field: &str, n: i64) -> Result<u32, FieldError> {
    POOL_SIZES
        .into_iter()
        .find(|s| i64::from(*s) == n)
        .ok_or_else(|| {
            FieldError::new(
                field,
                "pool_size",
                "混采管规格应为1、5、10或20人",
                "a tube takes 1, 5, 10 or 20 people",
            )
        })
}

/// Why a person cannot go into a tube, checked in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TubeRefusal {
    Sealed,
    Full,
    AlreadyIn,
}

impl TubeRefusal {
    pub fn message(self) -> (&'static str, &'static str, &'static str) {
        match self {
            TubeRefusal::Sealed => ("sealed", "试管已封管，不能再加人", "the tube is sealed"),
            TubeRefusal::Full => ("full", "试管已满", "the tube is full"),
            TubeRefusal::AlreadyIn => (
                "duplicate",
                "此人已在该试管中",
                "this person is already in the tube",
            ),
        }
    }
}

/// Whether one more person may go into a tube.
pub fn may_add(
    sealed: bool,
    members: u32,
    pool_size: u32,
    already_in: bool,
) -> Result<(), TubeRefusal> {
    if sealed {
        Err(TubeRefusal::Sealed)
    } else if already_in {
        Err(TubeRefusal::AlreadyIn)
    } else if members >= pool_size {
        Err(TubeRefusal::Full)
    } else {
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabResult {
    Negative,
    Positive,
    Invalid,
}

impl LabResult {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "negative" => Some(LabResult::Negative),
            "positive" => Some(LabResult::Positive),
            "invalid" => Some(LabResult::Invalid),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            LabResult::Negative => "negative",
            LabResult::Positive => "positive",
            LabResult::Invalid => "invalid",
        }
    }
}

/// What a tube's result means for each of its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MemberOutcome {
    /// A negative test for everyone in the tube.
    Negative,
    /// A single tube was positive: this person is a case.
    Positive,
    /// A pool was positive: temporary control and a single re-test (单采复核).
    PoolPositive,
    /// The sample could not be read: sample again.
    Resample,
}

pub fn member_outcome(result: LabResult, pool_size: u32) -> MemberOutcome {
    match (result, pool_size) {
        (LabResult::Negative, _) => MemberOutcome::Negative,
        (LabResult::Positive, 1) => MemberOutcome::Positive,
        (LabResult::Positive, _) => MemberOutcome::PoolPositive,
        (LabResult::Invalid, _) => MemberOutcome::Resample,
    }
}

/// A Ct value as labs report it, e.g. "32.5": 0 to 50.
pub fn parse_ct(field: &str, raw: &str) -> Result<String, FieldError> {
    let raw = crate::validation::number_text(raw);
    match raw.parse::<f64>() {
        Ok(v) if (0.0..=50.0).contains(&v) && !raw.contains(['e', 'E', 'n', 'N', 'i', 'I']) => {
            Ok(raw)
        }
        _ => Err(FieldError::new(
            field,
            "ct",
            "Ct值应为0到50之间的数字",
            "Ct is a number from 0 to 50",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tube_rules() {
        assert_eq!(may_add(false, 9, 10, false), Ok(()));
        assert_eq!(may_add(false, 10, 10, false), Err(TubeRefusal::Full));
        assert_eq!(may_add(true, 3, 10, false), Err(TubeRefusal::Sealed));
        assert_eq!(may_add(false, 3, 10, true), Err(TubeRefusal::AlreadyIn));
        assert_eq!(may_add(false, 0, 1, false), Ok(()));
        assert_eq!(may_add(false, 1, 1, false), Err(TubeRefusal::Full));
    }

    #[test]
    fn pool_sizes_and_barcodes() {
        assert_eq!(parse_pool_size("p", 10), Ok(10));
        assert!(parse_pool_size("p", 3).is_err());
        assert_eq!(
            parse_barcode("b", " yk-2022000001 ").unwrap(),
            "YK-2022000001"
        );
        for bad in ["", "12345", "'; drop", &"9".repeat(33), "条码123456"] {
            assert!(parse_barcode("b", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_a_result_means() {
        assert_eq!(
            member_outcome(LabResult::Negative, 10),
            MemberOutcome::Negative
        );
        assert_eq!(
            member_outcome(LabResult::Positive, 1),
            MemberOutcome::Positive
        );
        assert_eq!(
            member_outcome(LabResult::Positive, 10),
            MemberOutcome::PoolPositive
        );
        assert_eq!(
            member_outcome(LabResult::Invalid, 1),
            MemberOutcome::Resample
        );
        assert!(parse_ct("ct", "32.5").is_ok());
        assert!(parse_ct("ct", "x").is_err());
        assert!(parse_ct("ct", "51").is_err());
    }
}
