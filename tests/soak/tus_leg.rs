//! The campaign through the generic tus client against the sandbox's tus server.

use std::sync::Arc;
use std::time::{Duration, Instant};

use integration_tests::soak::{Report, UploadPlan, UploadResult};
use sandbox::{TempDir, TusConfig, TusServer};

use crate::common::{self, Counters, MAX_CALLS};

pub(crate) async fn run(seed: u64, plans: &[UploadPlan]) -> Result<Report, String> {
    let dir = TempDir::new("soak-tus").map_err(|e| e.to_string())?;
    let sources = TempDir::new("soak-tus-src").map_err(|e| e.to_string())?;
    let server = TusServer::start(
        // Expiration offered, so an expired upload is started over by the client.
        TusConfig::new(dir.path()).expires_after(Duration::from_secs(24 * 3600)),
    )
    .await
    .map_err(|e| e.to_string())?;
    let client = tus::Client::builder()
        .stall_timeout(common::STALL_TIMEOUT)
        .retry_policy(
            tus::RetryPolicy::default()
                .backoff(Duration::from_millis(10), Duration::from_millis(200))
                .max_retry_after(Duration::from_secs(2)),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut report = Report {
        leg: "tus client vs sandbox".into(),
        seed,
        ..Report::default()
    };
    for plan in plans {
        let source = common::write_source(sources.path(), plan).map_err(|e| e.to_string())?;
        let before = server.requests().len();
        common::inject(server.faults(), plan);
        let counters = Counters::default();
        let store = Arc::new(tus::MemoryUrlStore::new());
        let options = tus::UploadOptions::default()
            .chunk_size(plan.chunk)
            .creation_with_upload(plan.creation_with_upload)
            .store(store)
            .on_event(counters.on_event());
        let mut result = UploadResult {
            size: plan.size,
            ..UploadResult::default()
        };
        let mut outcome = Err("not run".to_owned());
        for call in 0..MAX_CALLS {
            result.reruns = call;
            let attempt = async {
                let source = tus::Source::from_path(&source).await?;
                client.upload(&server.endpoint(), source, &options).await
            };
            match attempt.await {
                Ok(done) => {
                    outcome = Ok(done);
                    break;
                }
                Err(error) => {
                    eprintln!("  upload {} call {call}: {error}", plan.index);
                    outcome = Err(error.to_string());
                }
            }
        }
        common::account(plan, &mut result, &counters, &server, before).await;
        result.failure = match outcome {
            Err(error) => Some(format!("did not complete in {MAX_CALLS} calls: {error}")),
            Ok(done) if !matches!(done.verification, tus::Verification::Complete { .. }) => {
                Some(format!("not verified: {:?}", done.verification))
            }
            Ok(done) => match server.stored_file(&done.url) {
                Some(stored) => {
                    let differs = common::compare(&source, &stored);
                    let _ = std::fs::remove_file(&stored);
                    differs
                }
                None => Some("the server has no file for the upload".into()),
            },
        };
        let _ = std::fs::remove_file(&source);
        common::empty_dir(dir.path());
        report.uploads.push(result);
    }
    report.elapsed = started.elapsed();
    Ok(report)
}
