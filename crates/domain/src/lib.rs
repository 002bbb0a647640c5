//! The pure rules of bihuan. Nothing here does IO, reads a clock or awaits:
//! every function takes the facts it needs and returns a value, so each rule
//! can be unit-tested on the dates of the policy's worked examples.

pub mod access;
pub mod assist;
pub mod checkpoint;
pub mod contacts;
pub mod countries;
pub mod dashboard;
pub mod drill;
pub mod duty;
pub mod gathering;
pub mod goods;
pub mod identity;
pub mod monitoring;
pub mod plan;
pub mod policy;
pub mod regions;
pub mod risk;
pub mod sentinel;
pub mod surge;
pub mod task;
pub mod testing;
pub mod validation;
pub mod venue;

/// A civil date in Asia/Shanghai. All policy arithmetic is on these.
pub type Date = chrono::NaiveDate;
