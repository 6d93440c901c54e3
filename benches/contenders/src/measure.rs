//! What every contender reports: wall time per call, its spread, CPU time and memory.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// CPU time (user + system) of the whole process, every thread included.
pub fn process_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// `VmRSS` and `VmHWM` (the peak) of this process, in KiB.
pub fn rss_kib() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Milliseconds since the Unix epoch (to line up several processes).
pub fn unix_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

/// A run of timed calls: wall time, CPU time and each call's duration.
pub struct Run {
    started: Instant,
    cpu_started: Duration,
    pub samples: Vec<Duration>,
}

impl Run {
    pub fn start(capacity: usize) -> Run {
        Run {
            started: Instant::now(),
            cpu_started: process_cpu(),
            samples: Vec::with_capacity(capacity),
        }
    }

    /// Times one call.
    pub fn time<T>(&mut self, f: impl FnOnce() -> T) -> T {
        let t0 = Instant::now();
        let out = f();
        self.samples.push(t0.elapsed());
        out
    }

    /// Ends the run: the summary as JSON fields (microseconds).
    pub fn finish(self, calls: usize) -> Value {
        let wall = self.started.elapsed();
        let cpu = process_cpu().saturating_sub(self.cpu_started);
        let n = calls.max(1) as f64;
        let mut s = self.samples;
        s.sort();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let pick = |p: f64| {
            s.get(((p * s.len() as f64) as usize).min(s.len().saturating_sub(1)))
                .copied()
                .map_or(0.0, us)
        };
        let (rss, hwm) = rss_kib();
        json!({
            "calls": calls,
            "wall_s": wall.as_secs_f64(),
            "us_per_call": us(wall) / n,
            "cpu_us_per_call": us(cpu) / n,
            "min_us": s.first().copied().map_or(0.0, us),
            "p50_us": pick(0.5),
            "p99_us": pick(0.99),
            "max_us": s.last().copied().map_or(0.0, us),
            "rss_kib": rss,
            "hwm_kib": hwm,
        })
    }
}
