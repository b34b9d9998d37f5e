//! The authenticated caller, as every layer sees it (never a token).

/// The authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Cognito's `sub` (a UUID), the stable identity that `users.cognito_sub` links to.
    pub subject: String,
    pub username: Option<String>,
    pub groups: Vec<String>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.groups.iter().any(|g| g == "admin")
    }
}
