//! What the client binary does, one function per command. Each prints what it got back.

// TODO(lesson 08): this whole file is yours to fill in. You will need more imports as you go:
// `Endpoint` from `tonic::transport`, `Code` from `tonic`, and the request messages from
// `crate::pb`.
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
    // TODO(lesson 08): put `http://` in front of `addr` unless it has a scheme already, build an
    // `Endpoint` with a connect timeout and a timeout for every call, connect, and wrap the
    // channel in a `LinkServiceClient`.
    let _ = (addr, timeout); // (only keeps "unused variable" warnings away until you do)
    todo!("lesson 08: client::connect")
}

/// One line about a link, as `get` prints it.
pub fn describe(link: &Link) -> String {
    format!(
        "{} -> {} (id {}, {} clicks)",
        link.short_code, link.url, link.id, link.clicks
    )
}

pub async fn create(client: &mut Client, url: String) -> Result<Link, Status> {
    // TODO(lesson 08): call CreateLink, print "created CODE -> URL", return the link.
    let _ = (client, url);
    todo!("lesson 08: client::create")
}

pub async fn get(client: &mut Client, short_code: String) -> Result<Link, Status> {
    // TODO(lesson 08): call GetLink, print the link with `describe`, return it.
    let _ = (client, short_code);
    todo!("lesson 08: client::get")
}

pub async fn delete(client: &mut Client, short_code: String) -> Result<(), Status> {
    // TODO(lesson 08): call DeleteLink, then print "deleted CODE".
    let _ = (client, short_code);
    todo!("lesson 08: client::delete")
}

/// The lesson's flow: create a link, read it back, delete it, and show that it is gone.
pub async fn demo(client: &mut Client) -> Result<(), Status> {
    // TODO(lesson 08): create https://example.com/article-one, get it, delete it, and get it
    // again: that last call must fail with NOT_FOUND; print it as
    // "get after delete: NotFound: MESSAGE" and return Ok(()).
    let _ = client;
    todo!("lesson 08: client::demo")
}
