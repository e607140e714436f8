//! # duet-cli
//!
//! The `duet` command: a curl/httpie-style HTTP/1.1 client over duet's two clients, and a
//! local demo of both. It uses only the public APIs of `duet-blocking` and `duet-async`.
//!
//! ```text
//! duet [OPTIONS] <URL>     one request (duet --help lists the options)
//! duet                     the demo: a local site, a login and a few features, both clients
//! ```
//!
//! How a command runs:
//!
//! 1. [`args::Args`] reads the command line (clap); a wrong one exits with 2.
//! 2. [`spec::RequestSpec::from_args`] turns the flags into one request description, reading
//!    the files they name, once.
//! 3. [`send::perform`] loads the cookie jar, sends the spec with duet-blocking or (with
//!    `--async`) duet-async into an [`output::Output`], and saves the jar. Configuring a
//!    client and a request is written once, generic over the driver; only the loop that
//!    reads the body is written per client.
//! 4. The body is on stdout or in the `-o` file by then; with `--report` the
//!    [`report::Report`] is printed instead. A failure prints `duet: <kind>: <message>` on
//!    stderr and exits with its code ([`failure::Failure::exit_code`]).
//!
//! With `-v`, [`verbose`] shows duet's log records and every head sent and received on
//! stderr as the exchange goes.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod args;
pub mod demo;
pub mod failure;
pub mod jar;
pub mod output;
pub mod proxy;
pub mod report;
pub mod send;
pub mod spec;
pub mod time_cond;
pub mod verbose;
pub mod write_out;

use std::io::Write;
use std::process::ExitCode;
use std::time::Instant;

use crate::args::Args;
use crate::failure::Failure;
use crate::output::Output;
use crate::report::Report;
use crate::send::Outcome;
use crate::spec::RequestSpec;

/// Runs the `duet` command with the process's arguments.
pub fn main() -> ExitCode {
    run(<Args as clap::Parser>::parse())
}

/// Runs the `duet` command with parsed arguments: the demo without a URL, else one request.
pub fn run(mut args: Args) -> ExitCode {
    // What clap's conflicts cannot say is a usage error all the same: exit 2, nothing sent.
    if let Err(message) = args.check() {
        let usage = <Args as clap::CommandFactory>::command()
            .error(clap::error::ErrorKind::ArgumentConflict, message);
        let _ = usage.print();
        return ExitCode::from(2);
    }
    if args.serve_demo {
        return demo::serve();
    }
    if args.url.is_none() {
        args.url = args.url_flag.take();
    }
    let Some(url) = args.url.clone() else {
        return demo::run();
    };
    if args.verbose {
        verbose::install_logger();
    }
    // `-O`: the file is named after the URL, or the command fails before anything is sent.
    let mut unnamed = None;
    if args.remote_name {
        match remote_name(&url) {
            Some(name) => args.output = Some(name),
            None => {
                unnamed = Some(failure::Failure::new(
                    failure::Kind::Io,
                    format!("-O: the URL {url:?} names no file (its path ends in /)"),
                ));
            }
        }
    }
    // `-C -`: from the end of what the output file holds (nothing yet: the whole body).
    if args.continue_at == Some(args::ContinueAt::FileSize) {
        let held = args
            .output
            .as_ref()
            .and_then(|path| std::fs::metadata(path).ok());
        args.continue_at = Some(args::ContinueAt::Offset(held.map_or(0, |m| m.len())));
    }
    // `-z`: a date, or a file's time (a file not there yet, as on a first download: no
    // condition, as curl says with a warning).
    if let Some(arg) = &args.time_cond {
        args.time_condition = time_cond::TimeCond::parse(arg);
        if args.time_condition.is_none() && !args.silent {
            eprintln!("duet: warning: -z {arg:?} is neither a date nor a file; no time condition");
        }
    }
    let mut output = Output::for_args(&args);
    let outcome = match (unnamed, RequestSpec::from_args(&args, &url)) {
        (Some(failure), _) | (None, Err(failure)) => Outcome::failed(failure, Instant::now()),
        (None, Ok(spec)) => send::perform(&spec, args.fail || args.fail_with_body, &mut output),
    };
    if args.report {
        let json = Report::new(&outcome, &url).to_json();
        let mut stdout = std::io::stdout().lock();
        // A closed stdout leaves nothing to report to; the exit code still tells.
        let _ = writeln!(stdout, "{json}").and_then(|()| stdout.flush());
    }
    let code = outcome.error.as_ref().map_or(0, Failure::exit_code);
    if let Some(format) = &args.write_out {
        let mut stdout = std::io::stdout().lock();
        // As with the report: a closed stdout has nobody to tell; the exit code still tells.
        let _ =
            write!(stdout, "{}", format.render(&outcome, &url, code)).and_then(|()| stdout.flush());
    }
    if let Some(failure) = &outcome.error
        && (!args.silent || args.show_error)
    {
        eprintln!("{}", failure.line());
    }
    ExitCode::from(code)
}

/// The file `-O` writes to: the last segment of the URL's path, as curl takes it (not
/// decoded); `None` when the path ends in `/`.
fn remote_name(url: &str) -> Option<std::path::PathBuf> {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    let path = after_scheme.split(['?', '#']).next().unwrap_or_default();
    let (_, path) = path.split_once('/')?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && name != "." && name != "..").then(|| name.into())
}

#[cfg(test)]
mod tests {
    use super::remote_name;

    #[test]
    fn the_remote_name_is_the_last_path_segment() {
        for (url, name) in [
            ("http://h/a/b.tar.gz?x=1#f", Some("b.tar.gz")),
            ("h:8080/file%20name", Some("file%20name")),
            ("https://h/dir/", None),
            ("https://h", None),
            ("https://h/..", None),
        ] {
            assert_eq!(
                remote_name(url).as_deref(),
                name.map(std::path::Path::new),
                "{url}"
            );
        }
    }
}
