//! The client's calls, one function per command. Each returns what the server answered;
//! the binary (src/bin/client.rs) decides what to print.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::codec::CompressionEncoding;
use tonic::metadata::errors::InvalidMetadataValue;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status};

use crate::pb::link_service_client::LinkServiceClient;
use crate::pb::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
};

/// The generated client, over a tonic `Channel` (one HTTP/2 connection), with every request
/// passing through [`Outgoing`] on its way out.
pub type Client = LinkServiceClient<InterceptedService<Channel, Outgoing>>;

/// What every call carries: the key, and a deadline as `grpc-timeout`.
#[derive(Debug, Clone)]
pub struct Outgoing {
    key: BearerKey,
    timeout: Duration,
}

impl Interceptor for Outgoing {
    fn call(&mut self, request: Request<()>) -> Result<Request<()>, Status> {
        let mut request = self.key.call(request)?;
        // The deadline goes to the server, which stops working on the call when it passes.
        request.set_timeout(self.timeout);
        Ok(request)
    }
}

/// A client interceptor: it adds `authorization: Bearer KEY` to the metadata of every request,
/// or nothing when there is no key. Its `Debug` shows `Sensitive`, never the key.
#[derive(Debug, Clone, Default)]
pub struct BearerKey {
    value: Option<MetadataValue<Ascii>>,
}

impl BearerKey {
    /// The interceptor for `key`. A key that cannot be a header value (a newline, a non-ASCII
    /// character) is an error now, not at every call.
    pub fn new(key: Option<&str>) -> Result<BearerKey, InvalidMetadataValue> {
        let value = match key {
            Some(key) => {
                let mut value: MetadataValue<Ascii> = format!("Bearer {key}").parse()?;
                // Sensitive: HTTP/2 never puts it in its compression table, and `Debug` hides it.
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        Ok(BearerKey { value })
    }
}

impl Interceptor for BearerKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.value {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}

/// Connects to the server at `addr` (`host:port`, or a full `http://` URL), sending `key` with
/// every call, and `timeout` as every call's deadline (`grpc-timeout`). A tonic server ends a
/// call whose deadline passes with `CANCELLED` ("Timeout expired"); the channel's own timer
/// does the same, should the server not keep to the deadline.
pub async fn connect(
    addr: &str,
    timeout: Duration,
    key: BearerKey,
) -> Result<Client, tonic::transport::Error> {
    connect_with(addr, timeout, key, Transport::default()).await
}

/// NEW(lesson 16): how the client talks to the server, beyond plaintext HTTP/2.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// Speak TLS, and trust a server whose certificate this CA signed.
    pub ca: Option<Certificate>,
    /// Send requests gzipped, and ask for gzipped responses.
    pub gzip: bool,
}

/// [`connect`], over `transport`: TLS when it has a CA (`https://`), gzip when asked.
pub async fn connect_with(
    addr: &str,
    timeout: Duration,
    key: BearerKey,
    transport: Transport,
) -> Result<Client, tonic::transport::Error> {
    let scheme = if transport.ca.is_some() {
        "https"
    } else {
        "http"
    };
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("{scheme}://{addr}")
    };
    let mut endpoint = Endpoint::from_shared(url)?
        .connect_timeout(timeout)
        .timeout(timeout);
    if let Some(ca) = transport.ca {
        // The server's name to check is the URL's host: `localhost`, or an IP address.
        endpoint = endpoint.tls_config(ClientTlsConfig::new().ca_certificate(ca))?;
    }
    let channel = endpoint.connect().await?;
    let mut client = LinkServiceClient::with_interceptor(channel, Outgoing { key, timeout });
    if transport.gzip {
        client = client
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    }
    Ok(client)
}

/// One line about a link, as the client prints it.
pub fn describe(link: &Link) -> String {
    format!(
        "{} -> {} (id {}, {} clicks)",
        link.short_code, link.url, link.id, link.clicks
    )
}

pub async fn create(client: &mut Client, url: String) -> Result<Link, Status> {
    let response = client.create_link(CreateLinkRequest { url }).await?;
    Ok(response.into_inner().link.unwrap_or_default())
}

pub async fn get(client: &mut Client, short_code: String) -> Result<Link, Status> {
    let response = client.get_link(GetLinkRequest { short_code }).await?;
    Ok(response.into_inner().link.unwrap_or_default())
}

pub async fn delete(client: &mut Client, short_code: String) -> Result<(), Status> {
    client.delete_link(DeleteLinkRequest { short_code }).await?;
    Ok(())
}

/// Hands every link to `each` as the server streams it, and returns how many there were.
pub async fn list(client: &mut Client, mut each: impl FnMut(&Link)) -> Result<usize, Status> {
    let mut stream = client
        .list_links(ListLinksRequest::default())
        .await?
        .into_inner();
    let mut count = 0;
    // `message()` gives `Ok(None)` when the server ends the stream.
    while let Some(link) = stream.message().await? {
        each(&link);
        count += 1;
    }
    Ok(count)
}

/// Creates a link for every URL in one client-streaming call.
pub async fn batch_create(client: &mut Client, urls: Vec<String>) -> Result<Vec<Link>, Status> {
    let requests = urls.into_iter().map(|url| CreateLinkRequest { url });
    // Any `Stream` can be the request stream; when it ends, the server sees the end of input.
    let response = client
        .batch_create_links(tokio_stream::iter(requests))
        .await?
        .into_inner();
    Ok(response.links)
}

/// Adds `clicks` to each short code over one bidirectional stream, handing each answer to `each`
/// as it arrives: the short code, its total, and whether the server acknowledged the clicks.
pub async fn sync_clicks(
    client: &mut Client,
    short_codes: Vec<String>,
    clicks: i64,
    mut each: impl FnMut(&str, i64, bool),
) -> Result<(), Status> {
    let (tx, rx) = mpsc::channel(16);

    // Send on a task of its own, so answers are read while requests are still going out.
    tokio::spawn(async move {
        for short_code in short_codes {
            if tx.send(SyncRequest { short_code, clicks }).await.is_err() {
                return; // the call is over: nobody reads the requests any more
            }
        }
        // `tx` is dropped here. That closes our side of the stream: the server's `message()`
        // returns `Ok(None)`, it finishes, and our loop below ends too.
    });

    let mut answers = client
        .sync_clicks(ReceiverStream::new(rx))
        .await?
        .into_inner();
    while let Some(answer) = answers.message().await? {
        each(&answer.short_code, answer.total_clicks, answer.acknowledged);
    }
    Ok(())
}
