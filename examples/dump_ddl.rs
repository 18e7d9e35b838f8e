//! Prints the DDL of the application's schema: `cargo run --example dump_ddl`.
//!
//! The script applies to an empty database with `psql -v ON_ERROR_STOP=1`.

use std::process::ExitCode;

fn main() -> ExitCode {
    match shared::schemas::db::schema().to_ddl() {
        Ok(ddl) => {
            print!("{ddl}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
