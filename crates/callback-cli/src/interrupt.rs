//! Ctrl-C while `start` runs: what happened to the call, and how to learn its end.
//!
//! SIGINT is taken by signal-hook on a thread of its own (never in the signal handler itself),
//! which hands the current [`Phase`] to the caller's report (it prints what the phase means and
//! ends the process with exit code 130).

use std::sync::{Arc, Mutex};

/// How far `start` has come.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Validating and connecting: nothing sent yet.
    Preparing,
    /// `voximplant.callback.start` may be on its way.
    Starting,
    /// The portal accepted the callback; the command follows the call.
    Following { call_id: String, sandbox: bool },
    /// Everything is printed; the command is ending.
    Done,
}

/// The current phase, read by the signal thread.
pub struct Watch {
    phase: Arc<Mutex<Phase>>,
}

impl Watch {
    /// Takes over SIGINT for the rest of the process: on Ctrl-C, `report` gets the phase at that
    /// moment. If the handler cannot be installed, Ctrl-C keeps its default effect.
    pub fn install(report: impl Fn(&Phase) + Send + 'static) -> Watch {
        let phase = Arc::new(Mutex::new(Phase::Preparing));
        #[cfg(unix)]
        {
            use signal_hook::consts::SIGINT;
            use signal_hook::iterator::Signals;
            match Signals::new([SIGINT]) {
                Ok(mut signals) => {
                    let shared = Arc::clone(&phase);
                    let spawned = std::thread::Builder::new()
                        .name("b24-callback-sigint".into())
                        .spawn(move || {
                            if signals.forever().next().is_some() {
                                let now = shared.lock().map_or(Phase::Done, |p| p.clone());
                                report(&now);
                            }
                        });
                    if let Err(e) = spawned {
                        log::warn!("cannot watch for Ctrl-C: {e}");
                    }
                }
                Err(e) => log::warn!("cannot watch for Ctrl-C: {e}"),
            }
        }
        #[cfg(not(unix))]
        drop(report);
        Watch { phase }
    }

    pub fn set(&self, phase: Phase) {
        if let Ok(mut p) = self.phase.lock() {
            *p = phase;
        }
    }
}
