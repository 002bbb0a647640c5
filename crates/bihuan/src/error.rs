//! The errors a use case can end in; the web layer maps each to a status.

use bihuan_domain::validation::{FieldError, FieldErrors};

#[derive(Debug)]
pub enum Error {
    /// One or more fields failed to parse; nothing was stored.
    Invalid(Vec<FieldError>),
    /// Not there, or not in the caller's region (the two look the same).
    NotFound,
    /// The action is not allowed in the record's current state.
    Conflict(String),
    /// A business rule refused the action (409), with words for the user.
    Refused {
        code: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    /// The caller's role may not do this.
    Forbidden,
    /// No valid session.
    Unauthorized,
    /// Too many attempts; retry later.
    Locked,
    /// The server is at its limit for this kind of work (503); retry later.
    Busy,
    Database(sqlx::Error),
    Internal(String),
}

impl Error {
    pub fn field(field: &str, code: &'static str, zh: &str, en: &str) -> Error {
        Error::Invalid(vec![FieldError::new(field, code, zh, en)])
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::Database(e)
    }
}

impl From<FieldErrors> for Error {
    fn from(e: FieldErrors) -> Self {
        Error::Invalid(e.0)
    }
}

impl From<FieldError> for Error {
    fn from(e: FieldError) -> Self {
        Error::Invalid(vec![e])
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::Invalid(e) => write!(f, "invalid input: {} field(s)", e.len()),
            Error::NotFound => f.write_str("not found"),
            Error::Conflict(m) => write!(f, "conflict: {m}"),
            Error::Refused { en, .. } => write!(f, "refused: {en}"),
            Error::Forbidden => f.write_str("forbidden"),
            Error::Unauthorized => f.write_str("unauthorized"),
            Error::Locked => f.write_str("locked"),
            Error::Busy => f.write_str("busy"),
            Error::Database(e) => write!(f, "database: {e}"),
            Error::Internal(m) => write!(f, "internal: {m}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
