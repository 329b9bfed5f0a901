//! A bare tonic `LinkService`: the yardstick of `cargo quiz load --against-bare`.
//!
//! It speaks the course's contract and does the least work tonic allows for each call, so
//! that what a shortener spends beyond it is the shortener's own cost: its validation, its
//! store, its locks, its log, its channels. It keeps nothing: CreateLink answers a link with an
//! increasing id and the URL it was sent, GetLink answers a link with the code it was asked
//! for, BatchCreateLinks reads the whole stream and answers a response of the size a real one
//! has, SyncClicks answers each request as it is read, and ListLinks streams links built once
//! at start (`--list-links N`).
//!
//! Being a yardstick, it must not be slower than it needs to be: no task or channel where a
//! stream will do (tonic's encoder then takes every message that is ready into one buffer),
//! TCP_NODELAY on every connection, a multi-threaded runtime as the shortener has.

use std::error::Error;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::task::{Context, Poll};

use clap::Parser;
use shortener_proto::link_service_server::{LinkService, LinkServiceServer};
use shortener_proto::{
    BatchCreateLinksResponse, CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest,
    DeleteLinkResponse, GetLinkRequest, GetLinkResponse, Link, ListLinksRequest, SyncRequest,
    SyncResponse,
};
use tokio::net::TcpListener;
use tokio_stream::adapters::Map;
use tokio_stream::{Stream, StreamExt};
use tonic::transport::Server;
use tonic::transport::server::TcpIncoming;
use tonic::{Request, Response, Status, Streaming};

/// Serves a LinkService that does the least work possible: a yardstick, not a shortener.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// The address to listen on. Port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    addr: SocketAddr,
    /// How many links ListLinks streams. They are built once, at start.
    #[arg(long, default_value_t = 0)]
    list_links: usize,
}

/// The URL of the links GetLink and ListLinks answer with. Its length is the length of the
/// load tool's URLs (`quiz/src/load/scenario.rs`), so both servers send as many bytes.
fn url(n: u64) -> String {
    format!("https://example.com/articles/{n:010}")
}

/// A six-character code of `[a-z0-9]` made from an id: distinct for the first 36^6 ids, and
/// no random draw, no lookup.
fn short_code(id: i64) -> String {
    const ALPHABET: &[u8; 36] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut left = id.unsigned_abs();
    let mut code = [0u8; 6];
    for byte in code.iter_mut().rev() {
        *byte = ALPHABET[(left % 36) as usize];
        left /= 36;
    }
    code.iter().map(|&byte| char::from(byte)).collect()
}

#[derive(Debug)]
struct Bare {
    last_id: AtomicI64,
    /// What ListLinks streams.
    prebuilt: Arc<[Link]>,
}

impl Bare {
    fn new(list_links: usize) -> Bare {
        let prebuilt = (1..=list_links as u64)
            .map(|n| {
                let id = n as i64;
                Link {
                    id,
                    url: url(n),
                    short_code: short_code(id),
                    clicks: 0,
                }
            })
            .collect();
        Bare {
            last_id: AtomicI64::new(0),
            prebuilt,
        }
    }

    fn link(&self, url: String) -> Link {
        let id = self.last_id.fetch_add(1, Ordering::Relaxed) + 1;
        Link {
            id,
            url,
            short_code: short_code(id),
            clicks: 0,
        }
    }
}

/// ListLinks' response: the prebuilt links, each cloned as tonic asks for it. The stream is
/// always ready, so tonic encodes as many links as fit its 32 KiB yield threshold into one
/// buffer before writing.
struct Prebuilt {
    links: Arc<[Link]>,
    next: usize,
}

impl Stream for Prebuilt {
    type Item = Result<Link, Status>;

    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let link = self.links.get(self.next).cloned();
        self.next += 1;
        Poll::Ready(link.map(Ok))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.links.len().saturating_sub(self.next);
        (left, Some(left))
    }
}

/// SyncClicks' answer to one request: acknowledged, its clicks as the total.
fn answer(request: Result<SyncRequest, Status>) -> Result<SyncResponse, Status> {
    request.map(|request| SyncResponse {
        short_code: request.short_code,
        total_clicks: request.clicks,
        acknowledged: true,
    })
}

type Answers =
    Map<Streaming<SyncRequest>, fn(Result<SyncRequest, Status>) -> Result<SyncResponse, Status>>;

#[tonic::async_trait]
impl LinkService for Bare {
    async fn create_link(
        &self,
        request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        let link = self.link(request.into_inner().url);
        Ok(Response::new(CreateLinkResponse { link: Some(link) }))
    }

    async fn get_link(
        &self,
        request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        let link = Link {
            id: 1,
            url: url(1),
            short_code: request.into_inner().short_code,
            clicks: 0,
        };
        Ok(Response::new(GetLinkResponse { link: Some(link) }))
    }

    async fn delete_link(
        &self,
        _: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        Ok(Response::new(DeleteLinkResponse {}))
    }

    type ListLinksStream = Prebuilt;

    async fn list_links(&self, _: Request<ListLinksRequest>) -> Result<Response<Prebuilt>, Status> {
        Ok(Response::new(Prebuilt {
            links: Arc::clone(&self.prebuilt),
            next: 0,
        }))
    }

    async fn batch_create_links(
        &self,
        request: Request<Streaming<CreateLinkRequest>>,
    ) -> Result<Response<BatchCreateLinksResponse>, Status> {
        let mut stream = request.into_inner();
        let mut links = Vec::new();
        while let Some(request) = stream.message().await? {
            links.push(self.link(request.url));
        }
        Ok(Response::new(BatchCreateLinksResponse {
            created_count: links.len() as i64,
            links,
        }))
    }

    type SyncClicksStream = Answers;

    async fn sync_clicks(
        &self,
        request: Request<Streaming<SyncRequest>>,
    ) -> Result<Response<Answers>, Status> {
        let answers: Answers = request.into_inner().map(answer as fn(_) -> _);
        Ok(Response::new(answers))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args = Args::parse();
    let service = Bare::new(args.list_links);
    let listener = TcpListener::bind(args.addr).await?;
    println!("bare LinkService listening on {}", listener.local_addr()?);
    let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
    Server::builder()
        .add_service(LinkServiceServer::new(service))
        .serve_with_incoming(incoming)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_six_characters_and_differ_by_id() {
        assert_eq!(short_code(0), "aaaaaa");
        assert_eq!(short_code(1), "aaaaab");
        assert_eq!(short_code(36), "aaaaba");
        assert_ne!(short_code(12_345), short_code(12_346));
        assert_eq!(short_code(i64::MAX).len(), 6);
    }
}
