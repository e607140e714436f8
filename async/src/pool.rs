//! The shared pool of idle connections: duet-core's [`Pool`] policy behind a lock, plus the
//! waiting that the connection caps need, and a task that closes idle connections as they
//! expire.
//!
//! The lock is a `std::sync::Mutex`, held only for the pool's bookkeeping and never across an
//! `.await`; a task waiting for a free slot waits on a [`Notify`].
//!
//! A server that closes an idle connection leaves the client's socket half-closed until the
//! client closes it too, so idle connections are not left for the next request to find
//! expired (which may never come): while any connection is open, a reaper task on the
//! runtime of a checkin sleeps until the next idle one expires and closes it, as hyper's pool
//! does. It holds the pool only while it sweeps, and a dropped client aborts it.

use std::net::SocketAddr;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Instant;

use duet_core::Connection;
use duet_core::client::{Checkout, ConnectTo, Error, Pool, PoolConfig, PoolKey, TimeoutPhase};
use tokio::sync::Notify;

use crate::transport::{Stream, Timer};

/// A connection at rest: the engine's state and its socket.
#[derive(Debug)]
pub(crate) struct Idle {
    pub conn: Box<Connection>,
    pub stream: Stream,
    pub remote: Option<SocketAddr>,
    /// Where the connection's bytes are recorded, when the client records.
    pub recording: Option<duet_core::transport::ConnectionRecorder>,
    /// The runtime whose I/O driver the socket is registered with.
    pub runtime: Option<tokio::runtime::Id>,
    /// The deadline timer of the connection's waits (on that runtime).
    pub timer: Timer,
}

/// Whether an idle connection can serve a request on the runtime `here`: it is registered
/// with that runtime's I/O driver, and a peek finds the server has neither closed it nor
/// sent anything.
///
/// A socket only ever hears from the driver it was registered with. Another runtime's driver
/// may be shut down (the socket then fails) or idle (a current-thread runtime not being
/// driven: the request would wait for its deadline), so a client shared between runtimes
/// opens connections per runtime instead.
fn usable(idle: &mut Idle, here: Option<tokio::runtime::Id>) -> bool {
    idle.runtime.is_some() && idle.runtime == here && idle.stream.is_quiet()
}

/// The runtime this task runs on.
pub(crate) fn current_runtime() -> Option<tokio::runtime::Id> {
    tokio::runtime::Handle::try_current()
        .ok()
        .map(|handle| handle.id())
}

/// What [`ConnectionPool::acquire`] found.
pub(crate) enum Acquired {
    /// An idle connection to reuse.
    Reuse(Idle),
    /// A slot for a new connection (release it if connecting fails).
    Open,
}

/// The pool, and whether a reaper task is running for it (both under one lock, so a
/// checkin cannot miss a reaper that is about to end).
#[derive(Debug)]
struct Kept {
    pool: Pool<Idle>,
    reaping: bool,
    /// Ends the reaper task, so that a dropped client's does not sleep on to its next sweep.
    reaper: Option<tokio::task::AbortHandle>,
}

fn lock(kept: &Mutex<Kept>) -> MutexGuard<'_, Kept> {
    kept.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(Debug)]
pub(crate) struct ConnectionPool {
    kept: Arc<Mutex<Kept>>,
    freed: Notify,
    /// Tasks waiting in [`acquire`](Self::acquire) for a slot. Raised only while `pool` is
    /// locked, so a checkin or release that reads 0 under the lock cannot miss a waiter; it
    /// then skips the notification (which takes `Notify`'s own lock).
    waiting: AtomicUsize,
}

/// Counts a task as waiting for a slot until it stops, also when its future is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl ConnectionPool {
    pub fn new(config: PoolConfig) -> Self {
        ConnectionPool {
            kept: Arc::new(Mutex::new(Kept {
                pool: Pool::new(config),
                reaping: false,
                reaper: None,
            })),
            freed: Notify::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Kept> {
        lock(&self.kept)
    }

    /// An idle connection for `to.key` that still looks usable, or a slot to open one; waits
    /// while a connection cap is reached, until `to.pool_deadline`.
    pub async fn acquire(
        &self,
        to: &ConnectTo,
        pool_timeout: Option<std::time::Duration>,
    ) -> Result<Acquired, Error> {
        let here = current_runtime();
        loop {
            // Listen before looking, so a slot freed in between is not missed.
            let mut freed = pin!(self.freed.notified());
            freed.as_mut().enable();
            let now = crate::now();
            {
                let mut kept = self.lock();
                let checkout = if to.fresh {
                    kept.pool.checkout_fresh(&to.key, now)
                } else {
                    kept.pool.checkout(&to.key, now)
                };
                match checkout {
                    Checkout::Reuse(mut idle) => {
                        // Looked at without the lock: the peek is a system call, and a
                        // thread switched out on its way back would leave the others
                        // queued on the lock.
                        drop(kept);
                        if usable(&mut idle, here) {
                            return Ok(Acquired::Reuse(idle));
                        }
                        drop(idle); // closed or chatty while idle, or another runtime's
                        self.release(&to.key);
                        continue;
                    }
                    Checkout::Open => return Ok(Acquired::Open),
                    Checkout::Full => {}
                }
                self.waiting.fetch_add(1, Ordering::Relaxed);
            }
            let _waiting = Waiting(&self.waiting);
            let timed_out = || Error::timeout(TimeoutPhase::Pool, pool_timeout);
            match to.pool_deadline {
                None => freed.await,
                Some(deadline) => {
                    if deadline <= now {
                        return Err(timed_out());
                    }
                    tokio::time::timeout_at(deadline.into(), freed)
                        .await
                        .map_err(|_elapsed| timed_out())?;
                }
            }
        }
    }

    /// An idle connection for `to.key` that still looks usable, taken at once: no waiting,
    /// and no slot counted when there is none (then [`acquire`](Self::acquire) decides).
    pub fn take_idle(&self, to: &ConnectTo, now: Instant) -> Option<Idle> {
        if to.fresh {
            return None;
        }
        let here = current_runtime();
        loop {
            // The lock is held only to take the connection, not over the peek (see acquire).
            let mut idle = self.lock().pool.take_idle(&to.key, now)?;
            if usable(&mut idle, here) {
                return Some(idle);
            }
            drop(idle); // closed or chatty while idle, or another runtime's
            self.release(&to.key);
        }
    }

    /// Returns a reusable connection, idle from `now` (kept for as long as the core's pool
    /// says, which heeds the server's `Keep-Alive: timeout`); starts a reaper on this task's
    /// runtime if none runs.
    pub fn checkin(&self, key: &PoolKey, idle: Idle, now: Instant) {
        let server_idle_timeout = idle.conn.server_idle_timeout();
        let mut kept = self.lock();
        kept.pool.checkin(key, idle, now, server_idle_timeout);
        let runtime = match kept.reaping || kept.pool.next_sweep().is_none() {
            true => None,
            false => tokio::runtime::Handle::try_current().ok(),
        };
        kept.reaping |= runtime.is_some();
        self.wake_waiters(kept);
        // Spawned without the lock: a runtime shutting down drops the task at once, and its
        // guard takes the lock.
        if let Some(runtime) = runtime {
            let reaper = runtime.spawn(reap(Arc::downgrade(&self.kept)));
            self.lock().reaper = Some(reaper.abort_handle());
        }
    }

    /// A connection from `key`'s slot closed.
    pub fn release(&self, key: &PoolKey) {
        let mut kept = self.lock();
        kept.pool.release(key);
        self.wake_waiters(kept);
    }

    /// Wakes the tasks waiting for a slot, if any (`pool` is the held lock). All of them:
    /// each waits for its own host, and the slot just freed may be the one any of them
    /// needs (waking one could wake a task that must wait on while the right one sleeps). A
    /// waiter listens before it looks (see [`acquire`](Self::acquire)), so none is missed
    /// although no permit is stored.
    fn wake_waiters(&self, kept: MutexGuard<'_, Kept>) {
        let waiting = self.waiting.load(Ordering::Relaxed);
        drop(kept);
        if waiting > 0 {
            self.freed.notify_waiters();
        }
    }
}

impl Drop for ConnectionPool {
    fn drop(&mut self) {
        let reaper = self.lock().reaper.take();
        if let Some(reaper) = reaper {
            reaper.abort(); // without the lock, which the task's guard takes
        }
    }
}

/// Closes the pool's idle connections as they expire, until no connection is open or the
/// pool is gone. (The guard is made outside the future, so that a task dropped before its first
/// poll leaves no reaper counted either.)
fn reap(kept: Weak<Mutex<Kept>>) -> impl Future<Output = ()> + Send + 'static {
    let guard = Reaping(kept.clone());
    reap_until_idle(kept, guard)
}

async fn reap_until_idle(kept: Weak<Mutex<Kept>>, mut guard: Reaping) {
    loop {
        let due = {
            let Some(kept) = kept.upgrade() else {
                return;
            };
            let mut kept = lock(&kept);
            let now = crate::now();
            kept.pool.evict_expired(now);
            // With none idle but some in use, the earliest one could expire is a whole
            // timeout from now: the reaper waits for them rather than ending and being
            // started again by their checkins (a task spawned per request).
            let in_use = (kept.pool.open_total() > 0)
                .then(|| now.checked_add(kept.pool.config().idle_timeout))
                .flatten();
            match kept.pool.next_sweep().or(in_use) {
                Some(due) => due,
                None => {
                    // Nothing open (or a timeout too long to count to): under the lock, so
                    // the next checkin starts another reaper.
                    kept.reaping = false;
                    guard.0 = Weak::new();
                    return;
                }
            }
        };
        tokio::time::sleep_until(due.into()).await;
    }
}

/// Marks the pool as having no reaper when a reaper task is dropped before it finished (its
/// runtime shut down), so that a checkin on another runtime starts one.
struct Reaping(Weak<Mutex<Kept>>);

impl Drop for Reaping {
    fn drop(&mut self) {
        if let Some(kept) = self.0.upgrade() {
            lock(&kept).reaping = false;
        }
    }
}
