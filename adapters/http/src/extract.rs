//! Extractors that turn bad input into problems naming the field: JSON bodies, query strings.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::problem::ApiError;

/// A JSON body, deserialized with the path of the field at fault in the error.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

fn field_of(path: &serde_path_to_error::Path) -> String {
    let p = path.to_string();
    if p == "." || p.is_empty() {
        "body".to_owned()
    } else {
        p
    }
}

/// Parses JSON bytes into `T`, naming the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Tracking the path slows every parse: a body that parses is parsed without it, one that
    // does not is parsed again with it, for the field at fault.
    if let Ok(parsed) = serde_json::from_slice(bytes) {
        return Ok(parsed);
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let field = field_of(e.path());
        let inner = e.into_inner();
        let message = inner.to_string();
        // Validation errors of our values say which field and what is allowed already.
        let detail = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::invalid("body", format!("not valid JSON: {detail}"))
        } else {
            ApiError::invalid(field, detail)
        }
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = JsonBytes::from_request(req, state).await?;
        parse_json(&bytes.0).map(JsonBody)
    }
}

/// A JSON body's bytes, not read yet: for a handler that checks the caller before it reads
/// what they sent.
#[derive(Debug)]
pub struct JsonBytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "body", e.body_text()))?;
        Ok(Self(bytes))
    }
}

/// A query string, naming the parameter at fault.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded_deserializer(query);
        de.map(Query)
    }
}

fn serde_urlencoded_deserializer<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // Parse into a JSON object of strings first, so that one path-aware deserializer serves
    // bodies and query strings alike.
    let map: serde_json::Map<String, serde_json::Value> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
        .collect();
    let value = serde_json::Value::Object(map);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let field = field_of(e.path());
        ApiError::invalid(field, e.into_inner().to_string())
    })
}

/// Deserializes a number given as a query-string text.
pub mod number_text {
    use serde::{Deserialize, Deserializer};

    /// An optional `u32` written as text.
    pub fn option_u32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            t.parse::<u32>()
                .map_err(|_| serde::de::Error::custom(format!("{t:?} is not a whole number")))
        })
        .transpose()
    }

    /// An optional `bool` written as text.
    pub fn option_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| match t.as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(serde::de::Error::custom(format!(
                "{t:?} is not true or false"
            ))),
        })
        .transpose()
    }
}

/// The path's parameters as typed values (`UserId`, `(GroupId, UserId)`, ...): one that does
/// not parse is a 400 problem naming the parameter, as the route spells it.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let params = axum::extract::RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::invalid("path", e.body_text()))?;
        let params: Vec<(String, String)> = params
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        // A struct reads the parameters by name; a value or a tuple (which refuse a map) by
        // position, one parameter a value, several an array, so that the position of the one
        // at fault names it.
        let named = serde_json::Value::Object(
            params
                .iter()
                .map(|(name, v)| (name.clone(), serde_json::Value::String(v.clone())))
                .collect(),
        );
        let by_name = serde_path_to_error::deserialize::<_, T>(named);
        let refused = match by_name {
            Ok(value) => return Ok(ApiPath(value)),
            Err(e) if e.path().iter().next().is_some() => e,
            Err(_) => {
                let positional = match params.as_slice() {
                    [(_, one)] => serde_json::Value::String(one.clone()),
                    many => serde_json::Value::Array(
                        many.iter()
                            .map(|(_, v)| serde_json::Value::String(v.clone()))
                            .collect(),
                    ),
                };
                match serde_path_to_error::deserialize(positional) {
                    Ok(value) => return Ok(ApiPath(value)),
                    Err(e) => e,
                }
            }
        };
        let field = match refused.path().iter().next() {
            Some(serde_path_to_error::Segment::Seq { index }) => params.get(*index),
            Some(serde_path_to_error::Segment::Map { key }) => {
                params.iter().find(|(name, _)| name == key)
            }
            _ => params.first(),
        }
        .map_or_else(|| "path".to_owned(), |(name, _)| name.clone());
        let message = refused.into_inner().to_string();
        Err(ApiError::invalid(field, message))
    }
}
