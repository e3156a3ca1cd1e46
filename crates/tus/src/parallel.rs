//! Parallel uploads (tus concatenation): the source is split into N ranges,
//! each uploaded as a partial upload over its own connection, then a final
//! upload joins them. Each part creates, resumes and retries on its own, so a
//! failed part is resumed alone; its URL is kept in the store under a key
//! derived from the file's fingerprint until the final upload exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::Uri;
use http::header::HeaderValue;
use sha2::{Digest as _, Sha256};
use tokio::task::JoinSet;

use crate::client::{Client, parse_uri};
use crate::core::capabilities::Capabilities;
use crate::core::machine::Start;
use crate::drive::{Creation, Payload};
use crate::error::{Error, ProtocolError, redact_url};
use crate::options::UploadOptions;
use crate::progress::{Event, Progress};
use crate::source::Source;
use crate::upload::{UploadOutcome, start_from_store};

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
        fingerprint: Option<String>,
    ) -> Result<UploadOutcome, Error> {
        let started = std::time::Instant::now();
        let fingerprint = fingerprint.as_deref();
        // A complete final upload from an earlier run: only the check is left.
        let mut done_before = None;
        if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint)
            && let Some(url) = store.get(fingerprint).await?
        {
            match self.status(&url).await {
                Ok(status) if status.offset == source.len() => done_before = parse_uri(&url).ok(),
                _ => store.remove(fingerprint).await?,
            }
        }
        let (final_start, parts) = match done_before {
            Some(url) => (Start::Resume(url), Vec::new()),
            None => {
                let parts = self
                    .upload_parts(
                        endpoint,
                        capabilities,
                        source,
                        options,
                        fingerprint,
                        started,
                    )
                    .await?;
                (Start::Create, parts)
            }
        };
        let urls: Vec<&str> = parts.iter().map(|p| p.url.as_str()).collect();
        let mut final_options = options.clone();
        final_options.concat = Some(
            HeaderValue::from_str(&format!("final;{}", urls.join(" "))).map_err(|_| {
                Error::Protocol {
                    url: redact_url(endpoint),
                    error: ProtocolError::MalformedHeader { name: "Location" },
                }
            })?,
        );
        let mut config = self.config(
            Some(endpoint.clone()),
            final_start,
            Some(source.len()),
            options.chunk_size,
            capabilities,
            options,
            fingerprint.is_some(),
            options.origins(endpoint)?,
        );
        config.concat_final = true;
        let mut outcome = self
            .drive(
                config,
                &final_options,
                fingerprint,
                Creation::Post(final_options.creation_headers()?),
                Payload::Source(source),
            )
            .await?;
        if let (Some(store), Some(fingerprint)) = (&options.store, fingerprint) {
            for index in 0..parts.len() {
                store
                    .remove(&part_key(fingerprint, index, parts.len()))
                    .await?;
            }
        }
        outcome.resumed_from = parts.iter().map(|p| p.resumed_from).sum();
        outcome.bytes_sent += parts.iter().map(|p| p.bytes_sent).sum::<u64>();
        outcome.retries += parts.iter().map(|p| p.retries).sum::<u32>();
        tracing::info!("parallel upload verified");
        Ok(outcome)
    }

    /// Uploads every part concurrently, each to its end even when another
    /// fails: the next run then resumes only what is missing.
    async fn upload_parts(
        &self,
        endpoint: &Uri,
        capabilities: &Capabilities,
        source: &Source,
        options: &UploadOptions,
        fingerprint: Option<&str>,
        started: std::time::Instant,
    ) -> Result<Vec<UploadOutcome>, Error> {
        let ranges = split(source.len(), options.parallel);
        let count = ranges.len();
        tracing::info!(parts = count, "parallel upload");
        let totals = Arc::new(Totals {
            sent: (0..count).map(|_| AtomicU64::new(0)).collect(),
            acknowledged: (0..count).map(|_| AtomicU64::new(0)).collect(),
            total: source.len(),
            started,
        });
        let mut tasks = JoinSet::new();
        for (index, (start, len)) in ranges.iter().copied().enumerate() {
            let slice = source.slice(start, len).await?.ok_or(Error::Unsupported {
                extension: "concatenation",
            })?;
            let part_options = part_options(options, index, start, &totals);
            let key = fingerprint.map(|f| part_key(f, index, count));
            let client = self.clone();
            let endpoint = endpoint.clone();
            let capabilities = capabilities.clone();
            tasks.spawn(async move {
                let result = client
                    .upload_part(
                        &endpoint,
                        &capabilities,
                        slice,
                        &part_options,
                        key.as_deref(),
                    )
                    .await;
                (index, result)
            });
        }
        let mut parts: Vec<Option<UploadOutcome>> = vec![None; count];
        let mut first_error = None;
        while let Some(joined) = tasks.join_next().await {
            match joined {
                Ok((index, Ok(outcome))) => parts[index] = Some(outcome),
                Ok((_, Err(error))) => {
                    first_error.get_or_insert(error);
                }
                Err(join) => std::panic::resume_unwind(join.into_panic()),
            }
        }
        match first_error {
            Some(error) => Err(error),
            None => Ok(parts.into_iter().flatten().collect()),
        }
    }

    /// One partial upload: resumed from the store, or created.
    async fn upload_part(
        &self,
        endpoint: &Uri,
        capabilities: &Capabilities,
        slice: Source,
        options: &UploadOptions,
        key: Option<&str>,
    ) -> Result<UploadOutcome, Error> {
        let start = start_from_store(options, key).await?;
        let config = self.config(
            Some(endpoint.clone()),
            start,
            Some(slice.len()),
            options.chunk_size,
            capabilities,
            options,
            key.is_some(),
            options.origins(endpoint)?,
        );
        self.drive(
            config,
            options,
            key,
            Creation::Post(options.creation_headers()?),
            Payload::Source(&slice),
        )
        .await
    }
}

/// Options for one part: `Upload-Concat: partial`, no metadata (it goes on
/// the final upload), events translated to whole-file positions and
/// progress summed over the parts.
fn part_options(
    options: &UploadOptions,
    index: usize,
    start: u64,
    totals: &Arc<Totals>,
) -> UploadOptions {
    let mut part = options.clone();
    part.metadata = Vec::new();
    part.parallel = 1;
    // A finished part's URL stays stored until the final upload exists.
    part.remove_on_success = false;
    part.concat = Some(HeaderValue::from_static("partial"));
    part.on_event = options.on_event.clone().map(|callback| {
        let totals = totals.clone();
        Arc::new(move |event: &Event| match event {
            Event::Progress(p) => {
                totals.sent[index].store(p.sent, Ordering::Relaxed);
                totals.acknowledged[index].store(p.acknowledged, Ordering::Relaxed);
                callback(&Event::PartProgress {
                    part: index,
                    parts: totals.sent.len(),
                    progress: *p,
                });
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
