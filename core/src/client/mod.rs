//! What a client decides around the wire protocol, shared by both drivers: one request's life
//! as a [`Call`], connection reuse as a [`Pool`], configuration, and the [`Error`] both
//! clients return.

mod builder;
mod call;
mod config;
pub(crate) mod dial;
mod error;
mod origin;
mod pool;
mod response;
mod retry;
mod setup;
#[cfg(feature = "rustls")]
mod tls;

pub use builder::{ClientBuilder, Driver, Request, RequestBuilder};
pub use call::{Action, BodyPlan, Call, ConnectTo, HistoryEntry, ReceiveInto, RequestParts};
pub use config::{
    ClientConfig, Hooks, PoolConfig, RequestHook, ResponseHook, Timeouts, TlsSettings, TlsVersion,
    accept_encoding,
};
pub use dial::{Dial, DialConfig, DialStep, is_interface_name};
pub use error::{Error, ErrorKind, TimeoutPhase, is_reset};
pub use origin::{IntoUrl, Origin, PoolKey, RedactedUrl, Scheme};
pub use pool::{Checkout, Pool};
pub use response::ResponseInfo;
pub use retry::{Attempt, RetryDecision, RetryPolicy, RetryState};
pub use setup::{Settled, settle};
#[cfg(feature = "rustls")]
pub use tls::{
    LazyTls, LoadedRoots, RootLoaders, describe_tls_error, rustls_config, server_name, tls_is_quiet,
};
