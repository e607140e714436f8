//! `.netrc` credentials, looked up by host as curl and requests do.
//!
//! The driver finds and reads the file (an explicit path, `$NETRC`, or `~/.netrc`) and hands
//! its text to [`Netrc::parse`]; duet-core reads no files. [`NetrcAuth`] then answers every
//! hop with `Authorization: Basic` (RFC 7617) for the credentials of that hop's host.
//!
//! The grammar and the choices where curl and Python differ are on [`Netrc`].

use std::fmt;

use url::Url;

use super::{Auth, AuthError, AuthFlow, AuthRequest, BasicAuth};

/// Why a `.netrc` text could not be parsed: the 1-based line and what is wrong there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed netrc, line {line}: {reason}")]
pub struct NetrcError {
    /// The line (1-based) of the offending token; for a missing value, the keyword's line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// One `machine` or `default` entry.
#[derive(Clone, Default, PartialEq, Eq)]
struct Entry {
    login: Option<String>,
    password: Option<String>,
}

/// A parsed `.netrc` file: credentials per host, and an optional `default`.
///
/// # The grammar (netrc(5), as curl reads it)
///
/// Tokens are separated by spaces, tabs and newlines. Keywords (matched case-insensitively,
/// like curl) are `machine NAME`, `default`, `login NAME`, `password PASS`, `account ACCT`
/// (read and ignored) and `macdef NAME` (the macro body, from the next line up to an empty or
/// blank line, is skipped). A token in keyword position that starts with `#` begins a comment
/// running to the end of the line; in value position it is a value (`password #secret` is the
/// password `#secret`), so a comment never shifts a credential. A token may be quoted,
/// `"like this"`, with curl's backslash escapes (`\"`, `\\`, `\n`, `\r`, `\t`); a quoted token
/// ends on its line.
///
/// # Decisions where implementations differ
///
/// - The first `machine` entry for a host wins (curl, ftp); later duplicates are ignored, as
///   is a second `default`. Within one entry a repeated `login` or `password` replaces the
///   earlier one (Python's `netrc`).
/// - `default` is for hosts without a `machine` entry wherever it appears (requests via
///   Python's `netrc`); a `machine` after it is still found by its host.
/// - `macdef` ends the entry before it, so a `login` after a macro body is an error.
/// - A malformed file is an error with its line number and gives no credentials at all.
///
/// ```
/// use duet_core::auth::Netrc;
/// let netrc = Netrc::parse(
///     "machine api.example.com login alice password s3cret\n\
///      default login anonymous password guest\n",
/// )
/// .unwrap();
/// assert_eq!(netrc.credentials("API.example.com"), Some(("alice", "s3cret")));
/// assert_eq!(netrc.credentials("other.example"), Some(("anonymous", "guest")));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Netrc {
    machines: Vec<(String, Entry)>,
    default: Option<Entry>,
}

impl Netrc {
    /// Parses the text of a `.netrc` file (see [`Netrc`] for the grammar).
    ///
    /// Fails with the line of the first problem: a keyword without its value at the end of
    /// the file, an unknown keyword, `login`/`password`/`account` before any `machine` or
    /// `default`, `macdef` without a name, an unterminated quoted token. A failed parse
    /// yields no credentials at all, never a partial set.
    pub fn parse(text: &str) -> Result<Netrc, NetrcError> {
        let mut lexer = Lexer {
            text,
            pos: 0,
            line: 1,
        };
        let mut netrc = Netrc::default();
        // The entry being read: `Some(host)` for a machine, `None` for `default`.
        let mut current: Option<(Option<String>, Entry)> = None;
        while let Some(token) = lexer.next_token()? {
            if !token.quoted && token.text.starts_with('#') {
                lexer.skip_line();
                continue;
            }
            let keyword = token.text.to_ascii_lowercase();
            match keyword.as_str() {
                "machine" => {
                    netrc.finish(current.take());
                    let host = lexer.value(&token)?;
                    current = Some((Some(host), Entry::default()));
                }
                "default" => {
                    netrc.finish(current.take());
                    current = Some((None, Entry::default()));
                }
                "login" | "password" | "account" => {
                    let value = lexer.value(&token)?;
                    let Some((_, entry)) = current.as_mut() else {
                        return Err(NetrcError {
                            line: token.line,
                            reason: format!("`{keyword}` before any `machine` or `default`"),
                        });
                    };
                    match keyword.as_str() {
                        "login" => entry.login = Some(value),
                        "password" => entry.password = Some(value),
                        _ => {}
                    }
                }
                "macdef" => {
                    netrc.finish(current.take());
                    lexer.skip_macro(token.line)?;
                }
                _ => {
                    return Err(NetrcError {
                        line: token.line,
                        reason: format!("unknown keyword `{}`", token.text),
                    });
                }
            }
        }
        netrc.finish(current);
        Ok(netrc)
    }

    /// Stores a completed entry; the first one for a host (or the first `default`) wins.
    fn finish(&mut self, entry: Option<(Option<String>, Entry)>) {
        match entry {
            Some((Some(host), entry))
                if !self
                    .machines
                    .iter()
                    .any(|(h, _)| h.eq_ignore_ascii_case(&host)) =>
            {
                self.machines.push((host, entry));
            }
            Some((None, entry)) => {
                self.default.get_or_insert(entry);
            }
            _ => {}
        }
    }

    /// The `(login, password)` for `host`: from the `machine` entry whose name equals it
    /// (ASCII case-insensitively; an IPv6 host may be given with or without brackets), else
    /// from `default`, else `None`.
    ///
    /// A missing login or password is `""` (requests does the same); an entry with neither
    /// gives `None`, and a matching machine entry is never completed from `default`.
    pub fn credentials(&self, host: &str) -> Option<(&str, &str)> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let entry = self
            .machines
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host) || name.eq_ignore_ascii_case(bare))
            .map(|(_, entry)| entry)
            .or(self.default.as_ref())?;
        if entry.login.is_none() && entry.password.is_none() {
            return None;
        }
        Some((
            entry.login.as_deref().unwrap_or_default(),
            entry.password.as_deref().unwrap_or_default(),
        ))
    }
}

impl fmt::Debug for Netrc {
    /// Hosts and logins only: passwords are never printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let logins = |entry: &Entry| entry.login.clone().unwrap_or_default();
        f.debug_struct("Netrc")
            .field(
                "machines",
                &self
                    .machines
                    .iter()
                    .map(|(host, entry)| (host.as_str(), logins(entry)))
                    .collect::<Vec<_>>(),
            )
            .field("default", &self.default.as_ref().map(logins))
            .finish()
    }
}

/// One token and the line it starts on.
struct Token {
    text: String,
    line: usize,
    quoted: bool,
}

/// Splits the text into tokens, counting lines.
struct Lexer<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        if c == '\n' {
            self.line += 1;
        }
        Some(c)
    }

    fn error(&self, line: usize, reason: impl Into<String>) -> NetrcError {
        NetrcError {
            line,
            reason: reason.into(),
        }
    }

    /// The next token, skipping whitespace; `None` at the end of the text.
    fn next_token(&mut self) -> Result<Option<Token>, NetrcError> {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.bump();
        }
        self.read_token()
    }

    /// The token starting here, if any (the caller has skipped the whitespace it allows).
    fn read_token(&mut self) -> Result<Option<Token>, NetrcError> {
        let line = self.line;
        let Some(first) = self.peek() else {
            return Ok(None);
        };
        let mut text = String::new();
        if first != '"' {
            while let Some(c) = self.peek().filter(|c| !c.is_ascii_whitespace()) {
                text.push(c);
                self.bump();
            }
            return Ok(Some(Token {
                text,
                line,
                quoted: false,
            }));
        }
        self.bump();
        loop {
            match self.bump() {
                Some('"') => break,
                Some('\\') if self.peek().is_some_and(|c| c != '\n') => {
                    text.push(match self.bump() {
                        Some('n') => '\n',
                        Some('r') => '\r',
                        Some('t') => '\t',
                        Some(c) => c,
                        None => unreachable!("peeked"),
                    });
                }
                Some('\n') | None => {
                    return Err(self.error(line, "unterminated quoted token"));
                }
                Some(c) => text.push(c),
            }
        }
        Ok(Some(Token {
            text,
            line,
            quoted: true,
        }))
    }

    /// The value that must follow `keyword` (on any later line, as in Python's `netrc`).
    fn value(&mut self, keyword: &Token) -> Result<String, NetrcError> {
        match self.next_token()? {
            Some(token) => Ok(token.text),
            None => Err(self.error(
                keyword.line,
                format!("`{}` without a value at the end of the file", keyword.text),
            )),
        }
    }

    /// Skips to the start of the next line.
    fn skip_line(&mut self) {
        while let Some(c) = self.bump() {
            if c == '\n' {
                break;
            }
        }
    }

    /// After `macdef`: its name on the same line, then the body up to an empty or blank line
    /// (or the end of the file).
    fn skip_macro(&mut self, line: usize) -> Result<(), NetrcError> {
        while self.peek().is_some_and(|c| c == ' ' || c == '\t') {
            self.bump();
        }
        if self.peek().is_none_or(|c| c.is_ascii_whitespace()) {
            return Err(self.error(line, "`macdef` without a macro name"));
        }
        self.skip_line();
        while self.pos < self.text.len() {
            let start = self.pos;
            self.skip_line();
            if self.text[start..self.pos].trim_ascii().is_empty() {
                break;
            }
        }
        Ok(())
    }
}

/// Basic credentials from a [`Netrc`], looked up by the host of each hop's URL.
///
/// The host of the URL being requested decides — never the URL's userinfo and never a previous
/// hop — so after a redirect to another host that host's entry (or `default`, or nothing) is
/// used, as curl and requests do. The header is sent with the first request, without waiting
/// for a challenge. [`Auth::per_host`] is true.
///
/// ```
/// use duet_core::auth::{Auth, Netrc, NetrcAuth};
/// let netrc = Netrc::parse("machine example.com login user password pass").unwrap();
/// let auth = NetrcAuth::new(netrc);
/// assert!(auth.flow(&url::Url::parse("https://example.com/").unwrap()).is_some());
/// assert!(auth.flow(&url::Url::parse("https://example.org/").unwrap()).is_none());
/// ```
#[derive(Debug, Clone)]
pub struct NetrcAuth {
    netrc: Netrc,
}

impl NetrcAuth {
    /// Answers with the credentials in `netrc`.
    pub fn new(netrc: Netrc) -> Self {
        NetrcAuth { netrc }
    }
}

impl Auth for NetrcAuth {
    fn flow(&self, url: &Url) -> Option<Box<dyn AuthFlow>> {
        let (login, password) = self.netrc.credentials(url.host_str()?)?;
        match BasicAuth::new(login, password) {
            Ok(basic) => basic.flow(url),
            // Said when the request goes out, as any flow's error.
            Err(e) => Some(Box::new(Unsendable(e))),
        }
    }

    fn per_host(&self) -> bool {
        true
    }
}

/// The flow of credentials that cannot be sent (a login with a colon, a control character):
/// it refuses the request.
struct Unsendable(AuthError);

impl fmt::Debug for Unsendable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unsendable").finish_non_exhaustive()
    }
}

impl AuthFlow for Unsendable {
    fn authorize(&mut self, _: &mut AuthRequest<'_>) -> Result<(), AuthError> {
        Err(self.0.clone())
    }
}

#[cfg(test)]
#[path = "netrc_tests.rs"]
mod tests;
