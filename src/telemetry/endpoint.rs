//! The `/metrics` endpoint: a minimal HTTP/1.1 responder on tokio.
//!
//! A full HTTP server was not worth its dependencies for one read-only page that
//! only Prometheus fetches: this reads one request head, answers it and closes
//! the connection. Anything but `GET /metrics` gets a 404.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use metrics_exporter_prometheus::PrometheusHandle;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head read; a scraper sends a few hundred bytes.
const MAX_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// Time a client gets to send its request head, so an idle connection cannot pin
/// a task forever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How often histograms are folded so that scrapes stay cheap.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Binds `address` and returns the bound address and the task serving it. The task
/// runs until the runtime shuts down.
pub async fn serve(
    address: SocketAddr,
    handle: PrometheusHandle,
) -> io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        let mut upkeep = tokio::time::interval(UPKEEP_INTERVAL);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let handle = handle.clone();
                        tokio::spawn(async move {
                            if let Err(e) = answer(stream, &handle).await {
                                tracing::debug!(error = %e, "Metrics request failed.");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "Metrics endpoint could not accept.");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = upkeep.tick() => handle.run_upkeep(),
            }
        }
    });
    Ok((bound, task))
}

async fn answer(mut stream: TcpStream, handle: &PrometheusHandle) -> io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, read_head(&mut stream, &mut head)).await;
    if !matches!(read, Ok(Ok(()))) {
        return Ok(());
    }

    let request_line = head
        .split(|&b| b == b'\r' || b == b'\n')
        .next()
        .unwrap_or_default();
    let mut parts = request_line.split(|&b| b == b' ');
    let (method, target) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();

    let (status, body) = if method == b"GET" && path == b"/metrics" {
        ("200 OK", handle.render())
    } else {
        ("404 Not Found", "Not found; try /metrics\n".to_owned())
    };
    let header = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(header.as_bytes()).await?;
    stream.write_all(body.as_bytes()).await?;
    stream.shutdown().await
}

/// Reads until the blank line that ends a request head.
async fn read_head(stream: &mut TcpStream, head: &mut Vec<u8>) -> io::Result<()> {
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        head.extend_from_slice(&chunk[..n]);
        if memchr::memmem::find(head, b"\r\n\r\n").is_some()
            || memchr::memmem::find(head, b"\n\n").is_some()
        {
            return Ok(());
        }
        if head.len() > MAX_REQUEST_HEAD_BYTES {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "request head too large",
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn get(address: SocketAddr, request: &str) -> String {
        let mut stream = TcpStream::connect(address).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn answers_metrics_and_refuses_the_rest() {
        // A recorder of its own, not installed: the test only needs its handle.
        let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("endpoint_test_total").increment(3);
        });

        let (address, task) = serve("127.0.0.1:0".parse().unwrap(), handle).await.unwrap();
        let ok = get(address, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(ok.starts_with("HTTP/1.1 200 OK\r\n"), "{ok}");
        assert!(ok.contains("endpoint_test_total 3"), "{ok}");

        let missing = get(address, "GET / HTTP/1.1\r\n\r\n").await;
        assert!(missing.starts_with("HTTP/1.1 404"), "{missing}");
        let post = get(address, "POST /metrics HTTP/1.1\r\n\r\n").await;
        assert!(post.starts_with("HTTP/1.1 404"), "{post}");
        task.abort();
    }
}
