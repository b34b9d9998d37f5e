//! `/v1/users`: sign-up, sign-in, token refresh and profiles.

use axum::{extract::State, http::StatusCode, response::IntoResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::{
    dto::{UploadRequest, UploadView, double_option, non_null},
    health::{__path_users_health, users_health},
};
use crate::{
    auth::{AdminUser, CurrentUser},
    config::Secret,
    error::Error,
    http::error::{ApiError, ErrorEnvelope},
    http::extract::{ApiJson, ApiPath, CallerContext},
    models::{
        image::ImageOwner,
        product::Issues,
        timestamp,
        user::{Tokens, User},
    },
    services::{uploads::UploadService, users::Registration},
    state::UsersState,
};

/// No users route takes an `Idempotency-Key`.
pub const IDEMPOTENT: crate::http::idempotency::IdempotentRoutes = &[];

pub fn router(docs: super::Docs) -> OpenApiRouter<UsersState> {
    OpenApiRouter::new()
        .routes(routes!(docs; register))
        .routes(routes!(docs; confirm))
        .routes(routes!(docs; login))
        .routes(routes!(docs; refresh))
        .routes(routes!(docs; get_me, update_me))
        .routes(routes!(docs; create_avatar_upload))
        .routes(routes!(docs; get_user))
        .routes(routes!(docs; users_health))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub address: Option<String>,
    pub avatar_url: Option<String>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "timestamp::serialize")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        Self {
            user_id: u.user_id,
            email: u.email,
            name: u.name,
            address: u.address,
            avatar_url: u.avatar_url,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    #[schema(schema_with = super::schema::person_name)]
    pub name: String,
    #[schema(schema_with = super::schema::email)]
    pub email: String,
    #[schema(schema_with = super::schema::password)]
    pub password: String,
    #[schema(schema_with = super::schema::address_nullable)]
    pub address: Option<String>,
}

/// An e-mail address as [`super::schema::EMAIL_PATTERN`] states it: a local part of ASCII
/// letters, digits and `._%+-` (not starting with `.`, `%`, `+` or `-`), `@`, then dot-separated
/// labels of letters, digits and `-`, the last one two or more letters; at most 254 characters.
/// (Cognito accepts more; this is what every environment's pool accepts.)
fn check_email(issues: &mut Issues, raw: &str) -> String {
    let local_ok = |local: &str| {
        local
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
            && local
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._%+-".contains(&b))
    };
    let domain_ok = |domain: &str| {
        let labels: Vec<&str> = domain.split('.').collect();
        let (last, rest) = labels.split_last().expect("split yields one part at least");
        !rest.is_empty()
            && last.len() >= 2
            && last.bytes().all(|b| b.is_ascii_alphabetic())
            && rest.iter().all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    let valid = raw.len() <= 254
        && raw
            .split_once('@')
            .is_some_and(|(local, domain)| local_ok(local) && domain_ok(domain));
    if !valid {
        issues.add("email", "must be an e-mail address");
    }
    raw.to_owned()
}

/// The pool's password policy (Cognito's): 8 to [`super::schema::MAX_PASSWORD`] characters
/// with a lower-case and an upper-case ASCII letter, an ASCII digit and one of Cognito's
/// symbols (or a space); no NUL.
fn check_password(issues: &mut Issues, password: &str) {
    let len = password.chars().count();
    let ok = (8..=super::schema::MAX_PASSWORD).contains(&len)
        && !password.contains('\0')
        && password.chars().any(|c| c.is_ascii_lowercase())
        && password.chars().any(|c| c.is_ascii_uppercase())
        && password.chars().any(|c| c.is_ascii_digit())
        && password
            .chars()
            .any(|c| super::schema::PASSWORD_SYMBOLS.contains(c));
    if !ok {
        issues.add(
            "password",
            format!(
                "must be 8 to {} characters with upper- and lower-case letters, a digit and a symbol",
                super::schema::MAX_PASSWORD
            ),
        );
    }
}

/// A credential field that must be given: not blank and without NUL.
fn check_given(issues: &mut Issues, field: &str, value: &str) {
    if value.trim().is_empty() || value.contains('\0') {
        issues.add(field, "must not be blank or contain NUL");
    }
}

impl RegisterRequest {
    fn validate(self) -> Result<Registration, Error> {
        let mut issues = Issues::default();
        check_password(&mut issues, &self.password);
        let reg = Registration {
            name: issues.text("name", &self.name, 1, 200),
            email: check_email(&mut issues, &self.email),
            address: self
                .address
                .map(|a| issues.text("address", &a, 0, 1000))
                .filter(|a| !a.is_empty()),
            password: Secret::new(self.password),
        };
        issues.into_result(reg).map_err(Error::Validation)
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    #[schema(schema_with = super::schema::given)]
    pub email: String,
    /// The code Cognito sent.
    #[schema(schema_with = super::schema::given)]
    pub code: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(schema_with = super::schema::given)]
    pub email: String,
    #[schema(schema_with = super::schema::given)]
    pub password: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The `refresh_token` of a sign-in.
    #[schema(schema_with = super::schema::given)]
    pub refresh_token: String,
}

#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    pub id_token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i32,
}

impl From<Tokens> for TokenResponse {
    fn from(t: Tokens) -> Self {
        Self {
            access_token: t.access_token,
            id_token: t.id_token,
            refresh_token: t.refresh_token,
            token_type: "Bearer",
            expires_in: t.expires_in,
        }
    }
}

/// At least one field; `address: null` (or blank) removes the address.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1)]
pub struct UpdateMeRequest {
    #[serde(default, deserialize_with = "non_null")]
    #[schema(schema_with = super::schema::person_name)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::address_nullable)]
    pub address: Option<Option<String>>,
}

#[utoipa::path(post, path = "/v1/users/register", tag = "users", request_body = RegisterRequest,
    responses((status = 201, body = UserView), (status = 400, description = "invalid input or weak password", body = ErrorEnvelope),
        (status = 409, description = "e-mail taken", body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
async fn register(
    State(state): State<UsersState>,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<impl IntoResponse, ApiError> {
    let user = state.users.register(body.validate()?).await?;
    Ok((StatusCode::CREATED, ApiJson(UserView::from(user))))
}

#[utoipa::path(post, path = "/v1/users/confirm", tag = "users", request_body = ConfirmRequest,
    responses((status = 204), (status = 400, body = ErrorEnvelope),
        (status = 401, description = "no such unconfirmed sign-up", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
async fn confirm(
    State(state): State<UsersState>,
    ApiJson(body): ApiJson<ConfirmRequest>,
) -> Result<StatusCode, ApiError> {
    let mut issues = Issues::default();
    check_given(&mut issues, "email", &body.email);
    check_given(&mut issues, "code", &body.code);
    issues.into_result(()).map_err(Error::Validation)?;
    state.users.confirm(&body.email, &body.code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/v1/users/login", tag = "users", request_body = LoginRequest,
    params(("x-user-context-data" = Option<String>, Header, description = "Optional: the device data Cognito's advanced-security SDK collected on the client (`AmazonCognitoAdvancedSecurityData.getData()`), passed on to the user pool's threat protection with the caller's IP address")),
    responses((status = 200, body = TokenResponse), (status = 401, description = "wrong e-mail or password", body = ErrorEnvelope),
        (status = 429, body = ErrorEnvelope)))]
async fn login(
    State(state): State<UsersState>,
    CallerContext(client): CallerContext,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<ApiJson<TokenResponse>, ApiError> {
    let mut issues = Issues::default();
    check_given(&mut issues, "email", &body.email);
    check_given(&mut issues, "password", &body.password);
    issues.into_result(()).map_err(Error::Validation)?;
    Ok(ApiJson(
        state
            .users
            .login(&body.email, &body.password, &client)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/v1/users/refresh", tag = "users", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorEnvelope)))]
async fn refresh(
    State(state): State<UsersState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<ApiJson<TokenResponse>, ApiError> {
    let mut issues = Issues::default();
    check_given(&mut issues, "refresh_token", &body.refresh_token);
    issues.into_result(()).map_err(Error::Validation)?;
    Ok(ApiJson(
        state.users.refresh(&body.refresh_token).await?.into(),
    ))
}

#[utoipa::path(get, path = "/v1/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorEnvelope)))]
async fn get_me(
    State(state): State<UsersState>,
    CurrentUser(me): CurrentUser,
) -> Result<ApiJson<UserView>, ApiError> {
    Ok(ApiJson(state.users.me(&me).await?.into()))
}

#[utoipa::path(patch, path = "/v1/users/me", tag = "users", request_body = UpdateMeRequest, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
async fn update_me(
    State(state): State<UsersState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<UpdateMeRequest>,
) -> Result<ApiJson<UserView>, ApiError> {
    let mut issues = Issues::default();
    let name = body.name.map(|n| issues.text("name", &n, 1, 200));
    let address = body.address.map(|a| {
        a.map(|a| issues.text("address", &a, 0, 1000))
            .filter(|a| !a.is_empty())
    });
    if name.is_none() && address.is_none() {
        issues.add("body", "name or address must be given");
    }
    issues.into_result(()).map_err(Error::Validation)?;
    Ok(ApiJson(
        state.users.update_me(&me, name, address).await?.into(),
    ))
}

#[utoipa::path(get, path = "/v1/users/{user_id}", tag = "users", params(("user_id" = i64, Path)),
    security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
        (status = 404, body = ErrorEnvelope)))]
async fn get_user(
    State(state): State<UsersState>,
    _admin: AdminUser,
    ApiPath(user_id): ApiPath<i64>,
) -> Result<ApiJson<UserView>, ApiError> {
    Ok(ApiJson(state.users.get(user_id).await?.into()))
}

#[utoipa::path(post, path = "/v1/users/me/avatar", tag = "users", request_body = UploadRequest, security(("bearer" = [])),
    responses((status = 201, description = "a presigned PUT, valid 15 minutes", body = UploadView),
        (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
async fn create_avatar_upload(
    State(state): State<UsersState>,
    CurrentUser(me): CurrentUser,
    ApiJson(body): ApiJson<UploadRequest>,
) -> Result<impl IntoResponse, ApiError> {
    UploadService::check_upload(&body.content_type, body.content_length)?;
    let user = state.users.me(&me).await?;
    let upload = state
        .uploads
        .create_upload(
            ImageOwner::User(user.user_id),
            &body.content_type,
            body.content_length,
            crate::http::request_id::current(),
        )
        .await?;
    Ok((StatusCode::CREATED, ApiJson(UploadView::from(upload))))
}
