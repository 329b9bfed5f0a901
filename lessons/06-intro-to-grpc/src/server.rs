//! The `LinkService` implementation: for now, every method says which lesson builds it.

/// The shortener service. It keeps no links yet: lesson 07 gives it its state.
#[derive(Debug, Default, Clone)]
pub struct LinkServer {}

// TODO(lesson 06): once proto/link.proto defines `service LinkService`, build.rs generates the
// trait `crate::pb::link_service_server::LinkService`. Implement it for LinkServer here, with
// `#[tonic::async_trait]`: each method answers `Err(Status::unimplemented("CreateLink is built
// in lesson 07"))`, with its own RPC's name (README, step 3).
