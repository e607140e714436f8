//! Sending a [`RequestSpec`] with either client.
//!
//! Both clients are configured by duet-core's shared builders, so configuring is written
//! once, generic over the driver ([`client`], [`request`]); a [`DriverExt`] adds the two
//! things the drivers spell differently (a file body, a multipart form). What remains per
//! client is the short loop that sends and reads the body into an [`Output`]:
//! [`send_blocking`] and [`send_async`].

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use duet_blocking::core::client::{ClientBuilder, Driver, RequestBuilder, RetryPolicy};
use duet_blocking::{Cookie, ResponseInfo, SharedJar, TimeoutPhase};

use crate::args::PartArg;
use crate::failure::{Failure, Kind};
use crate::output::Output;
use crate::spec::{AuthSpec, BodySpec, Flavour, NetrcSpec, RequestSpec};
use crate::{jar, proxy, verbose};

/// What one request came to.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The final response's head, if one arrived.
    pub response: Option<ResponseInfo>,
    /// The body, when it was kept in memory.
    pub body: Option<Vec<u8>>,
    /// The cookies in the jar afterwards (expired ones left out).
    pub cookies: Vec<Cookie>,
    /// What failed, if anything.
    pub error: Option<Failure>,
    /// From building the client to the end of the body (or the failure).
    pub elapsed: Duration,
    /// The body bytes received (decoded unless `--raw`).
    pub size_download: u64,
    /// The file the body went to (`-o`, `-O`, or the name `-J` took), if one was made.
    pub filename: Option<std::path::PathBuf>,
}

/// The retry policy `--retry` and its companions ask for: the safe rules by default, as
/// curl's `--retry`; `--retry-delay` a fixed wait; `--retry-max-time` the budget;
/// `--retry-all-errors` every 4xx/5xx and every error for every method (the body must still
/// be one that can be sent again).
fn retry_policy(retry: crate::spec::RetrySpec) -> RetryPolicy {
    let mut policy = RetryPolicy::none();
    policy.max_retries = retry.max;
    if let Some(delay) = retry.delay {
        (policy.backoff_base, policy.backoff_max, policy.jitter) = (delay, delay, false);
    }
    if let Some(max_time) = retry.max_time {
        policy.total_budget = Some(max_time);
    }
    if retry.all_errors {
        policy.statuses = (400..=599).collect();
        policy
            .methods
            .extend([duet_blocking::Method::POST, duet_blocking::Method::PATCH]);
    }
    policy
}

/// Sends `spec` with the client it names, into `output`; loads and saves the cookie jar
/// around it and, with `fail`, turns a 4xx/5xx status into a failure of kind `status`.
pub fn perform(spec: &RequestSpec, fail: bool, output: &mut Output) -> Outcome {
    let started = Instant::now();
    let jar = match jar::load_all(spec.cookie_jar.as_deref(), &spec.cookie_files) {
        Ok(jar) => jar,
        Err(failure) => return Outcome::failed(failure, started),
    };
    let sent = match spec.flavour {
        Flavour::Blocking => send_blocking(spec, &jar, output),
        Flavour::Async => send_async(spec, &jar, output),
    };
    let elapsed = started.elapsed();
    let finished = output.finish(sent.is_ok());
    let saved = match &spec.cookie_jar {
        Some(path) => jar::save(path, &jar),
        None => Ok(()),
    };
    let status = match (fail, output.response()) {
        (true, Some(info)) => info
            .error_for_status_ref()
            .map_or(Ok(()), |e| Err(e.into())),
        _ => Ok(()),
    };
    let now = std::time::SystemTime::now();
    Outcome {
        response: output.response().cloned(),
        body: output.body().map(<[u8]>::to_vec),
        cookies: jar
            .cookies()
            .into_iter()
            .filter(|c| !c.is_expired(now))
            .collect(),
        error: sent.and(finished).and(saved).and(status).err(),
        elapsed,
        size_download: output.received(),
        filename: output.file_written().map(std::path::Path::to_path_buf),
    }
}

impl Outcome {
    /// An outcome with no response: `failure` happened before anything was sent.
    pub fn failed(failure: Failure, started: Instant) -> Outcome {
        Outcome {
            response: None,
            body: None,
            cookies: Vec::new(),
            error: Some(failure),
            elapsed: started.elapsed(),
            size_download: 0,
            filename: None,
        }
    }
}

/// What the two drivers spell differently when a request is configured.
pub trait DriverExt: Driver {
    /// A body streamed from a file.
    fn file_body(file: File) -> Self::Body;
    /// A body streamed from standard input, chunked (read once).
    fn stdin_body() -> Self::Body;
    /// A multipart form of `parts` (files are streamed when the body is sent).
    fn form(parts: &[PartArg]) -> Result<Self::Form, duet_blocking::Error>;
    /// A transport to the Unix domain socket at `path`.
    #[cfg(unix)]
    fn unix_socket(path: &Path) -> Arc<Self::Transport>;
}

/// The multipart form of `-F`'s `parts`, with `$flavour`'s `Form` and `Part` (the same API
/// in both crates, so written once).
macro_rules! form_of {
    ($flavour:ident, $parts:expr) => {{
        use $flavour::multipart::{Form, Part};
        let mut form = Form::new();
        for part in $parts {
            form = match part {
                PartArg::Text { name, value } => form.text(name, value),
                PartArg::Contents { name, path, mime } => {
                    let read = std::fs::read(path).map_err(|e| {
                        let message = format!("-F <{}: {e}", path.display());
                        $flavour::Error::msg($flavour::ErrorKind::Body, message)
                    })?;
                    let mut value = Part::bytes(read);
                    if let Some(mime) = mime {
                        value = value.mime(mime)?;
                    }
                    form.part(name, value)
                }
                PartArg::File {
                    name,
                    path,
                    mime,
                    filename,
                } => {
                    let mut file = Part::file(path)?;
                    if let Some(filename) = filename {
                        file = file.file_name(filename);
                    }
                    if let Some(mime) = mime {
                        file = file.mime(mime)?;
                    }
                    form.part(name, file)
                }
            };
        }
        Ok(form)
    }};
}

impl DriverExt for duet_blocking::Blocking {
    fn file_body(file: File) -> Self::Body {
        file.into()
    }

    fn stdin_body() -> Self::Body {
        duet_blocking::Body::from_reader(std::io::stdin(), None)
    }

    #[cfg(unix)]
    fn unix_socket(path: &Path) -> Arc<Self::Transport> {
        Arc::new(duet_blocking::transports::UnixSocket::new(path))
    }

    fn form(parts: &[PartArg]) -> Result<Self::Form, duet_blocking::Error> {
        form_of!(duet_blocking, parts)
    }
}

impl DriverExt for duet_async::Async {
    fn file_body(file: File) -> Self::Body {
        file.into()
    }

    fn stdin_body() -> Self::Body {
        duet_async::Body::from_reader(tokio::io::stdin(), None)
    }

    #[cfg(unix)]
    fn unix_socket(path: &Path) -> Arc<Self::Transport> {
        Arc::new(duet_async::transports::UnixSocket::new(path))
    }

    fn form(parts: &[PartArg]) -> Result<Self::Form, duet_async::Error> {
        form_of!(duet_async, parts)
    }
}

/// A client configured as `spec` says, keeping cookies in `jar`.
pub fn client<D: DriverExt>(spec: &RequestSpec, jar: &SharedJar) -> Result<D::Client, Failure> {
    let mut builder = ClientBuilder::<D>::new()
        .cookie_jar(jar.clone())
        .redirect(spec.redirect.clone())
        .decompress(!spec.raw)
        .danger_accept_invalid_certs(spec.tls.insecure);
    let timeouts = &spec.timeouts;
    if let Some(total) = timeouts.total {
        builder = builder.timeout(total);
    }
    if let Some(connect) = timeouts.connect {
        builder = builder.connect_timeout(connect);
    }
    if let Some(read) = timeouts.read {
        builder = builder.read_timeout(read);
    }
    for (host, port, addrs) in &spec.resolve {
        builder = builder.resolve_for_port(host, *port, addrs);
    }
    builder = builder
        .local_address(spec.local_address)
        .tcp_keepalive(spec.keepalive);
    if let Some(name) = &spec.interface {
        builder = builder.interface(name);
    }
    if let Some(path) = &spec.unix_socket {
        #[cfg(unix)]
        {
            builder = builder.mount("all://", D::unix_socket(path));
        }
        #[cfg(not(unix))]
        return Err(Failure::new(
            Kind::Connect,
            format!(
                "--unix-socket {}: Unix domain sockets need a Unix system",
                path.display()
            ),
        ));
    }
    if let Some(retry) = spec.retry {
        builder = builder.retry(retry_policy(retry));
    }
    if let Some(version) = spec.tls.min_version {
        builder = builder.min_tls_version(version);
    }
    if let Some(version) = spec.tls.max_version {
        builder = builder.max_tls_version(version);
    }
    if let Some(pem) = &spec.tls.ca_pem {
        builder = builder.add_root_certificate_pem(pem.clone());
    }
    if let Some((cert, key)) = &spec.tls.identity_pem {
        builder = builder.identity_pem(cert.clone(), key.clone());
    }
    builder = match &spec.netrc {
        Some(NetrcSpec::Default) => builder.netrc(None),
        Some(NetrcSpec::File(path)) => builder.netrc(Some(path.clone())),
        None => builder,
    };
    if spec.verbose {
        builder = builder
            .on_request(|_, head| verbose::show(&verbose::request_lines(head)))
            .on_response(|_, head| verbose::show(&verbose::response_lines(head)));
    }
    builder = proxy::configure(builder, &spec.proxy)?;
    Ok(builder.build()?)
}

/// The request `spec` describes, on `client`.
pub fn request<D: DriverExt>(
    client: &D::Client,
    spec: &RequestSpec,
) -> Result<RequestBuilder<D>, Failure> {
    let mut request = RequestBuilder::<D>::new(client.clone(), spec.method.clone(), &spec.url)
        .headers(spec.headers.iter().map(|(n, v)| (n, v)));
    for name in &spec.omit {
        request = request.without_header(name);
    }
    if !spec.query.is_empty() {
        request = request.query(&spec.query);
    }
    for (name, value) in &spec.cookies {
        request = request.cookie(name, value);
    }
    request = match &spec.body {
        None => request,
        Some(BodySpec::Bytes(bytes)) => request.body(bytes.clone()),
        Some(BodySpec::Upload(path)) if path.as_os_str() == "-" => request.body(D::stdin_body()),
        Some(BodySpec::File(path) | BodySpec::Upload(path)) => {
            let file = File::open(path)
                .map_err(|e| Failure::new(Kind::Body, format!("{}: {e}", path.display())))?;
            request.body(D::file_body(file))
        }
        Some(BodySpec::Form(pairs)) => request.form(pairs),
        Some(BodySpec::Multipart(parts)) => request.multipart(D::form(parts)?),
        Some(BodySpec::Json(json)) => request.json(json),
    };
    Ok(match &spec.auth {
        None => request,
        Some(AuthSpec::Basic(user, password)) => request.basic_auth(user, password),
        Some(AuthSpec::Digest(user, password)) => request.digest_auth(user, password),
        Some(AuthSpec::Bearer(token)) => request.bearer_auth(token),
    })
}

/// Sends with duet-blocking and reads the body into `output`.
pub fn send_blocking(
    spec: &RequestSpec,
    jar: &SharedJar,
    output: &mut Output,
) -> Result<(), Failure> {
    use std::io::Read;
    let client = client::<duet_blocking::Blocking>(spec, jar)?;
    let mut response = request::<duet_blocking::Blocking>(&client, spec)?.send()?;
    if !output.head(&response, response.content_length())? {
        return Ok(());
    }
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = response
            .read(&mut buffer)
            .map_err(|e| duet_blocking::Error::from_io(e, TimeoutPhase::ReadBody))?;
        if n == 0 {
            return Ok(());
        }
        output.data(&buffer[..n])?;
    }
}

/// Sends with duet-async, on a current-thread tokio runtime, and reads the body into
/// `output`.
pub fn send_async(spec: &RequestSpec, jar: &SharedJar, output: &mut Output) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(Kind::Io, format!("starting the tokio runtime: {e}")))?;
    runtime.block_on(async {
        let client = client::<duet_async::Async>(spec, jar)?;
        let mut response = request::<duet_async::Async>(&client, spec)?.send().await?;
        if !output.head(&response, response.content_length())? {
            return Ok(());
        }
        while let Some(chunk) = response.chunk().await? {
            output.data(&chunk)?;
        }
        Ok(())
    })
}
