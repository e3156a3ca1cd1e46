//! Parallel uploads (tus concatenation): the source is split into N ranges,
//! each uploaded as a partial upload over its own connection, then a final
//! upload joins them. Each part creates, resumes and retries on its own, so a
//! failed part is resumed alone; its URL is kept in the store under a key
//! derived from the file's fingerprint until the final upload exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::HeaderValue;
use http::{Method, Uri};
use sha2::{Digest as _, Sha256};
use tokio::task::JoinSet;

use crate::body::RequestBody;
use crate::client::{CONTENT_LENGTH_HEADER, parse_uri};
use crate::core::capabilities::Capabilities;
use crate::core::metadata;
use crate::error::redact_url;
use crate::upload::{Run, created_upload, verification};
use crate::{Client, Error, Event, Progress, ProtocolError, Source, UploadOptions, UploadOutcome};

/// Byte ranges of `parts` near-equal parts of `len` bytes (no empty part).
pub(crate) fn split(len: u64, parts: usize) -> Vec<(u64, u64)> {
    let parts = (parts.max(1) as u64).min(len.max(1));
    let base = len / parts;
    let extra = len % parts;
    let mut ranges = Vec::with_capacity(parts as usize);
    let mut start = 0;
    for i in 0..parts {
        let size = base + u64::from(i < extra);
        ranges.push((start, size));
        start += size;
    }
    ranges
}

/// The store key of part `index` of `count`: derived from the whole file's
/// fingerprint, so it is as stable, and never equal to it.
fn part_key(fingerprint: &str, index: usize, count: usize) -> String {
    let mut hasher = Sha256::new();
    hasher.update(b"tus-part-v1\0");
    hasher.update(fingerprint.as_bytes());
    hasher.update(format!("\0{index}/{count}").as_bytes());
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What each part has sent and had acknowledged, summed for progress events.
struct Totals {
    sent: Vec<AtomicU64>,
    acknowledged: Vec<AtomicU64>,
    total: u64,
    started: std::time::Instant,
}

impl Totals {
    fn progress(&self) -> Progress {
        let sum = |v: &[AtomicU64]| v.iter().map(|a| a.load(Ordering::Relaxed)).sum::<u64>();
        let (sent, acknowledged) = (sum(&self.sent), sum(&self.acknowledged));
        let rate = sent as f64 / self.started.elapsed().as_secs_f64().max(1e-6);
        let eta = (rate > 0.0)
            .then(|| Duration::from_secs_f64(self.total.saturating_sub(sent) as f64 / rate));
        Progress {
            acknowledged,
            sent,
            total: self.total,
            bytes_per_second: rate,
            eta,
        }
    }
}

impl Client {
    pub(crate) async fn upload_parallel(
        &self,
        endpoint: &Uri,
        capabilities: &Capabilities,
        source: &Source,
        options: &UploadOptions,
        fingerprint: Option<&str>,
        mut run: Run,
    ) -> Result<UploadOutcome, Error> {
        // A final upload from an earlier run: only the check is left.
        if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint)
            && let Some(url) = store.get(fingerprint).await?
        {
            match self.try_resume(&url, source, options).await? {
                Some(offset) if offset == source.len() => {
                    let uri = parse_uri(&url)?;
                    options.emit(Event::Resumed { offset });
                    return self
                        .finish(
                            &uri,
                            source,
                            offset,
                            offset,
                            options,
                            Some(fingerprint),
                            &mut run,
                        )
                        .await;
                }
                _ => self.forget(options, Some(fingerprint)).await?,
            }
        }
        let ranges = split(source.len(), options.parallel);
        let count = ranges.len();
        tracing::info!(parts = count, "parallel upload");
        let totals = Arc::new(Totals {
            sent: (0..count).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..count).map(|_| AtomicU64::new(0)).collect(),
            total: source.len(),
            started: run.started,
        });
        let mut tasks = JoinSet::new();
        for (index, (start, len)) in ranges.iter().copied().enumerate() {
            let slice = source.slice(start, len).await?.ok_or(Error::Unsupported {
                extension: "concatenation",
            })?;
            let part_options = self.part_options(options, index, start, &totals);
            let key = fingerprint.map(|f| part_key(f, index, count));
            let client = self.clone();
            let endpoint = endpoint.clone();
            let capabilities = capabilities.clone();
            let checksum = run.checksum;
            tasks.spawn(async move {
                let mut part_run = Run::new();
                part_run.checksum = checksum;
                let result = client
                    .upload_part(
                        &endpoint,
                        &capabilities,
                        slice,
                        &part_options,
                        key.as_deref(),
                        &mut part_run,
                    )
                    .await;
                (index, result)
            });
        }
        // Every part runs to its end, even when another fails: the next run
        // then resumes only what is missing.
        let mut parts: Vec<Option<UploadOutcome>> = vec![None; count];
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, Ok(outcome))) => parts[index] = Some(outcome),
                Ok((_, Err(error))) => {
                    first_error.get_or_insert(error);
                }
                Err(join) => {
                    first_error.get_or_insert(Error::Transport {
                        method: "PATCH".into(),
                        url: redact_url(endpoint),
                        message: format!("a part's task ended abnormally: {join}"),
                    });
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        let parts: Vec<UploadOutcome> = parts.into_iter().flatten().collect();
        for part in &parts {
            run.bytes_sent += part.bytes_sent;
            run.retries += part.retries;
        }
        let resumed_from = parts.iter().map(|p| p.resumed_from).sum();
        let final_uri = self
            .create_final(endpoint, &parts, options, fingerprint, &mut run)
            .await?;
        if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint) {
            for index in 0..count {
                store.remove(&part_key(fingerprint, index, count)).await?;
            }
        }
        let status = self.status_with_retries(&final_uri, options).await?;
        let verification = verification(&status, source.len());
        if verification.is_complete()
            && options.remove_on_success
            && let (Some(store), Some(fingerprint)) = (&options.store, fingerprint)
        {
            store.remove(fingerprint).await?;
        }
        tracing::info!(
            complete = verification.is_complete(),
            "parallel upload verified"
        );
        Ok(UploadOutcome {
            url: final_uri.to_string(),
            verification,
            resumed_from,
            bytes_sent: run.bytes_sent,
            retries: run.retries,
        })
    }

    /// Options for one part: `Upload-Concat: partial`, no metadata (it goes on
    /// the final upload), events translated to whole-file positions and
    /// progress summed over the parts.
    fn part_options(
        &self,
        options: &UploadOptions,
        index: usize,
        start: u64,
        totals: &Arc<Totals>,
    ) -> UploadOptions {
        let mut part = options.clone();
        part.metadata = Vec::new();
        part.parallel = 1;
        part.concat = Some(HeaderValue::from_static("partial"));
        part.store = options.store.clone();
        part.on_event = options.on_event.clone().map(|callback| {
            let totals = totals.clone();
            Arc::new(move |event: &Event| match event {
                Event::Progress(p) => {
                    totals.sent[index].store(p.sent, Ordering::Relaxed);
                    totals.acknowledged[index].store(p.acknowledged, Ordering::Relaxed);
                    callback(&Event::Progress(totals.progress()));
                }
                Event::ChunkComplete {
                    start: from,
                    offset,
                } => {
                    totals.acknowledged[index].store(*offset, Ordering::Relaxed);
                    callback(&Event::ChunkComplete {
                        start: start + from,
                        offset: start + offset,
                    });
                }
                Event::Resumed { offset } => {
                    totals.acknowledged[index].store(*offset, Ordering::Relaxed);
                    totals.sent[index].store(*offset, Ordering::Relaxed);
                    callback(&Event::Resumed {
                        offset: start + offset,
                    });
                }
                other => callback(other),
            }) as crate::ProgressFn
        });
        part
    }

    /// One partial upload: resume it from the store, or create it; then finish.
    async fn upload_part(
        &self,
        endpoint: &Uri,
        capabilities: &Capabilities,
        slice: Source,
        options: &UploadOptions,
        key: Option<&str>,
        run: &mut Run,
    ) -> Result<UploadOutcome, Error> {
        if let (Some(store), Some(key)) = (&options.store, key)
            && let Some(url) = store.get(key).await?
        {
            if let Some(offset) = self.try_resume(&url, &slice, options).await? {
                options.emit(Event::Resumed { offset });
                let uri = parse_uri(&url)?;
                return self
                    .finish(&uri, &slice, offset, offset, options, None, run)
                    .await;
            }
            self.forget(options, Some(key)).await?;
        }
        let (uri, offset) = self
            .create(endpoint, capabilities, &slice, options, key, run)
            .await?;
        self.finish(&uri, &slice, offset, 0, options, None, run)
            .await
    }

    /// `POST` with `Upload-Concat: final;URL URL…` (and the metadata); the
    /// final URL replaces the parts in the store.
    async fn create_final(
        &self,
        endpoint: &Uri,
        parts: &[UploadOutcome],
        options: &UploadOptions,
        fingerprint: Option<&str>,
        run: &mut Run,
    ) -> Result<Uri, Error> {
        let urls: Vec<&str> = parts.iter().map(|p| p.url.as_str()).collect();
        let concat = format!("final;{}", urls.join(" "));
        let mut headers = options.headers.clone();
        headers.insert(
            "upload-concat",
            HeaderValue::from_str(&concat).map_err(|_| Error::Protocol {
                url: redact_url(endpoint),
                error: ProtocolError::MissingHeader { name: "Location" },
            })?,
        );
        if !options.metadata.is_empty() {
            let encoded = metadata::encode(&options.metadata)?;
            if let Ok(value) = HeaderValue::from_str(&encoded) {
                headers.insert("upload-metadata", value);
            }
        }
        headers.insert(CONTENT_LENGTH_HEADER, HeaderValue::from_static("0"));
        let mut attempt = 0;
        loop {
            let result = self
                .send(
                    Method::POST,
                    endpoint,
                    headers.clone(),
                    RequestBody::Empty,
                    None,
                    options.cancel.as_ref(),
                )
                .await;
            let failure = match result {
                Ok(answer) if answer.status.as_u16() == 201 => {
                    let uri = created_upload(endpoint, &answer.headers, options)?;
                    tracing::info!(url = %redact_url(&uri), "final upload created");
                    if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint) {
                        store.put(fingerprint, &uri.to_string()).await?;
                    }
                    return Ok(uri);
                }
                Ok(answer) => self.status_failure(&Method::POST, endpoint, answer).await,
                Err(failure) => failure,
            };
            attempt += 1;
            run.retries += 1;
            self.wait_before_retry(attempt, failure, options).await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_source_without_gaps_or_empty_parts() {
        assert_eq!(split(10, 3), [(0, 4), (4, 3), (7, 3)]);
        assert_eq!(split(2, 4), [(0, 1), (1, 1)]);
        assert_eq!(split(8, 1), [(0, 8)]);
        for (len, parts) in [(1u64, 1usize), (1_000_003, 7), (64, 64), (5, 16)] {
            let ranges = split(len, parts);
            assert_eq!(ranges.iter().map(|r| r.1).sum::<u64>(), len);
            assert!(ranges.iter().all(|r| r.1 > 0));
            assert!(ranges.windows(2).all(|w| w[0].0 + w[0].1 == w[1].0));
        }
    }

    #[test]
    fn part_keys_differ_from_each_other_and_the_file() {
        let a = part_key("ab", 0, 2);
        assert_ne!(a, part_key("ab", 1, 2));
        assert_ne!(a, part_key("ab", 0, 3));
        assert_ne!(a, "ab");
        assert_eq!(a.len(), 64);
    }
}
