//! The command line, as clap reads it. Syntax is checked here (a wrong command line exits
//! with 2 before anything is sent); what the flags mean is decided in [`crate::spec`].

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgGroup, Parser, ValueEnum};
use duet_blocking::Method;

use crate::time_cond::TimeCond;
use crate::write_out::WriteOut;

/// What `duet --help` prints after the options.
const AFTER_HELP: &str = "\
Without a URL, duet starts a local demo site on 127.0.0.1 and walks through a login and a few
features with both clients.

Exit codes: 0 success; 1 a failed request (see the kind on stderr); 2 a wrong command line;
3 a malformed URL; 7 connect; 18 a body cut short; 22 --fail and a 4xx/5xx status; 28 timeout;
33 -C not resumed; 35 TLS; 47 too many redirects; 52 no answer at all; 61 a body that does not
decode; 63 a body over --max-filesize.";

/// duet: an HTTP/1.1 client for the command line, over duet-blocking (or duet-async with
/// --async).
#[derive(Parser, Debug, Clone, Default)]
#[command(name = "duet", version, after_help = AFTER_HELP)]
#[command(group(ArgGroup::new("body").args(["form", "part", "json", "upload_file"])))]
#[command(group(ArgGroup::new("credentials").args(["user", "bearer"])))]
pub struct Args {
    /// The URL to request (`http://` is assumed when it has no scheme). Without one, duet runs
    /// its demo.
    pub url: Option<String>,

    /// The URL, as a flag, as curl's --url.
    #[arg(long = "url", value_name = "URL", conflicts_with = "url")]
    pub url_flag: Option<String>,

    /// The method (GET by default, POST when a body is given).
    #[arg(short = 'X', long, visible_alias = "request", value_name = "METHOD", value_parser = method)]
    pub method: Option<Method>,

    /// A request header (repeat for several). As curl's: `Name:` with no value leaves out the
    /// header duet would send (User-Agent, Accept, Accept-Encoding, the jar's Cookie,
    /// Expect, Referer); `Name;` sends it with an empty value.
    /// `@FILE` (`@-`: standard input) reads them from a file, one per line.
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE", value_parser = header_arg)]
    pub headers: Vec<HeaderArg>,

    /// The User-Agent header, as curl's -A (-H User-Agent wins).
    #[arg(short = 'A', long, value_name = "AGENT")]
    pub user_agent: Option<String>,

    /// A byte range of the body, `FIRST-LAST`, `FIRST-` or `-SUFFIX` (a `Range: bytes=`
    /// header), as curl's -r (-H Range wins).
    #[arg(short = 'r', long, value_name = "RANGE", value_parser = byte_range, allow_hyphen_values = true)]
    pub range: Option<String>,

    /// Resume a download: ask for the body from byte OFFSET on (`-`: the -o file's size) and
    /// append it to the file, as curl's -C. A server that sends the whole body instead fails
    /// the command (exit 33) and the file is left as it was.
    #[arg(short = 'C', long, value_name = "OFFSET", value_parser = continue_at, allow_hyphen_values = true, conflicts_with = "range")]
    pub continue_at: Option<ContinueAt>,

    /// Only if the document changed after DATE (If-Modified-Since), or with a leading `-`
    /// only if it did not (If-Unmodified-Since), as curl's -z: DATE as HTTP writes dates
    /// (`Sun, 06 Nov 1994 08:49:37 GMT`, or `6 Nov 1994`), or a FILE's modification time.
    /// A document that does not meet it (a 304, or a Last-Modified on the wrong side) is not
    /// written and -o's file is left as it was. Neither a date nor a file: a warning, and no
    /// condition (-H If-Modified-Since wins).
    #[arg(
        short = 'z',
        long = "time-cond",
        value_name = "[-]DATE|FILE",
        allow_hyphen_values = true
    )]
    pub time_cond: Option<String>,

    /// `-z` read (in [`crate::run`]: a file's time is read then).
    #[arg(skip)]
    pub time_condition: Option<TimeCond>,

    /// The Referer header, as curl's -e (-H Referer wins).
    #[arg(short = 'e', long, value_name = "URL")]
    pub referer: Option<String>,

    /// A query parameter appended to the URL (repeat for several).
    #[arg(short = 'q', long = "query", value_name = "K=V", value_parser = pair)]
    pub query: Vec<(String, String)>,

    /// `-d`, `--data-raw`, `--data-binary`, `--data-urlencode`, in the order given.
    #[command(flatten)]
    pub data: DataPieces,

    /// Send the -d data as the URL's query in a GET, as curl's -G.
    #[arg(short = 'G', long, requires = DATA_FLAGS, conflicts_with = "method", help_heading = "Body")]
    pub get: bool,

    /// Upload FILE with PUT (unless -X says otherwise), streamed and unlabelled, as curl's -T;
    /// a URL ending in `/` gets the file's name appended. `-` streams standard input, chunked.
    #[arg(short = 'T', long, value_name = "FILE", help_heading = "Body")]
    pub upload_file: Option<PathBuf>,

    /// A urlencoded form field, name and value encoded (repeat for several); curl's way is
    /// --data-urlencode.
    #[arg(long = "field", value_name = "K=V", value_parser = pair, help_heading = "Body")]
    pub form: Vec<(String, String)>,

    /// A multipart part: `name=value`, `name=@PATH[;type=MIME][;filename=NAME]`, or
    /// `name=<PATH[;type=MIME]` (the file's content as the value) (repeat).
    #[arg(
        short = 'F',
        long = "form",
        visible_alias = "part",
        value_name = "PART",
        value_parser = part,
        help_heading = "Body",
        help = "A multipart part, as curl's -F: name=value, name=@PATH[;type=MIME][;filename=NAME], or name=<PATH[;type=MIME] (the file's content as the value, no file name) (repeat); double quotes around PATH or NAME keep a ';' in it"
    )]
    pub part: Vec<PartArg>,

    /// A JSON body: TEXT, @FILE, or @- (standard input); sent as given once checked, with
    /// `Accept: application/json` unless -H sets an Accept, as curl's --json.
    #[arg(short = 'j', long, value_name = "TEXT|@FILE", help_heading = "Body")]
    pub json: Option<String>,

    /// Credentials for the server.
    #[arg(short = 'u', long, value_name = "USER:PASS", value_parser = credentials, help_heading = "Authentication")]
    pub user: Option<(String, String)>,

    /// How --user is sent.
    #[arg(long, value_enum, default_value_t = AuthType::Basic, requires = "user", help_heading = "Authentication")]
    pub auth_type: AuthType,

    /// --auth-type digest, as curl's --digest.
    #[arg(long, requires = "user", conflicts_with_all = ["auth_type", "basic"], help_heading = "Authentication")]
    pub digest: bool,

    /// --auth-type basic, as curl's --basic.
    #[arg(
        long,
        requires = "user",
        conflicts_with = "auth_type",
        help_heading = "Authentication"
    )]
    pub basic: bool,

    /// A bearer token (RFC 6750).
    #[arg(
        long,
        visible_alias = "oauth2-bearer",
        value_name = "TOKEN",
        help_heading = "Authentication"
    )]
    pub bearer: Option<String>,

    /// Credentials per host from $NETRC or ~/.netrc.
    #[arg(
        short = 'n',
        long,
        conflicts_with = "netrc_file",
        help_heading = "Authentication"
    )]
    pub netrc: bool,

    /// Credentials per host from this netrc file.
    #[arg(long, value_name = "PATH", help_heading = "Authentication")]
    pub netrc_file: Option<PathBuf>,

    /// Credentials for the proxy given with -x, sent only to the proxy.
    #[arg(short = 'U', long, value_name = "USER:PASS", value_parser = credentials, help_heading = "Proxy")]
    pub proxy_user: Option<(String, String)>,

    /// How --proxy-user is sent.
    #[arg(long, value_enum, default_value_t = AuthType::Basic, requires = "proxy_user", help_heading = "Proxy")]
    pub proxy_auth_type: AuthType,

    /// --proxy-auth-type digest, as curl's --proxy-digest.
    #[arg(long, requires = "proxy_user", conflicts_with_all = ["proxy_auth_type", "proxy_basic"], help_heading = "Proxy")]
    pub proxy_digest: bool,

    /// --proxy-auth-type basic, as curl's --proxy-basic.
    #[arg(
        long,
        requires = "proxy_user",
        conflicts_with = "proxy_auth_type",
        help_heading = "Proxy"
    )]
    pub proxy_basic: bool,

    /// A cookie sent to the request's own origin only, never to another origin a redirect
    /// reaches (several as a Cookie header has them: `a=1; b=2`); or, without `=`, a cookie
    /// file to read (duet's JSON or curl's), as curl's -b (repeat for several).
    #[arg(short = 'b', long = "cookie", value_name = "NAME=VALUE|FILE", value_parser = cookie_arg, help_heading = "Cookies")]
    pub cookies: Vec<CookieArg>,

    /// A cookie jar file, duet's JSON or curl's Netscape format: loaded if it exists, saved
    /// after the request in its format (a new one as curl's when named *.txt, else JSON).
    #[arg(short = 'c', long, value_name = "PATH", help_heading = "Cookies")]
    pub cookie_jar: Option<PathBuf>,

    /// Do not follow redirects.
    #[arg(long, conflicts_with = "max_redirects", help_heading = "Redirects")]
    pub no_follow: bool,

    /// Follow redirects, as curl's -L: what duet does anyway (taken for curl habits).
    #[arg(
        short = 'L',
        long,
        conflicts_with = "no_follow",
        help_heading = "Redirects"
    )]
    pub location: bool,

    /// Follow at most N redirects (default 20).
    #[arg(
        long,
        visible_alias = "max-redirs",
        value_name = "N",
        help_heading = "Redirects"
    )]
    pub max_redirects: Option<usize>,

    /// A deadline for the whole request, in seconds (fractions allowed).
    #[arg(short = 'm', long, visible_alias = "max-time", value_name = "SECS", value_parser = seconds, help_heading = "Time")]
    pub timeout: Option<Duration>,

    /// The connect timeout (DNS, TCP, TLS), in seconds (default 10).
    #[arg(long, value_name = "SECS", value_parser = seconds, help_heading = "Time")]
    pub connect_timeout: Option<Duration>,

    /// The longest wait for any read to make progress, in seconds (default 30).
    #[arg(long, value_name = "SECS", value_parser = seconds, help_heading = "Time")]
    pub read_timeout: Option<Duration>,

    /// Connect to ADDR for HOST at PORT instead of asking the resolver, as curl's --resolve
    /// (repeat for several hosts or ports). Several addresses, comma-separated, are raced as
    /// a resolver's would be; IPv6 ones in brackets. The URL, Host header and TLS keep HOST;
    /// HOST at another port (after a redirect, say) is resolved as usual.
    #[arg(long, value_name = "HOST:PORT:ADDR[,ADDR]", value_parser = resolve_entry, help_heading = "Connection")]
    pub resolve: Vec<(String, u16, Vec<IpAddr>)>,

    /// Connect through this network interface (a name, as eth0; Linux only) or from this
    /// local IP address, as curl's --interface. With an address, only the host's addresses
    /// of its family are tried.
    #[arg(long, value_name = "NAME|ADDR", value_parser = interface, help_heading = "Connection")]
    pub interface: Option<Interface>,

    /// Connect over IPv4 only (the host's IPv4 addresses), as curl's -4.
    #[arg(short = '4', long, conflicts_with_all = ["ipv6", "interface"], help_heading = "Connection")]
    pub ipv4: bool,

    /// Connect over IPv6 only, as curl's -6.
    #[arg(
        short = '6',
        long,
        conflicts_with = "interface",
        help_heading = "Connection"
    )]
    pub ipv6: bool,

    /// Connect to this Unix domain socket instead of over TCP, as curl's --unix-socket (a
    /// daemon's API, as Docker's); the URL's host is only the Host header.
    #[arg(long, value_name = "PATH", help_heading = "Connection")]
    pub unix_socket: Option<std::path::PathBuf>,

    /// Retry up to N times what is safe to retry, backing off with jitter (or as Retry-After
    /// asks): failures to connect, timeouts before an answer, and 429, 502, 503 and 504 to
    /// idempotent methods (GET, HEAD, PUT, DELETE, OPTIONS), as curl's --retry.
    #[arg(long, value_name = "N", help_heading = "Connection")]
    pub retry: Option<usize>,

    /// Wait SECS before every retry instead of backing off, as curl's --retry-delay.
    #[arg(long, value_name = "SECS", value_parser = seconds, requires = "retry", help_heading = "Connection")]
    pub retry_delay: Option<Duration>,

    /// No retry after SECS from the start, as curl's --retry-max-time (120 s otherwise).
    #[arg(long, value_name = "SECS", value_parser = seconds, requires = "retry", help_heading = "Connection")]
    pub retry_max_time: Option<Duration>,

    /// Retry a refused connection too, as curl's --retry-connrefused: --retry always does.
    #[arg(long, requires = "retry", help_heading = "Connection")]
    pub retry_connrefused: bool,

    /// Retry every failure, as curl's --retry-all-errors: any 4xx or 5xx status and any error,
    /// for every method (a POST may then reach the server twice).
    #[arg(long, requires = "retry", help_heading = "Connection")]
    pub retry_all_errors: bool,

    /// Turn on TCP keep-alive, the first probe after SECS idle, as curl's --keepalive-time.
    #[arg(long, value_name = "SECS", value_parser = seconds, help_heading = "Connection")]
    pub keepalive_time: Option<Duration>,

    /// Also trust the CA certificates in this PEM file.
    #[arg(long, value_name = "PEM", help_heading = "TLS")]
    pub cacert: Option<PathBuf>,

    /// A client certificate chain (PEM), with --key.
    #[arg(long, value_name = "PEM", requires = "key", help_heading = "TLS")]
    pub cert: Option<PathBuf>,

    /// The client certificate's private key (PEM), with --cert.
    #[arg(long, value_name = "PEM", requires = "cert", help_heading = "TLS")]
    pub key: Option<PathBuf>,

    /// Accept any server certificate and host name (dangerous).
    #[arg(short = 'k', long, help_heading = "TLS")]
    pub insecure: bool,

    /// Offer TLS 1.3 only (curl's --tlsv1.3; TLS 1.2 and 1.3 are offered otherwise).
    #[arg(long = "tlsv1.3", help_heading = "TLS")]
    pub tls13: bool,

    /// The newest TLS version to offer: 1.2 or 1.3 (curl's --tls-max).
    #[arg(long, value_name = "VERSION", value_parser = tls_version, help_heading = "TLS")]
    pub tls_max: Option<duet_blocking::TlsVersion>,

    /// Send the request through this proxy (http://, https://, socks5:// or socks5h://).
    #[arg(short = 'x', long, value_name = "URL", help_heading = "Proxy")]
    pub proxy: Option<String>,

    /// Ignore the proxy environment variables (http_proxy, https_proxy, all_proxy, no_proxy).
    #[arg(long, conflicts_with = "proxy", help_heading = "Proxy")]
    pub no_proxy: bool,

    /// Hosts to reach without the proxy, comma-separated (`*`: all), instead of no_proxy from
    /// the environment, as curl's --noproxy.
    #[arg(
        long = "noproxy",
        value_name = "LIST",
        conflicts_with = "no_proxy",
        help_heading = "Proxy"
    )]
    pub noproxy_list: Option<String>,

    /// Drive the request with duet-async instead of duet-blocking (same output).
    #[arg(long = "async")]
    pub use_async: bool,

    /// Print the status line and headers before the body.
    #[arg(short = 'i', long, help_heading = "Output")]
    pub include: bool,

    /// Send a HEAD request and print the status line and headers, as curl's -I (with -G, the
    /// data flags' pieces go in its query).
    #[arg(short = 'I', long, conflicts_with_all = ["method", "body"], help_heading = "Output")]
    pub head: bool,

    /// Show on stderr what happens, as curl -v: duet's decisions (`* ` lines: connections,
    /// redirects, retries), each request head sent (`> `) and response head received (`< `).
    #[arg(short = 'v', long, help_heading = "Output")]
    pub verbose: bool,

    /// Write the body to a file in the current directory named as the URL's last path
    /// segment, as curl's -O.
    #[arg(short = 'O', long, conflicts_with = "output", help_heading = "Output")]
    pub remote_name: bool,

    /// With -O, name the file as the response's Content-Disposition says (`filename*`, else
    /// `filename`; what follows its last `/` or `\`), as curl's -J; an existing file of that
    /// name is not overwritten. Without such a name, -O's is used.
    #[arg(
        short = 'J',
        long,
        requires = "remote_name",
        conflicts_with = "continue_at",
        help_heading = "Output"
    )]
    pub remote_header_name: bool,

    /// Write the body to this file (a progress bar on stderr when it is a terminal).
    #[arg(short = 'o', long, value_name = "PATH", help_heading = "Output")]
    pub output: Option<PathBuf>,

    /// Refuse a body larger than this many bytes (a suffix k, m or g counts in KiB, MiB or
    /// GiB), as curl's: one whose length says so fails before any of it is written, one of
    /// unknown length once it passes the size. Exit 63.
    #[arg(long, value_name = "BYTES", value_parser = byte_size, help_heading = "Output")]
    pub max_filesize: Option<u64>,

    /// Write every head received (each followed redirect's, then the final one's) to this
    /// file, `-` for standard output, as curl's -D; the file is made once a head arrives.
    #[arg(short = 'D', long, value_name = "PATH", help_heading = "Output")]
    pub dump_header: Option<PathBuf>,

    /// The -o file takes the document's Last-Modified as its modification time, as curl's -R
    /// (with -z FILE, the next run then asks for exactly that date).
    #[arg(short = 'R', long, help_heading = "Output")]
    pub remote_time: bool,

    /// Make the -o file's missing directories, as curl's --create-dirs.
    #[arg(long, help_heading = "Output")]
    pub create_dirs: bool,

    /// Do not decode the body (gzip, deflate, br, zstd): the bytes as sent.
    #[arg(long, help_heading = "Output")]
    pub raw: bool,

    /// Exit with 22 on a 4xx or 5xx status, printing no body (error kind `status`), as
    /// curl's -f.
    #[arg(short = 'f', long, help_heading = "Output")]
    pub fail: bool,

    /// As --fail, but the body is printed too, as curl's --fail-with-body.
    #[arg(long, conflicts_with = "fail", help_heading = "Output")]
    pub fail_with_body: bool,

    /// No progress bar and no error message on stderr (the exit code still tells), as
    /// curl's -s.
    #[arg(short = 's', long, help_heading = "Output")]
    pub silent: bool,

    /// With -s, still print the error message of a failure, as curl's -S.
    #[arg(short = 'S', long, help_heading = "Output")]
    pub show_error: bool,

    /// Ask for a compressed body and decode it, as curl's --compressed: what duet does
    /// anyway (taken for curl habits; not with --raw).
    #[arg(long, conflicts_with = "raw", help_heading = "Output")]
    pub compressed: bool,

    /// Write FORMAT to stdout once the transfer is over (a failure too), as curl's -w:
    /// %{http_code}, %{url_effective}, %{time_total}, %{time_starttransfer}, %{size_download},
    /// %{speed_download}, %{content_type}, %{num_headers}, %{num_redirects}, %{redirect_url},
    /// %{filename_effective}, %{remote_ip}, %{remote_port}, %{http_version}, %{scheme},
    /// %{exitcode}, %{errormsg}, %header{NAME}; \n, \t, \r, \\ and %%.
    #[arg(short = 'w', long, value_name = "FORMAT", value_parser = WriteOut::parse, help_heading = "Output")]
    pub write_out: Option<WriteOut>,

    /// Speak HTTP/1.1, as curl's --http1.1: what duet does anyway (taken for curl habits).
    #[arg(long = "http1.1", help_heading = "Connection")]
    pub http1_1: bool,

    /// Print one JSON object describing the exchange instead of the body.
    #[arg(long, help_heading = "Output")]
    pub report: bool,

    /// Serve the demo site on 127.0.0.1 and wait (Ctrl-C to stop), to try duet against it.
    #[arg(long, conflicts_with = "url")]
    pub serve_demo: bool,
}

/// How `--user` (or `--proxy-user`) credentials are sent.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuthType {
    /// Basic (RFC 7617), with the first request.
    #[default]
    Basic,
    /// Digest (RFC 7616), in answer to the server's challenge.
    Digest,
}

/// One `-F` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartArg {
    /// `name=value`: a text field.
    Text {
        /// The field name.
        name: String,
        /// Its value.
        value: String,
    },
    /// `name=<PATH[;type=MIME]`: a field whose value is the file's content (no file name),
    /// as curl's.
    Contents {
        /// The field name.
        name: String,
        /// The file whose content is the value.
        path: PathBuf,
        /// The part's content type, if given (none is sent otherwise).
        mime: Option<String>,
    },
    /// `name=@PATH[;type=MIME][;filename=NAME]`: a file, streamed.
    File {
        /// The field name.
        name: String,
        /// The file to send.
        path: PathBuf,
        /// The part's content type (guessed from the file name if absent).
        mime: Option<String>,
        /// The file name sent (the path's own if absent).
        filename: Option<String>,
    },
}

/// One `-H` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HeaderArg {
    /// `Name: value`; `None` for `Name:`, the header left out.
    Field(String, Option<String>),
    /// `@FILE` (`@-`: standard input): a field per line, as curl reads them.
    File(PathBuf),
}

/// `@FILE` or a field.
fn header_arg(arg: &str) -> Result<HeaderArg, String> {
    match arg.strip_prefix('@') {
        Some("") => Err("expected a file name after '@'".to_owned()),
        Some(path) => Ok(HeaderArg::File(PathBuf::from(path))),
        None => header(arg).map(|(name, value)| HeaderArg::Field(name, value)),
    }
}

/// `Name: value` (the value's leading blanks dropped), as curl reads it: `Name:` with no
/// value is the header left out (`None`), `Name;` the header with an empty value.
pub(crate) fn header(arg: &str) -> Result<(String, Option<String>), String> {
    let (name, value) = match arg.split_once(':') {
        Some((name, value)) => {
            let value = value.trim_start();
            (
                name,
                (!value.trim_end().is_empty()).then(|| value.to_owned()),
            )
        }
        None => match arg.strip_suffix(';') {
            Some(name) => (name, Some(String::new())),
            None => ("", None),
        },
    };
    match name.trim() {
        "" => Err("expected 'Name: value' ('Name:' leaves it out, 'Name;' sends it empty)".into()),
        name => Ok((name.to_owned(), value)),
    }
}

/// A method token (`GET`, `PROPFIND`, ...).
fn method(arg: &str) -> Result<Method, String> {
    Method::from_bytes(arg.as_bytes()).map_err(|_| format!("invalid method {arg:?}"))
}

/// The id of the group of curl's four data flags.
const DATA_FLAGS: &str = "data_flags";

/// Which of curl's data flags gave a piece of the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFlag {
    /// `-d TEXT`, or `-d @FILE` (`@-`: standard input) with its CR and LF bytes left out.
    Data,
    /// `--data-raw TEXT`: as given, `@` too.
    Raw,
    /// `--data-binary TEXT` or `@FILE`: the file's bytes as they are.
    Binary,
    /// `--data-urlencode CONTENT`, `NAME=CONTENT`, `=CONTENT`, `@FILE` or `NAME@FILE`: the
    /// content (or the file's) percent-encoded, after `NAME=` when a name is given.
    UrlEncode,
}

/// curl's data flags in the order given (curl joins their pieces with `&`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataPieces(pub Vec<(DataFlag, String)>);

/// One of curl's data flags, for clap.
struct FlagSpec {
    id: &'static str,
    long: &'static str,
    short: Option<char>,
    value_name: &'static str,
    help: &'static str,
    flag: DataFlag,
}

impl DataPieces {
    /// The four flags.
    const FLAGS: [FlagSpec; 4] = [
        FlagSpec {
            id: "data",
            long: "data",
            short: Some('d'),
            value_name: "TEXT|@FILE",
            help: "A request body: TEXT, @FILE (its CR and LF bytes left out, as curl's) or @- (standard input); labelled application/x-www-form-urlencoded unless -H sets a Content-Type, as curl's. Repeated, or with the other --data flags, the pieces are joined with '&'",
            flag: DataFlag::Data,
        },
        FlagSpec {
            id: "data_raw",
            long: "data-raw",
            short: None,
            value_name: "TEXT",
            help: "As -d, with no special meaning for '@', as curl's",
            flag: DataFlag::Raw,
        },
        FlagSpec {
            id: "data_binary",
            long: "data-binary",
            short: None,
            value_name: "TEXT|@FILE",
            help: "As -d, the file sent byte for byte (streamed when it is the whole body), as curl's",
            flag: DataFlag::Binary,
        },
        FlagSpec {
            id: "data_urlencode",
            long: "data-urlencode",
            short: None,
            value_name: "[NAME]=TEXT|[NAME]@FILE",
            help: "As -d, the text (or the file's content) percent-encoded after NAME=, as curl's",
            flag: DataFlag::UrlEncode,
        },
    ];
}

impl clap::FromArgMatches for DataPieces {
    fn from_arg_matches(matches: &clap::ArgMatches) -> Result<Self, clap::Error> {
        let mut pieces = Vec::new();
        for FlagSpec { id, flag, .. } in Self::FLAGS {
            let (Some(indices), Some(values)) =
                (matches.indices_of(id), matches.get_many::<String>(id))
            else {
                continue;
            };
            pieces.extend(indices.zip(values).map(|(at, v)| (at, (flag, v.clone()))));
        }
        pieces.sort_by_key(|(at, _)| *at);
        Ok(DataPieces(
            pieces.into_iter().map(|(_, piece)| piece).collect(),
        ))
    }

    fn update_from_arg_matches(&mut self, matches: &clap::ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for DataPieces {
    fn augment_args(mut cmd: clap::Command) -> clap::Command {
        for FlagSpec {
            id,
            long,
            short,
            value_name,
            help,
            ..
        } in Self::FLAGS
        {
            let mut arg = clap::Arg::new(id)
                .long(long)
                .value_name(value_name)
                .help(help)
                .action(clap::ArgAction::Append)
                .allow_hyphen_values(true)
                .help_heading("Body");
            if let Some(short) = short {
                arg = arg.short(short);
            }
            cmd = cmd.arg(arg);
        }
        cmd.group(
            ArgGroup::new(DATA_FLAGS)
                .args(Self::FLAGS.map(|spec| spec.id))
                .multiple(true)
                .conflicts_with("body"),
        )
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        Self::augment_args(cmd)
    }
}

impl Args {
    /// What clap's conflicts cannot say: `-I` takes the data flags only with `-G` (their
    /// pieces go in the HEAD's query, as curl's; without it they would be a body).
    pub fn check(&self) -> Result<(), String> {
        if self.head && !self.data.0.is_empty() && !self.get {
            return Err("-I/--head sends no body: give -G to put the data in its query".into());
        }
        if self.report && self.dump_header.as_deref() == Some(std::path::Path::new("-")) {
            return Err("--report prints the report on standard output: give -D a file".into());
        }
        Ok(())
    }

    /// The byte `-C` resumes from: 0 when not resuming (`-C -` is read as the output file's
    /// size before the request is made).
    pub fn resume_from(&self) -> u64 {
        match self.continue_at {
            Some(ContinueAt::Offset(n)) => n,
            Some(ContinueAt::FileSize) | None => 0,
        }
    }

    /// How `--user` is sent: `--auth-type`, or curl's `--digest` / `--basic`.
    pub fn auth_type_flagged(&self) -> AuthType {
        match (self.digest, self.basic) {
            (true, _) => AuthType::Digest,
            (_, true) => AuthType::Basic,
            _ => self.auth_type,
        }
    }

    /// How `--proxy-user` is sent: `--proxy-auth-type`, or curl's `--proxy-digest` /
    /// `--proxy-basic`.
    pub fn proxy_auth_type_flagged(&self) -> AuthType {
        match (self.proxy_digest, self.proxy_basic) {
            (true, _) => AuthType::Digest,
            (_, true) => AuthType::Basic,
            _ => self.proxy_auth_type,
        }
    }
}

/// A byte count, with curl's suffixes: `k`/`K`, `m`/`M`, `g`/`G` (powers of 1024).
fn byte_size(arg: &str) -> Result<u64, String> {
    let (digits, shift) = match arg.as_bytes().last() {
        Some(b'k' | b'K') => (&arg[..arg.len() - 1], 10),
        Some(b'm' | b'M') => (&arg[..arg.len() - 1], 20),
        Some(b'g' | b'G') => (&arg[..arg.len() - 1], 30),
        _ => (arg, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| "expected a number of bytes, as 500, 10k, 2M or 1G".to_owned())?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| "too many bytes".to_owned())
}

/// `key=value` (the value may be empty).
fn pair(arg: &str) -> Result<(String, String), String> {
    match arg.split_once('=') {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err("expected 'name=value'".to_owned()),
    }
}

/// One `-b` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CookieArg {
    /// `NAME=VALUE[; NAME=VALUE...]` (a `Cookie` header's form, as browsers' "copy as cURL"
    /// writes it): cookies for the request's origin.
    Pairs(Vec<(String, String)>),
    /// A cookie file to read, as curl reads one given without `=`.
    File(PathBuf),
}

/// `NAME=VALUE`, several as a `Cookie` header has them (`a=1; b=2`), or a file name when
/// there is no `=` (curl's rule).
fn cookie_arg(arg: &str) -> Result<CookieArg, String> {
    match arg.contains('=') {
        true => arg
            .split(';')
            .map(str::trim)
            .filter(|pair| !pair.is_empty())
            .map(pair)
            .collect::<Result<_, _>>()
            .map(CookieArg::Pairs),
        false if arg.is_empty() => Err("expected 'NAME=VALUE' or a file".to_owned()),
        false => Ok(CookieArg::File(PathBuf::from(arg))),
    }
}

/// curl's `-r`: byte ranges (`0-499`, `500-`, `-500`, several with commas).
fn byte_range(arg: &str) -> Result<String, String> {
    let valid = |range: &str| match range.split_once('-') {
        Some((first, last)) => {
            let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
            digits(first) && digits(last) && !(first.is_empty() && last.is_empty())
        }
        None => false,
    };
    match !arg.is_empty() && arg.split(',').all(valid) {
        true => Ok(arg.to_owned()),
        false => Err("expected FIRST-LAST, FIRST- or -SUFFIX (bytes)".to_owned()),
    }
}

/// Where `-C` resumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContinueAt {
    /// `-C -`: after what the output file holds.
    FileSize,
    /// `-C N`: from byte N.
    Offset(u64),
}

/// `-` or a byte offset.
fn continue_at(arg: &str) -> Result<ContinueAt, String> {
    match arg {
        "-" => Ok(ContinueAt::FileSize),
        n => n
            .parse()
            .map(ContinueAt::Offset)
            .map_err(|_| "expected a byte offset or '-'".to_owned()),
    }
}

/// `USER:PASS` (the password may be empty, the user may not).
fn credentials(arg: &str) -> Result<(String, String), String> {
    match arg.split_once(':') {
        Some((user, password)) if !user.is_empty() => Ok((user.to_owned(), password.to_owned())),
        _ => Err("expected 'USER:PASS'".to_owned()),
    }
}

/// `1.2` or `1.3`.
fn tls_version(arg: &str) -> Result<duet_blocking::TlsVersion, String> {
    match arg {
        "1.2" => Ok(duet_blocking::TlsVersion::Tls1_2),
        "1.3" => Ok(duet_blocking::TlsVersion::Tls1_3),
        _ => Err("1.2 or 1.3 (older versions are never offered)".to_owned()),
    }
}

/// `HOST:PORT:ADDR[,ADDR...]` (curl's `--resolve`): the host, the port, and the addresses.
fn resolve_entry(arg: &str) -> Result<(String, u16, Vec<IpAddr>), String> {
    let usage = || "expected 'HOST:PORT:ADDR[,ADDR]'".to_owned();
    let (host, rest) = match arg.strip_prefix('[') {
        Some(bracketed) => {
            let (host, rest) = bracketed.split_once("]:").ok_or_else(usage)?;
            (host, rest)
        }
        None => arg.split_once(':').ok_or_else(usage)?,
    };
    let (port, addrs) = rest.split_once(':').ok_or_else(usage)?;
    let port = port
        .parse::<u16>()
        .map_err(|_| format!("expected a port number, got {port:?}"))?;
    if host.is_empty() {
        return Err(usage());
    }
    let addrs = addrs
        .split(',')
        .map(|addr| {
            let ip = addr
                .strip_prefix('[')
                .and_then(|a| a.strip_suffix(']'))
                .unwrap_or(addr);
            ip.parse::<IpAddr>()
                .map_err(|_| format!("expected an IP address, got {addr:?}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((host.to_owned(), port, addrs))
}

/// What `--interface` names: a network interface or a local address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interface {
    /// An interface, by name.
    Name(String),
    /// A local IP address.
    Address(IpAddr),
}

/// An IP address, else an interface name (curl's `--interface`).
fn interface(arg: &str) -> Result<Interface, String> {
    if let Ok(ip) = arg.parse::<IpAddr>() {
        return Ok(Interface::Address(ip));
    }
    match duet_blocking::core::client::is_interface_name(arg) {
        true => Ok(Interface::Name(arg.to_owned())),
        false => Err(format!(
            "expected an interface name (at most 15 bytes) or an IP address, got {arg:?}"
        )),
    }
}

/// A positive, finite number of seconds.
fn seconds(arg: &str) -> Result<Duration, String> {
    let secs: f64 = arg
        .parse()
        .map_err(|_| format!("expected seconds, got {arg:?}"))?;
    if !(secs.is_finite() && secs > 0.0) {
        return Err("expected a positive number of seconds".to_owned());
    }
    Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// One `-F` value: `name=value`, `name=@PATH[;type=MIME][;filename=NAME]` or
/// `name=<PATH[;type=MIME]`.
fn part(arg: &str) -> Result<PartArg, String> {
    let (name, value) = pair(arg)?;
    // `<`: the file's content as the value; `@`: the file itself.
    let (sign, contents, file) = match (value.strip_prefix('<'), value.strip_prefix('@')) {
        (Some(file), _) => ('<', true, file),
        (None, Some(file)) => ('@', false, file),
        (None, None) => return Ok(PartArg::Text { name, value }),
    };
    let segments = quoted_segments(file)?;
    let mut params = segments.iter().map(String::as_str);
    let path = params
        .next()
        .filter(|p| !p.is_empty())
        .ok_or_else(|| format!("no file after '{sign}'"))?;
    let (mut mime, mut filename) = (None, None);
    for param in params {
        match param.split_once('=') {
            Some(("type", v)) => mime = Some(v.to_owned()),
            Some(("filename", v)) if !contents => filename = Some(v.to_owned()),
            _ => {
                let known = if contents {
                    "type="
                } else {
                    "type=, filename="
                };
                return Err(format!("unknown part parameter {param:?} ({known})"));
            }
        }
    }
    let path = PathBuf::from(path);
    Ok(match contents {
        true => PartArg::Contents { name, path, mime },
        false => PartArg::File {
            name,
            path,
            mime,
            filename,
        },
    })
}

/// `text` split at each `;` outside double quotes, as curl reads `-F` values: quotes are
/// removed, and inside them a backslash takes the next character as it is (`\"`, `\\`), so
/// a path or a file name may hold a `;`.
fn quoted_segments(text: &str) -> Result<Vec<String>, String> {
    let mut segments = vec![String::new()];
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let current = segments.last_mut().expect("one at least");
        match (c, quoted) {
            ('"', _) => quoted = !quoted,
            ('\\', true) => current.push(chars.next().ok_or("a '\\' ends the value")?),
            (';', false) => segments.push(String::new()),
            (c, _) => current.push(c),
        }
    }
    match quoted {
        true => Err("an unclosed '\"'".to_owned()),
        false => Ok(segments),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("duet").chain(args.iter().copied()))
    }

    #[test]
    fn value_syntax() {
        assert_eq!(
            header("X-A:  1 2").unwrap(),
            ("X-A".into(), Some("1 2".into()))
        );
        assert_eq!(
            header("X-Empty;").unwrap(),
            ("X-Empty".into(), Some("".into()))
        );
        assert_eq!(header("X-Gone:").unwrap(), ("X-Gone".into(), None));
        assert_eq!(header("X-Gone: \t").unwrap(), ("X-Gone".into(), None));
        assert_eq!(
            header("X-Semi: a;").unwrap(),
            ("X-Semi".into(), Some("a;".into()))
        );
        assert!(header("no colon").is_err() && header(": v").is_err() && header(";").is_err());
        assert_eq!(pair("a=b=c").unwrap(), ("a".into(), "b=c".into()));
        assert!(pair("a").is_err() && pair("=a").is_err());
        assert_eq!(credentials("ada:").unwrap(), ("ada".into(), "".into()));
        assert!(credentials("ada").is_err() && credentials(":secret").is_err());
        for range in ["0-499", "500-", "-500", "0-0,10-20,-5"] {
            assert_eq!(byte_range(range).as_deref(), Ok(range));
        }
        for bad in ["", "-", "x-5", "5-x", "5", "0-1,", "0-1,x-2"] {
            assert!(byte_range(bad).is_err(), "{bad:?}");
        }
        assert_eq!(tls_version("1.2"), Ok(duet_blocking::TlsVersion::Tls1_2));
        assert_eq!(tls_version("1.3"), Ok(duet_blocking::TlsVersion::Tls1_3));
        assert!(tls_version("1.1").is_err() && tls_version("1").is_err());
        assert_eq!(seconds("0.25").unwrap(), Duration::from_millis(250));
        for bad in ["0", "-1", "inf", "NaN", "soon"] {
            assert!(seconds(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn interfaces_are_names_or_addresses() {
        assert_eq!(
            interface("192.0.2.7").unwrap(),
            Interface::Address("192.0.2.7".parse().unwrap())
        );
        assert_eq!(
            interface("::1").unwrap(),
            Interface::Address("::1".parse().unwrap())
        );
        assert_eq!(interface("eth0").unwrap(), Interface::Name("eth0".into()));
        for bad in ["", "a/b", "with space", "sixteen-bytes-xx"] {
            assert!(interface(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn resolve_entries() {
        let at = |addr: &str| addr.parse::<IpAddr>().unwrap();
        assert_eq!(
            resolve_entry("Example.com:443:192.0.2.1,[2001:db8::1]").unwrap(),
            (
                "Example.com".into(),
                443,
                vec![at("192.0.2.1"), at("2001:db8::1")]
            )
        );
        assert_eq!(
            resolve_entry("[::1]:80:127.0.0.1").unwrap(),
            ("::1".into(), 80, vec![at("127.0.0.1")])
        );
        for bad in [
            "host",
            "host:80",
            "host:x:192.0.2.1",
            ":80:192.0.2.1",
            "host:80:",
            "host:80:a.b",
        ] {
            assert!(resolve_entry(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parts() {
        assert_eq!(
            part("title=a;b").unwrap(),
            PartArg::Text {
                name: "title".into(),
                value: "a;b".into()
            }
        );
        assert_eq!(
            part("photo=@dir/a.png;type=image/png;filename=b.png").unwrap(),
            PartArg::File {
                name: "photo".into(),
                path: "dir/a.png".into(),
                mime: Some("image/png".into()),
                filename: Some("b.png".into()),
            }
        );
        assert!(part("photo=@").is_err());
        assert!(part("photo=@a;size=3").is_err());
        // curl's quoting: a `;` (or a quote) inside double quotes is part of the value.
        assert_eq!(
            part(r#"doc=@"dir/a;b.txt";filename="say \"hi\"; bye.txt";type=text/plain"#).unwrap(),
            PartArg::File {
                name: "doc".into(),
                path: "dir/a;b.txt".into(),
                mime: Some("text/plain".into()),
                filename: Some("say \"hi\"; bye.txt".into()),
            }
        );
        assert!(part(r#"doc=@"unclosed.txt"#).is_err());
    }

    #[test]
    fn conflicts_are_usage_errors() {
        for args in [
            &["-d", "x", "--field", "a=1", "http://h/"][..],
            &["-u", "a:b", "--bearer", "t", "http://h/"],
            &["--no-follow", "--max-redirects", "3", "http://h/"],
            &["--cert", "c.pem", "http://h/"],
            &["--auth-type", "digest", "http://h/"],
            &["--netrc", "--netrc-file", "n", "http://h/"],
            &["--serve-demo", "http://h/"],
            &["-H", "oops", "http://h/"],
            &["-X", "GE T", "http://h/"],
        ] {
            assert!(parse(args).is_err(), "{args:?}");
        }
        let ok = parse(&[
            "--field",
            "a=1",
            "--field",
            "b=2",
            "-u",
            "a:b",
            "--auth-type",
            "digest",
            "h",
        ]);
        assert_eq!(ok.unwrap().form.len(), 2);
    }
}
