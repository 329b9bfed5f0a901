//! The client's calls, one function per command. Each returns what the server answered;
//! the binary (src/bin/client.rs) decides what to print.

use std::time::Duration;

use tonic::Status;
use tonic::transport::{Channel, Endpoint};

use crate::pb::link_service_client::LinkServiceClient;
use crate::pb::{CreateLinkRequest, DeleteLinkRequest, GetLinkRequest, Link, ListLinksRequest};

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
    // TODO(lesson 10, exercise 1): send the URLs as one BatchCreateLinks request stream, and
    // return the links created (the binary prints "created N links" and each link).
    let _ = (client, urls); // (only keeps "unused variable" warnings away until you do)
    todo!("lesson 10: client::batch_create")
}

/// Adds `clicks` to each short code over one bidirectional stream, handing each answer to `each`
/// as it arrives: the short code, its total, and whether the server acknowledged the clicks.
pub async fn sync_clicks(
    client: &mut Client,
    short_codes: Vec<String>,
    clicks: i64,
    each: impl FnMut(&str, i64, bool),
) -> Result<(), Status> {
    // TODO(lesson 10, exercise 5): open one SyncClicks call, send a SyncRequest per code (with
    // `clicks` each) while this function reads the answers, and hand each answer's code,
    // total and `acknowledged` to `each` as it arrives (the binary prints them). Requests must keep going out while answers come in,
    // however many codes there are.
    let _ = (client, short_codes, clicks, each);
    todo!("lesson 10: client::sync_clicks")
}
