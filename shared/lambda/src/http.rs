//! The API Gateway edge: a `lambda_http` request becomes the `http::Request<Bytes>` the shared
//! webhook handlers take, and their response goes back to API Gateway. `lambda_http` has
//! already decoded a base64 body (`isBase64Encoded: true`) into `Body::Binary`, so a handler
//! always sees the exact bytes the provider sent (and signed).

use bytes::Bytes;
use lambda_http::{Body, Request, Response};

/// The raw body, whatever form API Gateway delivered it in.
pub fn to_http_request(req: Request) -> http::Request<Bytes> {
    let (parts, body) = req.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        // `Body` is `#[non_exhaustive]`: a future variant is still read as its bytes.
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    http::Request::from_parts(parts, bytes)
}

/// Our responses are JSON, so text; anything else goes back as binary.
pub fn from_http_response(res: http::Response<Bytes>) -> Response<Body> {
    let (parts, body) = res.into_parts();
    let body = match String::from_utf8(body.to_vec()) {
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.into_bytes()),
    };
    Response::from_parts(parts, body)
}
