//! Per-field validation errors, worded for the person who typed the field.

use serde::Serialize;

/// One field that failed to parse, with a message in Chinese and in English.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// Dotted path of the field in the request, e.g. `itinerary.0.from`.
    pub field: String,
    /// Stable machine code, e.g. `check_digit`, `required`, `too_long`.
    pub code: &'static str,
    pub message: String,
    pub message_en: String,
}

impl FieldError {
    pub fn new(
        field: impl Into<String>,
        code: &'static str,
        message: impl Into<String>,
        message_en: impl Into<String>,
    ) -> Self {
        Self {
            field: field.into(),
            code,
            message: message.into(),
            message_en: message_en.into(),
        }
    }

    /// The same error reported under another field path (e.g. `origin.` + field).
    pub fn under(mut self, prefix: &str) -> Self {
        self.field = if self.field.is_empty() {
            prefix.to_string()
        } else {
            format!("{prefix}.{}", self.field)
        };
        self
    }
}

/// Collects every field error of one request so the user sees them all at once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<FieldError>);

impl FieldErrors {
    pub fn push(&mut self, e: FieldError) {
        self.0.push(e);
    }

    /// Keeps the value if it parsed; records the error otherwise.
    pub fn take<T>(&mut self, r: Result<T, FieldError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.0.push(e);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_result<T>(self, v: T) -> Result<T, FieldErrors> {
        if self.0.is_empty() { Ok(v) } else { Err(self) }
    }
}

/// A required free-text field: trimmed, non-empty, at most `max` characters,
/// and free of control characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let v = value.trim();
    if v.is_empty() {
        return Err(FieldError::new(field, "required", "必填", "required"));
    }
    if v.chars().count() > max {
        return Err(FieldError::new(
            field,
            "too_long",
            format!("不能超过{max}个字符"),
            format!("at most {max} characters"),
        ));
    }
    if v.chars().any(|c| c.is_control()) {
        return Err(FieldError::new(
            field,
            "control_char",
            "含有不可见控制字符",
            "contains control characters",
        ));
    }
    Ok(v.to_string())
}

/// An optional free-text field: blank is allowed, otherwise as [`text`].
pub fn text_optional(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        text(field, value, max)
    }
}

/// A typed number as the parsers below expect it: full-width digits and
/// punctuation as ASCII (`３６．５` → `36.5`), a decimal comma as a point
/// (`37,5` → `37.5`), a trailing unit dropped (`36.5度`, `36.5℃`, `36.5°C`,
/// `3次`, `10人`, `14天`, `2剂`) and surrounding space trimmed. What is left
/// is not checked: the caller parses it and rejects what is not a number.
pub fn number_text(raw: &str) -> String {
    let s = crate::identity::half_width(raw).replace('，', ",");
    let mut s = s.trim();
    for unit in [
        "摄氏度",
        "°C",
        "°c",
        "℃",
        "度",
        "°",
        "次",
        "人",
        "天",
        "日",
        "剂",
        "份",
        "管",
        "个",
    ] {
        if let Some(rest) = s.strip_suffix(unit) {
            s = rest.trim_end();
            break;
        }
    }
    // One comma between digits is a decimal comma; anything else stays and
    // fails to parse.
    let s = s.trim();
    if s.matches(',').count() == 1 && !s.contains('.') {
        s.replace(',', ".")
    } else {
        s.to_string()
    }
}

/// Parses `YYYY-MM-DD`.
pub fn date(field: &str, value: &str) -> Result<crate::Date, FieldError> {
    if value.len() != 10 {
        return Err(bad_date(field));
    }
    crate::Date::parse_from_str(value, "%Y-%m-%d").map_err(|_| bad_date(field))
}

fn bad_date(field: &str) -> FieldError {
    FieldError::new(
        field,
        "date",
        "应为真实日期，如 2022-01-28",
        "expected a real date such as 2022-01-28",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_people_type_them() {
        for (raw, want) in [
            ("37,5", "37.5"),
            ("36.5度", "36.5"),
            ("36.5℃", "36.5"),
            ("36.5 °C", "36.5"),
            (" 36.5 ", "36.5"),
            ("３６．５", "36.5"),
            ("３７．５度", "37.5"),
            ("３７，５", "37.5"),
            ("\u{3000}１０\u{3000}", "10"),
            ("10人", "10"),
            ("36.5摄氏度", "36.5"),
            ("3", "3"),
        ] {
            assert_eq!(number_text(raw), want, "{raw:?}");
        }
        // Thousands separators and other shapes are left for the parser to reject.
        assert_eq!(number_text("1,000.5"), "1,000.5");
        assert_eq!(number_text("abc"), "abc");
    }

    #[test]
    fn text_trims_and_bounds() {
        assert_eq!(text("name", "  张三 ", 10).unwrap(), "张三");
        assert_eq!(text("name", "   ", 10).unwrap_err().code, "required");
        assert_eq!(
            text("name", &"字".repeat(11), 10).unwrap_err().code,
            "too_long"
        );
        assert_eq!(
            text("name", "a\u{0}b", 10).unwrap_err().code,
            "control_char"
        );
    }

    #[test]
    fn dates_must_be_real() {
        assert!(date("d", "2022-01-28").is_ok());
        assert_eq!(date("d", "2022-02-30").unwrap_err().code, "date");
        assert_eq!(date("d", "2022-1-28").unwrap_err().code, "date");
        assert_eq!(date("d", "'; drop").unwrap_err().field, "d");
    }
}
