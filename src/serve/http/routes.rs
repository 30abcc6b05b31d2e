//! What each request is answered: the metrics path (auth first, then the latest frame's text
//! in the format the `Accept` header asks for), `/` (a page linking it), `/healthz` (200 while
//! frames are fresh, 503 saying why not), 404 for any other path, 405 for a method but GET and
//! HEAD, 413 for a request carrying a body.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::body::{Body, Bytes, Frame, SizeHint};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::App;
use crate::serve::latest::Health;
use crate::serve::metrics::{Format, encode_tail};

/// Largest request body accepted unread, bytes: no endpoint takes one.
const MAX_BODY_BYTES: u64 = 0;

/// A response body made of a few shared chunks (a frame's cached text, then the scrape's
/// tail): nothing is copied per scrape.
#[derive(Debug, Default)]
pub struct Chunks(VecDeque<Bytes>);

impl Chunks {
    fn text(text: impl Into<String>) -> Chunks {
        Chunks(VecDeque::from([Bytes::from(text.into())]))
    }
}

impl Body for Chunks {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        Poll::Ready(self.0.pop_front().map(|chunk| Ok(Frame::data(chunk))))
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.0.iter().map(|c| c.len() as u64).sum())
    }
}

fn plain(status: StatusCode, text: impl Into<String>) -> Response<Chunks> {
    let mut text = text.into();
    text.push('\n');
    let mut response = Response::new(Chunks::text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The answer to `request`.
pub async fn answer<B>(request: Request<B>, app: &App) -> Response<Chunks> {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD");
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    let body_length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let chunked = request.headers().contains_key(header::TRANSFER_ENCODING);
    if chunked || body_length.is_some_and(|n| n > MAX_BODY_BYTES) {
        let mut response = plain(StatusCode::PAYLOAD_TOO_LARGE, "no request body is accepted");
        // The body is not read: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }
    let path = request.uri().path();
    if path == app.metrics_path {
        return metrics(&request, app).await;
    }
    match path {
        "/" => index(app),
        "/healthz" => match app.latest.health() {
            Health::Fresh(why) => plain(StatusCode::OK, why),
            Health::Stale(why) => plain(StatusCode::SERVICE_UNAVAILABLE, why),
        },
        _ => plain(
            StatusCode::NOT_FOUND,
            format!("not found; metrics are at {}", app.metrics_path),
        ),
    }
}

fn index(app: &App) -> Response<Chunks> {
    // The metrics path is checked at start to hold only [A-Za-z0-9/._-]: nothing to escape.
    let page = format!(
        "<!doctype html>\n<html><head><title>isotop</title></head><body>\n\
         <h1>isotop serve</h1>\n<p>Container metrics of this host, OpenMetrics and Prometheus \
         text: <a href=\"{path}\">{path}</a>. Health: <a href=\"/healthz\">/healthz</a>.</p>\n\
         </body></html>\n",
        path = app.metrics_path
    );
    let mut response = Response::new(Chunks::text(page));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    response
}

async fn metrics<B>(request: &Request<B>, app: &App) -> Response<Chunks> {
    if let Some(token) = &app.token {
        let given = request.headers().get(header::AUTHORIZATION);
        if !token.admits(given.map(HeaderValue::as_bytes)) {
            let mut response = plain(StatusCode::UNAUTHORIZED, "a bearer token is required");
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"isotop\""),
            );
            return response;
        }
    }
    let Some(current) = app.latest.current() else {
        let why = match app.latest.health() {
            Health::Fresh(why) | Health::Stale(why) => why,
        };
        return plain(StatusCode::SERVICE_UNAVAILABLE, why);
    };
    let accept = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let format = Format::negotiate(accept);
    let Some(text) = app.latest.text(&current, format).await else {
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the frame could not be encoded (a bug in isotop; please report it)",
        );
    };
    let tail = Bytes::from(encode_tail(current.age().as_secs_f64(), format));
    let mut response = Response::new(Chunks(VecDeque::from([text, tail])));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    response
}
