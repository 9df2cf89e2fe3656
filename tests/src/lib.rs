//! Cross-crate test support: the store contract suite, written once and instantiated for every
//! store with [`store_contract_tests!`], and a seeded world for end-to-end flows.

pub mod bench;
pub mod contract;
pub mod fuzz;
pub mod slack;
pub mod webhook;
pub mod world;

/// Instantiates the whole store contract suite for a store. `$factory` is an async expression
/// giving a fresh, empty `Arc<dyn Store>` each time it is evaluated.
///
/// With `teardown`, `$factory` gives `(store, handle)` and `$teardown(handle)` runs after each
/// test, passed or failed (to remove the tables of a DynamoDB store, say).
#[macro_export]
macro_rules! store_contract_tests {
    ($factory:expr) => {
        $crate::store_contract_tests!($factory, teardown = |_: ()| async {});
    };
    ($factory:expr, teardown = $teardown:expr) => {
        $crate::store_contract_tests!(@each $factory, $teardown;
            directory_creates_and_rejects_duplicates,
            provisioned_records_are_kept_whole_with_unique_user_names,
            a_group_is_renamed_and_only_one_that_exists,
            directory_keeps_membership_and_grant_history,
            directory_lists_page_by_cursor,
            the_users_of_a_resource_page_alike_however_many_groups_hold_it,
            a_page_of_a_resources_rights_reads_each_right_as_read_alone,
            a_groups_members_page_alike_as_read_whole,
            usage_writes_are_conditioned_on_the_version,
            lock_index_returns_due_rights_earliest_first,
            requests_resolve_once_and_list_by_state,
            audit_entries_are_kept_once_and_filtered,
            outbox_entries_are_kept_once_until_delivered,
            settings_default_and_replace,
            a_changeset_with_a_failed_condition_writes_nothing,
            race_two_approvers_one_wins,
            race_sweep_and_access_event_agree_on_the_timestamp,
            flow_manual_request_approved,
            flow_manual_request_denied_and_repeated_submission,
            flow_automatic_request_unlocks_at_once,
            flow_admin_unlock_resolves_the_open_request,
            flow_revert_cancels_the_open_request,
            flow_losing_every_path_or_deactivation_cancels,
            flow_policy_changes_are_audited_with_grace,
            flow_access_event_batch_results,
            flow_nobody_unlocks_themselves_and_approvers_never_their_own,
            flow_sweep_is_bounded_and_resumable,
            deliveries_are_created_once_retried_when_due_and_listed,
            slack_settings_deliveries_and_posts_are_kept,
            the_webhook_setting_is_set_replaced_and_removed,
            flow_the_active_flag_is_temporal,
            flow_an_unlock_lifts_a_lock_kept_without_a_path,
            flow_a_request_is_cancelled_at_the_instant_its_last_path_expires,
            flow_membership_edits_are_idempotent,
            flow_last_access_is_the_latest_counted_access_even_after_an_unlock,
            sign_in_links_work_once_within_their_time,
            flow_a_disabled_service_principal_may_do_nothing,
            race_many_approvers_one_verdict,
            race_sweeps_events_and_an_unlock_agree,
            race_concurrent_user_edits_are_all_kept,
            race_concurrent_grant_edits_are_all_kept,
            flow_a_change_left_half_done_is_completed_by_the_tick,
            flow_a_large_batch_for_one_right_is_committed_in_parts,
            flow_the_gate_decides_on_the_facts_a_change_refreshed,
            flow_an_access_leaves_the_sweep_an_earlier_look,
            race_overlapping_retries_send_a_delivery_once,
            exemptions_are_stored_listed_and_edited_over_their_revision,
            flow_exemptions_keep_paths_open_and_are_audited_to_their_end,
            rights_read_together_are_the_rights_read_alone,
            the_feeds_record_is_written_over_its_revision,
            flow_a_silent_feed_holds_every_lock_and_alerts_the_admins,
            flow_policies_as_code_are_exported_planned_and_applied,
            users_are_found_by_email_and_their_sessions_ended,
            a_sign_in_identity_finds_its_user_until_replaced,
            throttles_are_written_over_their_version,
        );
    };
    (@each $factory:expr, $teardown:expr; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let (store, handle) = $crate::contract::with_handle($factory.await);
                let result = tokio::spawn($crate::contract::$name(store)).await;
                ($teardown)(handle).await;
                if let Err(e) = result {
                    std::panic::resume_unwind(e.into_panic());
                }
            }
        )*
    };
}
