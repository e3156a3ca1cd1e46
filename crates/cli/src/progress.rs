//! Upload progress on stderr: a redrawn bar on a terminal, plain lines
//! otherwise (logs, CI, pipes), nothing in quiet mode.

use std::io::{IsTerminal as _, Write as _};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use tus::Event;

use crate::size::human;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// A bar redrawn in place (stderr is a terminal).
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
}

/// Renders tus events.
#[derive(Debug)]
pub struct Reporter {
    style: Style,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    last_draw: Option<Instant>,
    last_decile: Option<u64>,
    drew_bar: bool,
}

impl Reporter {
    /// A reporter in `style`.
    pub fn new(style: Style) -> Reporter {
        Reporter {
            style,
            state: Mutex::new(State {
                last_draw: None,
                last_decile: None,
                drew_bar: false,
            }),
        }
    }

    /// Shows one event.
    pub fn event(&self, event: &Event) {
        if self.style == Style::Quiet {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        match event {
            Event::Progress(progress) => {
                let percent = (progress.acknowledged.max(progress.sent) as f64 * 100.0
                    / progress.total.max(1) as f64)
                    .min(100.0);
                let rate = format!("{}/s", human(progress.bytes_per_second as u64));
                let eta = progress
                    .eta
                    .map(|eta| format!(" ETA {}s", eta.as_secs()))
                    .unwrap_or_default();
                match self.style {
                    Style::Bar => {
                        let due = state
                            .last_draw
                            .is_none_or(|at| at.elapsed() >= Duration::from_millis(100));
                        if due || progress.sent == progress.total {
                            state.last_draw = Some(Instant::now());
                            state.drew_bar = true;
                            let filled = (percent / 100.0 * 30.0) as usize;
                            eprint!(
                                "\r[{}{}] {percent:5.1}% {} / {} {rate}{eta}   ",
                                "#".repeat(filled),
                                " ".repeat(30 - filled),
                                human(progress.acknowledged.max(progress.sent)),
                                human(progress.total),
                            );
                            let _ = std::io::stderr().flush();
                        }
                    }
                    _ => {
                        let decile = (percent / 10.0) as u64;
                        if state.last_decile != Some(decile) {
                            state.last_decile = Some(decile);
                            eprintln!(
                                "progress {:.0}% {} / {} {rate}",
                                percent,
                                progress.acknowledged.max(progress.sent),
                                progress.total
                            );
                        }
                    }
                }
            }
            Event::Resumed { offset } => {
                self.line(
                    &mut state,
                    &format!("resuming from byte {offset} ({})", human(*offset)),
                );
            }
            Event::Retrying {
                attempt,
                delay,
                reason,
            } => {
                self.line(
                    &mut state,
                    &format!("retry {attempt} in {:.1}s: {reason}", delay.as_secs_f64()),
                );
            }
            Event::Restarted { reason } => {
                self.line(&mut state, &format!("starting over: {reason}"))
            }
            Event::Created { .. } => self.line(&mut state, "upload created"),
            _ => {}
        }
    }

    /// Ends the bar's line (call once the upload is over).
    pub fn finish(&self) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.drew_bar {
            eprintln!();
            state.drew_bar = false;
        }
    }

    fn line(&self, state: &mut State, text: &str) {
        if state.drew_bar {
            eprintln!();
            state.drew_bar = false;
        }
        eprintln!("{text}");
    }
}
