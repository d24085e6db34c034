//! The accept loop: serves each connection with hyper's HTTP/1 server, so that an answer
//! marked [`AbortConnection`] closes the connection without a response.

use std::pin::pin;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::{service_fn, Service};
use hyper::Request;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};

use crate::faults::AbortConnection;

/// Accepts connections until `stop` fires (or its sender is dropped), then stops listening and
/// lets every open connection finish its request in flight and close.
pub(crate) async fn run(listener: TcpListener, app: Router, mut stop: oneshot::Receiver<()>) {
    let (closing, closing_rx) = watch::channel(false);
    loop {
        let accepted = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((stream, _)) => {
                tokio::spawn(connection(stream, app.clone(), closing_rx.clone()));
            }
            Err(e) => {
                // Out of descriptors or an aborted handshake: wait a little and go on.
                tracing::debug!("sandbox: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    }
    drop(listener);
    let _ = closing.send(true);
}

/// Serves one connection; shuts it down gracefully once `closing` turns true.
async fn connection(stream: TcpStream, app: Router, mut closing: watch::Receiver<bool>) {
    if let Err(e) = stream.set_nodelay(true) {
        tracing::debug!("sandbox: cannot set TCP_NODELAY: {e}");
    }
    let app = TowerToHyperService::new(app);
    let service = service_fn(move |request: Request<Incoming>| {
        let answer = app.call(request);
        async move {
            let response = answer.await.unwrap_or_else(|never| match never {});
            if response.extensions().get::<AbortConnection>().is_some() {
                // hyper closes the connection without writing anything when the service fails.
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "sandbox fault: connection reset before the response",
                ));
            }
            Ok(response)
        }
    });
    let mut conn = pin!(http1::Builder::new()
        // As with `axum::serve`: no timer, so no header read timeout.
        .header_read_timeout(None)
        .serve_connection(TokioIo::new(stream), service));
    let mut shutting_down = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!("sandbox: connection ended: {e}");
                }
                break;
            }
            _ = closing.wait_for(|closing| *closing), if !shutting_down => {
                shutting_down = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}
