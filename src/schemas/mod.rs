//! The application's schemas; re-exports every table and its row types.

pub mod db;

pub use db::*;
