//! The shared pool of idle connections: duet-core's [`Pool`] policy behind a lock, plus the
//! waiting that the connection caps need.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Instant;

use duet_core::Connection;
use duet_core::client::{Checkout, ConnectTo, Error, Pool, PoolConfig, PoolKey, TimeoutPhase};

use crate::transport::Stream;

/// A connection at rest: the engine's state and its socket.
#[derive(Debug)]
pub(crate) struct Idle {
    pub conn: Box<Connection>,
    pub stream: Stream,
    pub remote: Option<SocketAddr>,
    /// Where the connection's bytes are recorded, when the client records.
    pub recording: Option<duet_core::transport::ConnectionRecorder>,
}

/// What [`ConnectionPool::acquire`] found.
pub(crate) enum Acquired {
    /// An idle connection to reuse.
    Reuse(Idle),
    /// A slot for a new connection (release it if connecting fails).
    Open,
}

#[derive(Debug)]
pub(crate) struct ConnectionPool {
    pool: Mutex<Pool<Idle>>,
    freed: Condvar,
    /// Threads blocked in [`acquire`](Self::acquire) at a connection cap. Changed and read only
    /// while `pool` is locked, so a checkin or release that sees 0 cannot miss a waiter; it
    /// then skips `notify_all` (a futex syscall on every request otherwise).
    waiting: AtomicUsize,
}

impl ConnectionPool {
    pub fn new(config: PoolConfig) -> Self {
        ConnectionPool {
            pool: Mutex::new(Pool::new(config)),
            freed: Condvar::new(),
            waiting: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Pool<Idle>> {
        self.pool
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// An idle connection for `to.key` that still looks usable, or a slot to open one; waits
    /// while a connection cap is reached, until `to.pool_deadline`.
    pub fn acquire(
        &self,
        to: &ConnectTo,
        pool_timeout: Option<std::time::Duration>,
    ) -> Result<Acquired, Error> {
        let mut pool = self.lock();
        loop {
            let now = Instant::now();
            let checkout = if to.fresh {
                pool.checkout_fresh(&to.key, now)
            } else {
                pool.checkout(&to.key, now)
            };
            match checkout {
                Checkout::Reuse(mut idle) => {
                    // Looked at without the lock: the peek is a system call, and a thread
                    // switched out on its way back would leave the others queued on the lock.
                    drop(pool);
                    if idle.stream.is_quiet() {
                        return Ok(Acquired::Reuse(idle));
                    }
                    drop(idle); // closed or chatty while idle
                    self.release(&to.key);
                    pool = self.lock();
                }
                Checkout::Open => return Ok(Acquired::Open),
                Checkout::Full => {
                    let timed_out = || Error::timeout(TimeoutPhase::Pool, pool_timeout);
                    let left = match to.pool_deadline {
                        None => None,
                        Some(deadline) => {
                            Some(deadline.checked_duration_since(now).ok_or_else(timed_out)?)
                        }
                    };
                    self.waiting.fetch_add(1, Ordering::Relaxed);
                    pool = match left {
                        None => self.freed.wait(pool).unwrap_or_else(|p| p.into_inner()),
                        Some(left) => {
                            self.freed
                                .wait_timeout(pool, left)
                                .unwrap_or_else(|p| p.into_inner())
                                .0
                        }
                    };
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
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
        loop {
            // The lock is held only to take the connection, not over the peek (see acquire).
            let mut idle = self.lock().take_idle(&to.key, now)?;
            if idle.stream.is_quiet() {
                return Some(idle);
            }
            drop(idle); // closed or chatty while idle
            self.release(&to.key);
        }
    }

    /// Returns a reusable connection, idle from `now` (kept for as long as the core's pool
    /// says, which heeds the server's `Keep-Alive: timeout`).
    pub fn checkin(&self, key: &PoolKey, idle: Idle, now: Instant) {
        let server_idle_timeout = idle.conn.server_idle_timeout();
        let mut pool = self.lock();
        pool.checkin(key, idle, now, server_idle_timeout);
        self.wake_waiters(pool);
    }

    /// A connection from `key`'s slot closed.
    pub fn release(&self, key: &PoolKey) {
        let mut pool = self.lock();
        pool.release(key);
        self.wake_waiters(pool);
    }

    /// Wakes the threads waiting for a slot, if any (`pool` is the held lock). All of them:
    /// each waits for its own host, and a slot freed here may be the one any of them needs
    /// (waking one could wake a thread that must wait on while the right one sleeps).
    fn wake_waiters(&self, pool: MutexGuard<'_, Pool<Idle>>) {
        let waiting = self.waiting.load(Ordering::Relaxed);
        drop(pool);
        if waiting > 0 {
            self.freed.notify_all();
        }
    }
}
