//! Building requests: URL and query, headers, bodies, per-request settings.

use std::time::Duration;

use duet_core::client::{Error, IntoUrl, Timeouts};
use duet_core::{Headers, Method, Url};

use crate::body::Body;
use crate::client::Client;
use crate::multipart::Form;
use crate::response::Response;

/// A request that can be inspected, changed, and sent with [`Client::execute`].
#[derive(Debug)]
pub struct Request {
    method: Method,
    url: Url,
    headers: Headers,
    body: Body,
    timeouts: Option<Timeouts>,
}

impl Request {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Request {
            method,
            url,
            headers: Headers::new(),
            body: Body::empty(),
            timeouts: None,
        }
    }

    /// The method.
    pub fn method(&self) -> &Method {
        &self.method
    }

    /// The URL, query included.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL, to change it.
    pub fn url_mut(&mut self) -> &mut Url {
        &mut self.url
    }

    /// The request's own headers (the client's defaults are added when it is sent).
    pub fn headers(&self) -> &Headers {
        &self.headers
    }

    /// The headers, to change them.
    pub fn headers_mut(&mut self) -> &mut Headers {
        &mut self.headers
    }

    /// The body.
    pub fn body(&self) -> &Body {
        &self.body
    }

    /// Replaces the body.
    pub fn set_body(&mut self, body: impl Into<Body>) {
        self.body = body.into();
    }

    /// The timeouts for this request, if they differ from the client's.
    pub fn timeouts(&self) -> Option<&Timeouts> {
        self.timeouts.as_ref()
    }

    pub(crate) fn into_parts(self) -> (duet_core::client::Request, Body) {
        let mut core = duet_core::client::Request::new(self.method, self.url);
        core.headers = self.headers;
        core.body = self.body.plan();
        core.timeouts = self.timeouts;
        (core, self.body)
    }
}

/// Builds a [`Request`]; errors (a bad URL or header) surface when it is built or sent.
#[derive(Debug)]
#[must_use = "a request builder does nothing until it is sent"]
pub struct RequestBuilder {
    client: Client,
    request: Result<Request, Error>,
}

impl RequestBuilder {
    pub(crate) fn new(client: Client, method: Method, url: impl IntoUrl) -> Self {
        let request = url.into_url().map(|url| Request::new(method, url));
        RequestBuilder { client, request }
    }

    fn with(mut self, change: impl FnOnce(&mut Request) -> Result<(), Error>) -> Self {
        if let Ok(request) = &mut self.request
            && let Err(e) = change(request)
        {
            self.request = Err(e);
        }
        self
    }

    /// Appends a header (repeats are kept, case as given).
    pub fn header(self, name: impl AsRef<[u8]>, value: impl AsRef<[u8]>) -> Self {
        self.with(|r| Ok(r.headers.append(name, value)?))
    }

    /// Appends several headers.
    pub fn headers<N: AsRef<[u8]>, V: AsRef<[u8]>>(
        self,
        headers: impl IntoIterator<Item = (N, V)>,
    ) -> Self {
        self.with(|r| {
            for (name, value) in headers {
                r.headers.append(name, value)?;
            }
            Ok(())
        })
    }

    /// Appends query parameters; repeated keys are kept.
    pub fn query<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        self.with(|r| {
            duet_core::append_query(
                &mut r.url,
                pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())),
            );
            Ok(())
        })
    }

    /// Sets the body: bytes, text, a file, or a [`Body::from_reader`] or
    /// [`Body::from_stream`] stream.
    pub fn body(self, body: impl Into<Body>) -> Self {
        self.with(|r| {
            r.body = body.into();
            Ok(())
        })
    }

    /// An `application/x-www-form-urlencoded` body; repeated keys are kept.
    pub fn form<K: AsRef<str>, V: AsRef<str>>(self, pairs: &[(K, V)]) -> Self {
        self.with(|r| {
            let encoded =
                duet_core::urlencoded(pairs.iter().map(|(k, v)| (k.as_ref(), v.as_ref())));
            set_content_type(&mut r.headers, duet_core::FORM_CONTENT_TYPE)?;
            r.body = Body::from(encoded);
            Ok(())
        })
    }

    /// A JSON body.
    #[cfg(feature = "json")]
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        self.with(|r| {
            let bytes = serde_json::to_vec(value)
                .map_err(|e| Error::new(duet_core::client::ErrorKind::Body, e))?;
            set_content_type(&mut r.headers, "application/json")?;
            r.body = Body::from(bytes);
            Ok(())
        })
    }

    /// A `multipart/form-data` body, streamed.
    pub fn multipart(self, form: Form) -> Self {
        self.with(|r| {
            r.headers.insert("Content-Type", form.content_type())?;
            r.body = Body::multipart(form);
            Ok(())
        })
    }

    /// A total deadline for this request.
    pub fn timeout(self, timeout: Duration) -> Self {
        let mut timeouts = self.client.config().timeouts;
        self.with(|r| {
            timeouts.total = Some(timeout);
            r.timeouts = Some(timeouts);
            Ok(())
        })
    }

    /// Timeouts for this request, replacing the client's.
    pub fn timeouts(self, timeouts: Timeouts) -> Self {
        self.with(|r| {
            r.timeouts = Some(timeouts);
            Ok(())
        })
    }

    /// The request, for inspection before [`Client::execute`].
    pub fn build(self) -> Result<Request, Error> {
        self.request
    }

    /// Sends the request and returns the response once its head has arrived.
    pub async fn send(self) -> Result<Response, Error> {
        let request = self.request?;
        self.client.execute(request).await
    }
}

fn set_content_type(headers: &mut Headers, value: &str) -> Result<(), Error> {
    if !headers.contains("content-type") {
        headers.append("Content-Type", value)?;
    }
    Ok(())
}
