//! The answers the server sends: a finished [`Reply`] and the response body type, complete or
//! truncated (half of it, then a dropped connection).

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use hyper::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use serde_json::Value;
use std::borrow::Cow;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a truncated answer waits after its first half before the connection is dropped
/// (lets the half reach the socket first).
const TRUNCATE_GRACE: Duration = Duration::from_millis(50);

/// The response body: complete, or half of it followed by a dropped connection.
pub(crate) enum FakeBody {
    Full(Option<Bytes>),
    Truncated {
        first: Option<Bytes>,
        kill: Option<Arc<Notify>>,
    },
}

impl Body for FakeBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            FakeBody::Full(b) => Poll::Ready(b.take().map(|b| Ok(Frame::data(b)))),
            FakeBody::Truncated { first, kill } => {
                if let Some(b) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(b))));
                }
                if let Some(kill) = kill.take() {
                    tokio::spawn(async move {
                        tokio::time::sleep(TRUNCATE_GRACE).await;
                        kill.notify_one();
                    });
                }
                // Never completes: the connection is dropped instead.
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, FakeBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            FakeBody::Full(Some(b)) => SizeHint::with_exact(b.len() as u64),
            FakeBody::Full(None) => SizeHint::with_exact(0),
            FakeBody::Truncated { .. } => SizeHint::default(),
        }
    }
}

/// The content type of JSON answers.
const JSON: &str = "application/json; charset=utf-8";

/// A content type as a header value (an unusable one, refused when a fault is scripted, falls
/// back to JSON).
fn content_type_header(ct: &str) -> HeaderValue {
    HeaderValue::from_str(ct).unwrap_or(HeaderValue::from_static(JSON))
}

/// A finished answer before it becomes a hyper response.
pub(crate) struct Reply {
    pub status: u16,
    pub content_type: Cow<'static, str>,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Reply {
    pub fn json(status: u16, body: &Value) -> Reply {
        Reply {
            status,
            content_type: Cow::Borrowed(JSON),
            headers: Vec::new(),
            body: Bytes::from(body.to_string()),
        }
    }

    /// Exactly this status and body; `content_type` `None` = JSON.
    pub fn canned(status: u16, content_type: Option<&str>, body: String) -> Reply {
        Reply {
            status,
            content_type: content_type.map_or(Cow::Borrowed(JSON), |ct| Cow::Owned(ct.to_string())),
            headers: Vec::new(),
            body: Bytes::from(body),
        }
    }

    pub fn html(status: u16, title: &str) -> Reply {
        Reply {
            status,
            content_type: Cow::Borrowed("text/html; charset=utf-8"),
            headers: Vec::new(),
            body: Bytes::from(format!(
                "<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n\
                 <center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n\
                 </body>\r\n</html>\r\n"
            )),
        }
    }

    pub fn into_response(self) -> Response<FakeBody> {
        let mut resp = Response::new(FakeBody::Full(Some(self.body)));
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        resp.headers_mut()
            .insert(CONTENT_TYPE, content_type_header(&self.content_type));
        for (name, value) in self.headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                resp.headers_mut().insert(name, v);
            }
        }
        resp
    }

    /// Announces the full length, sends the first half, then drops the connection.
    pub fn into_truncated(self, kill: Arc<Notify>) -> Response<FakeBody> {
        let full = self.body.len();
        let half = self.body.slice(..full / 2);
        let mut resp = Response::new(FakeBody::Truncated {
            first: Some(half),
            kill: Some(kill),
        });
        *resp.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::OK);
        resp.headers_mut()
            .insert(CONTENT_TYPE, content_type_header(&self.content_type));
        resp.headers_mut()
            .insert(CONTENT_LENGTH, HeaderValue::from(full));
        resp
    }
}
