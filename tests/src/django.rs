//! [`DjangoSite`]: a real Django site with Hue's login (`tests/django/site.py`): Django's own
//! auth views, session and CSRF middleware, on Django's development server on 127.0.0.1, at
//! the paths of [`hue`](crate::hue) (its constants name them). Where
//! [`HueServer`](crate::hue::HueServer) reproduces what Django does, this is Django doing
//! it, so the login story is checked against the real thing too.
//!
//! It needs Python 3 with Django (`python3 -m pip install 'django>=5.2,<6'`; `.ci/run` installs
//! it). Without Django the tests that use it say so on stderr and pass, unless
//! `DUET_REQUIRE_DJANGO` is set (CI sets it), when they fail.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Mutex, OnceLock};

/// Set (to anything) to make a missing Django a failure instead of a skipped test.
pub const REQUIRE_VAR: &str = "DUET_REQUIRE_DJANGO";

/// A running Django site, shared by the tests of one process.
#[derive(Debug)]
pub struct DjangoSite {
    port: u16,
    /// The site exits when this closes (when the test process ends).
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl DjangoSite {
    /// The site of this test process, started at the first call. `None` when Python has no
    /// Django and [`REQUIRE_VAR`] is not set; panics when it is, or when the site fails to
    /// start.
    pub fn shared() -> Option<&'static DjangoSite> {
        static SITE: OnceLock<Option<DjangoSite>> = OnceLock::new();
        SITE.get_or_init(|| {
            if !has_django() {
                let missing =
                    "Python 3 with Django is needed (python3 -m pip install 'django>=5.2,<6')";
                if std::env::var_os(REQUIRE_VAR).is_some() {
                    panic!("{missing}, and {REQUIRE_VAR} is set");
                }
                eprintln!("skipped: {missing}");
                return None;
            }
            Some(DjangoSite::start())
        })
        .as_ref()
    }

    fn start() -> DjangoSite {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("django/site.py");
        let mut child = Command::new("python3")
            .arg(&script)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 starts");
        let stdin = child.stdin.take().expect("piped");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped"))
            .read_line(&mut line)
            .expect("the site's first line");
        let port = line
            .strip_prefix("LISTENING ")
            .and_then(|port| port.trim().parse().ok())
            .unwrap_or_else(|| panic!("the Django site did not start: {line:?}"));
        DjangoSite {
            port,
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

/// Whether `python3` has Django. Not only `import django`: run from this crate's directory
/// (a test's working directory), that finds `tests/django/`, the site's own folder, as a
/// namespace package, and would pass without Django.
fn has_django() -> bool {
    Command::new("python3")
        .args(["-c", "import django; django.get_version()"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_is_found_only_where_python_has_it() {
        // A test runs in this crate's directory, which holds a `django/` folder; from a
        // directory with none, `import django` finds only an installed Django.
        assert_eq!(
            std::env::current_dir().unwrap(),
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        );
        let elsewhere = std::env::temp_dir();
        assert!(!elsewhere.join("django").exists());
        let installed = Command::new("python3")
            .args(["-c", "import django"])
            .current_dir(elsewhere)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|status| status.success());
        assert_eq!(has_django(), installed);
    }
}
