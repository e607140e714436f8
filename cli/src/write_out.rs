//! `-w/--write-out FORMAT`, as curl's: text written to stdout once the transfer is over
//! (after the body, and after a failure too), with curl's common variables replaced, for
//! scripts such as `duet -s -o /dev/null -w '%{http_code}\n' URL`.
//!
//! - `%{name}`: one of [`Variable`]'s names (`http_code`, `url_effective`, `time_total`, ...);
//! - `%header{name}`: the final response's field `name` (several values joined with `, `);
//! - `%%`: a `%`; `\n`, `\r`, `\t` and `\\`: a newline, a carriage return, a tab, a backslash.
//!
//! The format is checked when the command line is read: an unknown variable is a usage error,
//! before anything is sent.

use std::fmt::Write as _;

use duet_blocking::core::Version;

use crate::send::Outcome;

/// A checked `-w` format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOut {
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Variable(Variable),
    Header(String),
}

/// The variables `-w` knows, by curl's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variable {
    /// `http_code` (or `response_code`): the final status, three digits; `000` without one.
    HttpCode,
    /// `http_version`: `1.1` or `1.0`; `0` without a response.
    HttpVersion,
    /// `url_effective` (or `url`): the URL of the final response (the requested one without).
    UrlEffective,
    /// `num_redirects`: the redirects followed.
    NumRedirects,
    /// `redirect_url`: where the final response redirects to, when it was not followed.
    RedirectUrl,
    /// `content_type`: the final response's `Content-Type`.
    ContentType,
    /// `size_download`: the body bytes written (decoded unless `--raw`).
    SizeDownload,
    /// `time_total`: seconds from the start to the end of the body, to the microsecond.
    TimeTotal,
    /// `time_starttransfer`: seconds from the start until the final response's head arrived
    /// (redirects and authentication rounds included); 0 without one.
    TimeStartTransfer,
    /// `speed_download`: the body bytes per second over `time_total`, whole.
    SpeedDownload,
    /// `num_headers`: the header fields of the final response.
    NumHeaders,
    /// `filename_effective`: the file the body went to (`-o`, `-O`, `-J`); empty without one.
    FilenameEffective,
    /// `remote_ip`: the address of the server (or proxy) that answered.
    RemoteIp,
    /// `remote_port`: its port.
    RemotePort,
    /// `scheme`: the final URL's scheme.
    Scheme,
    /// `exitcode`: the exit code duet returns.
    ExitCode,
    /// `errormsg`: the error message, empty on success.
    ErrorMsg,
}

impl Variable {
    fn named(name: &str) -> Option<Variable> {
        Some(match name {
            "http_code" | "response_code" => Variable::HttpCode,
            "http_version" => Variable::HttpVersion,
            "url_effective" | "url" => Variable::UrlEffective,
            "num_redirects" => Variable::NumRedirects,
            "redirect_url" => Variable::RedirectUrl,
            "content_type" => Variable::ContentType,
            "size_download" => Variable::SizeDownload,
            "time_total" => Variable::TimeTotal,
            "time_starttransfer" => Variable::TimeStartTransfer,
            "speed_download" => Variable::SpeedDownload,
            "num_headers" => Variable::NumHeaders,
            "filename_effective" => Variable::FilenameEffective,
            "remote_ip" => Variable::RemoteIp,
            "remote_port" => Variable::RemotePort,
            "scheme" => Variable::Scheme,
            "exitcode" => Variable::ExitCode,
            "errormsg" => Variable::ErrorMsg,
            _ => return None,
        })
    }
}

impl WriteOut {
    /// Reads a format; an unknown variable or an unclosed `%{` is an error naming it.
    pub fn parse(format: &str) -> Result<WriteOut, String> {
        let mut pieces = Vec::new();
        let mut text = String::new();
        let mut rest = format;
        while let Some(c) = rest.chars().next() {
            let after = &rest[c.len_utf8()..];
            rest = match (c, after.chars().next()) {
                ('%', Some('%')) => {
                    text.push('%');
                    &after[1..]
                }
                ('%', Some('{')) => {
                    let (name, next) = braced(&after[1..])?;
                    let variable = Variable::named(name)
                        .ok_or_else(|| format!("unknown --write-out variable {name:?}"))?;
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Variable(variable));
                    next
                }
                ('%', _) if after.starts_with("header{") => {
                    let (name, next) = braced(&after["header{".len()..])?;
                    pieces.push(Piece::Text(std::mem::take(&mut text)));
                    pieces.push(Piece::Header(name.to_owned()));
                    next
                }
                ('\\', Some(escaped @ ('n' | 'r' | 't' | '\\'))) => {
                    text.push(match escaped {
                        'n' => '\n',
                        'r' => '\r',
                        't' => '\t',
                        _ => '\\',
                    });
                    &after[1..]
                }
                _ => {
                    text.push(c);
                    after
                }
            };
        }
        pieces.push(Piece::Text(text));
        pieces.retain(|p| *p != Piece::Text(String::new()));
        Ok(WriteOut { pieces })
    }

    /// The text for `outcome`, which ended with exit code `exit_code`; `requested` is the
    /// URL as given.
    pub fn render(&self, outcome: &Outcome, requested: &str, exit_code: u8) -> String {
        let mut out = String::new();
        let info = outcome.response.as_ref();
        for piece in &self.pieces {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Header(name) => {
                    if let Some(info) = info {
                        let values: Vec<_> = info
                            .headers()
                            .get_all(name)
                            .map(String::from_utf8_lossy)
                            .collect();
                        out.push_str(&values.join(", "));
                    }
                }
                Piece::Variable(variable) => {
                    let _ = match variable {
                        Variable::HttpCode => {
                            write!(out, "{:03}", info.map_or(0, |i| i.status().as_u16()))
                        }
                        Variable::HttpVersion => out.write_str(match info.map(|i| i.version()) {
                            Some(Version::HTTP_10) => "1.0",
                            Some(_) => "1.1",
                            None => "0",
                        }),
                        Variable::UrlEffective => {
                            out.write_str(info.map_or(requested, |i| i.url().as_str()))
                        }
                        Variable::NumRedirects => {
                            write!(out, "{}", info.map_or(0, |i| i.history().len()))
                        }
                        Variable::RedirectUrl => out.write_str(
                            &info
                                .filter(|i| i.status().is_redirection())
                                .and_then(|i| {
                                    let location = i.header("location")?;
                                    i.url().join(location.trim()).ok()
                                })
                                .map(String::from)
                                .unwrap_or_default(),
                        ),
                        Variable::ContentType => {
                            out.write_str(info.and_then(|i| i.header("content-type")).unwrap_or(""))
                        }
                        Variable::SizeDownload => write!(out, "{}", outcome.size_download),
                        Variable::TimeTotal => {
                            write!(out, "{:.6}", outcome.elapsed.as_secs_f64())
                        }
                        Variable::TimeStartTransfer => write!(
                            out,
                            "{:.6}",
                            info.map_or(0.0, |i| i.elapsed().as_secs_f64())
                        ),
                        Variable::SpeedDownload => {
                            let secs = outcome.elapsed.as_secs_f64();
                            let speed = match secs > 0.0 {
                                true => outcome.size_download as f64 / secs,
                                false => 0.0,
                            };
                            write!(out, "{}", speed as u64)
                        }
                        Variable::NumHeaders => {
                            write!(out, "{}", info.map_or(0, |i| i.headers().len()))
                        }
                        Variable::FilenameEffective => out.write_str(
                            &outcome
                                .filename
                                .as_deref()
                                .map(|p| p.display().to_string())
                                .unwrap_or_default(),
                        ),
                        Variable::RemoteIp => out.write_str(
                            &info
                                .and_then(|i| i.remote_addr())
                                .map(|a| a.ip().to_string())
                                .unwrap_or_default(),
                        ),
                        Variable::RemotePort => out.write_str(
                            &info
                                .and_then(|i| i.remote_addr())
                                .map(|a| a.port().to_string())
                                .unwrap_or_default(),
                        ),
                        Variable::Scheme => out.write_str(info.map_or("", |i| i.url().scheme())),
                        Variable::ExitCode => write!(out, "{exit_code}"),
                        Variable::ErrorMsg => out.write_str(
                            &outcome
                                .error
                                .as_ref()
                                .map(|f| f.message.clone())
                                .unwrap_or_default(),
                        ),
                    };
                }
            }
        }
        out
    }
}

/// The name up to the closing `}` and what follows it.
fn braced(text: &str) -> Result<(&str, &str), String> {
    let end = text
        .find('}')
        .ok_or_else(|| "an unclosed '{' in --write-out".to_owned())?;
    Ok((&text[..end], &text[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_read_and_unknown_variables_refused() {
        let format = WriteOut::parse("%{http_code} %header{x-a}%% \\r\\n\\t\\\\ é").unwrap();
        assert_eq!(
            format.pieces,
            [
                Piece::Variable(Variable::HttpCode),
                Piece::Text(" ".into()),
                Piece::Header("x-a".into()),
                Piece::Text("% \r\n\t\\ é".into()),
            ]
        );
        for (name, variable) in [
            ("http_code", Variable::HttpCode),
            ("response_code", Variable::HttpCode),
            ("http_version", Variable::HttpVersion),
            ("url_effective", Variable::UrlEffective),
            ("url", Variable::UrlEffective),
            ("num_redirects", Variable::NumRedirects),
            ("redirect_url", Variable::RedirectUrl),
            ("content_type", Variable::ContentType),
            ("size_download", Variable::SizeDownload),
            ("time_total", Variable::TimeTotal),
            ("time_starttransfer", Variable::TimeStartTransfer),
            ("speed_download", Variable::SpeedDownload),
            ("num_headers", Variable::NumHeaders),
            ("filename_effective", Variable::FilenameEffective),
            ("remote_ip", Variable::RemoteIp),
            ("remote_port", Variable::RemotePort),
            ("scheme", Variable::Scheme),
            ("exitcode", Variable::ExitCode),
            ("errormsg", Variable::ErrorMsg),
        ] {
            let format = WriteOut::parse(&format!("%{{{name}}}")).unwrap();
            assert_eq!(format.pieces, [Piece::Variable(variable)], "{name}");
        }
        assert!(WriteOut::parse("%{nope}").unwrap_err().contains("nope"));
        assert!(WriteOut::parse("%{http_code").is_err());
        assert_eq!(
            WriteOut::parse("100% \\x").unwrap().pieces,
            [Piece::Text("100% \\x".into())],
            "a lone % or an unknown escape stays as it is"
        );
    }
}
