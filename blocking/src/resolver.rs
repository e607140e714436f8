//! Name lookups with a deadline. std's resolver (`getaddrinfo`) takes none, so a name is
//! looked up on a helper thread, as curl's threaded resolver does, and the caller waits for
//! it until its deadline; a lookup still running then finishes on its own.
//!
//! Lookups in flight are shared: a request for a name that is already being looked up waits
//! for that lookup rather than starting another thread. When the resolver hangs (a DNS
//! outage: `getaddrinfo` can take many seconds per try), requests that keep coming for the
//! same host therefore leave one thread behind, not one each.
//!
//! A client given a resolver of the caller's own ([`Resolve`]) looks names up with it the
//! same way: on a helper thread, shared in flight among that client's requests.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::panic;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

/// A lookup's outcome, as every request waiting for it gets it.
type Outcome<T> = Result<T, Failure>;

/// Why a lookup found nothing.
#[derive(Debug, Clone)]
enum Failure {
    /// An error, kept as its kind and message (an `io::Error` is not `Clone`).
    Error(io::ErrorKind, String),
    /// The lookup panicked (a resolver of the caller's own can): each request waiting for it
    /// panics with this message, as it would have had the lookup run on its own thread, and
    /// the next request for the name looks it up afresh.
    Panicked(String),
}

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
                    let outcome = match panic::catch_unwind(panic::AssertUnwindSafe(work)) {
                        Ok(found) => found.map_err(|e| Failure::Error(e.kind(), e.to_string())),
                        Err(payload) => Err(Failure::Panicked(panic_message(&*payload))),
                    };
                    *lock(&theirs.outcome) = Some(outcome);
                    self.forget(&key_there, &theirs);
                    theirs.done.notify_all();
                });
            if let Err(e) = spawned {
                // No thread: whoever joined meanwhile gets this error too.
                *lock(&pending.outcome) = Some(Err(Failure::Error(e.kind(), e.to_string())));
                self.forget(&key, &pending);
                pending.done.notify_all();
                return Err(e);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let outcome = pending
            .done
            .wait_timeout_while(lock(&pending.outcome), left, |outcome| outcome.is_none())
            .unwrap_or_else(PoisonError::into_inner)
            .0
            .clone(); // the lock released before a panic
        match outcome {
            Some(Ok(found)) => Ok(found),
            Some(Err(Failure::Error(kind, message))) => Err(io::Error::new(kind, message)),
            Some(Err(Failure::Panicked(message))) => panic!("the resolver panicked: {message}"),
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

/// Looks host names up for a client instead of the system's resolver: give one to
/// [`ClientBuilder::dns_resolver`](crate::ClientBuilder::dns_resolver). It may block: it runs
/// on a helper thread, and the request stops waiting for it at its connect timeout (the
/// lookup then finishes on its own, and requests for the same name meanwhile wait for it
/// rather than starting another). duet-async has a trait of the same name whose method is
/// `async`; one cannot be used for the other.
///
/// A resolver that keeps a client off private addresses (a guard against server-side request
/// forgery), answering from the system's resolver:
///
/// ```no_run
/// use std::io;
/// use std::net::{IpAddr, ToSocketAddrs};
/// use std::sync::Arc;
///
/// #[derive(Debug)]
/// struct PublicOnly;
///
/// impl duet_blocking::Resolve for PublicOnly {
///     fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
///         let public = |ip: &IpAddr| match ip {
///             IpAddr::V4(v4) => !(v4.is_private() || v4.is_loopback() || v4.is_link_local()),
///             IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unique_local()),
///         };
///         Ok((host, 0).to_socket_addrs()?.map(|a| a.ip()).filter(public).collect())
///     }
/// }
///
/// let client = duet_blocking::Client::builder().dns_resolver(Arc::new(PublicOnly)).build()?;
/// # Ok::<(), duet_blocking::Error>(())
/// ```
pub trait Resolve: Send + Sync + std::fmt::Debug {
    /// The addresses `host` stands for, best first; the client connects to them at the
    /// URL's port. An error, or no address, fails the request with a connect error.
    fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// A client's own resolver, numbered so that its lookups in flight are told from another
/// client's.
#[derive(Debug, Clone)]
pub(crate) struct Resolver {
    id: u64,
    resolve: Arc<dyn Resolve>,
}

impl Resolver {
    pub(crate) fn new(resolve: Arc<dyn Resolve>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Resolver {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            resolve,
        }
    }

    /// The addresses `name` stands for at `port`, by `deadline` (`TimedOut` then; with no
    /// deadline, on the caller's thread).
    pub(crate) fn lookup(
        &self,
        name: &str,
        port: u16,
        deadline: Option<Instant>,
    ) -> io::Result<Vec<SocketAddr>> {
        let found = match deadline {
            None => self.resolve.resolve(name)?,
            Some(deadline) => {
                let (owned, resolve) = (name.to_owned(), self.resolve.clone());
                let key = (self.id, name.to_owned());
                RESOLVED.run(key, deadline, move || resolve.resolve(&owned))?
            }
        };
        Ok(found
            .into_iter()
            .map(|ip| SocketAddr::new(ip, port))
            .collect())
    }
}

/// The process's name lookups in flight, by name and port.
static LOOKUPS: LazyLock<InFlight<(String, u16), Vec<SocketAddr>>> = LazyLock::new(InFlight::new);

/// What a panic said, if it said it in words.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    match (
        payload.downcast_ref::<&str>(),
        payload.downcast_ref::<String>(),
    ) {
        (Some(message), _) => (*message).to_owned(),
        (None, Some(message)) => message.clone(),
        (None, None) => "(no message)".to_owned(),
    }
}

/// The lookups in flight by clients' own resolvers, by resolver and name.
static RESOLVED: LazyLock<InFlight<(u64, String), Vec<IpAddr>>> = LazyLock::new(InFlight::new);

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
    fn the_system_lookup_gives_std_s_addresses_at_the_port_asked_and_its_errors() {
        // Address literals and a name with a NUL byte: std answers both itself, with no
        // query sent anywhere.
        let later = Instant::now() + Duration::from_secs(5);
        let found = lookup("127.0.0.1", 8080, later).unwrap();
        assert_eq!(found, vec!["127.0.0.1:8080".parse().unwrap()]);
        let found = lookup("::1", 443, later).unwrap();
        assert_eq!(found, vec!["[::1]:443".parse().unwrap()]);
        let failed = lookup("bad\0name", 80, later).unwrap_err();
        assert_eq!(failed.kind(), io::ErrorKind::InvalidInput);
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

    #[test]
    fn a_lookup_that_panics_panics_its_callers_and_is_not_kept() {
        let table = leak(InFlight::<u8, u32>::new());
        let later = Instant::now() + Duration::from_secs(5);
        let caught = panic::catch_unwind(|| table.run(1, later, || panic!("no such luck")));
        let payload = caught.expect_err("the caller panics too");
        assert_eq!(
            panic_message(&*payload),
            "the resolver panicked: no such luck"
        );
        assert_eq!(table.len(), 0, "the lookup is not kept");
        assert_eq!(table.run(1, later, || Ok(5)).unwrap(), 5);
    }

    /// A resolver that answers `ip` for every name, once `gate` lets it (if it has one).
    #[derive(Debug)]
    struct Fixed {
        ip: IpAddr,
        gate: Option<Mutex<mpsc::Receiver<()>>>,
        started: mpsc::SyncSender<()>,
    }

    impl Resolve for Fixed {
        fn resolve(&self, _host: &str) -> io::Result<Vec<IpAddr>> {
            let _ = self.started.try_send(());
            if let Some(gate) = &self.gate {
                let _ = lock(gate).recv_timeout(Duration::from_secs(10));
            }
            Ok(vec![self.ip])
        }
    }

    #[test]
    fn each_clients_resolver_answers_for_itself_at_the_port_asked() {
        let (started, was_started) = mpsc::sync_channel(2);
        let (release, gate) = mpsc::channel();
        let held = Resolver::new(Arc::new(Fixed {
            ip: "127.0.0.2".parse().unwrap(),
            gate: Some(Mutex::new(gate)),
            started: started.clone(),
        }));
        let free = Resolver::new(Arc::new(Fixed {
            ip: "127.0.0.3".parse().unwrap(),
            gate: None,
            started,
        }));
        let later = Instant::now() + Duration::from_secs(10);
        let waiting = std::thread::spawn(move || held.lookup("same.test", 80, Some(later)));
        was_started
            .recv_timeout(Duration::from_secs(10))
            .expect("the held lookup started");
        // Another client's lookup of the same name does not wait for this one's.
        let found = free.lookup("same.test", 8080, Some(later)).unwrap();
        assert_eq!(found, ["127.0.0.3:8080".parse().unwrap()]);
        let inline = free.lookup("same.test", 443, None).unwrap();
        assert_eq!(inline, ["127.0.0.3:443".parse().unwrap()]);
        release.send(()).unwrap();
        let found = waiting.join().unwrap().unwrap();
        assert_eq!(found, ["127.0.0.2:80".parse().unwrap()]);
    }
}
