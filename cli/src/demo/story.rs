//! The demo's steps: each one `duet` command line, parsed by the real argument parser and
//! sent by [`send::perform`](crate::send::perform) with duet-blocking, then with duet-async.

use std::path::{Path, PathBuf};

use clap::Parser;
use duet_tests::hue::{CSRF_COOKIE, CSRF_FIELD, LOGIN_PATH, METADATA_PATH, PASSWORD, USER};
use serde_json::Value;

use super::site::{self, Site};
use crate::args::Args;
use crate::output::Output;
use crate::send::{Outcome, perform};
use crate::spec::{Flavour, RequestSpec};

/// Where a step runs: the site, the demo's directory, and the client (each client has its
/// own cookie jar, so each logs in for itself).
pub struct Context<'a> {
    /// The demo site.
    pub site: &'a Site,
    /// The temporary directory (jars, the uploaded file).
    pub dir: &'a Path,
    /// The client sending the step.
    pub flavour: Flavour,
}

impl Context<'_> {
    /// This client's cookie jar file.
    pub fn jar(&self) -> String {
        let name = match self.flavour {
            Flavour::Blocking => "jar-blocking.json",
            Flavour::Async => "jar-async.json",
        };
        self.dir.join(name).display().to_string()
    }

    /// The CSRF token in this client's jar (empty when there is none).
    fn csrf(&self) -> String {
        let jar: Value = std::fs::read_to_string(self.jar())
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        let cookies = jar.as_array().cloned().unwrap_or_default();
        cookies
            .iter()
            .find(|c| c["name"] == CSRF_COOKIE)
            .and_then(|c| c["value"].as_str())
            .unwrap_or("")
            .to_owned()
    }
}

/// One step of the demo.
pub struct Step {
    /// What it shows.
    pub title: &'static str,
    /// A shell line shown before the command, when it needs one.
    pub prelude: Option<&'static str>,
    /// The command's arguments (after `duet`).
    pub args: fn(&Context) -> Vec<String>,
    /// What to say about the outcome.
    pub note: fn(&Outcome) -> String,
}

/// The steps, in order: the login story (with a refusal), then redirects, gzip, Digest,
/// multipart and a timeout.
pub fn steps() -> Vec<Step> {
    vec![
        Step {
            title: "The login page hands out a CSRF cookie",
            prelude: None,
            args: |c| strings(&["-c", &c.jar(), &c.site.hue(&format!("{LOGIN_PATH}?next=/"))]),
            note: |o| format!("cookies: {}", cookie_names(o)),
        },
        Step {
            title: "Without the CSRF token the site refuses the form (--fail exits with 22)",
            prelude: None,
            args: |c| {
                let (user, password) = (format!("username={USER}"), format!("password={PASSWORD}"));
                strings(&[
                    "--fail",
                    "-c",
                    &c.jar(),
                    "-d",
                    &user,
                    "-d",
                    &password,
                    &c.site.hue(LOGIN_PATH),
                ])
            },
            note: |o| match text(o).split("<pre>").nth(1) {
                Some(rest) => format!(
                    "Django says: {}",
                    rest.split("</pre>").next().unwrap_or("").trim()
                ),
                None => String::new(),
            },
        },
        Step {
            title: "Log in with the token from the jar; the 302 to next=/ is followed",
            prelude: Some("CSRF=$(jq -r '.[] | select(.name == \"csrftoken\") | .value' jar.json)"),
            args: |c| {
                let login = c.site.hue(LOGIN_PATH);
                strings(&[
                    "-c",
                    &c.jar(),
                    "-H",
                    &format!("Referer: {login}"),
                    "-d",
                    &format!("username={USER}"),
                    "-d",
                    &format!("password={PASSWORD}"),
                    "-d",
                    &format!("{CSRF_FIELD}={}", c.csrf()),
                    "-d",
                    "next=/",
                    &login,
                ])
            },
            note: |o| {
                let title = text(o)
                    .split("<p>")
                    .nth(1)
                    .map(|p| p.split("</p>").next().unwrap_or("").to_owned());
                format!(
                    "{:?}, cookies: {}",
                    title.unwrap_or_default(),
                    cookie_names(o)
                )
            },
        },
        Step {
            title: "The JSON API, with the session cookie from the jar",
            prelude: None,
            args: |c| strings(&["-c", &c.jar(), &c.site.hue(METADATA_PATH)]),
            note: |o| {
                let json: Value = serde_json::from_str(&text(o)).unwrap_or_default();
                format!(
                    "database {}, owner {}, location {}",
                    json["database"], json["owner"], json["location"]
                )
            },
        },
        Step {
            title: "Redirects are followed, and each hop recorded",
            prelude: None,
            args: |c| vec![c.site.echo("/redirect/3")],
            note: |o| match &o.response {
                Some(info) => {
                    let hops: Vec<&str> = info.history().iter().map(|h| h.url.path()).collect();
                    format!("via {} to {}", hops.join(" "), info.url().path())
                }
                None => String::new(),
            },
        },
        Step {
            title: "A gzip body is decoded",
            prelude: None,
            args: |c| vec![c.site.echo("/gzip")],
            note: |o| {
                let sent = o
                    .response
                    .as_ref()
                    .and_then(|i| i.header("content-length"))
                    .unwrap_or("?");
                let json: Value = serde_json::from_str(&text(o)).unwrap_or_default();
                format!(
                    "{sent} gzip bytes became {} bytes of JSON: message {}",
                    text(o).len(),
                    json["message"]
                )
            },
        },
        Step {
            title: "Digest authentication answers the server's challenge",
            prelude: None,
            args: |c| {
                let user = format!("{}:{}", site::USER, site::PASSWORD);
                strings(&[
                    "-u",
                    &user,
                    "--auth-type",
                    "digest",
                    &c.site.echo("/digest"),
                ])
            },
            note: |o| format!("{:?}", text(o)),
        },
        Step {
            title: "A multipart form, the file streamed from disk",
            prelude: None,
            args: |c| {
                let photo = format!("photo=@{};type=image/png", upload(c.dir).display());
                strings(&["-F", "title=holiday", "-F", &photo, &c.site.echo("/echo")])
            },
            note: |o| {
                let json: Value = serde_json::from_str(&text(o)).unwrap_or_default();
                let parts = json["parts"].as_array().cloned().unwrap_or_default();
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| match p["filename"].as_str() {
                        Some(file) => format!(
                            "{} ({file}, {}, {} bytes)",
                            p["name"], p["content_type"], p["size"]
                        ),
                        None => format!("{}={}", p["name"], p["text"]),
                    })
                    .collect();
                format!("the server got {}", parts.join(" and "))
            },
        },
        Step {
            title: "A timeout is an error with its kind (the server waits 2 s)",
            prelude: None,
            args: |c| strings(&["--timeout", "0.3", &c.site.echo("/slow")]),
            note: |_| String::new(),
        },
    ]
}

/// Walks every step with both clients, printing each; returns whether the two clients
/// agreed at every step.
pub fn walk(site: &Site, dir: &Path) -> bool {
    let mut agreed = true;
    for (number, step) in steps().iter().enumerate() {
        println!();
        println!("{}. {}", number + 1, step.title);
        let mut results = Vec::new();
        for flavour in [Flavour::Blocking, Flavour::Async] {
            let context = Context { site, dir, flavour };
            let args = (step.args)(&context);
            if flavour == Flavour::Blocking {
                if let Some(prelude) = step.prelude {
                    println!("   $ {prelude}");
                }
                println!("   $ duet {}", shown(&args, &context));
            }
            let outcome = send(&args, flavour);
            let line = summary(&outcome, (step.note)(&outcome));
            println!(
                "   {:<9} {line}  ({} ms)",
                name(flavour),
                outcome.elapsed.as_millis()
            );
            results.push(line);
        }
        if results[0] != results[1] {
            println!("   the clients disagree");
            agreed = false;
        }
    }
    agreed
}

/// Parses `args` as the command line would be, and sends it with `flavour`.
fn send(args: &[String], flavour: Flavour) -> Outcome {
    let line = std::iter::once("duet".to_owned()).chain(args.iter().cloned());
    let parsed = Args::try_parse_from(line).expect("the demo's command lines are valid");
    let url = parsed.url.clone().expect("every step has a URL");
    let mut spec = RequestSpec::from_args(&parsed, &url).expect("the demo's requests are valid");
    spec.flavour = flavour;
    perform(&spec, parsed.fail, &mut Output::memory())
}

/// `200 OK`, with the redirects before it (`302 → 200 OK`), or the error; then the note.
fn summary(outcome: &Outcome, note: String) -> String {
    let mut line = String::new();
    if let Some(info) = &outcome.response {
        for hop in info.history() {
            line += &format!("{} → ", hop.status.as_u16());
        }
        line += &info.status().to_string();
    }
    match (&outcome.error, &outcome.response) {
        (Some(error), Some(_)) => line += &format!(", error {}", error.kind),
        (Some(error), None) => line += &format!("error {}: {}", error.kind, error.message),
        (None, _) => {}
    }
    if !note.is_empty() {
        line += &format!(" · {note}");
    }
    line
}

/// The command as a reader would type it: the jar as `jar.json`, the upload as `beach.png`,
/// the CSRF token as `"$CSRF"`, quoted for a POSIX shell.
fn shown(args: &[String], context: &Context) -> String {
    let csrf = context.csrf();
    let dir = format!("{}/", context.dir.display());
    args.iter()
        .map(|arg| {
            let arg = arg.replace(&context.jar(), "jar.json").replace(&dir, "");
            match arg.strip_suffix(&csrf) {
                Some(field) if !csrf.is_empty() => format!("{field}\"$CSRF\""),
                _ => quote(&arg),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn quote(arg: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c);
    if arg.chars().all(plain) {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', r"'\''"))
    }
}

fn name(flavour: Flavour) -> &'static str {
    match flavour {
        Flavour::Blocking => "blocking",
        Flavour::Async => "async",
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// The body as text (empty when there is none).
fn text(outcome: &Outcome) -> String {
    String::from_utf8_lossy(outcome.body.as_deref().unwrap_or_default()).into_owned()
}

fn cookie_names(outcome: &Outcome) -> String {
    let names: Vec<&str> = outcome.cookies.iter().map(|c| c.name.as_str()).collect();
    names.join(", ")
}

/// The file the multipart step uploads: a PNG signature and some bytes.
fn upload(dir: &Path) -> PathBuf {
    let path = dir.join("beach.png");
    if !path.exists() {
        let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
        bytes.extend((0..1000u32).map(|i| (i * 7) as u8));
        std::fs::write(&path, bytes).expect("the demo's directory is writable");
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote("-f"), "-f");
        assert_eq!(
            quote("http://127.0.0.1:80/a?next=/"),
            "'http://127.0.0.1:80/a?next=/'"
        );
        assert_eq!(quote("Referer: x"), "'Referer: x'");
        assert_eq!(quote("it's"), r"'it'\''s'");
    }
}
