//! The Cognito user pool: sign-up, confirmation, password sign-in (server-side,
//! `AdminInitiateAuth`, with the caller's context for threat protection) and refresh. Cognito's error
//! codes become [`IdentityError`] variants; its message texts never leave this module.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::{
    Client,
    error::ProvideErrorMetadata,
    types::{AttributeType, AuthFlowType, ContextDataType, HttpHeader},
};

use super::{RepoError, aws};
use crate::clients::Deferred;
use crate::models::user::{ClientContext, Tokens};

/// Cognito's `ContextData` for the server-side (admin) sign-in: what threat protection reads
/// to judge a sign-in by its real client. Without it every sign-in would come from the
/// function's NAT gateways. `None` when the caller's address is unknown.
pub fn context_data(client: &ClientContext) -> Option<ContextDataType> {
    let ip = client.ip_address.as_ref()?;
    let mut data = ContextDataType::builder()
        .ip_address(ip)
        .server_name(if client.server_name.is_empty() {
            "localhost"
        } else {
            &client.server_name
        })
        .server_path(&client.server_path)
        .set_encoded_data(client.encoded_data.clone());
    for (name, value) in &client.headers {
        data = data.http_headers(
            HttpHeader::builder()
                .header_name(name)
                .header_value(value)
                .build(),
        );
    }
    data.build().ok()
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("wrong e-mail or password")]
    InvalidCredentials,
    #[error("the account is not confirmed")]
    NotConfirmed,
    #[error("the e-mail is taken")]
    EmailTaken,
    #[error("the password does not meet the policy")]
    WeakPassword,
    #[error("invalid parameter")]
    InvalidParameter,
    #[error("invalid or expired code")]
    InvalidCode,
    #[error("too many requests")]
    Throttled,
    #[error(transparent)]
    Repo(#[from] RepoError),
}

#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// Creates the user; returns its `sub`.
    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<String, IdentityError>;
    async fn admin_confirm(&self, email: &str) -> Result<(), IdentityError>;
    async fn confirm(&self, email: &str, code: &str) -> Result<(), IdentityError>;
    /// Removes a user (undoing a sign-up whose database half failed).
    async fn admin_delete(&self, email: &str) -> Result<(), IdentityError>;
    /// The e-mail of the user with this `sub`, if any.
    async fn email_of(&self, username: &str) -> Result<Option<String>, IdentityError>;
    /// Signs in with the caller's context (threat protection judges the client, not us).
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &ClientContext,
    ) -> Result<Tokens, IdentityError>;
    /// Refresh is not judged by threat protection (sign-in is), so it needs no context.
    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError>;
}

pub struct CognitoIdentity {
    client: Deferred<Client>,
    user_pool_id: String,
    client_id: String,
}

impl CognitoIdentity {
    pub fn new(
        client: impl Into<Deferred<Client>>,
        user_pool_id: String,
        client_id: String,
    ) -> Self {
        Self {
            client: client.into(),
            user_pool_id,
            client_id,
        }
    }
}

fn classify<E, R>(err: aws_sdk_cognitoidentityprovider::error::SdkError<E, R>) -> IdentityError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = err
        .as_service_error()
        .and_then(|e| e.code())
        .map(str::to_owned);
    match code.as_deref() {
        Some(
            "NotAuthorizedException" | "UserNotFoundException" | "PasswordResetRequiredException",
        ) => IdentityError::InvalidCredentials,
        Some("UserNotConfirmedException") => IdentityError::NotConfirmed,
        Some("UsernameExistsException" | "AliasExistsException") => IdentityError::EmailTaken,
        Some("InvalidPasswordException") => IdentityError::WeakPassword,
        Some("InvalidParameterException") => IdentityError::InvalidParameter,
        Some("CodeMismatchException" | "ExpiredCodeException") => IdentityError::InvalidCode,
        Some(
            "TooManyRequestsException"
            | "LimitExceededException"
            | "TooManyFailedAttemptsException",
        ) => IdentityError::Throttled,
        _ => IdentityError::Repo(aws("cognito", err)),
    }
}

fn tokens(
    result: Option<&aws_sdk_cognitoidentityprovider::types::AuthenticationResultType>,
) -> Result<Tokens, IdentityError> {
    let r = result.ok_or_else(|| {
        IdentityError::Repo(RepoError::Other(
            "cognito answered without tokens (a challenge?)".into(),
        ))
    })?;
    Ok(Tokens {
        access_token: r.access_token().unwrap_or_default().to_owned(),
        id_token: r.id_token().unwrap_or_default().to_owned(),
        refresh_token: r.refresh_token().map(str::to_owned),
        expires_in: r.expires_in(),
    })
}

#[async_trait]
impl IdentityProvider for CognitoIdentity {
    #[tracing::instrument(skip_all)]
    async fn sign_up(
        &self,
        email: &str,
        password: &str,
        name: &str,
    ) -> Result<String, IdentityError> {
        let attr =
            |name: &str, value: &str| AttributeType::builder().name(name).value(value).build();
        let out = self
            .client
            .sign_up()
            .client_id(&self.client_id)
            .username(email)
            .password(password)
            .user_attributes(
                attr("email", email)
                    .map_err(|e| IdentityError::Repo(RepoError::Other(e.into())))?,
            )
            .user_attributes(
                attr("name", name).map_err(|e| IdentityError::Repo(RepoError::Other(e.into())))?,
            )
            .send()
            .await
            .map_err(classify)?;
        Ok(out.user_sub().to_owned())
    }

    #[tracing::instrument(skip_all)]
    async fn admin_confirm(&self, email: &str) -> Result<(), IdentityError> {
        self.client
            .admin_confirm_sign_up()
            .user_pool_id(&self.user_pool_id)
            .username(email)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn confirm(&self, email: &str, code: &str) -> Result<(), IdentityError> {
        self.client
            .confirm_sign_up()
            .client_id(&self.client_id)
            .username(email)
            .confirmation_code(code)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn admin_delete(&self, email: &str) -> Result<(), IdentityError> {
        self.client
            .admin_delete_user()
            .user_pool_id(&self.user_pool_id)
            .username(email)
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn email_of(&self, username: &str) -> Result<Option<String>, IdentityError> {
        match self
            .client
            .admin_get_user()
            .user_pool_id(&self.user_pool_id)
            .username(username)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .user_attributes()
                .iter()
                .find(|a| a.name() == "email")
                .and_then(|a| a.value())
                .map(str::to_owned)),
            Err(err) => match classify(err) {
                IdentityError::InvalidCredentials => Ok(None),
                other => Err(other),
            },
        }
    }

    /// The server-side sign-in (`AdminInitiateAuth`), which carries the client's context.
    #[tracing::instrument(skip_all)]
    async fn sign_in(
        &self,
        email: &str,
        password: &str,
        client: &ClientContext,
    ) -> Result<Tokens, IdentityError> {
        let out = self
            .client
            .admin_initiate_auth()
            .user_pool_id(&self.user_pool_id)
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::AdminUserPasswordAuth)
            .auth_parameters("USERNAME", email)
            .auth_parameters("PASSWORD", password)
            .set_context_data(context_data(client))
            .send()
            .await
            .map_err(classify)?;
        tokens(out.authentication_result())
    }

    #[tracing::instrument(skip_all)]
    async fn refresh(&self, refresh_token: &str) -> Result<Tokens, IdentityError> {
        let out = self
            .client
            .initiate_auth()
            .client_id(&self.client_id)
            .auth_flow(AuthFlowType::RefreshTokenAuth)
            .auth_parameters("REFRESH_TOKEN", refresh_token)
            .send()
            .await
            .map_err(classify)?;
        tokens(out.authentication_result())
    }
}
