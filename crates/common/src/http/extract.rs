//! Extractors whose rejections are docs/api.md errors, so no handler repeats parsing or validation
//! plumbing: `ApiJson` (415 / 413 / 400 `BAD_REQUEST` for malformed JSON / 400
//! `VALIDATION_FAILED` naming the field for a wrong type or unknown field), `ApiPath`, `ApiQuery`.

use axum::{
    Json,
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Path, Query, Request, rejection::BytesRejection},
    http::{StatusCode, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};

use crate::{
    error::{Error, FieldIssue},
    http::error::ApiError,
};

/// A JSON request body (and, as a response, a JSON body with status 200).
pub struct ApiJson<T>(pub T);

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `application/json`, with or without parameters such as `charset=utf-8`.
pub fn is_json_content_type(value: Option<&header::HeaderValue>) -> bool {
    value
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"))
}

/// Reads a body, turning the length-limit rejection into 413.
pub async fn read_body<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state)
        .await
        .map_err(|rejection: BytesRejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body is too large".into())
            } else {
                ApiError::BadRequest("the request body could not be read".into())
            }
        })
}

/// Parses JSON, telling a syntax error (400 `BAD_REQUEST`) from a well-formed body that breaks
/// the schema (400 `VALIDATION_FAILED`, naming the field).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                Error::Validation(vec![FieldIssue::new(field, describe_data_error(&inner))]).into()
            }
            _ => ApiError::BadRequest("the request body is not valid JSON".into()),
        }
    })?;
    de.end()
        .map_err(|_| ApiError::BadRequest("the request body is not valid JSON".into()))?;
    Ok(value)
}

/// serde's message without the `at line 1 column 9` suffix.
fn describe_data_error(err: &serde_json::Error) -> String {
    let text = err.to_string();
    match text.rfind(" at line ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json_content_type(req.headers().get(header::CONTENT_TYPE)) {
            return Err(ApiError::UnsupportedMediaType(
                "the request body must be application/json".into(),
            ));
        }
        let bytes = read_body(req, state).await?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Path parameters; a value of the wrong type is `400 VALIDATION_FAILED`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state)
            .await
            .map(|Path(v)| ApiPath(v))
            .map_err(|rejection| Error::validation("path", rejection.body_text()).into())
    }
}

/// Query parameters; unparseable ones are `400 VALIDATION_FAILED`.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| ApiQuery(v))
            .map_err(|rejection| Error::validation("query", rejection.body_text()).into())
    }
}

/// The header a client sends its Cognito advanced-security device data in (optional).
pub static USER_CONTEXT_DATA: header::HeaderName =
    header::HeaderName::from_static("x-user-context-data");

/// The caller's [`crate::models::user::ClientContext`]: behind API Gateway its `sourceIp` from
/// the request context; in the local server the connection's peer address.
pub struct CallerContext(pub crate::models::user::ClientContext);

impl<S: Send + Sync> FromRequestParts<S> for CallerContext {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        use lambda_http::RequestExt;
        const LEFT_OUT: [header::HeaderName; 3] = [
            header::AUTHORIZATION,
            header::COOKIE,
            header::HeaderName::from_static("x-user-context-data"),
        ];
        let ip_address = match parts.request_context_ref() {
            Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => {
                ctx.http.source_ip.clone()
            }
            _ => parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip().to_string()),
        };
        let text = |value: &header::HeaderValue| value.to_str().ok().map(str::to_owned);
        Ok(Self(crate::models::user::ClientContext {
            ip_address,
            server_name: parts
                .headers
                .get(header::HOST)
                .and_then(text)
                .unwrap_or_default(),
            server_path: parts.uri.path().to_owned(),
            headers: parts
                .headers
                .iter()
                .filter(|(name, _)| !LEFT_OUT.contains(name))
                .filter_map(|(name, value)| Some((name.as_str().to_owned(), text(value)?)))
                .take(50)
                .collect(),
            encoded_data: parts
                .headers
                .get(&USER_CONTEXT_DATA)
                .and_then(text)
                .filter(|d| !d.is_empty() && d.len() <= 8192),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        stock: u32,
    }

    #[test]
    fn syntax_errors_are_bad_requests_and_schema_errors_name_the_field() {
        let cases: &[(&str, &str, Option<&str>)] = &[
            ("{", "BAD_REQUEST", None),
            (
                "{\"name\": \"a\", \"stock\": 1} trailing",
                "BAD_REQUEST",
                None,
            ),
            ("", "BAD_REQUEST", None),
            (
                "{\"name\": 5, \"stock\": 1}",
                "VALIDATION_FAILED",
                Some("name"),
            ),
            (
                "{\"name\": \"a\", \"stock\": -1}",
                "VALIDATION_FAILED",
                Some("stock"),
            ),
            ("{\"name\": \"a\"}", "VALIDATION_FAILED", Some("body")),
            (
                "{\"name\": \"a\", \"stock\": 1, \"x\": 1}",
                "VALIDATION_FAILED",
                Some("x"),
            ),
            ("[]", "VALIDATION_FAILED", Some("body")),
        ];
        for (body, code, field) in cases {
            let err = parse_json::<Body>(body.as_bytes()).expect_err(body);
            assert_eq!(err.code(), *code, "body {body:?}");
            if let (Some(field), ApiError::Service(Error::Validation(details))) = (field, &err) {
                assert_eq!(details[0].field, *field, "body {body:?}");
            }
        }
    }

    #[test]
    fn content_type_must_be_json() {
        let ok = |v: &str| is_json_content_type(Some(&header::HeaderValue::from_str(v).unwrap()));
        assert!(ok("application/json"));
        assert!(ok("application/json; charset=utf-8"));
        assert!(ok("Application/JSON"));
        assert!(!ok("text/plain"));
        assert!(!ok("application/jsonp"));
        assert!(!is_json_content_type(None));
    }
}
