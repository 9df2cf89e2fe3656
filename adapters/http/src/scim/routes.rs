//! `/scim/v2`: the provisioner's SCIM 2.0 service (RFC 7643, RFC 7644). Discovery
//! (`ServiceProviderConfig`, `ResourceTypes`, `Schemas`), and Users and Groups: create, get,
//! list (filter, `startIndex`/`count`, `attributes`/`excludedAttributes`), PUT, PATCH, DELETE.
//! A resource's `id` is its autolock id; its document is kept whole beside the user or group
//! (core/src/service/provisioning.rs), and what autolock knows better (the active flag, the
//! members) is rendered from the directory.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use autolock_core::Error;
use autolock_core::directory::{Principal, ProvisionedRecord, User};
use autolock_core::error::Conflict;
use autolock_core::ids::{GroupId, UserId};
use autolock_core::service::{GroupRecord, ProvisionedGroup, ProvisionedUser};
use autolock_core::values::{Email, Name};

use super::filter::{Filter, field};
use super::patch::{self, PatchRequest};
use super::{SCIM_JSON, ScimError};
use crate::AppState;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The most resources one list answers.
const MAX_RESULTS: usize = 1000;

/// The routes, relative to `/scim/v2`.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/.search", axum::routing::post(search_everything))
        .route("/Users/.search", axum::routing::post(search_users))
        .route("/Groups/.search", axum::routing::post(search_groups))
        .route(
            "/Users/{id}",
            get(get_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route(
            "/Groups/{id}",
            get(get_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .fallback(|| async { ScimError::not_found("no such SCIM endpoint") })
}

impl ScimError {
    fn not_found(detail: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            scim_type: None,
            detail: detail.into(),
        }
    }
}

impl From<Error> for ScimError {
    fn from(e: Error) -> Self {
        let (status, scim_type) = match &e {
            Error::Invalid(_) => (StatusCode::BAD_REQUEST, Some("invalidValue")),
            Error::NotFound(_) => (StatusCode::NOT_FOUND, None),
            Error::Unauthenticated(_) => (StatusCode::UNAUTHORIZED, None),
            Error::Inactive(_) | Error::Forbidden(_) | Error::ForbiddenSelf(_) => {
                (StatusCode::FORBIDDEN, None)
            }
            Error::Conflict(Conflict::AlreadyExists, _) => {
                (StatusCode::CONFLICT, Some("uniqueness"))
            }
            Error::Conflict(..) => (StatusCode::CONFLICT, None),
            Error::Unavailable(..) => (StatusCode::SERVICE_UNAVAILABLE, None),
            Error::Store(s) => {
                tracing::error!(error = %autolock_core::error::chain(s), "store failure");
                return Self {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    scim_type: None,
                    detail: "the store failed; retry later".into(),
                };
            }
        };
        Self {
            status,
            scim_type,
            detail: e.to_string(),
        }
    }
}

type ScimResult<T> = Result<T, ScimError>;

/// The provisioner calling, authenticated by its bearer token as on the JSON API; refusals
/// are SCIM errors.
struct Provisioner(Principal);

impl FromRequestParts<AppState> for Provisioner {
    type Rejection = ScimError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ScimResult<Self> {
        let id = state.auth().authenticate(parts).map_err(|e| ScimError {
            status: StatusCode::UNAUTHORIZED,
            scim_type: None,
            detail: e.0.into_owned(),
        })?;
        Ok(Self(state.app().directory().caller(&id).await?))
    }
}

/// A SCIM answer: `status`, the body, `application/scim+json`.
fn scim(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    response
}

/// A created resource: 201 with its `Location`.
fn created(body: &Value) -> Response {
    let mut response = scim(StatusCode::CREATED, body);
    if let Some(location) = body["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

fn body_of(bytes: &Bytes) -> ScimResult<Value> {
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not JSON: {e}")))?;
    if !v.is_object() {
        return Err(ScimError::invalid_syntax("the body is not a JSON object"));
    }
    Ok(v)
}

fn base(s: &AppState) -> String {
    format!(
        "{}/scim/v2",
        s.config().public_base_url.trim_end_matches('/')
    )
}

fn meta(s: &AppState, kind: &str, path: &str, record: &ProvisionedRecord) -> Value {
    json!({
        "resourceType": kind,
        "created": record.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "lastModified": record.updated_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "location": format!("{}/{path}/{}", base(s), record.id),
        "version": format!("W/\"{}\"", record.version),
    })
}

/// The document as kept, with what autolock says itself: id, meta, schemas.
fn rendered(doc: &Value, schema: &str) -> Map<String, Value> {
    let mut out: Map<String, Value> = doc
        .as_object()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| {
            !["id", "meta", "schemas", "password"]
                .iter()
                .any(|x| k.eq_ignore_ascii_case(x))
        })
        .collect();
    let mut schemas = vec![Value::String(schema.to_owned())];
    schemas.extend(
        out.keys()
            .filter(|k| k.to_ascii_lowercase().starts_with("urn:"))
            .map(|k| Value::String(k.clone())),
    );
    out.insert("schemas".into(), Value::Array(schemas));
    out
}

fn user_json(s: &AppState, user: &User, record: &ProvisionedRecord) -> Value {
    let mut out = rendered(&record.doc, USER_SCHEMA);
    out.insert("id".into(), user.id.as_str().into());
    out.retain(|k, _| !k.eq_ignore_ascii_case("userName") && !k.eq_ignore_ascii_case("active"));
    out.insert(
        "userName".into(),
        record.user_name.clone().unwrap_or_default().into(),
    );
    // The directory's flag, whenever the provider set one or the user is inactive.
    if field(&record.doc, "active").is_some() || !user.active {
        out.insert("active".into(), user.active.into());
    }
    out.retain(|k, _| !k.eq_ignore_ascii_case("externalId"));
    if let Some(e) = &record.external_id {
        out.insert("externalId".into(), e.clone().into());
    }
    out.insert("meta".into(), meta(s, "User", "Users", record));
    Value::Object(out)
}

fn group_json(s: &AppState, g: &GroupRecord) -> Value {
    let mut out = rendered(&g.record.doc, GROUP_SCHEMA);
    out.insert("id".into(), g.group.id.as_str().into());
    out.retain(|k, _| !k.eq_ignore_ascii_case("members") && !k.eq_ignore_ascii_case("externalId"));
    if !out.keys().any(|k| k.eq_ignore_ascii_case("displayName")) {
        out.insert("displayName".into(), g.group.name.as_str().into());
    }
    let members: Vec<Value> = g
        .members
        .iter()
        .map(|u| json!({"value": u.as_str(), "$ref": format!("{}/Users/{u}", base(s)), "type": "User"}))
        .collect();
    out.insert("members".into(), Value::Array(members));
    if let Some(e) = &g.record.external_id {
        out.insert("externalId".into(), e.clone().into());
    }
    out.insert("meta".into(), meta(s, "Group", "Groups", &g.record));
    Value::Object(out)
}

fn text<'a>(doc: &'a Value, name: &str) -> Option<&'a str> {
    field(doc, name)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

fn boolean(doc: &Value, name: &str) -> ScimResult<Option<bool>> {
    match field(doc, name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some(_) => Err(ScimError::invalid_value(format!("{name} is not a boolean"))),
    }
}

fn external_id(doc: &Value) -> Option<String> {
    text(doc, "externalId").map(str::to_owned)
}

/// A user document read as autolock needs it: the userName, an email (the primary one, else the
/// first, else the userName when it is one), a name to show, the active flag.
fn user_of(doc: Value) -> ScimResult<ProvisionedUser> {
    let user_name = text(&doc, "userName")
        .ok_or_else(|| ScimError::invalid_value("userName is required"))?
        .to_owned();
    if user_name.chars().count() > 256 || user_name.chars().any(char::is_control) {
        return Err(ScimError::invalid_value(
            "userName must be 1 to 256 characters, none a control character",
        ));
    }
    let emails: Vec<&Value> = field(&doc, "emails")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let primary = emails
        .iter()
        .find(|e| field(e, "primary") == Some(&Value::Bool(true)))
        .or_else(|| emails.first())
        .and_then(|e| text(e, "value"));
    let email = match primary {
        Some(address) => Some(
            Email::parse(address)
                .map_err(|e| ScimError::invalid_value(format!("emails: {}", e.message)))?,
        ),
        // A userName that is an address is where the user is emailed; else nowhere.
        None => Email::parse(&user_name).ok(),
    };
    let name = field(&doc, "name");
    let given_and_family = name.map(|n| {
        [text(n, "givenName"), text(n, "familyName")]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ")
    });
    let shown = text(&doc, "displayName")
        .map(str::to_owned)
        .or_else(|| name.and_then(|n| text(n, "formatted")).map(str::to_owned))
        .or(given_and_family.filter(|n| !n.is_empty()))
        .unwrap_or_else(|| user_name.clone());
    let display_name = Name::parse(&shown)
        .map_err(|e| ScimError::invalid_value(format!("displayName: {}", e.message)))?;
    let active = boolean(&doc, "active")?;
    Ok(ProvisionedUser {
        external_id: external_id(&doc),
        user_name,
        email,
        display_name,
        active,
        doc,
    })
}

/// The group a document describes. Its members are the directory's to keep: the record keeps
/// the rest of the document (a large group's members would otherwise be written whole at every
/// change and read whole with the record).
fn group_of(mut doc: Value) -> ScimResult<ProvisionedGroup> {
    let shown = text(&doc, "displayName")
        .ok_or_else(|| ScimError::invalid_value("displayName is required"))?;
    let display_name = Name::parse(shown)
        .map_err(|e| ScimError::invalid_value(format!("displayName: {}", e.message)))?;
    let (mut members, mut seen) = (Vec::new(), std::collections::HashSet::new());
    for m in field(&doc, "members")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = text(m, "value")
            .ok_or_else(|| ScimError::invalid_value("members: each member has a value"))?;
        let id = UserId::parse(id)
            .map_err(|_| ScimError::invalid_value(format!("members: no user {id}")))?;
        if seen.insert(id.clone()) {
            members.push(id);
        }
    }
    if let Some(o) = doc.as_object_mut() {
        o.retain(|k, _| !k.eq_ignore_ascii_case("members"));
    }
    Ok(ProvisionedGroup {
        external_id: external_id(&doc),
        display_name,
        members,
        doc,
    })
}

fn user_id(id: &str) -> ScimResult<UserId> {
    UserId::parse(id).map_err(|_| ScimError::not_found(format!("user {id} not found")))
}

fn group_id(id: &str) -> ScimResult<GroupId> {
    GroupId::parse(id).map_err(|_| ScimError::not_found(format!("group {id} not found")))
}

/// The query of a list or a get.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    filter: Option<String>,
    start_index: Option<String>,
    count: Option<String>,
    attributes: Option<String>,
    excluded_attributes: Option<String>,
}

fn number(text: Option<&str>, name: &str) -> ScimResult<Option<i64>> {
    text.map(|t| {
        t.trim()
            .parse::<i64>()
            .map_err(|_| ScimError::invalid_value(format!("{name} is not a number")))
    })
    .transpose()
}

/// The attributes a list of names (`attributes`, `excludedAttributes`) names.
fn names(t: Option<&str>) -> Vec<String> {
    t.unwrap_or_default()
        .split(',')
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .map(|n| {
            // A URN-prefixed core attribute names the attribute.
            n.strip_prefix(&format!("{USER_SCHEMA}:"))
                .or_else(|| n.strip_prefix(&format!("{GROUP_SCHEMA}:")))
                .map_or(n.clone(), str::to_owned)
        })
        .collect()
}

impl ListQuery {
    /// Whether the answer shows `attr`, whole or some of it, as [`projected`] keeps it.
    fn shows(&self, attr: &str) -> bool {
        let keep = names(self.attributes.as_deref());
        if !keep.is_empty() {
            return keep.iter().any(|n| {
                n.split('.')
                    .next()
                    .is_some_and(|a| a.eq_ignore_ascii_case(attr))
            });
        }
        !names(self.excluded_attributes.as_deref())
            .iter()
            .any(|n| n.eq_ignore_ascii_case(attr))
    }
}

/// Keeps what `attributes` names (and `id`, `schemas`, `meta`) or drops what
/// `excludedAttributes` names; `a.b` names a sub-attribute.
fn projected(resource: Value, q: &ListQuery) -> Value {
    let (keep, drop) = (
        names(q.attributes.as_deref()),
        names(q.excluded_attributes.as_deref()),
    );
    let Value::Object(mut object) = resource else {
        return resource;
    };
    let always = |k: &str| {
        ["id", "schemas", "meta"]
            .iter()
            .any(|a| k.eq_ignore_ascii_case(a))
    };
    if !keep.is_empty() {
        let mut out = Map::new();
        for (k, v) in object {
            if always(&k) {
                out.insert(k, v);
                continue;
            }
            let top = keep.iter().any(|n| n.eq_ignore_ascii_case(&k));
            let subs: Vec<&str> = keep
                .iter()
                .filter_map(|n| n.split_once('.'))
                .filter(|(a, _)| a.eq_ignore_ascii_case(&k))
                .map(|(_, sub)| sub)
                .collect();
            if top {
                out.insert(k, v);
            } else if !subs.is_empty() {
                out.insert(k, only_subs(v, &subs));
            }
        }
        return Value::Object(out);
    }
    for n in &drop {
        match n.split_once('.') {
            None => object.retain(|k, _| always(k) || !k.eq_ignore_ascii_case(n)),
            Some((a, sub)) => {
                for (k, v) in &mut object {
                    if k.eq_ignore_ascii_case(a) {
                        drop_sub(v, sub);
                    }
                }
            }
        }
    }
    Value::Object(object)
}

fn only_subs(v: Value, subs: &[&str]) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(k, _)| subs.iter().any(|s| s.eq_ignore_ascii_case(k)))
                .collect(),
        ),
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|i| only_subs(i, subs)).collect())
        }
        other => other,
    }
}

fn drop_sub(v: &mut Value, sub: &str) {
    match v {
        Value::Object(o) => o.retain(|k, _| !k.eq_ignore_ascii_case(sub)),
        Value::Array(items) => items.iter_mut().for_each(|i| drop_sub(i, sub)),
        _ => {}
    }
}

/// The part of a list a request asks for: from `startIndex` (1-based; 1 when absent or
/// below), `count` resources (100 when absent, at most [`MAX_RESULTS`]).
struct Window {
    start: i64,
    count: usize,
}

impl Window {
    fn of(q: &ListQuery) -> ScimResult<Self> {
        let start = number(q.start_index.as_deref(), "startIndex")?
            .unwrap_or(1)
            .max(1);
        let count = number(q.count.as_deref(), "count")?
            .unwrap_or(100)
            .clamp(0, MAX_RESULTS as i64);
        Ok(Self {
            start,
            count: usize::try_from(count).unwrap_or(0),
        })
    }

    /// How many resources come before the window.
    fn skip(&self) -> usize {
        usize::try_from(self.start - 1).unwrap_or(usize::MAX)
    }
}

/// A list answer: the window's page of `total` resources, each projected as the query asks.
fn answer(page: Vec<Value>, total: usize, window: &Window, q: &ListQuery) -> Response {
    let page: Vec<Value> = page.into_iter().map(|r| projected(r, q)).collect();
    scim(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": window.start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    )
}

/// A list answer from every resource there is: those `filter` keeps, the window's page of them.
fn list(resources: Vec<Value>, filter: Option<&Filter>, q: &ListQuery) -> ScimResult<Response> {
    let window = Window::of(q)?;
    let kept: Vec<Value> = resources
        .into_iter()
        .filter(|r| filter.is_none_or(|f| f.matches(r)))
        .collect();
    let total = kept.len();
    let page = kept
        .into_iter()
        .skip(window.skip())
        .take(window.count)
        .collect();
    Ok(answer(page, total, &window, q))
}

/// A search request (RFC 7644 §3.4.3): the list's query, in a body.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchRequest {
    #[serde(default)]
    attributes: Vec<String>,
    #[serde(default)]
    excluded_attributes: Vec<String>,
    filter: Option<String>,
    start_index: Option<i64>,
    count: Option<i64>,
}

fn search_query(body: &Bytes) -> ScimResult<ListQuery> {
    let r: SearchRequest = serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not a SearchRequest: {e}")))?;
    let joined = |v: Vec<String>| (!v.is_empty()).then(|| v.join(","));
    Ok(ListQuery {
        filter: r.filter,
        start_index: r.start_index.map(|n| n.to_string()),
        count: r.count.map(|n| n.to_string()),
        attributes: joined(r.attributes),
        excluded_attributes: joined(r.excluded_attributes),
    })
}

/// A search across resource types: not done (RFC 7644 §3.12: 501); search `/Users/.search`
/// or `/Groups/.search`.
async fn search_everything(Provisioner(_): Provisioner) -> ScimError {
    ScimError {
        status: StatusCode::NOT_IMPLEMENTED,
        scim_type: None,
        detail: "search one resource type at a time: /Users/.search or /Groups/.search".into(),
    }
}

async fn search_users(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    body: Bytes,
) -> ScimResult<Response> {
    users_list(&s, &p, &search_query(&body)?).await
}

async fn search_groups(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    body: Bytes,
) -> ScimResult<Response> {
    groups_list(&s, &p, &search_query(&body)?).await
}

async fn list_users(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Query(q): Query<ListQuery>,
) -> ScimResult<Response> {
    users_list(&s, &p, &q).await
}

/// A list or a search of users. Without a filter only the window's users are read; a filter
/// that names one `userName` ([`Filter::user_name`]) reads that user; any other filter reads
/// every provisioned user.
async fn users_list(s: &AppState, p: &Principal, q: &ListQuery) -> ScimResult<Response> {
    let filter = q.filter.as_deref().map(Filter::parse).transpose()?;
    let provisioning = s.app().provisioning();
    let json = |users: Vec<(User, ProvisionedRecord)>| -> Vec<Value> {
        users.iter().map(|(u, r)| user_json(s, u, r)).collect()
    };
    let users = match filter.as_ref() {
        None => {
            let window = Window::of(q)?;
            let (users, total) = provisioning
                .users_page(p, window.skip(), window.count)
                .await?;
            return Ok(answer(json(users), total, &window, q));
        }
        Some(f) => match f.user_name() {
            Some(name) => provisioning
                .user_named(p, name)
                .await?
                .into_iter()
                .collect(),
            None => provisioning.users(p).await?,
        },
    };
    list(json(users), filter.as_ref(), q)
}

async fn get_user(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ScimResult<Response> {
    let (user, record) = s.app().provisioning().user(&p, &user_id(&id)?).await?;
    Ok(scim(
        StatusCode::OK,
        &projected(user_json(&s, &user, &record), &q),
    ))
}

async fn create_user(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    body: Bytes,
) -> ScimResult<Response> {
    let new = user_of(body_of(&body)?)?;
    let (user, record) = s.app().provisioning().create_user(&p, new, s.now()).await?;
    Ok(created(&user_json(&s, &user, &record)))
}

async fn replace_user(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let new = user_of(body_of(&body)?)?;
    let (user, record) = s
        .app()
        .provisioning()
        .replace_user(&p, &user_id(&id)?, new, s.now())
        .await?;
    Ok(scim(StatusCode::OK, &user_json(&s, &user, &record)))
}

fn patch_request(body: &Bytes) -> ScimResult<PatchRequest> {
    serde_json::from_slice(body)
        .map_err(|e| ScimError::invalid_syntax(format!("the body is not a PatchOp: {e}")))
}

async fn patch_user(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let request = patch_request(&body)?;
    let id = user_id(&id)?;
    let provisioning = s.app().provisioning();
    let (user, record) = provisioning.user(&p, &id).await?;
    let mut doc = user_json(&s, &user, &record);
    let had_active = field(&doc, "active").is_some();
    patch::apply(&mut doc, &request)?;
    let mut new = user_of(doc)?;
    if had_active && new.active.is_none() {
        // `active` removed: unset, as a user created without it — active.
        new.active = Some(true);
    }
    let (user, record) = provisioning.replace_user(&p, &id, new, s.now()).await?;
    Ok(scim(StatusCode::OK, &user_json(&s, &user, &record)))
}

async fn delete_user(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    s.app()
        .provisioning()
        .delete_user(&p, &user_id(&id)?, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_groups(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Query(q): Query<ListQuery>,
) -> ScimResult<Response> {
    groups_list(&s, &p, &q).await
}

/// A list or a search of groups. Without a filter only the window's groups are read; with one,
/// every provisioned group. Their members are read only when the answer shows them or the
/// filter reads them (Entra ID looks a group up by name with `excludedAttributes=members`).
async fn groups_list(s: &AppState, p: &Principal, q: &ListQuery) -> ScimResult<Response> {
    let filter = q.filter.as_deref().map(Filter::parse).transpose()?;
    let provisioning = s.app().provisioning();
    let members = q.shows("members") || filter.as_ref().is_some_and(|f| f.mentions("members"));
    let json = |groups: Vec<GroupRecord>| -> Vec<Value> {
        groups.iter().map(|g| group_json(s, g)).collect()
    };
    if filter.is_none() {
        let window = Window::of(q)?;
        let (groups, total) = provisioning
            .groups_page(p, window.skip(), window.count, members)
            .await?;
        return Ok(answer(json(groups), total, &window, q));
    }
    let groups = provisioning.groups(p, members).await?;
    list(json(groups), filter.as_ref(), q)
}

async fn get_group(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> ScimResult<Response> {
    let g = s.app().provisioning().group(&p, &group_id(&id)?).await?;
    Ok(scim(StatusCode::OK, &projected(group_json(&s, &g), &q)))
}

async fn create_group(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    body: Bytes,
) -> ScimResult<Response> {
    let new = group_of(body_of(&body)?)?;
    let g = s
        .app()
        .provisioning()
        .create_group(&p, new, s.now())
        .await?;
    Ok(created(&group_json(&s, &g)))
}

async fn replace_group(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    body: Bytes,
) -> ScimResult<Response> {
    let new = group_of(body_of(&body)?)?;
    let g = s
        .app()
        .provisioning()
        .replace_group(&p, &group_id(&id)?, new, s.now())
        .await?;
    Ok(scim(StatusCode::OK, &group_json(&s, &g)))
}

/// A group's PATCH. Members added and removed by listing them (as Entra ID and Okta add them)
/// are changed without reading the group's other members; any other request is applied to the
/// group's whole document. The answer is 204 No Content, as RFC 7644 §3.5.2 allows, unless the
/// request asks for `attributes` or `excludedAttributes`: a large group's members are not read
/// and sent back at each change.
async fn patch_group(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
    body: Bytes,
) -> ScimResult<Response> {
    let request = patch_request(&body)?;
    let id = group_id(&id)?;
    let provisioning = s.app().provisioning();
    // The group as the change leaves it, when the change read it whole.
    let replaced = if let Some(named) = patch::members_listed(&request)? {
        let mut members = Vec::with_capacity(named.len());
        for (user, member) in named {
            match UserId::parse(&user) {
                Ok(id) => members.push((id, member)),
                Err(_) if member => {
                    return Err(ScimError::invalid_value(format!("members: no user {user}")));
                }
                // No such user is a member: nothing to remove.
                Err(_) => {}
            }
        }
        provisioning
            .change_members(&p, &id, &members, s.now())
            .await?;
        None
    } else {
        let current = provisioning.group(&p, &id).await?;
        let mut doc = group_json(&s, &current);
        patch::apply(&mut doc, &request)?;
        Some(
            provisioning
                .replace_group(&p, &id, group_of(doc)?, s.now())
                .await?,
        )
    };
    if q.attributes.is_none() && q.excluded_attributes.is_none() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let g = match replaced {
        Some(g) => g,
        None => provisioning.group(&p, &id).await?,
    };
    Ok(scim(StatusCode::OK, &projected(group_json(&s, &g), &q)))
}

async fn delete_group(
    State(s): State<AppState>,
    Provisioner(p): Provisioner,
    Path(id): Path<String>,
) -> ScimResult<StatusCode> {
    s.app()
        .provisioning()
        .delete_group(&p, &group_id(&id)?, s.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn service_provider_config(
    State(s): State<AppState>,
    Provisioner(_): Provisioner,
) -> Response {
    scim(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "The provisioner's service principal token, as on autolock's API",
                "primary": true,
            }],
            "meta": {
                "resourceType": "ServiceProviderConfig",
                "location": format!("{}/ServiceProviderConfig", base(&s)),
            },
        }),
    )
}

fn resource_types_json(s: &AppState) -> Vec<Value> {
    [
        ("User", "/Users", USER_SCHEMA, "A person"),
        ("Group", "/Groups", GROUP_SCHEMA, "A named set of users"),
    ]
    .into_iter()
    .map(|(name, endpoint, schema, description)| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": name,
            "name": name,
            "endpoint": endpoint,
            "description": description,
            "schema": schema,
            "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/{name}", base(s))},
        })
    })
    .collect()
}

/// A discovery endpoint's whole list, on one page.
fn discovery_list(all: Vec<Value>) -> Response {
    scim(
        StatusCode::OK,
        &json!({"schemas": [LIST_SCHEMA], "totalResults": all.len(), "startIndex": 1, "itemsPerPage": all.len(), "Resources": all}),
    )
}

/// The one of a discovery endpoint's list with this `id`.
fn discovery_one(all: Vec<Value>, id: &str, what: &str) -> ScimResult<Response> {
    all.into_iter()
        .find(|t| t["id"] == id)
        .map(|t| scim(StatusCode::OK, &t))
        .ok_or_else(|| ScimError::not_found(format!("{what} {id} not found")))
}

async fn resource_types(State(s): State<AppState>, Provisioner(_): Provisioner) -> Response {
    discovery_list(resource_types_json(&s))
}

async fn resource_type(
    State(s): State<AppState>,
    Provisioner(_): Provisioner,
    Path(name): Path<String>,
) -> ScimResult<Response> {
    discovery_one(resource_types_json(&s), &name, "resource type")
}

fn attribute(name: &str, kind: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": kind, "multiValued": false, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
    });
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

fn schemas_json(s: &AppState) -> Vec<Value> {
    let meta = |id: &str| json!({"resourceType": "Schema", "location": format!("{}/Schemas/{id}", base(s))});
    let user = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": USER_SCHEMA, "name": "User", "description": "A person",
        "attributes": [
            attribute("userName", "string", json!({"required": true, "uniqueness": "server"})),
            attribute("name", "complex", json!({"subAttributes": [
                attribute("formatted", "string", json!({})),
                attribute("familyName", "string", json!({})),
                attribute("givenName", "string", json!({})),
            ]})),
            attribute("displayName", "string", json!({})),
            attribute("active", "boolean", json!({})),
            attribute("emails", "complex", json!({"multiValued": true, "subAttributes": [
                attribute("value", "string", json!({})),
                attribute("type", "string", json!({"canonicalValues": ["work", "home", "other"]})),
                attribute("primary", "boolean", json!({})),
            ]})),
        ],
        "meta": meta(USER_SCHEMA),
    });
    let group = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": GROUP_SCHEMA, "name": "Group", "description": "A named set of users",
        "attributes": [
            attribute("displayName", "string", json!({"required": true})),
            attribute("members", "complex", json!({"multiValued": true, "subAttributes": [
                attribute("value", "string", json!({"mutability": "immutable"})),
                attribute("$ref", "reference", json!({"referenceTypes": ["User"], "mutability": "immutable"})),
                attribute("type", "string", json!({"canonicalValues": ["User"], "mutability": "immutable"})),
            ]})),
        ],
        "meta": meta(GROUP_SCHEMA),
    });
    vec![user, group]
}

async fn schemas(State(s): State<AppState>, Provisioner(_): Provisioner) -> Response {
    discovery_list(schemas_json(&s))
}

async fn schema(
    State(s): State<AppState>,
    Provisioner(_): Provisioner,
    Path(id): Path<String>,
) -> ScimResult<Response> {
    discovery_one(schemas_json(&s), &id, "schema")
}
