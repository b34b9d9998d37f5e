//! Users as the platform stores them. Credentials live in Cognito only.

use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub user_id: i64,
    pub cognito_sub: String,
    pub email: String,
    pub name: String,
    pub address: Option<String>,
    pub avatar_url: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who is signing in, as Cognito's threat protection needs to see it: the client's own IP
/// address and request (not the function's, which sits behind the NAT gateways), and the
/// device data its advanced-security SDK collected, if the client sends it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientContext {
    /// `None` where the caller's address is unknown (then no context is sent).
    pub ip_address: Option<String>,
    pub server_name: String,
    pub server_path: String,
    /// The request's headers, without credentials (`authorization`, `cookie`).
    pub headers: Vec<(String, String)>,
    /// `x-user-context-data`: the string `AmazonCognitoAdvancedSecurityData.getData()` returns.
    pub encoded_data: Option<String>,
}

/// Tokens from a successful sign-in or refresh. Never logged.
#[derive(Clone)]
pub struct Tokens {
    pub access_token: String,
    pub id_token: String,
    pub refresh_token: Option<String>,
    pub expires_in: i32,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Tokens(***)")
    }
}
