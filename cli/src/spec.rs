//! [`RequestSpec`]: what the flags ask for, built once and sent by either client
//! ([`crate::send`]). Files named by flags are read here (except bodies streamed from disk),
//! so both clients see the same bytes.

use std::io::Read;
use std::path::PathBuf;
use std::time::Duration;

use duet_blocking::{Method, RedirectPolicy};
use serde_json::value::RawValue;

use crate::args::{Args, AuthType, CookieArg, DataFlag, HeaderArg, PartArg};
use crate::failure::{Failure, Kind};
use crate::proxy::ProxySpec;

/// Which client sends the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// duet-blocking (the default).
    #[default]
    Blocking,
    /// duet-async, on a tokio runtime the tool builds (`--async`).
    Async,
}

/// The request body.
#[derive(Debug, Clone)]
pub enum BodySpec {
    /// `-d` and the other data flags: these bytes.
    Bytes(Vec<u8>),
    /// `--data-binary @FILE` as the whole body: the file, streamed.
    File(PathBuf),
    /// `--field k=v...`: a urlencoded form.
    Form(Vec<(String, String)>),
    /// `-F ...`: a multipart form.
    Multipart(Vec<PartArg>),
    /// `-j`: JSON text, checked and sent as given.
    Json(Box<RawValue>),
    /// `-T FILE`: the file, streamed, with no `Content-Type` of duet's.
    Upload(PathBuf),
}

/// `--retry N` and the flags that shape it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySpec {
    /// `--retry`: how many retries.
    pub max: usize,
    /// `--retry-delay`: the same wait before each, instead of backing off.
    pub delay: Option<Duration>,
    /// `--retry-max-time`: none after this long from the start.
    pub max_time: Option<Duration>,
    /// `--retry-all-errors`: every status from 400 up and every error, for every method.
    pub all_errors: bool,
}

/// Credentials for the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthSpec {
    /// `-u USER:PASS` (`--auth-type basic`).
    Basic(String, String),
    /// `-u USER:PASS --auth-type digest`.
    Digest(String, String),
    /// `--bearer TOKEN`.
    Bearer(String),
}

/// Where netrc credentials come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetrcSpec {
    /// `--netrc`: `$NETRC` or `~/.netrc`.
    Default,
    /// `--netrc-file PATH`.
    File(PathBuf),
}

/// The timeouts given on the command line (the clients' defaults for the rest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeoutSpec {
    /// `--timeout`: the whole request.
    pub total: Option<Duration>,
    /// `--connect-timeout`.
    pub connect: Option<Duration>,
    /// `--read-timeout`.
    pub read: Option<Duration>,
}

/// TLS material and settings, files already read.
#[derive(Debug, Clone, Default)]
pub struct TlsSpec {
    /// `--cacert`: extra roots, PEM.
    pub ca_pem: Option<Vec<u8>>,
    /// `--cert` and `--key`: a client identity, PEM.
    pub identity_pem: Option<(Vec<u8>, Vec<u8>)>,
    /// `--insecure`.
    pub insecure: bool,
    /// `--tlsv1.3`: the oldest version offered.
    pub min_version: Option<duet_blocking::TlsVersion>,
    /// `--tls-max`: the newest version offered.
    pub max_version: Option<duet_blocking::TlsVersion>,
}

/// One request as the flags describe it.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    /// The client that sends it.
    pub flavour: Flavour,
    /// The method.
    pub method: Method,
    /// The URL as given (with `http://` added when it had no scheme); the client parses it.
    pub url: String,
    /// `-H`, in order, and the fields curl's flags add.
    pub headers: Vec<(String, String)>,
    /// Header names given as `-H 'Name:'` (or `-A ''`): left out, as curl leaves them.
    pub omit: Vec<String>,
    /// `-q`, in order.
    pub query: Vec<(String, String)>,
    /// The body, if any.
    pub body: Option<BodySpec>,
    /// Credentials for the server, if any.
    pub auth: Option<AuthSpec>,
    /// netrc credentials, if asked for.
    pub netrc: Option<NetrcSpec>,
    /// `-b NAME=VALUE`, for this request's origin only.
    pub cookies: Vec<(String, String)>,
    /// `-b FILE`: cookie files read into the jar (never written).
    pub cookie_files: Vec<PathBuf>,
    /// `-c`: the jar file.
    pub cookie_jar: Option<PathBuf>,
    /// `--no-follow`, `--max-redirects`.
    pub redirect: RedirectPolicy,
    /// Timeouts.
    pub timeouts: TimeoutSpec,
    /// TLS.
    pub tls: TlsSpec,
    /// Proxy flags.
    pub proxy: ProxySpec,
    /// `--resolve`: addresses fixed per host name and port.
    pub resolve: Vec<(String, u16, Vec<std::net::IpAddr>)>,
    /// `--interface` with an address: the local address to connect from.
    pub local_address: Option<std::net::IpAddr>,
    /// `--interface` with a name: the network interface to connect through.
    pub interface: Option<String>,
    /// `--keepalive-time`: TCP keep-alive's idle time.
    pub keepalive: Option<std::time::Duration>,
    /// `--unix-socket`: the socket every request goes to.
    pub unix_socket: Option<PathBuf>,
    /// `--retry` and its companions.
    pub retry: Option<RetrySpec>,
    /// `--raw`: no content decoding.
    pub raw: bool,
    /// `-v`: request and response heads on stderr (the log records are the logger's).
    pub verbose: bool,
}

impl RequestSpec {
    /// The request `args` describe for `url`; fails on unreadable files or a `-j` that is not
    /// JSON, before anything is sent. The proxy flags are kept as given: whether they can be
    /// honoured is decided when the client is built ([`crate::proxy`]).
    pub fn from_args(args: &Args, url: &str) -> Result<RequestSpec, Failure> {
        let body = body(args)?;
        let fields = header_fields(args)?;
        let method = match &args.method {
            Some(method) => method.clone(),
            None if args.head => Method::HEAD,
            None if matches!(body, Some(BodySpec::Upload(_))) => Method::PUT,
            None if body.is_some() => Method::POST,
            None => Method::GET,
        };
        Ok(RequestSpec {
            flavour: match args.use_async {
                true => Flavour::Async,
                false => Flavour::Blocking,
            },
            method,
            url: with_data_query(
                upload_url(with_scheme(url), args.upload_file.as_deref()),
                args,
            )?,
            headers: headers(args, &fields, body.as_ref()),
            omit: omitted(args, &fields),
            query: args.query.clone(),
            body,
            auth: auth(args),
            netrc: match (&args.netrc_file, args.netrc) {
                (Some(path), _) => Some(NetrcSpec::File(path.clone())),
                (None, true) => Some(NetrcSpec::Default),
                (None, false) => None,
            },
            cookies: args
                .cookies
                .iter()
                .flat_map(|c| match c {
                    CookieArg::Pairs(pairs) => pairs.as_slice(),
                    CookieArg::File(_) => &[],
                })
                .cloned()
                .collect(),
            cookie_files: args
                .cookies
                .iter()
                .filter_map(|c| match c {
                    CookieArg::File(path) => Some(path.clone()),
                    CookieArg::Pairs(_) => None,
                })
                .collect(),
            cookie_jar: args.cookie_jar.clone(),
            redirect: match (args.no_follow, args.max_redirects) {
                (true, _) => RedirectPolicy::none(),
                (false, Some(max)) => RedirectPolicy::limited(max),
                (false, None) => RedirectPolicy::default(),
            },
            timeouts: TimeoutSpec {
                total: args.timeout,
                connect: args.connect_timeout,
                read: args.read_timeout,
            },
            tls: tls(args)?,
            proxy: ProxySpec::from_args(args),
            resolve: args.resolve.clone(),
            // -4 and -6 connect from the unspecified address of their family, which keeps
            // the host's addresses of that family only (httpx's way to the same end).
            local_address: match (&args.interface, args.ipv4, args.ipv6) {
                (Some(crate::args::Interface::Address(ip)), ..) => Some(*ip),
                (_, true, _) => Some(std::net::Ipv4Addr::UNSPECIFIED.into()),
                (_, _, true) => Some(std::net::Ipv6Addr::UNSPECIFIED.into()),
                _ => None,
            },
            interface: match &args.interface {
                Some(crate::args::Interface::Name(name)) => Some(name.clone()),
                _ => None,
            },
            keepalive: args.keepalive_time,
            unix_socket: args.unix_socket.clone(),
            retry: args.retry.map(|max| RetrySpec {
                max,
                delay: args.retry_delay,
                max_time: args.retry_max_time,
                all_errors: args.retry_all_errors,
            }),
            raw: args.raw,
            verbose: args.verbose,
        })
    }
}

/// `http://` in front of a URL that names no scheme (`127.0.0.1:8000/x`), as httpie does.
fn with_scheme(url: &str) -> String {
    if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    }
}

/// `-H` headers, then the ones duet adds as curl does, unless `-H` gave the same name:
/// `-A`, `-r`, `-e` and `-z` as `User-Agent`, `Range`, `Referer` and `If-Modified-Since` (or
/// `If-Unmodified-Since`); a `-d` body labelled as a
/// form (a curl habit posting a form with `-d` reaches the server as one); `-j` asking for
/// JSON back, as curl's `--json`.
fn headers(args: &Args, fields: &[Field], body: Option<&BodySpec>) -> Vec<(String, String)> {
    let form = matches!(body, Some(BodySpec::Bytes(_) | BodySpec::File(_)));
    let json = matches!(body, Some(BodySpec::Json(_)));
    let range = match (&args.range, args.resume_from()) {
        (Some(range), _) => Some(format!("bytes={range}")),
        (None, 0) => None,
        (None, from) => Some(format!("bytes={from}-")),
    };
    let condition = args.time_condition.map(|c| c.header());
    let added = [
        ("User-Agent", args.user_agent.as_deref()),
        ("Range", range.as_deref()),
        ("Referer", args.referer.as_deref()),
        (
            "Content-Type",
            form.then_some("application/x-www-form-urlencoded"),
        ),
        ("Accept", json.then_some("application/json")),
        match &condition {
            Some((name, date)) => (*name, Some(date.as_str())),
            None => ("If-Modified-Since", None),
        },
    ];
    let mut headers: Vec<(String, String)> = fields
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), value.clone()?)))
        .collect();
    for (name, value) in added {
        let given = fields.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
        if let (Some(value), false) = (value.filter(|v| !v.is_empty()), given) {
            headers.push((name.to_owned(), value.to_owned()));
        }
    }
    headers
}

/// A `-H` field: `None` for one left out.
type Field = (String, Option<String>);

/// The `-H` fields in order, a file's read in its place: a field per line (blank lines
/// skipped, CR LF line ends too), as curl's `-H @FILE`.
fn header_fields(args: &Args) -> Result<Vec<Field>, Failure> {
    let mut fields = Vec::new();
    for arg in &args.headers {
        let path = match arg {
            HeaderArg::Field(name, value) => {
                fields.push((name.clone(), value.clone()));
                continue;
            }
            HeaderArg::File(path) => path,
        };
        let shown = path.display();
        let bytes = match path.as_os_str() == "-" {
            true => read_stdin()?,
            false => std::fs::read(path)
                .map_err(|e| Failure::new(Kind::InvalidHeader, format!("-H @{shown}: {e}")))?,
        };
        let text = String::from_utf8(bytes)
            .map_err(|_| Failure::new(Kind::InvalidHeader, format!("-H @{shown}: not UTF-8")))?;
        for line in text.lines().filter(|line| !line.trim().is_empty()) {
            let field = crate::args::header(line)
                .map_err(|e| Failure::new(Kind::InvalidHeader, format!("-H @{shown}: {e}")))?;
            fields.push(field);
        }
    }
    Ok(fields)
}

/// The headers left out: `-H 'Name:'`, and `-A ''` (curl's way to send no User-Agent).
fn omitted(args: &Args, fields: &[Field]) -> Vec<String> {
    let mut omit: Vec<String> = fields
        .iter()
        .filter(|(_, value)| value.is_none())
        .map(|(name, _)| name.clone())
        .collect();
    if args.user_agent.as_deref() == Some("") {
        omit.push("User-Agent".to_owned());
    }
    omit
}

fn auth(args: &Args) -> Option<AuthSpec> {
    match (&args.user, &args.bearer) {
        (Some((user, pass)), _) => Some(match args.auth_type_flagged() {
            AuthType::Basic => AuthSpec::Basic(user.clone(), pass.clone()),
            AuthType::Digest => AuthSpec::Digest(user.clone(), pass.clone()),
        }),
        (None, Some(token)) => Some(AuthSpec::Bearer(token.clone())),
        (None, None) => None,
    }
}

fn body(args: &Args) -> Result<Option<BodySpec>, Failure> {
    match args.data.0.as_slice() {
        [] => {}
        _ if args.get => return Ok(None), // the query carries it
        // A file that is the whole body as it is, is streamed; a missing one is reported now,
        // before anything is sent.
        [(DataFlag::Binary, data)] if data.starts_with('@') && data != "@-" => {
            let path = &data[1..];
            std::fs::metadata(path).map_err(|e| body_error(path, e))?;
            return Ok(Some(BodySpec::File(PathBuf::from(path))));
        }
        pieces => return Ok(Some(BodySpec::Bytes(joined_data(pieces)?))),
    }
    if let Some(json) = &args.json {
        let text = match json.strip_prefix('@') {
            Some("-") => String::from_utf8(read_stdin()?)
                .map_err(|_| Failure::new(Kind::Body, "-j: standard input is not UTF-8"))?,
            Some(path) => std::fs::read_to_string(path).map_err(|e| body_error(path, e))?,
            None => json.clone(),
        };
        let raw = RawValue::from_string(text.trim().to_owned())
            .map_err(|e| Failure::new(Kind::Body, format!("-j is not JSON: {e}")))?;
        return Ok(Some(BodySpec::Json(raw)));
    }
    if let Some(path) = &args.upload_file {
        if path.as_os_str() != "-" {
            let shown = path.display().to_string();
            std::fs::metadata(path).map_err(|e| body_error(&shown, e))?;
        }
        return Ok(Some(BodySpec::Upload(path.clone())));
    }
    if !args.form.is_empty() {
        return Ok(Some(BodySpec::Form(args.form.clone())));
    }
    if !args.part.is_empty() {
        return Ok(Some(BodySpec::Multipart(args.part.clone())));
    }
    Ok(None)
}

/// curl's data flags' pieces, each read and encoded as its flag says, joined with `&`.
fn joined_data(pieces: &[(DataFlag, String)]) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    for (i, (flag, arg)) in pieces.iter().enumerate() {
        if i > 0 {
            body.push(b'&');
        }
        match flag {
            DataFlag::Raw => body.extend_from_slice(arg.as_bytes()),
            DataFlag::Data | DataFlag::Binary => match arg.strip_prefix('@') {
                Some(source) => {
                    let bytes = read_source(source)?;
                    match flag {
                        DataFlag::Data => {
                            body.extend(bytes.into_iter().filter(|b| !matches!(b, b'\r' | b'\n')))
                        }
                        _ => body.extend_from_slice(&bytes),
                    }
                }
                None => body.extend_from_slice(arg.as_bytes()),
            },
            DataFlag::UrlEncode => {
                // As curl: up to the first '=' is a name; without one, up to an '@', which
                // then names a file.
                let (name, content) = match (arg.split_once('='), arg.split_once('@')) {
                    (Some((name, text)), _) => (name, text.as_bytes().to_vec()),
                    (None, Some((name, source))) => (name, read_source(source)?),
                    (None, None) => ("", arg.as_bytes().to_vec()),
                };
                if !name.is_empty() {
                    body.extend_from_slice(name.as_bytes());
                    body.push(b'=');
                }
                // As curl: a space is `+`, as in a form.
                body.extend_from_slice(percent_encoded(&content, "+").as_bytes());
            }
        }
    }
    Ok(body)
}

/// A file's bytes, or standard input's for `-`.
fn read_source(source: &str) -> Result<Vec<u8>, Failure> {
    match source {
        "-" => read_stdin(),
        path => std::fs::read(path).map_err(|e| body_error(path, e)),
    }
}

/// `bytes` with every byte but the unreserved ones (RFC 3986 §2.3) as `%XX`, as curl encodes,
/// and a space as `space` (`%20` in a path, `+` in a form).
fn percent_encoded(bytes: &[u8], space: &str) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &byte in bytes {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(char::from(byte));
            }
            b' ' => out.push_str(space),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// With `-G`, the data pieces joined as the URL's query (after any it has), as curl's.
fn with_data_query(url: String, args: &Args) -> Result<String, Failure> {
    if !args.get || args.data.0.is_empty() {
        return Ok(url);
    }
    let query = String::from_utf8(joined_data(&args.data.0)?)
        .map_err(|_| Failure::new(Kind::Body, "-G: the data is not UTF-8"))?;
    let (url, fragment) = match url.split_once('#') {
        Some((url, fragment)) => (url, Some(fragment)),
        None => (url.as_str(), None),
    };
    let separator = match url.contains('?') {
        true if url.ends_with('?') || url.ends_with('&') => "",
        true => "&",
        false => "?",
    };
    let mut url = format!("{url}{separator}{query}");
    if let Some(fragment) = fragment {
        url = format!("{url}#{fragment}");
    }
    Ok(url)
}

/// With `-T`, a URL ending in `/` names a directory: the file's name goes after it, as curl
/// does.
fn upload_url(url: String, upload: Option<&std::path::Path>) -> String {
    let name = upload
        .filter(|p| p.as_os_str() != "-")
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy());
    match name {
        Some(name) if url.ends_with('/') && !url.contains('?') => {
            url + &percent_encoded(name.as_bytes(), "%20")
        }
        _ => url,
    }
}

fn read_stdin() -> Result<Vec<u8>, Failure> {
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| Failure::new(Kind::Body, format!("reading standard input: {e}")))?;
    Ok(bytes)
}

fn body_error(path: &str, e: std::io::Error) -> Failure {
    Failure::new(Kind::Body, format!("{path}: {e}"))
}

fn tls(args: &Args) -> Result<TlsSpec, Failure> {
    let read = |path: &PathBuf| {
        std::fs::read(path).map_err(|e| Failure::new(Kind::Tls, format!("{}: {e}", path.display())))
    };
    Ok(TlsSpec {
        ca_pem: args.cacert.as_ref().map(read).transpose()?,
        identity_pem: match (&args.cert, &args.key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            _ => None,
        },
        insecure: args.insecure,
        min_version: args.tls13.then_some(duet_blocking::TlsVersion::Tls1_3),
        max_version: args.tls_max,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn spec(args: &[&str]) -> Result<RequestSpec, Failure> {
        let args = Args::try_parse_from(std::iter::once("duet").chain(args.iter().copied()))
            .expect("valid flags");
        let url = args.url.clone().expect("a URL");
        RequestSpec::from_args(&args, &url)
    }

    #[test]
    fn method_follows_the_body() {
        assert_eq!(spec(&["h/"]).unwrap().method, Method::GET);
        assert_eq!(
            spec(&["--field", "a=1", "h/"]).unwrap().method,
            Method::POST
        );
        assert_eq!(
            spec(&["-X", "PUT", "-d", "x", "h/"]).unwrap().method,
            Method::PUT
        );
    }

    #[test]
    fn upload_file_puts_and_names_a_directory_url() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a b?.txt");
        std::fs::write(&path, "x").unwrap();
        let file = path.to_str().unwrap();
        let upload = spec(&["-T", file, "h/dir/"]).unwrap();
        assert_eq!(
            (upload.method, upload.url.as_str()),
            (Method::PUT, "http://h/dir/a%20b%3F.txt")
        );
        assert!(matches!(upload.body, Some(BodySpec::Upload(_))));
        assert_eq!(spec(&["-T", file, "h/x"]).unwrap().url, "http://h/x");
        assert_eq!(
            spec(&["-T", "-", "h/dir/"]).unwrap().url,
            "http://h/dir/",
            "stdin has no name"
        );
        assert_eq!(
            spec(&["-T", file, "-X", "POST", "h/x"]).unwrap().method,
            Method::POST
        );
        let missing = dir.path().join("missing");
        assert_eq!(
            spec(&["-T", missing.to_str().unwrap(), "h/"])
                .unwrap_err()
                .kind,
            Kind::Body
        );
    }

    #[test]
    fn curls_spellings_of_common_flags() {
        let spec = spec(&[
            "-A",
            "agent/1",
            "-e",
            "http://h/from",
            "-m",
            "2.5",
            "--max-redirs",
            "3",
            "--http1.1",
            "h/",
        ])
        .unwrap();
        assert_eq!(
            spec.headers,
            [
                ("User-Agent".to_owned(), "agent/1".to_owned()),
                ("Referer".to_owned(), "http://h/from".to_owned())
            ]
        );
        assert_eq!(
            spec.timeouts.total,
            Some(std::time::Duration::from_millis(2500))
        );
        assert_eq!(spec.redirect.max, 3);
        let spec = spec_of(&["-A", "agent/1", "-H", "user-agent: mine", "h/"]);
        assert_eq!(
            spec.headers,
            [("user-agent".to_owned(), "mine".to_owned())],
            "-H wins"
        );
        assert!(matches!(
            spec_of(&["-u", "a:b", "--digest", "h/"]).auth,
            Some(AuthSpec::Digest(..))
        ));
        assert!(matches!(
            spec_of(&["-u", "a:b", "--basic", "h/"]).auth,
            Some(AuthSpec::Basic(..))
        ));
        let proxied = spec_of(&["-x", "http://p:3128", "-U", "pu:pp", "--proxy-digest", "h/"]);
        assert_eq!(proxied.proxy.auth_type, AuthType::Digest);
        assert_eq!(
            proxied.proxy.credentials,
            Some(("pu".to_owned(), "pp".to_owned()))
        );
        for wrong in [
            &["--digest", "h/"][..],
            &["-u", "a:b", "--digest", "--auth-type", "basic", "h/"],
        ] {
            let parsed = Args::try_parse_from(std::iter::once("duet").chain(wrong.iter().copied()));
            assert!(parsed.is_err(), "{wrong:?}");
        }
    }

    fn spec_of(args: &[&str]) -> RequestSpec {
        spec(args).unwrap()
    }

    #[test]
    fn urls_get_a_scheme_when_they_have_none() {
        assert_eq!(
            spec(&["127.0.0.1:80/x"]).unwrap().url,
            "http://127.0.0.1:80/x"
        );
        assert_eq!(spec(&["https://h/x"]).unwrap().url, "https://h/x");
    }

    #[test]
    fn json_is_checked_and_kept_as_given() {
        let Some(BodySpec::Json(raw)) = spec(&["-j", " {\"a\": [1, 2]}\n", "h/"]).unwrap().body
        else {
            panic!("a JSON body")
        };
        assert_eq!(raw.get(), "{\"a\": [1, 2]}");
        let bad = spec(&["-j", "{nope", "h/"]).unwrap_err();
        assert_eq!(bad.kind, Kind::Body);
        let missing = spec(&["-j", "@/nonexistent/duet.json", "h/"]).unwrap_err();
        assert_eq!(missing.kind, Kind::Body);
    }

    #[test]
    fn files_are_checked_before_sending() {
        let missing = spec(&["-d", "@/nonexistent/duet", "h/"]).unwrap_err();
        assert_eq!(missing.kind, Kind::Body);
        let cacert = spec(&["--cacert", "/nonexistent/ca.pem", "h/"]).unwrap_err();
        assert_eq!(cacert.kind, Kind::Tls);
    }

    #[test]
    fn only_a_whole_binary_body_from_a_file_is_streamed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("body.bin");
        std::fs::write(&path, "a\nb\n").unwrap();
        let file = format!("@{}", path.to_str().unwrap());
        let body = |args: &[&str]| spec(&[args, &["h/"]].concat()).unwrap().body;
        assert!(
            matches!(body(&["--data-binary", &file]), Some(BodySpec::File(p)) if p == path),
            "streamed"
        );
        // Read whole: -d's file loses its newlines, a piece joins others, and a value not
        // starting with @ is the body itself.
        for args in [
            &["-d", &file][..],
            &["--data-binary", &file, "--data-binary", "x"],
            &["--data-binary", "x", "--data-binary", &file],
            &["--data-binary", "xyz"],
        ] {
            assert!(
                matches!(body(args), Some(BodySpec::Bytes(_))),
                "{args:?}: {:?}",
                body(args)
            );
        }
        let Some(BodySpec::Bytes(bytes)) = body(&["-d", &file]) else {
            unreachable!()
        };
        assert_eq!(bytes, b"ab");
    }

    #[test]
    fn ip_version_flags_bind_the_unspecified_address_of_their_family() {
        let local = |args: &[&str]| spec(&[args, &["h/"]].concat()).unwrap().local_address;
        assert_eq!(local(&[]), None);
        assert_eq!(local(&["-4"]), Some(std::net::Ipv4Addr::UNSPECIFIED.into()));
        assert_eq!(local(&["-6"]), Some(std::net::Ipv6Addr::UNSPECIFIED.into()));
        let own = "192.0.2.7".parse::<std::net::IpAddr>().unwrap();
        assert_eq!(local(&["--interface", "192.0.2.7"]), Some(own));
    }

    #[test]
    fn get_puts_the_data_after_any_query_the_url_has() {
        let url = |target: &str| spec(&["-G", "-d", "a=1", "-d", "b", target]).unwrap().url;
        assert_eq!(url("h/x"), "http://h/x?a=1&b");
        assert_eq!(url("h/x?q=2"), "http://h/x?q=2&a=1&b");
        assert_eq!(url("h/x?"), "http://h/x?a=1&b");
        assert_eq!(url("h/x?q=2&"), "http://h/x?q=2&a=1&b");
        assert_eq!(url("h/x?q=2#top"), "http://h/x?q=2&a=1&b#top");
    }

    #[test]
    fn redirects_and_auth() {
        assert!(!spec(&["--no-follow", "h/"]).unwrap().redirect.follow);
        assert_eq!(
            spec(&["--max-redirects", "2", "h/"]).unwrap().redirect.max,
            2
        );
        assert_eq!(
            spec(&["-u", "a:b", "--auth-type", "digest", "h/"])
                .unwrap()
                .auth,
            Some(AuthSpec::Digest("a".into(), "b".into()))
        );
        assert_eq!(
            spec(&["--bearer", "t", "h/"]).unwrap().auth,
            Some(AuthSpec::Bearer("t".into()))
        );
    }
}
