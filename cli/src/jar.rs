//! The `-c/--cookie-jar` file: duet's own JSON jar format ([`CookieJar::to_json`]), loaded
//! before the request if the file exists and saved after it, so that a shell script can log in
//! across several calls.
//!
//! The file is a JSON array of cookie objects. Each has the report's cookie fields (`name`,
//! `value`, `domain`, `path`, `secure`, `http_only`, `expires` in Unix seconds or `null` for a
//! session cookie) and, as duet saves them, `host_only`, `same_site`, `created` and
//! `last_access`. Only `name`, `value` and `domain` are required when loading. Session cookies
//! are saved too: the next call is the same session.

use std::path::Path;
use std::time::SystemTime;

use duet_blocking::{CookieJar, SharedJar};

use crate::failure::{Failure, Kind};

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
    CookieJar::from_json(&text, SystemTime::now())
        .map(SharedJar::from)
        .map_err(|e| jar_error(path, e))
}

/// Saves `jar` to `path` (expired cookies left out), replacing the file in one step: the
/// jar is written next to it and renamed over it.
pub fn save(path: &Path, jar: &SharedJar) -> Result<(), Failure> {
    let json = jar.to_json(SystemTime::now(), true);
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    std::fs::write(&temporary, json + "\n")
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
}
