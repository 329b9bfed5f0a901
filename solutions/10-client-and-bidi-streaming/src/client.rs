//! The client's calls, one function per command. Each returns what the server answered;
//! the binary (src/bin/client.rs) decides what to print.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;
use tonic::transport::{Channel, Endpoint};

use crate::pb::link_service_client::LinkServiceClient;
use crate::pb::{
    CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest, SyncRequest,
};

/// The generated client, over a tonic `Channel` (one HTTP/2 connection).
pub type Client = LinkServiceClient<Channel>;

/// Connects to the server at `addr` (`host:port`, or a full `http://` URL). Every call made
/// through the returned client gives up with `CANCELLED` ("Timeout expired") if the server has
/// not started to answer within `timeout`.
pub async fn connect(addr: &str, timeout: Duration) -> Result<Client, tonic::transport::Error> {
    let url = if addr.contains("://") {
        addr.to_string()
    } else {
        format!("http://{addr}")
    };
    let channel = Endpoint::from_shared(url)?
        .connect_timeout(timeout)
        .timeout(timeout)
        .connect()
        .await?;
    Ok(LinkServiceClient::new(channel))
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
    let mut stream = client.list_links(ListLinksRequest {}).await?.into_inner();
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
