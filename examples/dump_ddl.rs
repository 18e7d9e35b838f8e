//! Prints the DDL of the application's schema: `cargo run --example dump_ddl`.
//!
//! The script applies to an empty database with `psql -v ON_ERROR_STOP=1`, whatever the client's
//! encoding: its first line says it is UTF-8.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    match shared::schemas::db::schema().to_ddl() {
        // A closed pipe (`| head`) ends the output quietly rather than with a panic.
        Ok(ddl) => match std::io::stdout().write_all(ddl.as_bytes()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: cannot write the DDL: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
