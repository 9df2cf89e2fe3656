//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        openapi.security = Some(vec![utoipa::openapi::security::SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// A grant is also reached by its resource and group: the same operations under
/// `/v1/resources/{resource_id}/grants/{group_id}`.
struct GrantByGroup;

impl Modify for GrantByGroup {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::{Object, Required, Type};
        let param = |name: &str, what: &str| {
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .description(Some(what))
                .schema(Some(Object::with_type(Type::String)))
                .build()
        };
        for (by_id, by_group) in [
            (
                "/v1/grants/{grant_id}",
                "/v1/resources/{resource_id}/grants/{group_id}",
            ),
            (
                "/v1/grants/{grant_id}/policy",
                "/v1/resources/{resource_id}/grants/{group_id}/policy",
            ),
        ] {
            let Some(mut item) = openapi.paths.paths.get(by_id).cloned() else {
                continue;
            };
            for op in [&mut item.get, &mut item.patch, &mut item.delete]
                .into_iter()
                .flatten()
            {
                op.operation_id = op.operation_id.take().map(|id| format!("{id}_by_group"));
                op.parameters = Some(vec![
                    param("resource_id", "The resource."),
                    param(
                        "group_id",
                        "The group whose current grant on the resource is meant.",
                    ),
                ]);
            }
            openapi.paths.paths.insert(by_group.to_owned(), item);
        }
    }
}

/// The API description.
#[derive(Debug, OpenApi)]
#[openapi(
    info(title = "autolock", description = "Usage-based auto-lock for access rights.", version = "1"),
    modifiers(&BearerAuth, &GrantByGroup),
    paths(
        routes::me, routes::list_users, routes::create_user, routes::get_user, routes::patch_user,
        routes::user_rights, routes::user_right, routes::unlock,
        routes::create_service_principal, routes::get_service_principal,
        routes::list_groups, routes::create_group, routes::get_group, routes::add_member, routes::remove_member,
        routes::list_resources, routes::create_resource, routes::get_resource, routes::patch_resource_policy,
        routes::resource_rights, routes::list_grants, routes::create_grant,
        routes::get_grant, routes::patch_grant, routes::delete_grant, routes::patch_grant_policy,
        routes::check, routes::access_events,
        routes::file_request, routes::list_requests, routes::count_requests, routes::get_request, routes::approve, routes::deny,
        routes::get_settings, routes::get_webhook, routes::put_webhook, routes::delete_webhook, routes::test_webhook, routes::list_webhook_deliveries, routes::put_settings, routes::audit, routes::preview_resource_policy, routes::preview_grant_policy, routes::analytics, crate::export::resource_report, crate::export::group_report, crate::export::user_report, crate::export::audit_export, routes::get_clock, routes::advance_clock,
    ),
    components(schemas(crate::problem::Problem))
)]
pub struct ApiDoc;

/// `GET /v1/openapi.json`.
pub async fn serve() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
