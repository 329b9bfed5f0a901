//! The `LinkService` implementation: for now, every method says which lesson builds it.

// TODO(lesson 07): you will need more imports as you go: `HashMap` and `HashSet`, `AtomicI64`
// and `Ordering`, `Arc`, `Mutex` and `MutexGuard`, `rand::Rng`, and `Link` from `crate::pb`.
use tonic::{Request, Response, Status};

use crate::pb::link_service_server::LinkService;
use crate::pb::{
    CreateLinkRequest, CreateLinkResponse, DeleteLinkRequest, DeleteLinkResponse, GetLinkRequest,
    GetLinkResponse,
};

// TODO(lesson 07): an ALPHABET of the 36 characters [a-z0-9] and a CODE_LEN of 6.
/// Returns a random short code: six characters of `[a-z0-9]`.
pub fn short_code() -> String {
    // TODO(lesson 07): pick CODE_LEN random characters of ALPHABET with rand, and collect them.
    todo!("lesson 07: short_code")
}

/// The shortener service. It keeps no links yet: lesson 07 gives it its state.
#[derive(Debug, Default, Clone)]
pub struct LinkServer {}
// TODO(lesson 07): give LinkServer its state, shared by every call: an `Arc` around
//   - an AtomicI64, the last id handed out (the first link gets id 1), and
//   - a Mutex around the live links by short code (HashMap<String, Link>) and the set of
//     retired codes (HashSet<String>): a deleted code is never handed out again.
// Then a way to pick an unused code (a collision draws again, never overwrites), to store a new
// link, to take the lock, and to get the next id.

impl LinkServer {
    /// A server that tries `codes`, in order, before any random ones: tests use it to make
    /// two links draw the same code.
    pub fn with_codes(codes: impl IntoIterator<Item = String>) -> LinkServer {
        // TODO(lesson 07): keep `codes` in the state, in order; the code picker takes the next
        // planned code, if there is one, before it calls short_code().
        todo!(
            "lesson 07: LinkServer::with_codes, {} codes",
            codes.into_iter().count()
        )
    }
}

#[tonic::async_trait]
impl LinkService for LinkServer {
    async fn create_link(
        &self,
        _request: Request<CreateLinkRequest>,
    ) -> Result<Response<CreateLinkResponse>, Status> {
        // TODO(lesson 07): store a new link for the request's URL (exactly as sent) with the
        // next id, an unused short code and 0 clicks, and answer with it.
        Err(Status::unimplemented("CreateLink is built in lesson 07"))
    }

    async fn get_link(
        &self,
        _request: Request<GetLinkRequest>,
    ) -> Result<Response<GetLinkResponse>, Status> {
        // TODO(lesson 07): look the short code up; answer Status::not_found if it is unknown.
        Err(Status::unimplemented("GetLink is built in lesson 07"))
    }

    async fn delete_link(
        &self,
        _request: Request<DeleteLinkRequest>,
    ) -> Result<Response<DeleteLinkResponse>, Status> {
        // TODO(lesson 07): remove the link and retire its code, under one lock; answer
        // Status::not_found if the code is unknown.
        Err(Status::unimplemented("DeleteLink is built in lesson 07"))
    }
}
