//! The application's database schema: the providers table (D05) and the support domain's
//! `support_tickets` table (D13), declared with `#[derive(PgTable)]`.
//!
//! `schemas::db::schema()` is the whole schema; `cargo run --example dump_ddl` prints its DDL.

// Clippy before the fix of rust-clippy#13238 reads `index(a, b), index(a, c)` as a repeated
// attribute; for `#[pg(...)]` it is not.
#![allow(clippy::duplicated_attributes)]
#![deny(missing_docs)]

pub mod keys;
pub mod schemas;
