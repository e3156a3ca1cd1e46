//! Upload progress on stderr, through indicatif: one bar per upload (several
//! at once under a [`Board`] for batches) on a terminal, plain lines
//! otherwise (logs, CI, pipes), nothing in quiet mode.

use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};
use tus::Event;

use crate::size::human;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Bars redrawn in place (stderr is a terminal).
    Bar,
    /// One line per 10% and per notable event.
    Lines,
    /// Nothing.
    Quiet,
}

impl Style {
    /// `Bar` when stderr is a terminal, `Lines` otherwise.
    pub fn detect() -> Style {
        if std::io::stderr().is_terminal() {
            Style::Bar
        } else {
            Style::Lines
        }
    }

    /// [`Style::detect`], or `Quiet` when `quiet`.
    pub fn pick(quiet: bool) -> Style {
        if quiet { Style::Quiet } else { Style::detect() }
    }
}

/// A duration as people read it: `42s`, `3m12s`, `1h05m`.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(cli::progress::human_duration(Duration::from_secs(532)), "8m52s");
/// assert_eq!(cli::progress::human_duration(Duration::from_secs(7)), "7s");
/// assert_eq!(cli::progress::human_duration(Duration::from_secs(3900)), "1h05m");
/// ```
pub fn human_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, secs % 3600 / 60),
    }
}

/// The progress display of one process: the bars of every upload in it.
#[derive(Debug, Clone)]
pub struct Board {
    style: Style,
    multi: MultiProgress,
}

impl Board {
    /// A board in `style`.
    pub fn new(style: Style) -> Board {
        let target = match style {
            Style::Bar => ProgressDrawTarget::stderr_with_hz(10),
            Style::Lines | Style::Quiet => ProgressDrawTarget::hidden(),
        };
        Board {
            style,
            multi: MultiProgress::with_draw_target(target),
        }
    }

    /// The style.
    pub fn style(&self) -> Style {
        self.style
    }

    /// A reporter for one upload, labelled `label` (empty for a single upload).
    pub fn reporter(&self, label: &str) -> Reporter {
        let bar = match self.style {
            Style::Bar => {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(bar_style(!label.is_empty()));
                bar.set_prefix(label.to_owned());
                Some(bar)
            }
            _ => None,
        };
        Reporter {
            style: self.style,
            label: label.to_owned(),
            bar,
            parts: Mutex::new(Vec::new()),
            multi: self.multi.clone(),
            last_decile: Mutex::new(None),
        }
    }

    /// Prints a line on stderr without tearing the bars.
    pub fn println(&self, text: &str) {
        match self.style {
            Style::Quiet => {}
            Style::Bar => {
                let _ = self.multi.println(text);
            }
            Style::Lines => eprintln!("{text}"),
        }
    }
}

fn bar_style(labelled: bool) -> ProgressStyle {
    let template = if labelled {
        "{prefix:20!} [{bar:30}] {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} ETA {eta_human}"
    } else {
        "[{bar:30}] {percent:>3}% {bytes}/{total_bytes} {bytes_per_sec} ETA {eta_human}"
    };
    ProgressStyle::with_template(template)
        .expect("a valid constant template")
        .progress_chars("#>-")
        .with_key(
            "eta_human",
            |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = out.write_str(&human_duration(state.eta()));
            },
        )
}

/// Renders one upload's tus events.
#[derive(Debug)]
pub struct Reporter {
    style: Style,
    label: String,
    bar: Option<ProgressBar>,
    /// One bar per part of a `--parallel` upload, under the upload's bar.
    parts: Mutex<Vec<ProgressBar>>,
    multi: MultiProgress,
    last_decile: Mutex<Option<u64>>,
}

impl Reporter {
    /// A reporter on a board of its own (one upload per process).
    pub fn new(style: Style) -> Reporter {
        Board::new(style).reporter("")
    }

    /// Shows one event.
    pub fn event(&self, event: &Event) {
        match event {
            Event::Progress(progress) => {
                let done = progress.acknowledged.max(progress.sent);
                if let Some(bar) = &self.bar {
                    bar.set_length(progress.total);
                    bar.set_position(done);
                } else if self.style == Style::Lines {
                    let percent = (done as f64 * 100.0 / progress.total.max(1) as f64).min(100.0);
                    let decile = (percent / 10.0) as u64;
                    let mut last = self.last_decile.lock().unwrap_or_else(|e| e.into_inner());
                    if *last != Some(decile) {
                        *last = Some(decile);
                        let eta = progress
                            .eta
                            .map(|eta| format!(" ETA {}", human_duration(eta)))
                            .unwrap_or_default();
                        self.line(&format!(
                            "progress {percent:.0}% {done} / {} {}/s{eta}",
                            progress.total,
                            human(progress.bytes_per_second as u64)
                        ));
                    }
                }
            }
            Event::PartProgress {
                part,
                parts,
                progress,
            } => {
                if let Some(main) = &self.bar {
                    let mut bars = self.parts.lock().unwrap_or_else(|e| e.into_inner());
                    if bars.is_empty() {
                        let mut after = main.clone();
                        for index in 0..*parts {
                            let bar = self.multi.insert_after(&after, ProgressBar::new(0));
                            bar.set_style(bar_style(true));
                            bar.set_prefix(format!("  part {}/{parts}", index + 1));
                            after = bar.clone();
                            bars.push(bar);
                        }
                    }
                    if let Some(bar) = bars.get(*part) {
                        bar.set_length(progress.total);
                        bar.set_position(progress.acknowledged.max(progress.sent));
                    }
                }
            }
            Event::Resumed { offset } => {
                self.line(&format!("resuming from byte {offset} ({})", human(*offset)));
            }
            Event::Retrying {
                attempt,
                delay,
                reason,
            } => self.line(&format!(
                "retry {attempt} in {:.1}s: {reason}",
                delay.as_secs_f64()
            )),
            Event::Restarted { reason } => self.line(&format!("starting over: {reason}")),
            Event::Created { .. } => self.line("upload created"),
            _ => {}
        }
    }

    /// Prints a line about this upload (labelled in a batch).
    pub fn line(&self, text: &str) {
        let text = if self.label.is_empty() {
            text.to_owned()
        } else {
            format!("{}: {text}", self.label)
        };
        match self.style {
            Style::Quiet => {}
            Style::Bar => {
                let _ = self.multi.println(text);
            }
            Style::Lines => eprintln!("{text}"),
        }
    }

    /// Ends the bar (call once the upload is over).
    pub fn finish(&self) {
        for part in self
            .parts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain(..)
        {
            part.finish_and_clear();
        }
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_minutes_and_hours() {
        assert_eq!(human_duration(Duration::ZERO), "0s");
        assert_eq!(human_duration(Duration::from_secs(59)), "59s");
        assert_eq!(human_duration(Duration::from_secs(60)), "1m00s");
        assert_eq!(human_duration(Duration::from_secs(192)), "3m12s");
        assert_eq!(human_duration(Duration::from_secs(86_399)), "23h59m");
    }
}
