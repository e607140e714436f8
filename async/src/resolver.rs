//! Name lookups on tokio's blocking threads (`getaddrinfo` has no async form), shared while
//! in flight: a request for a name that is already being looked up waits for that lookup
//! rather than taking another blocking thread. When the resolver hangs (a DNS outage:
//! `getaddrinfo` can take many seconds per try), requests that keep coming for the same host
//! therefore hold one of tokio's blocking threads, not one each, and the pool those threads
//! come from (shared with `tokio::fs` and the application's own `spawn_blocking`) is not
//! drained by one unreachable name. A caller's deadline ends its wait, not the lookup.
//!
//! A client given a resolver of the caller's own ([`Resolve`]) awaits it in the request's
//! task instead, until the same deadline.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{LazyLock, Mutex, MutexGuard, PoisonError};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, Shared};

/// A lookup's outcome, as every request waiting for it gets it (an `io::Error` is not
/// `Clone`, so an error is kept as its kind and message).
type Outcome<T> = Result<T, (io::ErrorKind, String)>;

/// One lookup in flight, which any number of requests await.
type Lookup<T> = Shared<BoxFuture<'static, Outcome<T>>>;

/// The lookups in flight, by key; each with a number telling it from a later one.
pub(crate) struct InFlight<K, T> {
    table: Mutex<HashMap<K, (u64, Lookup<T>)>>,
    next: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl<K, T> InFlight<K, T>
where
    K: std::hash::Hash + Eq + Clone + Send + Sync + 'static,
    T: Clone + Send + Sync + 'static,
{
    pub(crate) fn new() -> Self {
        InFlight {
            table: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }

    /// `work`'s result for `key`: the result of the lookup already in flight for `key` if
    /// there is one, else of `work` run on a blocking thread. Dropping the future stops the
    /// wait only; the lookup finishes for whoever else waits.
    pub(crate) async fn run(
        &'static self,
        key: K,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> io::Result<T> {
        let (id, lookup) = self.join_or_start(&key, work);
        let outcome = lookup.await;
        // Normally the blocking thread has done this already; not if the lookup's task
        // failed to report (its runtime dropped it), and then no later request may join it.
        self.forget(&key, id);
        outcome.map_err(|(kind, message)| io::Error::new(kind, message))
    }

    /// The lookup in flight for `key`, or a new one running `work`.
    fn join_or_start(
        &'static self,
        key: &K,
        work: impl FnOnce() -> io::Result<T> + Send + 'static,
    ) -> (u64, Lookup<T>) {
        let mut table = lock(&self.table);
        if let Some(found) = table.get(key) {
            return found.clone();
        }
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let key_there = key.clone();
        let handle = tokio::task::spawn_blocking(move || {
            let outcome = work().map_err(|e| (e.kind(), e.to_string()));
            self.forget(&key_there, id);
            outcome
        });
        let lookup = async move {
            handle
                .await
                .unwrap_or_else(|e| Err((io::ErrorKind::Other, e.to_string())))
        }
        .boxed()
        .shared();
        table.insert(key.clone(), (id, lookup.clone()));
        (id, lookup)
    }

    /// Takes lookup `id`'s entry for `key` out of the table (if it is still that one).
    fn forget(&self, key: &K, id: u64) {
        let mut table = lock(&self.table);
        if table.get(key).is_some_and(|(there, _)| *there == id) {
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
/// [`ClientBuilder::dns_resolver`](crate::ClientBuilder::dns_resolver). Its future runs in
/// the request's task, so it must not block (`getaddrinfo` belongs on a blocking thread);
/// the request stops waiting for it at its connect timeout. duet-blocking has a trait of the
/// same name whose method is not `async`; one cannot be used for the other.
///
/// A resolver that keeps a client off private addresses (a guard against server-side request
/// forgery), answering from tokio's resolver:
///
/// ```no_run
/// use std::io;
/// use std::net::IpAddr;
/// use std::sync::Arc;
///
/// #[derive(Debug)]
/// struct PublicOnly;
///
/// #[duet_async::async_trait]
/// impl duet_async::Resolve for PublicOnly {
///     async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>> {
///         let public = |ip: &IpAddr| match ip {
///             IpAddr::V4(v4) => !(v4.is_private() || v4.is_loopback() || v4.is_link_local()),
///             IpAddr::V6(v6) => !(v6.is_loopback() || v6.is_unique_local()),
///         };
///         let found = tokio::net::lookup_host((host, 0)).await?;
///         Ok(found.map(|a| a.ip()).filter(public).collect())
///     }
/// }
///
/// let client = duet_async::Client::builder().dns_resolver(Arc::new(PublicOnly)).build()?;
/// # Ok::<(), duet_async::Error>(())
/// ```
#[async_trait::async_trait]
pub trait Resolve: Send + Sync + std::fmt::Debug {
    /// The addresses `host` stands for, best first; the client connects to them at the
    /// URL's port. An error, or no address, fails the request with a connect error.
    async fn resolve(&self, host: &str) -> io::Result<Vec<IpAddr>>;
}

/// The addresses `name` stands for at `port`, from the client's own `resolver`.
pub(crate) async fn lookup_with(
    resolver: &dyn Resolve,
    name: &str,
    port: u16,
) -> io::Result<Vec<SocketAddr>> {
    let found = resolver.resolve(name).await?;
    Ok(found
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// The process's name lookups in flight, by name and port.
static LOOKUPS: LazyLock<InFlight<(String, u16), Vec<SocketAddr>>> = LazyLock::new(InFlight::new);

/// The addresses `name` stands for, from std's resolver.
pub(crate) async fn lookup(name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
    let owned = name.to_owned();
    LOOKUPS
        .run((name.to_owned(), port), move || {
            (owned.as_str(), port)
                .to_socket_addrs()
                .map(Iterator::collect)
        })
        .await
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    use super::*;

    fn leak<K, T>(table: InFlight<K, T>) -> &'static InFlight<K, T> {
        Box::leak(Box::new(table))
    }

    #[tokio::test]
    async fn the_system_lookup_gives_std_s_addresses_at_the_port_asked_and_its_errors() {
        // Address literals and a name with a NUL byte: std answers both itself, with no
        // query sent anywhere.
        let found = lookup("127.0.0.1", 8080).await.unwrap();
        assert_eq!(found, vec!["127.0.0.1:8080".parse().unwrap()]);
        let found = lookup("::1", 443).await.unwrap();
        assert_eq!(found, vec!["[::1]:443".parse().unwrap()]);
        let failed = lookup("bad\0name", 80).await.unwrap_err();
        assert_eq!(failed.kind(), io::ErrorKind::InvalidInput);
    }

    #[tokio::test]
    async fn results_and_errors_reach_the_caller() {
        let table = leak(InFlight::<u8, u32>::new());
        assert_eq!(table.run(1, || Ok(7)).await.unwrap(), 7);
        let failed = table.run(2, || Err(io::ErrorKind::NotFound.into())).await;
        assert_eq!(failed.unwrap_err().kind(), io::ErrorKind::NotFound);
        assert_eq!(table.len(), 0, "a finished lookup is not kept");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_for_a_name_in_flight_share_its_lookup() {
        let table = leak(InFlight::<&str, u32>::new());
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Arc::new(Mutex::new(hold));
        let waiters: Vec<_> = (0..8)
            .map(|_| {
                let hold = hold.clone();
                tokio::spawn(table.run("a.test", move || {
                    STARTED.fetch_add(1, Ordering::SeqCst);
                    let _ = lock(&hold).recv();
                    Ok(42)
                }))
            })
            .collect();
        while STARTED.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await; // the others join meanwhile
        assert_eq!(table.len(), 1);
        // While one name hangs, another is looked up on its own.
        assert_eq!(table.run("b.test", || Ok(9)).await.unwrap(), 9);
        // Those that stop waiting leave the lookup running for the rest.
        let gave_up =
            tokio::time::timeout(Duration::from_millis(20), table.run("a.test", || Ok(0))).await;
        assert!(gave_up.is_err(), "it waited for the lookup in flight");
        release.send(()).unwrap();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), 42);
        }
        assert_eq!(
            STARTED.load(Ordering::SeqCst),
            1,
            "one lookup for eight requests"
        );
        assert_eq!(table.len(), 0, "a finished lookup is not kept");
        // The next request for the name looks it up afresh.
        assert_eq!(table.run("a.test", || Ok(43)).await.unwrap(), 43);
    }
}
