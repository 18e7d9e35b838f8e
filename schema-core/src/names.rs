//! Role and setting names as a deployment has them: the code names a role `physician` and a
//! setting `app.provider_id`; a deployment may call them otherwise.
//!
//! Only roles and settings are mapped. The names schema-core generates itself (keys,
//! constraints, indexes, the immutable columns' trigger, the row types) are listed under
//! "Generated names" in the rustdoc of `#[derive(PgTable)]`.

use std::collections::HashMap;

/// How the roles and settings named in the code are named in a deployment; a name not mapped
/// stays as written.
///
/// ```
/// use schema_core::Names;
///
/// let names = Names::new()
///     .role("physician", "billing_physician")
///     .setting("app.provider_id", "billing.provider_id");
/// assert_eq!(names.role_name("physician"), "billing_physician");
/// assert_eq!(names.role_name("support_team"), "support_team");
/// assert_eq!(names.setting_name("app.provider_id"), "billing.provider_id");
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Names {
    roles: HashMap<String, String>,
    settings: HashMap<String, String>,
}

impl Names {
    /// Every name as written in the code.
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps the role `in_code` to `deployed`.
    pub fn role(mut self, in_code: &str, deployed: &str) -> Self {
        self.roles.insert(in_code.into(), deployed.into());
        self
    }

    /// Maps the setting `in_code` to `deployed`.
    pub fn setting(mut self, in_code: &str, deployed: &str) -> Self {
        self.settings.insert(in_code.into(), deployed.into());
        self
    }

    /// The deployed name of the role `in_code`.
    pub fn role_name<'a>(&'a self, in_code: &'a str) -> &'a str {
        self.roles.get(in_code).map_or(in_code, String::as_str)
    }

    /// The deployed name of the setting `in_code`.
    pub fn setting_name<'a>(&'a self, in_code: &'a str) -> &'a str {
        self.settings.get(in_code).map_or(in_code, String::as_str)
    }
}
