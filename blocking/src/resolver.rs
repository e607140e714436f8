//! Name lookups with a deadline. std's resolver (`getaddrinfo`) takes none, so a name is
//! looked up on a helper thread, as curl's threaded resolver does, and the caller waits for
//! it until its deadline; a lookup still running then finishes on its own.
//!
//! Lookups in flight are shared: a request for a name that is already being looked up waits
//! for that lookup rather than starting another thread. When the resolver hangs (a DNS
//! outage: `getaddrinfo` can take many seconds per try), requests that keep coming for the
//! same host therefore leave one thread behind, not one each.

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// A lookup's outcome, as every request waiting for it gets it (an `io::Error` is not
/// `Clone`, so an error is kept as its kind and message).
type Outcome<T> = Result<T, (io::ErrorKind, String)>;

/// One lookup in flight: its outcome once the helper thread has it.
struct Pending<T> {
    outcome: Mutex<Option<Outcome<T>>>,
    done: Condvar,
}

/// The lookups in flight, by key.
pub(crate) struct InFlight<K, T> {
    table: Mutex<HashMap<K, Arc<Pending<T>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K, T> InFlight<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + 'static,
    T: Clone + Send + 'static,
{
    pub(crate) fn new() -> Self {
        InFlight {
            table: Mutex::new(HashMap::new()),
        }
    }

    /// `work`'s result for `key` by `deadline` (`TimedOut` then): the result of the lookup
    /// already in flight for `key` if there is one, else of `work` run on a new helper thread.
    pub(crate) fn run(
        &'static self,
        key: K,
        deadline: Instant,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        if Instant::now() >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        let (pending, start) = {
            let mut table = lock(&self.table);
            match table.get(&key) {
                Some(pending) => (pending.clone(), false),
                None => {
                    let pending = Arc::new(Pending {
                        outcome: Mutex::new(None),
                        done: Condvar::new(),
                    });
                    table.insert(key.clone(), pending.clone());
                    (pending, true)
                }
            }
        };
        if start {
            let theirs = pending.clone();
            let key_there = key.clone();
            let spawned = std::thread::Builder::new()
                .name("duet-resolver".to_owned())
                .spawn(move || {
                    let outcome = work().map_err(|e| (e.kind(), e.to_string()));
                    *lock(&theirs.outcome) = Some(outcome);
                    self.forget(&key_there, &theirs);
                    theirs.done.notify_all();
                });
            if let Err(e) = spawned {
                // No thread: whoever joined meanwhile gets this error too.
                *lock(&pending.outcome) = Some(Err((e.kind(), e.to_string())));
                self.forget(&key, &pending);
                pending.done.notify_all();
                return Err(e);
            }
        }
        let outcome = lock(&pending.outcome);
        let left = deadline.saturating_duration_since(Instant::now());
        let (outcome, _) = pending
            .done
            .wait_timeout_while(outcome, left, |outcome| outcome.is_none())
            .unwrap_or_else(PoisonError::into_inner);
        match &*outcome {
            Some(Ok(found)) => Ok(found.clone()),
            Some(Err((kind, message))) => Err(io::Error::new(*kind, message.clone())),
            None => Err(io::ErrorKind::TimedOut.into()),
        }
    }

    /// Takes `pending`'s entry for `key` out of the table (if it is still that one).
    fn forget(&self, key: &K, pending: &Arc<Pending<T>>) {
        let mut table = lock(&self.table);
        if table.get(key).is_some_and(|p| Arc::ptr_eq(p, pending)) {
            table.remove(key);
        }
    }

    /// How many lookups are in flight.
    #[cfg(test)]
    fn len(&self) -> usize {
        lock(&self.table).len()
    }
}

/// The process's name lookups in flight, by name and port.
static LOOKUPS: LazyLock<InFlight<(String, u16), Vec<SocketAddr>>> = LazyLock::new(InFlight::new);

/// The addresses `name` stands for, by `deadline` (`TimedOut` then), from std's resolver.
pub(crate) fn lookup(name: &str, port: u16, deadline: Instant) -> io::Result<Vec<SocketAddr>> {
    let owned = name.to_owned();
    LOOKUPS.run((name.to_owned(), port), deadline, move || {
        (owned.as_str(), port)
            .to_socket_addrs()
            .map(Iterator::collect)
    })
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    fn leak<K, T>(table: InFlight<K, T>) -> &'static InFlight<K, T> {
        Box::leak(Box::new(table))
    }

    #[test]
    fn work_past_its_deadline_is_a_timeout_and_work_in_time_a_result() {
        let table = leak(InFlight::<u8, u32>::new());
        let soon = Instant::now() + Duration::from_millis(50);
        let slow = table.run(1, soon, || {
            std::thread::sleep(Duration::from_secs(2));
            Ok(1)
        });
        assert_eq!(slow.unwrap_err().kind(), io::ErrorKind::TimedOut);
        assert!(
            Instant::now() < soon + Duration::from_secs(1),
            "it did not wait the work out"
        );
        let later = Instant::now() + Duration::from_secs(5);
        assert_eq!(table.run(2, later, || Ok(7)).unwrap(), 7);
        let failed = table.run(3, later, || Err(io::ErrorKind::NotFound.into()));
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::NotFound);
        let passed = table.run(4, Instant::now(), || Ok(8));
        assert_eq!(passed.unwrap_err().kind(), io::ErrorKind::TimedOut);
    }

    #[test]
    fn requests_for_a_name_in_flight_share_its_lookup() {
        let table = leak(InFlight::<&str, u32>::new());
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let (release, hold) = mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let later = Instant::now() + Duration::from_secs(10);
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let hold = hold.clone();
                std::thread::spawn(move || {
                    table.run("a.test", later, move || {
                        STARTED.fetch_add(1, Ordering::SeqCst);
                        let _ = lock(&hold).recv();
                        Ok(42)
                    })
                })
            })
            .collect();
        while STARTED.load(Ordering::SeqCst) == 0 {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(Duration::from_millis(100)); // the others join meanwhile
        assert_eq!(table.len(), 1);
        // While one name hangs, another is looked up on its own.
        assert_eq!(table.run("b.test", later, || Ok(9)).unwrap(), 9);
        // Those that stop waiting leave the lookup running for the rest.
        let gave_up = table.run("a.test", Instant::now() + Duration::from_millis(20), || {
            Ok(0)
        });
        assert_eq!(gave_up.unwrap_err().kind(), io::ErrorKind::TimedOut);
        release.send(()).unwrap();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap().unwrap(), 42);
        }
        assert_eq!(
            STARTED.load(Ordering::SeqCst),
            1,
            "one lookup for eight requests"
        );
        assert_eq!(table.len(), 0, "a finished lookup is not kept");
        // The next request for the name looks it up afresh.
        assert_eq!(table.run("a.test", later, || Ok(43)).unwrap(), 43);
    }
}
