//! The users service: sign-up, sign-in and profiles. Credentials stay in Cognito; the `users` row
//! holds the profile and is linked by `cognito_sub`.

use std::sync::Arc;

use crate::{
    error::Error,
    models::{
        principal::Principal,
        user::{ClientContext, Tokens, User},
    },
    repositories::{
        identity_cognito::{IdentityError, IdentityProvider},
        on_constraint,
        users_pg::UserStore,
    },
};

pub struct UserService {
    identity: Arc<dyn IdentityProvider>,
    users: Arc<dyn UserStore>,
    auto_confirm: bool,
}

/// A validated sign-up.
#[derive(Debug)]
pub struct Registration {
    pub name: String,
    pub email: String,
    pub password: crate::config::Secret<String>,
    pub address: Option<String>,
}

const PASSWORD_POLICY: &str =
    "must be at least 8 characters with upper- and lower-case letters, a digit and a symbol";

impl From<IdentityError> for Error {
    fn from(err: IdentityError) -> Self {
        match err {
            IdentityError::InvalidCredentials => {
                Error::Unauthenticated("wrong e-mail or password".into())
            }
            IdentityError::NotConfirmed => {
                Error::Unauthenticated("the account is not confirmed yet".into())
            }
            IdentityError::EmailTaken => {
                Error::Conflict("an account with this e-mail already exists".into())
            }
            IdentityError::WeakPassword => Error::validation("password", PASSWORD_POLICY),
            IdentityError::InvalidParameter => {
                Error::validation("body", "the identity provider refused these values")
            }
            IdentityError::InvalidCode => Error::validation("code", "is wrong or has expired"),
            IdentityError::Throttled => Error::RateLimited("too many requests, slow down".into()),
            IdentityError::Repo(repo) => repo.into(),
        }
    }
}

impl UserService {
    pub fn new(
        identity: Arc<dyn IdentityProvider>,
        users: Arc<dyn UserStore>,
        auto_confirm: bool,
    ) -> Self {
        Self {
            identity,
            users,
            auto_confirm,
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: &ClientContext,
    ) -> Result<Tokens, Error> {
        Ok(self
            .identity
            .sign_in(email.trim(), password, client)
            .await?)
    }

    #[tracing::instrument(skip_all)]
    pub async fn refresh(&self, refresh_token: &str) -> Result<Tokens, Error> {
        // An empty token is the client's mistake, not a dependency failing: Cognito answers it
        // with a parameter error that must not surface as a 503.
        if refresh_token.trim().is_empty() {
            return Err(Error::validation("refresh_token", "must not be blank"));
        }
        self.identity
            .refresh(refresh_token)
            .await
            .map_err(|err| match err {
                IdentityError::InvalidCredentials => {
                    Error::Unauthenticated("the refresh token is invalid or expired".into())
                }
                other => other.into(),
            })
    }

    /// Creates the Cognito user and the `users` row. If the row cannot be written, the Cognito
    /// user is deleted again, so no account is ever half-made.
    #[tracing::instrument(skip_all)]
    pub async fn register(&self, reg: Registration) -> Result<User, Error> {
        let sub = self
            .identity
            .sign_up(&reg.email, reg.password.expose(), &reg.name)
            .await?;
        let created = async {
            if self.auto_confirm {
                self.identity.admin_confirm(&reg.email).await?;
            }
            self.users
                .insert(&sub, &reg.email, &reg.name, reg.address.as_deref())
                .await
                .map_err(|err| {
                    on_constraint(err, "users_email_key", || {
                        Error::Conflict("an account with this e-mail already exists".into())
                    })
                })
        }
        .await;
        match created {
            Ok(user) => Ok(user),
            Err(err) => {
                if let Err(undo) = self.identity.admin_delete(&reg.email).await {
                    tracing::error!(error = %undo, "could not remove the Cognito user of a failed sign-up");
                }
                Err(err)
            }
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn confirm(&self, email: &str, code: &str) -> Result<(), Error> {
        Ok(self.identity.confirm(email.trim(), code.trim()).await?)
    }

    /// The caller's row. A caller without one (signed up outside the API, or linked to a
    /// rebuilt user pool) gets it now, from Cognito's record of them.
    #[tracing::instrument(skip_all)]
    pub async fn me(&self, principal: &Principal) -> Result<User, Error> {
        if let Some(user) = self.users.by_sub(&principal.subject).await? {
            return Ok(user);
        }
        let username = principal.username.as_deref().unwrap_or(&principal.subject);
        let email = self
            .identity
            .email_of(username)
            .await?
            .ok_or_else(|| Error::Unauthenticated("the account no longer exists".into()))?;
        if let Some(user) = self.users.relink(&email, &principal.subject).await? {
            return Ok(user);
        }
        let name = email.split('@').next().unwrap_or("customer").to_owned();
        match self
            .users
            .insert(&principal.subject, &email, &name, None)
            .await
        {
            Ok(user) => Ok(user),
            // A concurrent first request created it.
            Err(err) if err.constraint().is_some() => self
                .users
                .by_sub(&principal.subject)
                .await?
                .ok_or_else(|| Error::Conflict("the account is being created, retry".into())),
            Err(err) => Err(err.into()),
        }
    }

    #[tracing::instrument(skip_all)]
    pub async fn update_me(
        &self,
        principal: &Principal,
        name: Option<String>,
        address: Option<Option<String>>,
    ) -> Result<User, Error> {
        let me = self.me(principal).await?;
        self.users
            .update(
                me.user_id,
                name.as_deref(),
                address.as_ref().map(|a| a.as_deref()),
            )
            .await?
            .ok_or_else(|| Error::NotFound("the user does not exist".into()))
    }

    #[tracing::instrument(skip(self))]
    pub async fn get(&self, user_id: i64) -> Result<User, Error> {
        self.users
            .get(user_id)
            .await?
            .ok_or_else(|| Error::NotFound(format!("user {user_id} does not exist")))
    }
}
