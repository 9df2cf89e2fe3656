//! The store contract for policies as code: export, plan with the preview, apply through the use
//! cases (audited as the caller), idempotent, refused whole when any part is wrong.
#![allow(clippy::missing_panics_doc, clippy::too_many_lines)]

use std::sync::Arc;

use autolock_core::Error;
use autolock_core::audit::{AuditAction, AuditFilter};
use autolock_core::ports::{PageRequest, Store};
use autolock_core::service::PolicyDocument;

use crate::world::{World, d, h};

/// Gitlab's default duration as it stands.
async fn gitlab_duration(w: &World) -> String {
    let gitlab = w
        .app
        .directory()
        .resource(&w.admin, &w.gitlab)
        .await
        .unwrap();
    gitlab.policy.auto_lock_after.to_string()
}

fn doc(json: serde_json::Value) -> PolicyDocument {
    serde_json::from_value(json).unwrap()
}

pub async fn flow_policies_as_code_are_exported_planned_and_applied(store: Arc<dyn Store>) {
    let w = World::seed(store).await;
    let exported = w.app.policies().export_policies(&w.reviewer).await.unwrap();
    assert_eq!(
        serde_json::to_value(&exported).unwrap(),
        serde_json::json!({"resources": {"gitlab": {
            "auto_lock_after": "7d", "approval": "manual", "grants": {"eng": {}}
        }}})
    );
    let same = w
        .app
        .policies()
        .plan_policies(&w.devops, &exported, h(1))
        .await
        .unwrap();
    assert!(
        same.changes.is_empty() && same.unmanaged.is_empty(),
        "{same:?}"
    );

    let wanted = doc(serde_json::json!({"resources": {"gitlab": {
        "auto_lock_after": "1d", "approval": "automatic",
        "grants": {"eng": {"auto_lock_after": "30d", "expires_at": d(60)}}
    }}}));
    let plan = w
        .app
        .policies()
        .plan_policies(&w.devops, &wanted, h(1))
        .await
        .unwrap();
    assert!(!plan.applied);
    assert_eq!(plan.changes.len(), 2, "{plan:?}");
    let default = &plan.changes[0];
    assert_eq!(default.group, None);
    let fields: Vec<_> = default
        .changes
        .iter()
        .map(|c| (c.field, c.before.as_str(), c.after.as_str()))
        .collect();
    assert_eq!(
        fields,
        [
            ("auto_lock_after", "7d", "1d"),
            ("approval", "manual", "automatic")
        ]
    );
    // Under a 1-day default bob and carol, never used, would lock within a day — the grace rule
    // counts from the change.
    assert_eq!(default.lock_within_1_day.len(), 2, "{default:?}");
    let grant = &plan.changes[1];
    assert_eq!(grant.group.as_ref(), Some(&w.eng));
    let fields: Vec<_> = grant.changes.iter().map(|c| c.field).collect();
    assert_eq!(fields, ["auto_lock_after", "expires_at"]);
    assert_eq!(grant.changes[0].before, "inherit");
    // Nothing changed by planning.
    assert_eq!(gitlab_duration(&w).await, "7d");

    // A DevOps admin may not change an expiry: refused whole, nothing applied.
    assert!(matches!(
        w.app
            .policies()
            .apply_policies(&w.devops, &wanted, h(1))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert_eq!(gitlab_duration(&w).await, "7d");
    assert!(matches!(
        w.app
            .policies()
            .apply_policies(&w.reviewer, &wanted, h(1))
            .await,
        Err(Error::Forbidden(_))
    ));

    let applied = w
        .app
        .policies()
        .apply_policies(&w.admin, &wanted, h(1))
        .await
        .unwrap();
    assert!(applied.applied);
    assert_eq!(applied.changes.len(), 2);
    assert_eq!(gitlab_duration(&w).await, "1d");
    let g = w.eng_grant().await;
    assert_eq!(
        g.current_override()
            .auto_lock_after
            .map(|a| a.to_string())
            .as_deref(),
        Some("30d")
    );
    assert_eq!(g.current_expiry(), Some(d(60)));
    let audit = w
        .store()
        .audit(
            &AuditFilter {
                action: Some(AuditAction::PolicyDurationChanged),
                actor: Some(w.admin.id.clone()),
                ..AuditFilter::default()
            },
            &PageRequest::default(),
        )
        .await
        .unwrap();
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.at == h(1) && e.grant.is_none()),
        "the default's change, as ada"
    );
    assert!(
        audit
            .items
            .iter()
            .any(|e| e.at == h(1) && e.grant.is_some()),
        "the grant's change, as ada"
    );

    // Idempotent: applied again, nothing changes and nothing is audited.
    let again = w
        .app
        .policies()
        .apply_policies(&w.admin, &wanted, h(2))
        .await
        .unwrap();
    assert!(again.changes.is_empty(), "{again:?}");
    assert_eq!(
        w.app.policies().export_policies(&w.reviewer).await.unwrap(),
        wanted
    );

    // What the document names must exist, and an expiry lie ahead.
    let unknown = doc(serde_json::json!({"resources": {"gitlab": {
        "auto_lock_after": "1d", "approval": "automatic", "grants": {"ops": {}}
    }}}));
    match w
        .app
        .policies()
        .plan_policies(&w.admin, &unknown, h(3))
        .await
    {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "resources.gitlab.grants.ops"),
        other => panic!("{other:?}"),
    }
    let past = doc(serde_json::json!({"resources": {"gitlab": {
        "auto_lock_after": "1d", "approval": "automatic",
        "grants": {"eng": {"auto_lock_after": "30d", "expires_at": h(0)}}
    }}}));
    match w.app.policies().apply_policies(&w.admin, &past, h(3)).await {
        Err(Error::Invalid(e)) => assert_eq!(e.field, "resources.gitlab.grants.eng.expires_at"),
        other => panic!("{other:?}"),
    }
    // A resource left out of the document is left alone; a grant left out is named.
    let partial = doc(serde_json::json!({"resources": {"gitlab": {
        "auto_lock_after": "1d", "approval": "automatic"
    }}}));
    let plan = w
        .app
        .policies()
        .plan_policies(&w.admin, &partial, h(3))
        .await
        .unwrap();
    assert!(plan.changes.is_empty());
    assert_eq!(plan.unmanaged, ["gitlab/eng"]);
}
