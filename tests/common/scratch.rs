//! A crate of its own in a temporary folder, built and run by cargo, offline: what a user's
//! crate sees of schema-core, outside this workspace.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// This workspace's root folder.
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The folder of the `schema-core` package, for a path dependency.
pub fn schema_core_path() -> PathBuf {
    workspace_root().join("schema-core")
}

/// A crate in a temporary folder, removed on drop.
///
/// It has the workspace's lock file, so the same versions build without asking the registry,
/// and every scratch crate builds into one target folder (`target/scratch-crate`), so what one
/// test built the next reuses.
pub struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    /// A binary crate named `scratch` whose `[dependencies]` section is `dependencies`.
    pub fn with_dependencies(dependencies: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("schema-scratch-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(dir.join("src")).unwrap();
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"scratch\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\
                 publish = false\n\n[workspace]\n\n[dependencies]\n{dependencies}\n"
            ),
        )
        .unwrap();
        std::fs::copy(workspace_root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
        Scratch { dir }
    }

    /// The crate's folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Writes `src/main.rs`.
    pub fn write_main(&self, source: &str) {
        std::fs::write(self.dir.join("src/main.rs"), source).unwrap();
    }

    /// `cargo SUBCOMMAND --offline ARGS` in the crate's folder (`args` starts with the
    /// subcommand), with `DATABASE_URL` set to `database_url` when given: the finished process,
    /// its stdout and stderr kept apart.
    pub fn cargo(&self, args: &[&str], database_url: Option<&str>) -> Output {
        let (subcommand, rest) = args.split_first().expect("a cargo subcommand");
        let mut command = Command::new(env!("CARGO"));
        command
            .arg(subcommand)
            .arg("--offline")
            .args(rest)
            .current_dir(&self.dir)
            .env(
                "CARGO_TARGET_DIR",
                workspace_root().join("target/scratch-crate"),
            );
        if let Some(url) = database_url {
            command.env("DATABASE_URL", url);
        }
        command.output().expect("run cargo")
    }

    /// `cargo run -- ARGS` in the crate's folder, with `DATABASE_URL` set: its exit code and
    /// its output (stdout, then stderr).
    pub fn run(&self, args: &[&str], database_url: &str) -> (i32, String) {
        let mut all = vec!["run", "--quiet", "--"];
        all.extend_from_slice(args);
        let output = self.cargo(&all, Some(database_url));
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
