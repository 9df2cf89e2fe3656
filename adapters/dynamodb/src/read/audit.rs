//! The audit log, read.

use async_trait::async_trait;

use autolock_core::error::StoreError;
use autolock_core::ports::*;

use crate::client::Q;
use crate::item::*;
use crate::{DynamoStore, keys};

use autolock_core::audit::{AuditEntry, AuditFilter};

#[async_trait]
impl AuditReader for DynamoStore {
    async fn audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        if let Some(target) = &filter.target {
            return self.audit_of(target, filter, page).await;
        }
        let limit = page.effective_limit();
        let months_items = self
            .query_all(
                Q::on(&self.tables.policies, "pk = :pk AND begins_with(sk, :p)")
                    .value(":pk", s("AUDIT"))
                    .value(":p", s("MONTH#")),
            )
            .await?;
        let mut months: Vec<String> = months_items
            .iter()
            .map(|i| get_s(i, "sk").map(|sk| sk.trim_start_matches("MONTH#").to_owned()))
            .collect::<StoreResult<_>>()?;
        months.sort();
        let (cursor_month, cursor_sk) = match &page.after {
            Some(c) => {
                let (m, sk) = c
                    .split_once('|')
                    .ok_or_else(|| StoreError::BadCursor(c.clone()))?;
                (Some(m.to_owned()), sk.to_owned())
            }
            None => (None, String::new()),
        };
        let from_month = filter.from.map(keys::audit_month);
        let to_month = filter.to.map(keys::audit_month);
        let mut out: Vec<(String, AuditEntry)> = Vec::new();
        'months: for month in months {
            if from_month.as_ref().is_some_and(|f| month < *f)
                || to_month.as_ref().is_some_and(|t| month > *t)
            {
                continue;
            }
            if cursor_month.as_ref().is_some_and(|c| month < *c) {
                continue;
            }
            let pk = format!("AUDIT#{month}");
            let q = if cursor_month.as_ref() == Some(&month) {
                Q::on(&self.tables.policies, "pk = :pk AND sk > :after")
                    .value(":after", s(cursor_sk.clone()))
            } else {
                Q::on(&self.tables.policies, "pk = :pk")
            }
            .value(":pk", s(pk));
            let mut start = None;
            loop {
                let p = self
                    .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                    .await?;
                for i in &p.items {
                    let entry: AuditEntry = doc(i)?;
                    if filter.matches(&entry) {
                        out.push((format!("{month}|{}", get_s(i, "sk")?), entry));
                        if out.len() > limit {
                            break 'months;
                        }
                    }
                }
                match p.last {
                    Some(last) => start = Some(last),
                    None => break,
                }
            }
        }
        Ok(Page::from_overfetch(out, limit, |(c, _)| c.clone()).map(|(_, e)| e))
    }
}

impl DynamoStore {
    /// The entries concerning `target`, from its own partition (`AUDITT#<id>`), within the
    /// filter's dates; the cursor is the last entry's sort key.
    async fn audit_of(
        &self,
        target: &str,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> StoreResult<Page<AuditEntry>> {
        let limit = page.effective_limit();
        let lower = match (&page.after, filter.from) {
            (Some(after), _) if after.contains('|') => {
                return Err(StoreError::BadCursor(after.clone()));
            }
            (Some(after), _) => format!("{after}\u{0}"),
            (None, Some(from)) => keys::at(from),
            (None, None) => String::new(),
        };
        let upper = filter.to.map_or_else(|| "~".to_owned(), keys::at);
        if lower.as_str() >= upper.as_str() {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let q = if lower.is_empty() {
            Q::on(&self.tables.policies, "pk = :pk AND sk < :upper")
        } else {
            Q::on(
                &self.tables.policies,
                "pk = :pk AND sk BETWEEN :lower AND :upper",
            )
            .value(":lower", s(lower))
        }
        .value(":pk", s(format!("AUDITT#{target}")))
        .value(":upper", s(upper));
        let mut out: Vec<(String, AuditEntry)> = Vec::new();
        let mut start = None;
        loop {
            let p = self
                .page(&q, start, Some(i32::try_from(limit + 1).unwrap_or(1001)))
                .await?;
            for i in &p.items {
                let entry: AuditEntry = doc(i)?;
                if filter.matches(&entry) {
                    out.push((get_s(i, "sk")?.to_owned(), entry));
                }
            }
            if out.len() > limit || p.last.is_none() {
                break;
            }
            start = p.last;
        }
        Ok(Page::from_overfetch(out, limit, |(c, _)| c.clone()).map(|(_, e)| e))
    }
}
