//! Spinners on a terminal: one line per server while it is read or
//! changed. Hidden when stderr is not a terminal or output is JSON.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ops::Progress;

pub struct Spinners {
    multi: MultiProgress,
    bars: Mutex<BTreeMap<String, ProgressBar>>,
    visible: bool,
}

impl Spinners {
    pub fn new(quiet: bool) -> Spinners {
        let visible = !quiet && std::io::stderr().is_terminal();
        let target = if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Spinners {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(BTreeMap::new()),
            visible,
        }
    }

    /// Prints a line above the spinners (or plainly when they are hidden).
    pub fn println(&self, line: &str) {
        if self.visible {
            let _ = self.multi.println(line);
        } else {
            anstream::println!("{line}");
        }
    }

    /// Prints a line to stderr above the spinners (or plainly).
    pub fn println_err(&self, line: &str) {
        if self.visible {
            let _ = self.multi.println(line);
        } else {
            anstream::eprintln!("{line}");
        }
    }

    pub fn clear(&self) {
        for (_, bar) in std::mem::take(&mut *self.bars.lock().unwrap_or_else(|p| p.into_inner())) {
            bar.finish_and_clear();
        }
        let _ = self.multi.clear();
    }
}

impl Progress for Spinners {
    fn server_started(&self, server: &str, doing: &str) {
        if !self.visible {
            return;
        }
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{server}: {doing}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(server.to_string(), bar);
    }

    fn server_done(&self, server: &str, _ok: bool) {
        if let Some(bar) = self
            .bars
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(server)
        {
            bar.finish_and_clear();
        }
    }
}

/// One spinner on stderr when it is a terminal; hidden otherwise.
pub fn spinner(msg: String) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_message(msg);
    pb.enable_steady_tick(Duration::from_millis(100));
    pb
}
