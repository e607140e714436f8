//! Running the `duet` binary: a plain `std::process` harness.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

/// What one run of `duet` gave.
#[derive(Debug)]
pub struct Run {
    /// The exit code.
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Standard output as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard output parsed as the `--report` JSON.
    pub fn report(&self) -> Value {
        serde_json::from_slice(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "not a report ({e}): {}\nstderr: {}",
                self.out(),
                self.stderr
            )
        })
    }
}

/// A command line: arguments, standard input, environment.
#[derive(Default)]
pub struct Duet {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
    dir: Option<std::path::PathBuf>,
}

/// `duet` with these arguments.
pub fn duet<S: AsRef<str>>(args: &[S]) -> Duet {
    Duet {
        args: args.iter().map(|a| a.as_ref().to_owned()).collect(),
        ..Duet::default()
    }
}

impl Duet {
    /// Feeds `bytes` on standard input.
    pub fn stdin(mut self, bytes: &[u8]) -> Self {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Sets an environment variable.
    pub fn env(mut self, name: &str, value: impl AsRef<Path>) -> Self {
        self.env
            .push((name.to_owned(), value.as_ref().display().to_string()));
        self
    }

    /// Runs it in `dir`.
    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_owned());
        self
    }

    /// Runs it, in a clean environment: no proxies, no `SSL_CERT_FILE`, no `NETRC`, and a
    /// `HOME` with nothing in it (unless set with [`Duet::env`]).
    pub fn run(self) -> Run {
        let home = tempfile::tempdir().expect("a temporary HOME");
        let mut command = Command::new(env!("CARGO_BIN_EXE_duet"));
        command.args(&self.args).env("HOME", home.path());
        for name in [
            "NETRC",
            "SSL_CERT_FILE",
            "HTTP_PROXY",
            "HTTPS_PROXY",
            "ALL_PROXY",
            "NO_PROXY",
            "http_proxy",
            "https_proxy",
            "all_proxy",
            "no_proxy",
        ] {
            command.env_remove(name);
        }
        for (name, value) in &self.env {
            command.env(name, value);
        }
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        command
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("duet starts");
        if let Some(bytes) = &self.stdin {
            let mut stdin = child.stdin.take().expect("piped stdin");
            stdin.write_all(bytes).expect("write stdin");
        }
        let output = child.wait_with_output().expect("duet runs");
        Run {
            code: output.status.code().expect("duet exits by itself"),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// Runs it with `--report` and returns the report (and the run).
    pub fn report(mut self) -> (Value, Run) {
        self.args.push("--report".to_owned());
        let run = self.run();
        (run.report(), run)
    }
}

/// The report without `elapsed_ms`, the one field that differs between two runs.
pub fn timeless(mut report: Value) -> Value {
    report
        .as_object_mut()
        .expect("a report is an object")
        .remove("elapsed_ms")
        .expect("a report has elapsed_ms");
    report
}

/// The report's `body` parsed as JSON (the echo server's answer).
pub fn echoed(report: &Value) -> Value {
    let body = report["body"]
        .as_str()
        .unwrap_or_else(|| panic!("a text body: {report}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("JSON body ({e}): {body}"))
}

/// The value of header `name` in a `[[name, value], ...]` list (case-insensitive).
pub fn header<'a>(headers: &'a Value, name: &str) -> Option<&'a str> {
    headers.as_array()?.iter().find_map(|pair| {
        let pair = pair.as_array()?;
        pair[0]
            .as_str()?
            .eq_ignore_ascii_case(name)
            .then(|| pair[1].as_str())?
    })
}

/// A file holding `contents` in `dir`.
pub fn file(dir: &Path, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).expect("write a test file");
    path
}

/// A path as a command-line argument.
pub fn arg(path: &Path) -> String {
    path.display().to_string()
}
