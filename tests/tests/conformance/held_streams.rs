//! Streams of the caller's own for mounted transports, one per flavour (their `Transport`
//! and `Io` traits differ): `HeldUntilFlush` holds what is written until it is flushed, as
//! a buffered writer does; `Counted` notes how many pieces each write hands it;
//! `FailsToFlush` writes straight through but fails every flush. [`Buffered`], [`Counting`]
//! and [`FlushFailing`] pick the flavour's transport, so that one conformance case serves
//! both.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use duet_core::client::{Error, ErrorKind, Origin};

/// A transport that connects to one address, whatever the URL, with a stream that holds
/// what is written until it is flushed.
pub trait Buffered {
    /// The transport for `addr`.
    fn buffered(addr: SocketAddr) -> Arc<Self>;
}

impl Buffered for dyn duet_blocking::Transport {
    fn buffered(addr: SocketAddr) -> Arc<Self> {
        Arc::new(blocking::Buffered(addr))
    }
}

impl Buffered for dyn duet_async::Transport {
    fn buffered(addr: SocketAddr) -> Arc<Self> {
        Arc::new(asynchronous::Buffered(addr))
    }
}

/// The number of non-empty pieces each write call handed a stream, in order.
pub type Writes = Arc<Mutex<Vec<usize>>>;

/// A transport that connects to one address, whatever the URL, with a stream that notes in
/// `writes` how many pieces each write hands it (one for a plain write).
pub trait Counting {
    /// The transport for `addr`.
    fn counting(addr: SocketAddr, writes: Writes) -> Arc<Self>;
}

impl Counting for dyn duet_blocking::Transport {
    fn counting(addr: SocketAddr, writes: Writes) -> Arc<Self> {
        Arc::new(blocking::Counting(addr, writes))
    }
}

impl Counting for dyn duet_async::Transport {
    fn counting(addr: SocketAddr, writes: Writes) -> Arc<Self> {
        Arc::new(asynchronous::Counting(addr, writes))
    }
}

/// A transport that connects to one address, whatever the URL, with a stream that writes
/// straight through but fails every flush with an error of `kind`.
pub trait FlushFailing {
    /// The transport for `addr`.
    fn flush_failing(addr: SocketAddr, kind: io::ErrorKind) -> Arc<Self>;
}

impl FlushFailing for dyn duet_blocking::Transport {
    fn flush_failing(addr: SocketAddr, kind: io::ErrorKind) -> Arc<Self> {
        Arc::new(blocking::FlushFailing(addr, kind))
    }
}

impl FlushFailing for dyn duet_async::Transport {
    fn flush_failing(addr: SocketAddr, kind: io::ErrorKind) -> Arc<Self> {
        Arc::new(asynchronous::FlushFailing(addr, kind))
    }
}

fn pieces(bufs: &[io::IoSlice<'_>]) -> usize {
    bufs.iter().filter(|b| !b.is_empty()).count()
}

fn connect_error(e: io::Error) -> Error {
    Error::new(ErrorKind::Connect, e)
}

mod blocking {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[derive(Debug)]
    struct HeldUntilFlush {
        tcp: TcpStream,
        held: Vec<u8>,
    }

    impl Read for HeldUntilFlush {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.tcp.read(buf)
        }
    }

    impl Write for HeldUntilFlush {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.held.extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> io::Result<()> {
            self.tcp.write_all(&self.held)?;
            self.held.clear();
            Ok(())
        }
    }

    impl duet_blocking::Io for HeldUntilFlush {}

    #[derive(Debug)]
    struct Counted {
        tcp: TcpStream,
        writes: Writes,
    }

    impl Read for Counted {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.tcp.read(buf)
        }
    }

    impl Write for Counted {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.writes.lock().unwrap().push(1);
            self.tcp.write(buf)
        }

        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            self.writes.lock().unwrap().push(pieces(bufs));
            self.tcp.write_vectored(bufs)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.tcp.flush()
        }
    }

    impl duet_blocking::Io for Counted {}

    #[derive(Debug)]
    pub(super) struct Counting(pub(super) SocketAddr, pub(super) Writes);

    impl duet_blocking::Transport for Counting {
        fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_blocking::Io>, Error> {
            let tcp = TcpStream::connect(self.0).map_err(connect_error)?;
            Ok(Box::new(Counted {
                tcp,
                writes: self.1.clone(),
            }))
        }
    }

    #[derive(Debug)]
    struct FailsToFlush {
        tcp: TcpStream,
        kind: io::ErrorKind,
    }

    impl Read for FailsToFlush {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.tcp.read(buf)
        }
    }

    impl Write for FailsToFlush {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.tcp.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Err(io::Error::new(self.kind, "the flush failed"))
        }
    }

    impl duet_blocking::Io for FailsToFlush {}

    #[derive(Debug)]
    pub(super) struct FlushFailing(pub(super) SocketAddr, pub(super) io::ErrorKind);

    impl duet_blocking::Transport for FlushFailing {
        fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_blocking::Io>, Error> {
            let tcp = TcpStream::connect(self.0).map_err(connect_error)?;
            Ok(Box::new(FailsToFlush { tcp, kind: self.1 }))
        }
    }

    #[derive(Debug)]
    pub(super) struct Buffered(pub(super) SocketAddr);

    impl duet_blocking::Transport for Buffered {
        fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_blocking::Io>, Error> {
            let tcp = TcpStream::connect(self.0).map_err(connect_error)?;
            Ok(Box::new(HeldUntilFlush {
                tcp,
                held: Vec::new(),
            }))
        }
    }
}

mod asynchronous {
    use super::*;
    use std::pin::Pin;
    use std::task::{Context, Poll, ready};
    use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
    use tokio::net::TcpStream;

    #[derive(Debug)]
    struct HeldUntilFlush {
        tcp: TcpStream,
        held: Vec<u8>,
    }

    impl AsyncRead for HeldUntilFlush {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for HeldUntilFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.held.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            while !this.held.is_empty() {
                let n = ready!(Pin::new(&mut this.tcp).poll_write(cx, &this.held))?;
                this.held.drain(..n);
            }
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            ready!(self.as_mut().poll_flush(cx))?;
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }

    impl duet_async::Io for HeldUntilFlush {}

    #[derive(Debug)]
    struct Counted {
        tcp: TcpStream,
        writes: Writes,
    }

    impl AsyncRead for Counted {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Counted {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.writes.lock().unwrap().push(1);
            Pin::new(&mut self.tcp).poll_write(cx, buf)
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.writes.lock().unwrap().push(pieces(bufs));
            Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_flush(cx)
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }

    impl duet_async::Io for Counted {}

    #[derive(Debug)]
    pub(super) struct Counting(pub(super) SocketAddr, pub(super) Writes);

    #[duet_async::async_trait]
    impl duet_async::Transport for Counting {
        async fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_async::Io>, Error> {
            let tcp = TcpStream::connect(self.0).await.map_err(connect_error)?;
            Ok(Box::new(Counted {
                tcp,
                writes: self.1.clone(),
            }))
        }
    }

    #[derive(Debug)]
    struct FailsToFlush {
        tcp: TcpStream,
        kind: io::ErrorKind,
    }

    impl AsyncRead for FailsToFlush {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for FailsToFlush {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            Pin::new(&mut self.tcp).poll_write(cx, buf)
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Err(io::Error::new(self.kind, "the flush failed")))
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }

    impl duet_async::Io for FailsToFlush {}

    #[derive(Debug)]
    pub(super) struct FlushFailing(pub(super) SocketAddr, pub(super) io::ErrorKind);

    #[duet_async::async_trait]
    impl duet_async::Transport for FlushFailing {
        async fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_async::Io>, Error> {
            let tcp = TcpStream::connect(self.0).await.map_err(connect_error)?;
            Ok(Box::new(FailsToFlush { tcp, kind: self.1 }))
        }
    }

    #[derive(Debug)]
    pub(super) struct Buffered(pub(super) SocketAddr);

    #[duet_async::async_trait]
    impl duet_async::Transport for Buffered {
        async fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_async::Io>, Error> {
            let tcp = TcpStream::connect(self.0).await.map_err(connect_error)?;
            Ok(Box::new(HeldUntilFlush {
                tcp,
                held: Vec::new(),
            }))
        }
    }
}
