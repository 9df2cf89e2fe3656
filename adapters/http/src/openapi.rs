//! The OpenAPI document, generated from the handlers' annotations and the types' schemas.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::routes::{
    clock, directory, downloads, exemptions, feed, gate, gateway, grants, policies, requests,
    resources, rights, settings,
};

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
        directory::me, directory::list_users, directory::create_user, directory::get_user,
        directory::patch_user, directory::end_sessions, directory::create_service_principal,
        directory::get_service_principal, directory::patch_service_principal, directory::list_groups, directory::create_group,
        directory::get_group, directory::add_member, directory::remove_member,
        rights::user_rights, rights::user_right, rights::unlock, rights::resource_rights,
        resources::list_resources, resources::create_resource, resources::get_resource,
        resources::patch_resource_policy, resources::preview_resource_policy, resources::analytics,
        grants::list_grants, grants::create_grant, grants::get_grant, grants::patch_grant,
        grants::delete_grant, grants::patch_grant_policy, grants::preview_grant_policy,
        exemptions::list_exemptions, exemptions::create_exemption, exemptions::get_exemption,
        exemptions::patch_exemption, exemptions::end_exemption, feed::get_feed,
        policies::export_policies, policies::plan_policies, policies::apply_policies,
        gateway::check, gateway::access_events, gate::gate,
        requests::file_request, requests::list_requests, requests::count_requests,
        requests::get_request, requests::approve, requests::deny,
        settings::get_settings, settings::put_settings, settings::get_gate, settings::put_gate,
        settings::get_sign_in, settings::put_sign_in,
        settings::get_slack, settings::put_slack, settings::delete_slack, settings::test_slack,
        settings::list_slack_deliveries,
        settings::get_webhook,
        settings::put_webhook, settings::delete_webhook, settings::test_webhook,
        settings::list_webhook_deliveries,
        downloads::resource_report, downloads::group_report, downloads::user_report,
        downloads::audit, downloads::audit_export,
        clock::get_clock, clock::advance_clock,
    ),
    components(schemas(crate::problem::Problem))
)]
pub struct ApiDoc;

/// The document, built once.
static DOCUMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    ApiDoc::openapi()
        .to_json()
        .expect("the OpenAPI document serializes")
});

/// `GET /v1/openapi.json`: served from memory.
pub async fn serve() -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        DOCUMENT.as_str(),
    )
}
