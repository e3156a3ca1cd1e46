//! The campaign through the Vimeo facade against the sandbox: each upload
//! creates a video (`POST /me/videos`), streams it to the upload host with tus
//! and verifies it; faults hit the upload host.

use std::time::{Duration, Instant};

use integration_tests::soak::{Report, UploadPlan, UploadResult};
use sandbox::{Sandbox, SandboxConfig, TempDir};

use crate::common::{self, Counters, MAX_CALLS};

pub(crate) async fn run(seed: u64, plans: &[UploadPlan]) -> Result<Report, String> {
    let dir = TempDir::new("soak-vimeo").map_err(|e| e.to_string())?;
    let sources = TempDir::new("soak-vimeo-src").map_err(|e| e.to_string())?;
    let sandbox = Sandbox::start_with(
        SandboxConfig::new()
            .dir(dir.path())
            .upload_space(u64::MAX / 4),
    )
    .await
    .map_err(|e| e.to_string())?;
    let client = vimeo::VimeoClient::builder()
        .api_url(sandbox.api_url())
        .token(sandbox.issue_token("public private upload edit delete", true))
        .upload_stall_timeout(common::STALL_TIMEOUT)
        .retry_policy(
            tus::RetryPolicy::default()
                .backoff(Duration::from_millis(10), Duration::from_millis(200))
                .max_retry_after(Duration::from_secs(2)),
        )
        .build()
        .map_err(|e| e.to_string())?;
    let host = sandbox.uploads();
    let started = Instant::now();
    let mut report = Report {
        leg: "vimeo facade vs sandbox".into(),
        seed,
        ..Report::default()
    };
    for plan in plans {
        let source = common::write_source(sources.path(), plan).map_err(|e| e.to_string())?;
        let before = host.requests().len();
        common::inject(host.faults(), plan);
        let counters = Counters::default();
        let options = vimeo::UploadOptions::new()
            .name(format!("soak {}", plan.index))
            .chunk_size(plan.chunk)
            .on_event(counters.on_event());
        let mut result = UploadResult {
            size: plan.size,
            ..UploadResult::default()
        };
        let mut outcome = Err("not run".to_owned());
        for call in 0..MAX_CALLS {
            result.reruns = call;
            match client.upload(source.as_path(), &options).await {
                Ok(video) => {
                    outcome = Ok(video);
                    break;
                }
                Err(error) => {
                    eprintln!("  upload {} call {call}: {error}", plan.index);
                    outcome = Err(error.to_string());
                }
            }
        }
        common::account(plan, &mut result, &counters, host, before).await;
        result.failure = match outcome {
            Err(error) => Some(format!("did not complete in {MAX_CALLS} calls: {error}")),
            Ok(video) if !matches!(video.verification, tus::Verification::Complete { .. }) => {
                Some(format!("not verified: {:?}", video.verification))
            }
            Ok(video) => match sandbox
                .upload_link(video.id)
                .and_then(|link| host.stored_file(&link))
            {
                Some(stored) => {
                    let differs = common::compare(&source, &stored);
                    let _ = client.delete(&video.uri).await;
                    differs
                }
                None => Some(format!("the sandbox has no file for video {}", video.id)),
            },
        };
        let _ = std::fs::remove_file(&source);
        common::empty_dir(dir.path());
        report.uploads.push(result);
    }
    report.elapsed = started.elapsed();
    // Each finished video was deleted above, and the facade deletes the video of
    // an expired link itself: none may be left behind.
    let videos: serde_json::Value = client.get("/me/videos").await.map_err(|e| e.to_string())?;
    let left = videos["total"].as_u64().unwrap_or(u64::MAX);
    if left != 0 {
        report.uploads.push(UploadResult {
            failure: Some(format!("{left} abandoned videos left on the account")),
            ..UploadResult::default()
        });
    }
    Ok(report)
}
