//! How an import shows its progress to whoever runs it: a bar with rate and
//! ETA on a terminal (`indicatif`), a line per 10 % in a pipe or a log.

use std::{
    io::IsTerminal,
    sync::atomic::{AtomicU64, Ordering},
};

use indicatif::{ProgressBar, ProgressStyle};

use super::{Kind, Progress};

/// Progress on a terminal (a bar) or in a log (a line per 10 %).
#[derive(Debug)]
pub struct Shown {
    kind: Kind,
    bar: Option<ProgressBar>,
    total: AtomicU64,
    done: AtomicU64,
    /// The last tenth printed, for the line-per-10 % form.
    tenth: AtomicU64,
}

impl Shown {
    pub fn new(kind: Kind) -> Self {
        Self {
            kind,
            bar: std::io::stderr().is_terminal().then(ProgressBar::hidden),
            total: AtomicU64::new(0),
            done: AtomicU64::new(0),
            tenth: AtomicU64::new(0),
        }
    }
}

impl Progress for Shown {
    fn start(&self, total: u64, done: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.done.store(done, Ordering::Relaxed);
        self.tenth
            .store(done * 10 / total.max(1), Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.set_length(total);
            bar.set_position(done);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, ETA {eta})")
                    .expect("a valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(format!("importing {}", self.kind));
            bar.reset_eta();
        } else {
            eprintln!("importing {}: {total} units, {done} done before", self.kind);
        }
    }

    fn advance(&self, units: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(units);
            return;
        }
        let total = self.total.load(Ordering::Relaxed).max(1);
        let done = self.done.fetch_add(units, Ordering::Relaxed) + units;
        let tenth = done * 10 / total;
        if tenth > self.tenth.swap(tenth, Ordering::Relaxed) {
            eprintln!("importing {}: {}% ({done}/{total})", self.kind, tenth * 10);
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
