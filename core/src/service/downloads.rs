//! Downloads — the summary report of a resource, a group or a user, and the audit export —
//! written a page at a time: the caller pulls one chunk after the other, so memory stays flat
//! however much a download covers, and the work stops when the caller stops pulling
//! (docs/semantics.md §5). The JSON API and the console serve the same bytes.

use crate::Timestamp;
use crate::audit::{AUDIT_CSV_HEADER, AuditEntry, AuditFilter};
use crate::directory::Principal;
use crate::error::Result;
use crate::ports::{Page, PageRequest};
use crate::report::{CSV_HEADER, ReportRow, csv_record};

use super::reports::Reports;
use super::reports::{ReportPage, ReportScope};

/// How a download is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadFormat {
    /// RFC 4180 CSV with a header row.
    Csv,
    /// A JSON array (reports) or JSON lines (the audit export).
    Json,
}

/// What a download covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DownloadOf {
    /// The summary report of a resource, a group or a user (approvers).
    Report(ReportScope),
    /// The audit entries passing a filter (admin, DevOps admin).
    Audit(AuditFilter),
}

/// How many audit entries a chunk of the export covers.
const AUDIT_PAGE: u32 = 1000;

enum Next {
    Report(ReportPage),
    Audit(Page<AuditEntry>),
}

/// An open download: pull its chunks with [`Download::next_chunk`] until `None`.
pub struct Download {
    reports: Reports,
    actor: Principal,
    of: DownloadOf,
    format: DownloadFormat,
    now: Timestamp,
    /// The page read ahead (the first one is read when the download opens).
    ready: Option<Next>,
    started: bool,
    finished: bool,
    rows_written: usize,
}

impl std::fmt::Debug for Download {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Download")
            .field("of", &self.of)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl Reports {
    /// Opens a download. The first page is read here, so that a refusal or a missing object is
    /// answered before any byte of the download is written.
    pub async fn download(
        &self,
        actor: &Principal,
        of: DownloadOf,
        format: DownloadFormat,
        now: Timestamp,
    ) -> Result<Download> {
        let first = match &of {
            DownloadOf::Report(scope) => {
                Next::Report(self.report_page(actor, scope, None, now).await?)
            }
            DownloadOf::Audit(filter) => Next::Audit(
                self.audit(actor, filter, &PageRequest::first(AUDIT_PAGE))
                    .await?,
            ),
        };
        Ok(Download {
            reports: self.clone(),
            actor: actor.clone(),
            of,
            format,
            now,
            ready: Some(first),
            started: false,
            finished: false,
            rows_written: 0,
        })
    }
}

impl Download {
    /// The name the file is saved under, e.g. `resource-gitlab.csv`.
    #[must_use]
    pub fn file_name(&self) -> String {
        let stem = match &self.of {
            DownloadOf::Report(ReportScope::Resource(id)) => format!("resource-{id}"),
            DownloadOf::Report(ReportScope::Group(id)) => format!("group-{id}"),
            DownloadOf::Report(ReportScope::User(id)) => format!("user-{id}"),
            DownloadOf::Audit(_) => "audit".to_owned(),
        };
        let ext = match (self.format, &self.of) {
            (DownloadFormat::Csv, _) => "csv",
            (DownloadFormat::Json, DownloadOf::Report(_)) => "json",
            (DownloadFormat::Json, DownloadOf::Audit(_)) => "jsonl",
        };
        format!("{stem}.{ext}")
    }

    /// The `Content-Disposition` that saves the download under [`Download::file_name`].
    #[must_use]
    pub fn disposition(&self) -> String {
        format!("attachment; filename=\"{}\"", self.file_name())
    }

    /// The download as a stream of chunks, each read when the stream is polled for it (an HTTP
    /// body reads as the client does, and stops when the client goes away). A failure ends
    /// the stream with its error.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<String>> + Send {
        futures_util::stream::unfold(Some(self), |download| async move {
            let mut download = download?;
            match download.next_chunk().await {
                Ok(Some(chunk)) => Some((Ok(chunk), Some(download))),
                Ok(None) => None,
                Err(e) => Some((Err(e), None)),
            }
        })
    }

    /// The download's media type.
    #[must_use]
    pub fn content_type(&self) -> &'static str {
        match (self.format, &self.of) {
            (DownloadFormat::Csv, _) => "text/csv; charset=utf-8",
            (DownloadFormat::Json, DownloadOf::Report(_)) => "application/json",
            (DownloadFormat::Json, DownloadOf::Audit(_)) => "application/jsonl",
        }
    }

    /// The next chunk of the file, `None` after the last.
    pub async fn next_chunk(&mut self) -> Result<Option<String>> {
        if self.finished {
            return Ok(None);
        }
        let mut chunk = String::new();
        if !self.started {
            self.started = true;
            match (self.format, &self.of) {
                (DownloadFormat::Csv, DownloadOf::Report(_)) => {
                    chunk.push_str(&csv_record(CSV_HEADER));
                }
                (DownloadFormat::Csv, DownloadOf::Audit(_)) => {
                    chunk.push_str(&csv_record(AUDIT_CSV_HEADER));
                }
                (DownloadFormat::Json, DownloadOf::Report(_)) => chunk.push('['),
                (DownloadFormat::Json, DownloadOf::Audit(_)) => {}
            }
        }
        let next_cursor = match self.ready.take() {
            Some(Next::Report(page)) => {
                for row in &page.rows {
                    self.push_row(&mut chunk, row);
                }
                page.next
            }
            Some(Next::Audit(page)) => {
                for entry in &page.items {
                    match self.format {
                        DownloadFormat::Csv => chunk.push_str(&entry.to_csv()),
                        DownloadFormat::Json => {
                            chunk.push_str(
                                &serde_json::to_string(entry).expect("an audit entry serializes"),
                            );
                            chunk.push('\n');
                        }
                    }
                }
                page.next
            }
            None => None,
        };
        match next_cursor {
            Some(after) => self.ready = Some(self.read(after).await?),
            None => {
                self.finished = true;
                if self.format == DownloadFormat::Json && matches!(self.of, DownloadOf::Report(_)) {
                    chunk.push(']');
                }
            }
        }
        Ok(Some(chunk))
    }

    fn push_row(&mut self, chunk: &mut String, row: &ReportRow) {
        match self.format {
            DownloadFormat::Csv => chunk.push_str(&row.to_csv()),
            DownloadFormat::Json => {
                if self.rows_written > 0 {
                    chunk.push(',');
                }
                chunk.push_str(&serde_json::to_string(row).expect("a report row serializes"));
            }
        }
        self.rows_written += 1;
    }

    async fn read(&self, after: String) -> Result<Next> {
        Ok(match &self.of {
            DownloadOf::Report(scope) => Next::Report(
                self.reports
                    .report_page(&self.actor, scope, Some(after), self.now)
                    .await?,
            ),
            DownloadOf::Audit(filter) => {
                let page = PageRequest {
                    after: Some(after),
                    limit: AUDIT_PAGE,
                };
                Next::Audit(self.reports.audit(&self.actor, filter, &page).await?)
            }
        })
    }
}
