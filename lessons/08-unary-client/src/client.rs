//! The client's calls, one function per command. Each returns what the server answered;
//! the binary (src/bin/client.rs) decides what to print.

// TODO(lesson 08): this whole file is yours to fill in. You will need more imports as you go:
// `Endpoint` from `tonic::transport`, and the request messages from `crate::pb`.
use std::time::Duration;

use tonic::Status;
use tonic::transport::Channel;

use crate::pb::Link;
use crate::pb::link_service_client::LinkServiceClient;

/// The generated client, over a tonic `Channel` (one HTTP/2 connection).
pub type Client = LinkServiceClient<Channel>;

/// Connects to the server at `addr` (`host:port`, or a full `http://` URL). Every call made
/// through the returned client gives up with `CANCELLED` ("Timeout expired") if the server has
/// not started to answer within `timeout`.
pub async fn connect(addr: &str, timeout: Duration) -> Result<Client, tonic::transport::Error> {
    // TODO(lesson 08): exercise 1 first: make `addr` a URL, with `http://` in front unless it
    // has a scheme already. Then build the `Endpoint` as step 1 of the lesson shows: a connect
    // timeout, a timeout for every call, connect, and wrap the channel in a `LinkServiceClient`.
    let _ = (addr, timeout); // (only keeps "unused variable" warnings away until you do)
    todo!("lesson 08: client::connect")
}

/// One line about a link, as the client prints it.
pub fn describe(link: &Link) -> String {
    format!(
        "{} -> {} (id {}, {} clicks)",
        link.short_code, link.url, link.id, link.clicks
    )
}

pub async fn create(client: &mut Client, url: String) -> Result<Link, Status> {
    // TODO(lesson 08): step 2 of the lesson: call CreateLink and return the link it made.
    let _ = (client, url);
    todo!("lesson 08: client::create")
}

pub async fn get(client: &mut Client, short_code: String) -> Result<Link, Status> {
    // TODO(lesson 08): exercise 2. Call GetLink and return the link.
    let _ = (client, short_code);
    todo!("lesson 08: client::get")
}

pub async fn delete(client: &mut Client, short_code: String) -> Result<(), Status> {
    // TODO(lesson 08): exercise 2. Call DeleteLink; `Ok(())` once the server has deleted it.
    let _ = (client, short_code);
    todo!("lesson 08: client::delete")
}
