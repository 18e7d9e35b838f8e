//! Targets: renderings of one schema. Plain PostgreSQL is the default, and what the seed's
//! comparison checks; Citus distributes the tenant tables by their tenant column.

pub mod citus;

/// Where a schema is deployed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Target {
    /// One PostgreSQL server (or a primary and its replicas): the DDL as declared.
    #[default]
    Plain,
    /// A Citus cluster (Citus 12 or later), reached through its coordinator.
    Citus,
}

impl Target {
    /// The target's name on the command line: `plain`, `citus`.
    pub fn name(self) -> &'static str {
        match self {
            Target::Plain => "plain",
            Target::Citus => "citus",
        }
    }

    /// The target named `name` (`plain`, `citus`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "plain" | "postgres" | "postgresql" => Some(Target::Plain),
            "citus" => Some(Target::Citus),
            _ => None,
        }
    }
}
