//! Measuring on a shared, noisy machine: medians of repeated runs, work on a thread pool of a
//! chosen size, the process's peak memory (per phase where the kernel lets it be reset) and
//! the load average.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Runs `f` and returns its result and how long it took.
pub fn timed<R>(f: impl FnOnce() -> R) -> (R, Duration) {
    let started = Instant::now();
    let r = f();
    (r, started.elapsed())
}

/// Summary of repeated timings: median, lowest, highest and how many runs.
#[derive(Clone, Copy, Debug, serde::Serialize)]
pub struct Stats {
    /// Median, seconds (the mean of the middle two for an even count).
    pub median_s: f64,
    /// Lowest, seconds.
    pub min_s: f64,
    /// Highest, seconds.
    pub max_s: f64,
    /// Runs measured.
    pub runs: usize,
}

impl Stats {
    /// The summary of `samples`.
    ///
    /// # Panics
    /// If `samples` is empty.
    pub fn of(samples: &[Duration]) -> Stats {
        assert!(!samples.is_empty(), "no samples");
        let mut s: Vec<f64> = samples.iter().map(Duration::as_secs_f64).collect();
        s.sort_by(f64::total_cmp);
        let n = s.len();
        let median = if n % 2 == 1 {
            s[n / 2]
        } else {
            (s[n / 2 - 1] + s[n / 2]) / 2.0
        };
        Stats {
            median_s: median,
            min_s: s[0],
            max_s: s[n - 1],
            runs: n,
        }
    }

    /// Times `f` `runs` times (at least once) and summarises.
    pub fn measure(runs: usize, mut f: impl FnMut()) -> Stats {
        let samples: Vec<Duration> = (0..runs.max(1)).map(|_| timed(&mut f).1).collect();
        Stats::of(&samples)
    }

    /// The median in milliseconds.
    pub fn median_ms(&self) -> f64 {
        self.median_s * 1e3
    }
}

/// Runs `f` on a fresh rayon pool of `threads` threads: halo2's parallel work inside it uses
/// that pool, not the global one.
///
/// # Panics
/// If the pool cannot be built.
pub fn on_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
        .expect("a thread pool")
        .install(f)
}

/// A field of `/proc/self/status` in KiB (`VmHWM`: peak resident memory; `VmRSS`: now).
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The highest peak (KiB) seen before a reset since the window started.
static BEFORE_RESETS: AtomicU64 = AtomicU64::new(0);

/// The process's peak resident memory since it started or since the last
/// [`reset_peak_memory`], MiB (`VmHWM`; `None` off Linux).
pub fn peak_memory_mib() -> Option<f64> {
    status_kib("VmHWM").map(|k| k as f64 / 1024.0)
}

/// The process's resident memory now, MiB (`VmRSS`).
pub fn memory_mib() -> Option<f64> {
    status_kib("VmRSS").map(|k| k as f64 / 1024.0)
}

/// Resets the peak to the current resident memory (writing 5 to `/proc/self/clear_refs`),
/// so the next [`peak_memory_mib`] is the peak of what ran in between; the peak before the
/// reset still counts for [`window_peak_mib`]. Returns whether the kernel allowed it.
pub fn reset_peak_memory() -> bool {
    if let Some(kib) = status_kib("VmHWM") {
        BEFORE_RESETS.fetch_max(kib, Ordering::Relaxed);
    }
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Starts a window (a phase) whose peak [`window_peak_mib`] reports, resets inside it
/// included. Returns whether the peak could be reset (if not, the window's peak is the
/// process's peak so far).
pub fn start_peak_window() -> bool {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    BEFORE_RESETS.store(0, Ordering::Relaxed);
    reset
}

/// The peak resident memory since [`start_peak_window`], MiB.
pub fn window_peak_mib() -> Option<f64> {
    let now = status_kib("VmHWM")?;
    Some(now.max(BEFORE_RESETS.load(Ordering::Relaxed)) as f64 / 1024.0)
}

/// The 1, 5 and 15 minute load averages (`/proc/loadavg`).
pub fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut it = text.split_whitespace().map(|w| w.parse::<f64>());
    Some([it.next()?.ok()?, it.next()?.ok()?, it.next()?.ok()?])
}

/// The cores the process may use.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians_of_odd_and_even_counts() {
        let ms =
            |v: &[u64]| -> Vec<Duration> { v.iter().map(|&m| Duration::from_millis(m)).collect() };
        let s = Stats::of(&ms(&[30, 10, 20]));
        assert_eq!(
            (s.median_s, s.min_s, s.max_s, s.runs),
            (0.02, 0.01, 0.03, 3)
        );
        assert!((Stats::of(&ms(&[10, 40])).median_s - 0.025).abs() < 1e-12);
    }
}
