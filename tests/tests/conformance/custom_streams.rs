//! Streams of the caller's own for mounted transports: a TCP connection to one address,
//! whatever the URL, that reads straight from the socket and writes as its [`Behaviour`]
//! says. Each flavour has its own stream and transport (their `Io` and `Transport` traits
//! differ); [`Custom::custom`] picks the flavour's, so that one conformance case serves both.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use duet_core::client::{Error, ErrorKind, Origin};

/// The number of non-empty pieces each write call handed a stream, in order.
pub type Writes = Arc<Mutex<Vec<usize>>>;

/// What a custom stream does with what is written to it.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Holds it until it is flushed, as a buffered writer does.
    HeldUntilFlush,
    /// Writes it through, noting in `Writes` how many pieces each write call handed over
    /// (one for a plain write); vectored writes are taken as such.
    Counted(Writes),
    /// Writes it through, but fails every flush with an error of this kind.
    FailsToFlush(io::ErrorKind),
}

/// A transport that connects to `addr`, whatever the URL, with a stream that behaves as
/// `behaviour` says.
pub trait Custom {
    /// The transport.
    fn custom(addr: SocketAddr, behaviour: Behaviour) -> Arc<Self>;
}

impl Custom for dyn duet_blocking::Transport {
    fn custom(addr: SocketAddr, behaviour: Behaviour) -> Arc<Self> {
        Arc::new(blocking::Custom(addr, behaviour))
    }
}

impl Custom for dyn duet_async::Transport {
    fn custom(addr: SocketAddr, behaviour: Behaviour) -> Arc<Self> {
        Arc::new(asynchronous::Custom(addr, behaviour))
    }
}

fn pieces(bufs: &[io::IoSlice<'_>]) -> usize {
    bufs.iter().filter(|b| !b.is_empty()).count()
}

/// The first non-empty buffer: what a stream that does not take vectored writes writes.
fn first<'a>(bufs: &'a [io::IoSlice<'_>]) -> &'a [u8] {
    bufs.iter()
        .find(|b| !b.is_empty())
        .map_or(&[][..], |b| &b[..])
}

fn flush_failed(kind: io::ErrorKind) -> io::Error {
    io::Error::new(kind, "the flush failed")
}

fn connect_error(e: io::Error) -> Error {
    Error::new(ErrorKind::Connect, e)
}

mod blocking {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpStream;

    #[derive(Debug)]
    struct Stream {
        tcp: TcpStream,
        behaviour: Behaviour,
        held: Vec<u8>,
    }

    impl Read for Stream {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.tcp.read(buf)
        }
    }

    impl Write for Stream {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            match &self.behaviour {
                Behaviour::HeldUntilFlush => {
                    self.held.extend_from_slice(buf);
                    Ok(buf.len())
                }
                Behaviour::Counted(writes) => {
                    writes.lock().unwrap().push(1);
                    self.tcp.write(buf)
                }
                Behaviour::FailsToFlush(_) => self.tcp.write(buf),
            }
        }

        fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
            match &self.behaviour {
                Behaviour::Counted(writes) => {
                    writes.lock().unwrap().push(pieces(bufs));
                    self.tcp.write_vectored(bufs)
                }
                _ => self.write(first(bufs)),
            }
        }

        fn flush(&mut self) -> io::Result<()> {
            match self.behaviour {
                Behaviour::HeldUntilFlush => {
                    self.tcp.write_all(&self.held)?;
                    self.held.clear();
                    Ok(())
                }
                Behaviour::Counted(_) => self.tcp.flush(),
                Behaviour::FailsToFlush(kind) => Err(flush_failed(kind)),
            }
        }
    }

    impl duet_blocking::Io for Stream {}

    #[derive(Debug)]
    pub(super) struct Custom(pub(super) SocketAddr, pub(super) Behaviour);

    impl duet_blocking::Transport for Custom {
        fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_blocking::Io>, Error> {
            let tcp = TcpStream::connect(self.0).map_err(connect_error)?;
            Ok(Box::new(Stream {
                tcp,
                behaviour: self.1.clone(),
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
    struct Stream {
        tcp: TcpStream,
        behaviour: Behaviour,
        held: Vec<u8>,
    }

    impl AsyncRead for Stream {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            Pin::new(&mut self.tcp).poll_read(cx, buf)
        }
    }

    impl AsyncWrite for Stream {
        fn poll_write(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            let this = &mut *self;
            match &this.behaviour {
                Behaviour::HeldUntilFlush => {
                    this.held.extend_from_slice(buf);
                    Poll::Ready(Ok(buf.len()))
                }
                Behaviour::Counted(writes) => {
                    writes.lock().unwrap().push(1);
                    Pin::new(&mut this.tcp).poll_write(cx, buf)
                }
                Behaviour::FailsToFlush(_) => Pin::new(&mut this.tcp).poll_write(cx, buf),
            }
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[io::IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            if let Behaviour::Counted(writes) = &self.behaviour {
                writes.lock().unwrap().push(pieces(bufs));
                return Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
            }
            self.poll_write(cx, first(bufs))
        }

        fn is_write_vectored(&self) -> bool {
            matches!(self.behaviour, Behaviour::Counted(_))
        }

        fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            let this = &mut *self;
            match this.behaviour {
                Behaviour::HeldUntilFlush => {
                    while !this.held.is_empty() {
                        let n = ready!(Pin::new(&mut this.tcp).poll_write(cx, &this.held))?;
                        this.held.drain(..n);
                    }
                    Poll::Ready(Ok(()))
                }
                Behaviour::Counted(_) => Pin::new(&mut this.tcp).poll_flush(cx),
                Behaviour::FailsToFlush(kind) => Poll::Ready(Err(flush_failed(kind))),
            }
        }

        fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            if let Behaviour::HeldUntilFlush = self.behaviour {
                ready!(self.as_mut().poll_flush(cx))?;
            }
            Pin::new(&mut self.tcp).poll_shutdown(cx)
        }
    }

    impl duet_async::Io for Stream {}

    #[derive(Debug)]
    pub(super) struct Custom(pub(super) SocketAddr, pub(super) Behaviour);

    #[duet_async::async_trait]
    impl duet_async::Transport for Custom {
        async fn connect(
            &self,
            _: &Origin,
            _: Option<Instant>,
        ) -> Result<Box<dyn duet_async::Io>, Error> {
            let tcp = TcpStream::connect(self.0).await.map_err(connect_error)?;
            Ok(Box::new(Stream {
                tcp,
                behaviour: self.1.clone(),
                held: Vec::new(),
            }))
        }
    }
}
