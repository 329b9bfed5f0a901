//! What the client binary does, one function per command. Each prints what it got back.

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

/// One line about a link, as `get` and `list` print it.
pub fn describe(link: &Link) -> String {
    format!(
        "{} -> {} (id {}, {} clicks)",
        link.short_code, link.url, link.id, link.clicks
    )
}

pub async fn create(client: &mut Client, url: String) -> Result<Link, Status> {
    let response = client.create_link(CreateLinkRequest { url }).await?;
    let link = response.into_inner().link.unwrap_or_default();
    println!("created {} -> {}", link.short_code, link.url);
    Ok(link)
}

pub async fn get(client: &mut Client, short_code: String) -> Result<Link, Status> {
    let response = client.get_link(GetLinkRequest { short_code }).await?;
    let link = response.into_inner().link.unwrap_or_default();
    println!("{}", describe(&link));
    Ok(link)
}

pub async fn delete(client: &mut Client, short_code: String) -> Result<(), Status> {
    client
        .delete_link(DeleteLinkRequest {
            short_code: short_code.clone(),
        })
        .await?;
    println!("deleted {short_code}");
    Ok(())
}

/// Prints every link as the server streams it, and returns how many there were.
pub async fn list(client: &mut Client) -> Result<usize, Status> {
    let mut stream = client.list_links(ListLinksRequest {}).await?.into_inner();
    let mut count = 0;
    // `message()` gives `Ok(None)` when the server ends the stream.
    while let Some(link) = stream.message().await? {
        println!("{}", describe(&link));
        count += 1;
    }
    println!("{count} links");
    Ok(count)
}

/// Creates a link for every URL in one client-streaming call.
pub async fn batch_create(client: &mut Client, urls: Vec<String>) -> Result<Vec<Link>, Status> {
    // TODO(lesson 10, exercise 1): send the URLs as one BatchCreateLinks request stream, then
    // print "created N links" and "  CODE -> URL" for each link created, and return the links.
    let _ = (client, urls); // (only keeps "unused variable" warnings away until you do)
    todo!("lesson 10: client::batch_create")
}

/// Adds `clicks` to each short code over one bidirectional stream, printing each answer as it
/// arrives.
pub async fn sync_clicks(
    client: &mut Client,
    short_codes: Vec<String>,
    clicks: i64,
) -> Result<(), Status> {
    // TODO(lesson 10, exercise 5): open one SyncClicks call, send a SyncRequest per code (with
    // `clicks` each) while this function reads the answers, and print
    // "synced CODE: total=N ack=BOOL" for each answer as it arrives. Requests must keep going
    // out while answers come in, however many codes there are.
    let _ = (client, short_codes, clicks);
    todo!("lesson 10: client::sync_clicks")
}

// NEW(lesson 10): the demo is given. It calls the two functions above, which you write.
/// The lesson's flow: create three links in one batch, then sync ten clicks to each of them
/// and to a code that does not exist.
pub async fn demo(client: &mut Client) -> Result<(), Status> {
    let urls = [
        "https://example.com/article-one",
        "https://example.com/article-two",
        "https://example.com/article-three",
    ];
    // NEW(lesson 10): batch-create the three links, then sync their codes and one unknown code.
    let created = batch_create(client, Vec::from(urls.map(String::from))).await?;

    let mut short_codes: Vec<String> = created.into_iter().map(|link| link.short_code).collect();
    short_codes.push("nonexistent".to_string());
    sync_clicks(client, short_codes, 10).await
}
