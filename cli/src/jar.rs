//! The `-c/--cookie-jar` file: duet's own JSON jar format ([`CookieJar::to_json`]) or curl's
//! Netscape format ([`CookieJar::to_netscape`]), loaded before the request if the file exists
//! and saved after it, so that a shell script can log in across several calls. A file is saved
//! in the format it was in (JSON when it starts with `[`); a new one is JSON, or curl's format
//! when its name ends in `.txt` (curl's `cookies.txt`), so curl and duet can share a jar.
//!
//! The file is a JSON array of cookie objects. Each has the report's cookie fields (`name`,
//! `value`, `domain`, `path`, `secure`, `http_only`, `expires` in Unix seconds or `null` for a
//! session cookie) and, as duet saves them, `host_only`, `same_site`, `created` and
//! `last_access`. Only `name`, `value` and `domain` are required when loading. Session cookies
//! are saved too: the next call is the same session.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use duet_blocking::{CookieJar, SharedJar};

use crate::failure::{Failure, Kind};

/// The formats a jar file may be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// duet's JSON array of cookies.
    Json,
    /// curl's Netscape cookie file.
    Netscape,
}

impl Format {
    /// The format of a jar file's text: JSON when it starts with `[`, else curl's.
    fn of_text(text: &str) -> Format {
        match text.trim_start().starts_with('[') {
            true => Format::Json,
            false => Format::Netscape,
        }
    }

    /// The format a jar goes to `path` in: the file's own when it holds a jar, else curl's
    /// for a `.txt` name and JSON for any other.
    pub fn for_path(path: &Path) -> Format {
        match std::fs::read_to_string(path) {
            Ok(text) if !text.trim().is_empty() => Format::of_text(&text),
            _ if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("txt")) =>
            {
                Format::Netscape
            }
            _ => Format::Json,
        }
    }
}

/// The jar in `path`, or an empty one when the file does not exist (or no path is given).
/// A file that cannot be read or is not a jar fails with kind `io`, and is left as it is.
pub fn load(path: Option<&Path>) -> Result<SharedJar, Failure> {
    let Some(path) = path else {
        return Ok(SharedJar::new());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SharedJar::new()),
        Err(e) => return Err(jar_error(path, e)),
    };
    if text.trim().is_empty() {
        return Ok(SharedJar::new());
    }
    let now = SystemTime::now();
    match Format::of_text(&text) {
        Format::Json => CookieJar::from_json(&text, now),
        Format::Netscape => CookieJar::from_netscape(&text, now),
    }
    .map(SharedJar::from)
    .map_err(|e| jar_error(path, e))
}

/// The jar of `-c` ([`load`]) with the cookies of each `-b` file added (a missing one adds
/// none, as with curl's `-b`).
pub fn load_all(jar_file: Option<&Path>, cookie_files: &[PathBuf]) -> Result<SharedJar, Failure> {
    let jar = load(jar_file)?;
    for file in cookie_files {
        for cookie in load(Some(file))?.cookies() {
            jar.insert(cookie);
        }
    }
    Ok(jar)
}

/// Saves `jar` to `path` (expired cookies left out) in the file's format (see
/// [`Format::for_path`]), replacing the file in one step: the jar is written next to it and
/// renamed over it.
pub fn save(path: &Path, jar: &SharedJar) -> Result<(), Failure> {
    let now = SystemTime::now();
    let text = match Format::for_path(path) {
        Format::Json => jar.to_json(now, true) + "\n",
        Format::Netscape => jar.to_netscape(now, true),
    };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temporary, text)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            jar_error(path, e)
        })
}

fn jar_error(path: &Path, e: impl std::fmt::Display) -> Failure {
    Failure::new(Kind::Io, format!("cookie jar {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_empty_file_is_an_empty_jar_and_a_bad_one_an_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jar.json");
        assert!(load(Some(&path)).unwrap().is_empty());
        std::fs::write(&path, " \n").unwrap();
        assert!(load(Some(&path)).unwrap().is_empty());
        std::fs::write(&path, "{\"not\": \"a jar\"}").unwrap();
        let failure = load(Some(&path)).unwrap_err();
        assert_eq!(failure.kind, Kind::Io);
        assert!(failure.message.contains("jar.json"), "{}", failure.message);
        // Unreadable (here a directory) is an error too, not an empty jar.
        let failure = load(Some(dir.path())).unwrap_err();
        assert_eq!(failure.kind, Kind::Io);
    }

    #[test]
    fn saved_jars_load_back_with_session_cookies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jar.json");
        let jar = SharedJar::new();
        let url = duet_blocking::Url::parse("http://127.0.0.1:8000/").unwrap();
        jar.store(&url, "sid=abc; HttpOnly", SystemTime::now())
            .unwrap();
        jar.store(&url, "theme=dark; Max-Age=3600", SystemTime::now())
            .unwrap();
        save(&path, &jar).unwrap();
        let loaded = load(Some(&path)).unwrap();
        assert_eq!(loaded.get("sid").unwrap().value, "abc");
        assert!(loaded.get("sid").unwrap().http_only);
        assert!(loaded.get("theme").unwrap().expires.is_some());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn curls_cookie_files_are_read_and_written_back_as_curl_wrote_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("from-curl");
        std::fs::write(
            &path,
            "# Netscape HTTP Cookie File\n\
             127.0.0.1\tFALSE\t/\tFALSE\t0\tb\t\"two words\"\n\
             #HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1\n",
        )
        .unwrap();
        let jar = load(Some(&path)).unwrap();
        assert_eq!(jar.get("b").unwrap().value, "\"two words\"");
        assert!(jar.get("a").unwrap().http_only);
        save(&path, &jar).unwrap();
        let saved = std::fs::read_to_string(&path).unwrap();
        assert!(saved.starts_with("# Netscape HTTP Cookie File"), "{saved}");
        assert!(
            saved.contains("#HttpOnly_127.0.0.1\tFALSE\t/\tFALSE\t0\ta\t1"),
            "{saved}"
        );
        // A new file: curl's format for a .txt name, JSON for any other.
        for (name, format) in [
            ("cookies.txt", Format::Netscape),
            ("jar.json", Format::Json),
            ("jar", Format::Json),
        ] {
            let path = dir.path().join(name);
            save(&path, &jar).unwrap();
            assert_eq!(Format::for_path(&path), format, "{name}");
            // An empty file holds no jar: its name decides, as for a new one.
            std::fs::write(&path, "\n").unwrap();
            assert_eq!(Format::for_path(&path), format, "{name}, empty");
            save(&path, &jar).unwrap();
            assert_eq!(
                load(Some(&path)).unwrap().get("a").unwrap().value,
                "1",
                "{name}"
            );
        }
    }
}
