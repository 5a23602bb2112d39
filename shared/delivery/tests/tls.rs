//! HTTPS: a perk delivered to an `https://` endpoint (a TLS server in the test, with a
//! certificate made by rcgen for `localhost`) through the adapters' rustls client (*ring*),
//! trusting the test's own root; the public-roots client refuses that certificate (so the
//! certificate is checked, and the request did go over TLS).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use common::{TestClock, fulfiler, row, stored};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use saguaro_app::fulfil::{Deliveries, Done};
use saguaro_delivery::http;
use saguaro_delivery::perk::PerkRewards;
use saguaro_delivery::signing::SigningKey;
use saguaro_domain::Provider;
use saguaro_domain::program::RewardKind;
use saguaro_embedded::EmbeddedStore;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// What the TLS server received: (headers, body) per request.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// An HTTPS server on `localhost` answering 204 to `POST /hooks`; returns its port, the
/// certificate to trust, and what it receives.
async fn tls_server() -> (u16, CertificateDer<'static>, Received) {
    let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert = made.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(made.signing_key.serialize_der()));
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let received: Received = Arc::default();
    let app = Router::new()
        .route(
            "/hooks",
            post(
                |State(r): State<Received>, headers: HeaderMap, body: Bytes| async move {
                    r.lock().unwrap().push((headers, body));
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .with_state(received.clone());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, app) = (acceptor.clone(), app.clone());
            tokio::spawn(async move {
                // A client that refuses the certificate ends the handshake: nothing to serve.
                if let Ok(tls) = acceptor.accept(tcp).await {
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), TowerToHyperService::new(app))
                        .await;
                }
            });
        }
    });
    (port, cert, received)
}

#[tokio::test]
async fn when_a_perk_url_is_https_then_it_is_delivered_over_tls_signed() {
    let (port, cert, received) = tls_server().await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let perk = PerkRewards::with_client(
        http::client_trusting(roots).unwrap(),
        Arc::new(|name| (name == "PERK_ACME").then(|| SECRET.to_owned())),
    );
    let deliveries = Deliveries {
        perk: Some(Arc::new(perk)),
        ..Deliveries::default()
    };
    let mut r = row(Provider::Stripe, RewardKind::Perk);
    r.url = Some(format!("https://localhost:{port}/hooks"));
    r.secret = Some("PERK_ACME".to_owned());
    r.value = None;
    r.quantity = 1;
    let store = Arc::new(EmbeddedStore::new());
    let clock = TestClock::at("2026-05-01T12:00:01Z");
    let at = stored(&store, r).await;

    let done = fulfiler(&store, deliveries, &clock)
        .fulfil(&at)
        .await
        .unwrap();

    assert_eq!(done, Done::Delivered(Some("HTTP 204".into())));
    let received = received.lock().unwrap();
    assert_eq!(received.len(), 1, "one POST over TLS");
    let (headers, body) = &received[0];
    let h = |n: &str| headers.get(n).unwrap().to_str().unwrap().to_owned();
    assert_eq!(h("webhook-id"), "stripe:cus_1/7");
    let expected = SigningKey::from_secret(SECRET).unwrap().sign(
        &h("webhook-id"),
        h("webhook-timestamp").parse().unwrap(),
        body,
    );
    assert_eq!(h("webhook-signature"), expected);
}

#[tokio::test]
async fn when_the_certificate_is_not_from_a_public_root_then_the_public_client_refuses_it() {
    let (port, _cert, received) = tls_server().await;

    let err = http::client()
        .unwrap()
        .post(format!("https://localhost:{port}/hooks"))
        .send()
        .await
        .expect_err("a self-signed certificate is not trusted");

    assert!(err.is_connect(), "a connect (TLS) error: {err:?}");
    let chain = format!("{err:?}");
    assert!(
        chain.contains("UnknownIssuer"),
        "the certificate was checked and refused: {chain}"
    );
    assert!(
        received.lock().unwrap().is_empty(),
        "no request went through"
    );
}
