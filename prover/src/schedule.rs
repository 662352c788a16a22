//! How a batch's proofs share the threads.
//!
//! A halo2 proof does not keep two cores busy all the time: its transcript, the grand
//! products of the permutation and lookup arguments and the steps between its parallel
//! loops run on one thread (a full accounts chunk proved in 24.6 s on one thread and 13.9 s
//! on two: 88% of two cores). So the proofs of a batch are made several at once, each on a
//! pool of all the threads, and the operating system shares the cores between them: what
//! one proof leaves idle, another uses, and the last one left has every core. A full chunk
//! and its three signature proofs took 12.7 s this way against 13.9 s with the chunk alone
//! on both threads and then the signature proofs one per thread (`prover prove --slots
//! 20`, 2 cores, two runs each).

use std::sync::Mutex;

use rayon::{ThreadPool, ThreadPoolBuildError, ThreadPoolBuilder};

/// Makes `tasks` with `threads` threads in all: `workers` of them at once (at least one, at
/// most one per task), each task on a rayon pool of all `threads` threads. Workers take
/// the tasks in the order given (so give the dearest first: the last to finish are then
/// short). Returns the results in the tasks' order.
pub fn in_turn<T: Send>(
    threads: usize,
    workers: usize,
    tasks: Vec<impl FnOnce() -> T + Send>,
) -> Result<Vec<T>, ThreadPoolBuildError> {
    let count = tasks.len();
    let workers = workers.min(count).max(1);
    let pools = (0..workers)
        .map(|_| ThreadPoolBuilder::new().num_threads(threads.max(1)).build())
        .collect::<Result<Vec<ThreadPool>, _>>()?;
    let queue = Mutex::new(tasks.into_iter().enumerate());
    let results: Mutex<Vec<Option<T>>> = Mutex::new((0..count).map(|_| None).collect());
    std::thread::scope(|scope| {
        for pool in &pools {
            let (queue, results) = (&queue, &results);
            scope.spawn(move || loop {
                let next = queue.lock().expect("no panics").next();
                let Some((i, task)) = next else { break };
                let result = pool.install(task);
                results.lock().expect("no panics")[i] = Some(result);
            });
        }
    });
    Ok(results
        .into_inner()
        .expect("no panics")
        .into_iter()
        .map(|r| r.expect("every task was taken"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Condvar, Mutex};
    use std::time::Duration;

    /// Tasks run `workers` at once, each on a pool of all the threads, and their results
    /// come back in order.
    #[test]
    fn tasks_run_workers_at_once_on_all_threads() {
        // The first two tasks each wait (up to 20 s) until both have started: they see two
        // only if two workers run at once.
        let started = (Mutex::new(0usize), Condvar::new());
        let met = |started: &(Mutex<usize>, Condvar)| {
            let (count, cv) = started;
            let mut n = count.lock().unwrap();
            *n += 1;
            cv.notify_all();
            let (n, _) = cv
                .wait_timeout_while(n, Duration::from_secs(20), |n| *n < 2)
                .unwrap();
            *n >= 2
        };
        let tasks: Vec<_> = (0..6)
            .map(|i| {
                let started = &started;
                move || {
                    let together = i < 2 && met(started);
                    (i, rayon::current_num_threads(), together)
                }
            })
            .collect();
        let results = in_turn(3, 2, tasks).unwrap();
        assert_eq!(
            results.iter().map(|r| r.0).collect::<Vec<_>>(),
            (0..6).collect::<Vec<_>>()
        );
        assert!(results.iter().all(|r| r.1 == 3), "{results:?}");
        assert!(results[0].2 && results[1].2, "{results:?}");
    }

    /// One worker makes the tasks one after another, in order; no task, no result.
    #[test]
    fn one_worker_makes_them_in_sequence() {
        let order = Mutex::new(Vec::new());
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let order = &order;
                move || {
                    order.lock().unwrap().push(i);
                    i * 10
                }
            })
            .collect();
        assert_eq!(in_turn(2, 1, tasks).unwrap(), vec![0, 10, 20, 30]);
        assert_eq!(order.into_inner().unwrap(), vec![0, 1, 2, 3]);
        let none: Vec<fn() -> u8> = Vec::new();
        assert!(in_turn(2, 2, none).unwrap().is_empty());
    }
}
