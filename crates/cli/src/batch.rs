//! Many uploads at once: at most `jobs` run together, each on its own task;
//! the rest wait unstarted, so memory grows with `jobs`, not with the number
//! of files. Each upload is resumable on its own; the summary counts them.

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::Failure;
use crate::progress::{Board, Reporter};

/// How one upload of a batch ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Uploaded and verified, from byte 0.
    Done,
    /// Uploaded and verified, continuing an earlier upload.
    Resumed,
    /// Failed (the message was printed).
    Failed,
}

/// Counts of a finished batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Finished uploads, resumed ones included.
    pub done: usize,
    /// Of those, how many continued an earlier upload.
    pub resumed: usize,
    /// Failed uploads.
    pub failed: usize,
}

impl Summary {
    /// Counts `ended`.
    pub fn of(ended: &[Ended]) -> Summary {
        let mut summary = Summary::default();
        for end in ended {
            match end {
                Ended::Done => summary.done += 1,
                Ended::Resumed => {
                    summary.done += 1;
                    summary.resumed += 1;
                }
                Ended::Failed => summary.failed += 1,
            }
        }
        summary
    }

    /// One line for people.
    ///
    /// ```
    /// use cli::batch::{Ended, Summary};
    /// let summary = Summary::of(&[Ended::Done, Ended::Resumed, Ended::Failed]);
    /// assert_eq!(summary.line(), "3 files: 2 done (1 resumed), 1 failed");
    /// ```
    pub fn line(&self) -> String {
        format!(
            "{} files: {} done ({} resumed), {} failed",
            self.done + self.failed,
            self.done,
            self.resumed,
            self.failed
        )
    }
}

/// Runs `work` on every item, at most `jobs` at once; results in input order.
/// `work` is called only when a slot is free, so unstarted uploads hold nothing.
pub async fn run<T, R, F, Fut>(items: Vec<T>, jobs: usize, work: F) -> Vec<R>
where
    T: Send + 'static,
    R: Send + 'static,
    F: Fn(T) -> Fut,
    Fut: Future<Output = R> + Send + 'static,
{
    let slots = Arc::new(Semaphore::new(jobs.max(1)));
    let count = items.len();
    let mut set = JoinSet::new();
    for (index, item) in items.into_iter().enumerate() {
        let slot = slots
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let job = work(item);
        set.spawn(async move {
            let result = job.await;
            drop(slot);
            (index, result)
        });
    }
    let mut results: Vec<Option<R>> = (0..count).map(|_| None).collect();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok((index, result)) => results[index] = Some(result),
            Err(error) => std::panic::resume_unwind(error.into_panic()),
        }
    }
    results
        .into_iter()
        .map(|r| r.expect("every job ran"))
        .collect()
}

/// Uploads `files`, `jobs` at once, each with its own labelled reporter on
/// `board`; `upload` returns the offset a file resumed from. Prints each
/// failure as it happens and the summary at the end (unless `quiet`); an
/// error when any file failed.
pub async fn upload_all<F, Fut>(
    files: Vec<PathBuf>,
    jobs: usize,
    board: &Board,
    quiet: bool,
    upload: F,
) -> Result<(), Failure>
where
    F: Fn(PathBuf, Arc<Reporter>) -> Fut,
    Fut: Future<Output = Result<u64, Failure>> + Send + 'static,
{
    let count = files.len();
    let ended = run(files, jobs, |file: PathBuf| {
        let board = board.clone();
        let label = file.to_string_lossy().into_owned();
        let job = upload(file, Arc::new(board.reporter(&label)));
        async move {
            match job.await {
                Ok(0) => Ended::Done,
                Ok(_) => Ended::Resumed,
                Err(failure) => {
                    board.println(&format!("error: {label}: {}", failure.message));
                    Ended::Failed
                }
            }
        }
    })
    .await;
    let summary = Summary::of(&ended);
    if !quiet {
        eprintln!("{}", summary.line());
    }
    if summary.failed > 0 {
        return Err(Failure::failed(format!(
            "{} of {count} uploads failed (rerun the same command: finished files are not sent again, unfinished ones resume)",
            summary.failed
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn no_more_than_jobs_run_at_once_and_results_keep_their_order() {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let results = run((0..20).collect(), 3, |i: u32| {
            let (running, peak) = (running.clone(), peak.clone());
            async move {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                tokio::task::yield_now().await;
                tokio::time::sleep(std::time::Duration::from_millis(u64::from(i % 4))).await;
                running.fetch_sub(1, Ordering::SeqCst);
                i * 2
            }
        })
        .await;
        assert_eq!(results, (0..20).map(|i| i * 2).collect::<Vec<_>>());
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
