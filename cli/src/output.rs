//! Where a response goes: the body to stdout (after the head with `-i`), to a file with a
//! progress bar (`-o`), or into memory for the report (`--report`, the demo). Both clients
//! hand the response to an [`Output`] the same way: [`Output::head`] once, then
//! [`Output::data`] for each piece of the decoded body.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::PathBuf;

use duet_blocking::{Headers, ResponseInfo, StatusCode, Version};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::args::Args;
use crate::failure::{Failure, Kind};
use crate::time_cond::{self, TimeCond};

/// Where the body goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    /// Standard output.
    Stdout,
    /// A file (`-o`), created when the response head arrives.
    File(PathBuf),
    /// Memory, for the report.
    Memory,
}

/// Receives one response from either client.
pub struct Output {
    destination: Destination,
    include: bool,
    fail: bool,
    raw: bool,
    head: Option<ResponseInfo>,
    body: Vec<u8>,
    writer: Option<Box<dyn Write>>,
    progress: Option<ProgressBar>,
    /// `-s`: no progress bar.
    silent: bool,
    /// `--create-dirs`: the `-o` file's missing directories are made.
    create_dirs: bool,
    /// `-C`: the byte the request asked the body from (0: the whole body).
    resume_from: u64,
    /// Body bytes handed over so far.
    received: u64,
    /// `-z`: a body that does not meet it is not written.
    time_cond: Option<TimeCond>,
    /// `-R`: the file takes the document's `Last-Modified`.
    remote_time: bool,
    /// `-D`: where every head goes as it arrives (`-`: standard output).
    dump_header: Option<PathBuf>,
    /// `-J`: the file is named by the response's `Content-Disposition` when it names one.
    header_name: bool,
    /// `--max-filesize`: the most body bytes taken.
    max_filesize: Option<u64>,
    /// Whether the destination file was made (opened for the body).
    file_made: bool,
}

impl Output {
    /// An output sending the body to `destination`; `include` writes the status line and
    /// headers first, `fail` drops the body of a 4xx/5xx response, `raw` says the body is not
    /// decoded (so `Content-Length` sizes the progress bar).
    pub fn new(destination: Destination, include: bool, fail: bool, raw: bool) -> Self {
        Output {
            destination,
            include,
            fail,
            raw,
            head: None,
            body: Vec::new(),
            writer: None,
            progress: None,
            silent: false,
            create_dirs: false,
            resume_from: 0,
            received: 0,
            time_cond: None,
            remote_time: false,
            dump_header: None,
            header_name: false,
            max_filesize: None,
            file_made: false,
        }
    }

    /// The output the flags ask for: `-o` or stdout, or memory for `--report` without `-o`.
    pub fn for_args(args: &Args) -> Self {
        let destination = match (&args.output, args.report) {
            (Some(path), _) => Destination::File(path.clone()),
            (None, true) => Destination::Memory,
            (None, false) => Destination::Stdout,
        };
        let mut output = Output::new(
            destination,
            (args.include || args.head) && !args.report,
            args.fail,
            args.raw,
        );
        output.silent = args.silent;
        output.create_dirs = args.create_dirs;
        output.resume_from = args.resume_from();
        output.time_cond = args.time_condition;
        output.remote_time = args.remote_time;
        output.dump_header = args.dump_header.clone();
        output.header_name = args.remote_header_name;
        output.max_filesize = args.max_filesize;
        output
    }

    /// An output that keeps the body in memory.
    pub fn memory() -> Self {
        Output::new(Destination::Memory, false, false, false)
    }

    /// The response head has arrived: remembers it, opens the destination, writes the head
    /// with `-i`. Returns whether the body is wanted (not for a failed status under `--fail`,
    /// unless it goes to the report).
    ///
    /// Resuming (`-C`), a `206` is the rest and is appended to the file; a `416` says there
    /// is nothing after the offset (the file is whole) and is not written; any other success
    /// is the whole body again, which fails with kind `resume` and leaves the file as it was,
    /// as curl does. Nothing is ever truncated while resuming.
    ///
    /// With `-z`, a `304` or a document whose `Last-Modified` does not meet the condition
    /// (a server that ignored it) is not written: a file is left as it was, and only `-i`'s
    /// head reaches stdout.
    /// `length` is the body's length by its framing (the response's `content_length()`).
    pub fn head(&mut self, info: &ResponseInfo, length: Option<u64>) -> Result<bool, Failure> {
        self.head = Some(info.clone());
        if let Some(path) = &self.dump_header {
            dump_header(path, info)?;
        }
        if let Some(cond) = self.time_cond
            && let Some(why) = unmet(&cond, info)
        {
            log::info!("-z: {why}: the body is not written");
            if self.destination == Destination::Stdout && self.include {
                let mut stdout = BufWriter::new(std::io::stdout().lock());
                stdout.write_all(&head_text(info)).map_err(write_error)?;
                stdout.flush().map_err(write_error)?;
            }
            return Ok(false);
        }
        if self.resume_from > 0 {
            match info.status().as_u16() {
                206 => {}
                416 => return Ok(false),
                200..=299 => {
                    let message = format!(
                        "-C {}: the server sent the whole body ({}), not the rest; it does not serve byte ranges",
                        self.resume_from,
                        info.status()
                    );
                    return Err(Failure::new(Kind::Resume, message));
                }
                _ => {}
            }
        }
        let failed = info.status().is_client_error() || info.status().is_server_error();
        if self.fail && failed && self.destination != Destination::Memory {
            return Ok(false);
        }
        if let (Some(max), Some(length)) = (self.max_filesize, length)
            && length > max
        {
            return Err(too_large(format!("the body is {length} bytes")));
        }
        // `-J`: a name the server gave never replaces a file already there (as curl's).
        let mut no_clobber = false;
        if self.header_name
            && let Some(name) = header_file_name(info)
        {
            self.destination = Destination::File(PathBuf::from(name));
            no_clobber = true;
        }
        let mut writer: Box<dyn Write> = match &self.destination {
            Destination::Memory => return Ok(true),
            Destination::Stdout => Box::new(BufWriter::new(std::io::stdout().lock())),
            Destination::File(path) => {
                if let Some(dir) = path.parent().filter(|_| self.create_dirs) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Failure::new(Kind::Io, format!("--create-dirs {}: {e}", dir.display()))
                    })?;
                }
                let file = match self.resume_from {
                    _ if no_clobber => File::options().write(true).create_new(true).open(path),
                    0 => File::create(path),
                    _ => File::options().append(true).create(true).open(path),
                };
                let file = file.map_err(|e| match e.kind() {
                    std::io::ErrorKind::AlreadyExists if no_clobber => Failure::new(
                        Kind::Io,
                        format!("-J: refusing to overwrite {}", path.display()),
                    ),
                    _ => Failure::new(Kind::Io, format!("-o {}: {e}", path.display())),
                })?;
                self.progress = self.progress_bar(info, length);
                self.file_made = true;
                Box::new(BufWriter::new(file))
            }
        };
        if self.include {
            writer.write_all(&head_text(info)).map_err(write_error)?;
        }
        self.writer = Some(writer);
        Ok(true)
    }

    /// A piece of the body.
    pub fn data(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.received += bytes.len() as u64;
        if let Some(max) = self.max_filesize
            && self.received > max
        {
            return Err(too_large(format!("the body ran past {max} bytes")));
        }
        match &mut self.writer {
            Some(writer) => writer.write_all(bytes).map_err(write_error)?,
            None => self.body.extend_from_slice(bytes),
        }
        if let Some(progress) = &self.progress {
            progress.inc(bytes.len() as u64);
        }
        Ok(())
    }

    /// The exchange is over (done or failed): flushes the destination, clears the progress
    /// bar.
    ///
    /// With `-R`, a file written whole (`complete`) takes the document's `Last-Modified` as
    /// its modification time, as curl's does (a later `-z` with the file then asks for exactly
    /// that date). A file cut short keeps the time it was written at, so that `-z` fetches it
    /// again.
    pub fn finish(&mut self, complete: bool) -> Result<(), Failure> {
        if let Some(progress) = self.progress.take() {
            progress.finish_and_clear();
        }
        let Some(mut writer) = self.writer.take() else {
            return Ok(());
        };
        writer.flush().map_err(write_error)?;
        drop(writer);
        if self.remote_time
            && complete
            && let Destination::File(path) = &self.destination
            && let Some(info) = &self.head
            && let Some(modified) = time_cond::last_modified(info.headers())
        {
            // As curl's: a time that cannot be set is no reason to fail the download.
            let set = File::options()
                .write(true)
                .open(path)
                .and_then(|file| file.set_modified(modified));
            if let Err(e) = set {
                log::info!("-R: the time of {} was not set: {e}", path.display());
            }
        }
        Ok(())
    }

    /// The file the body went to, once it was made (`-o`, `-O`, or the name `-J` took).
    pub fn file_written(&self) -> Option<&std::path::Path> {
        match &self.destination {
            Destination::File(path) if self.file_made => Some(path),
            _ => None,
        }
    }

    /// The body bytes handed over (decoded unless `--raw`), whether kept or written.
    pub fn received(&self) -> u64 {
        self.received
    }

    /// The response head, once it arrived.
    pub fn response(&self) -> Option<&ResponseInfo> {
        self.head.as_ref()
    }

    /// The body kept in memory: `None` unless the destination is [`Destination::Memory`] and
    /// a response arrived.
    pub fn body(&self) -> Option<&[u8]> {
        (self.destination == Destination::Memory && self.head.is_some()).then_some(&self.body)
    }

    /// A bar on stderr when it is a terminal, sized by `Content-Length` when the body is
    /// written as it comes (not decoded); a spinner with a byte count otherwise.
    fn progress_bar(&self, info: &ResponseInfo, length: Option<u64>) -> Option<ProgressBar> {
        if self.silent || !std::io::stderr().is_terminal() {
            return None;
        }
        let target = ProgressDrawTarget::stderr();
        let bar = match bar_length(self.raw, info.headers(), length) {
            Some(length) => ProgressBar::with_draw_target(Some(length), target).with_style(
                ProgressStyle::with_template(
                    "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                )
                .ok()?,
            ),
            None => ProgressBar::with_draw_target(None, target).with_style(
                ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}").ok()?,
            ),
        };
        Some(bar)
    }
}

/// `--max-filesize`'s failure: `what` the body did, beside the limit.
fn too_large(what: String) -> Failure {
    Failure::new(
        Kind::TooLarge,
        format!("{what}, more than --max-filesize allows"),
    )
}

/// `-J`: the file name the response's `Content-Disposition` gives, made safe as curl makes
/// it: what follows its last `/` or `\`; none when that is empty, `.` or `..`, or holds a
/// control character.
fn header_file_name(info: &ResponseInfo) -> Option<String> {
    let value = info.headers().get("content-disposition")?;
    let name = duet_blocking::core::disposition_filename(value)?;
    let name = name.rsplit(['/', '\\']).next().unwrap_or_default().trim();
    let unsafe_name = matches!(name, "" | "." | "..") || name.chars().any(char::is_control);
    (!unsafe_name).then(|| name.to_owned())
}

/// `-D`: every head of the exchange written to `path` (`-`: standard output), whatever
/// becomes of the body.
fn dump_header(path: &std::path::Path, info: &ResponseInfo) -> Result<(), Failure> {
    let heads = head_text(info);
    if path == std::path::Path::new("-") {
        let mut stdout = std::io::stdout().lock();
        return stdout
            .write_all(&heads)
            .and_then(|()| stdout.flush())
            .map_err(write_error);
    }
    std::fs::write(path, heads)
        .map_err(|e| Failure::new(Kind::Io, format!("-D {}: {e}", path.display())))
}

/// Every head of the exchange, as curl's `-i` with `-L` shows them: each redirect's followed,
/// then the final response's. Each is its status line (`HTTP/1.1 200 OK`), the headers as
/// received, and an empty line; each line ends in CRLF, as on the wire and in curl's output
/// (scripts split the head from the body there).
pub fn head_text(info: &ResponseInfo) -> Vec<u8> {
    let mut text = Vec::new();
    for hop in info.history() {
        push_head(
            &mut text,
            hop.version,
            hop.status,
            &hop.reason,
            &hop.headers,
        );
    }
    push_head(
        &mut text,
        info.version(),
        info.status(),
        info.reason(),
        info.headers(),
    );
    text
}

/// Appends one head to `text`.
fn push_head(
    text: &mut Vec<u8>,
    version: Version,
    status: StatusCode,
    reason: &[u8],
    headers: &Headers,
) {
    text.extend_from_slice(format!("{version:?} {}", status.as_u16()).as_bytes());
    if !reason.is_empty() {
        text.push(b' ');
        text.extend_from_slice(reason);
    }
    text.extend_from_slice(b"\r\n");
    for (name, value) in headers.iter() {
        text.extend_from_slice(name.as_bytes());
        text.extend_from_slice(b": ");
        text.extend_from_slice(value);
        text.extend_from_slice(b"\r\n");
    }
    text.extend_from_slice(b"\r\n");
}

/// Why a response does not meet `-z`'s condition, if it does not: a `304`, or a successful
/// response whose `Last-Modified` is on the wrong side of the date.
fn unmet(cond: &TimeCond, info: &ResponseInfo) -> Option<&'static str> {
    if info.status().as_u16() == 304 {
        return Some("304 Not Modified");
    }
    let modified = time_cond::last_modified(info.headers())?;
    match (
        info.status().is_success(),
        cond.met_by(modified),
        cond.newer,
    ) {
        (true, false, true) => Some("the document is not newer than the date (Last-Modified)"),
        (true, false, false) => Some("the document is newer than the date (Last-Modified)"),
        _ => None,
    }
}

fn write_error(e: std::io::Error) -> Failure {
    Failure::new(Kind::Io, format!("writing the body: {e}"))
}

/// The length a progress bar counts to: the body's `length` by its framing, when the bytes
/// written are the bytes it counts (not decoded from a `Content-Encoding`, unless `--raw`).
fn bar_length(raw: bool, headers: &Headers, length: Option<u64>) -> Option<u64> {
    let decoded = !raw && headers.contains("content-encoding");
    length.filter(|_| !decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_counts_to_the_length_only_when_the_body_is_written_as_it_comes() {
        let mut headers = Headers::new();
        assert_eq!(bar_length(false, &headers, None), None);
        assert_eq!(bar_length(false, &headers, Some(1234)), Some(1234));
        assert_eq!(bar_length(true, &headers, Some(1234)), Some(1234));
        headers.append("Content-Encoding", "gzip").unwrap();
        assert_eq!(
            bar_length(false, &headers, Some(1234)),
            None,
            "decoded: another length"
        );
        assert_eq!(
            bar_length(true, &headers, Some(1234)),
            Some(1234),
            "--raw: as it comes"
        );
    }
}
