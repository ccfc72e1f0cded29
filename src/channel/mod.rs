//! Entangled port pairs: the thread-safe heart of `MessageChannel`, with no V8 handles inside.
//!
//! A pair has two ends. Each end owns the queue of messages posted *to* it, its state (pending,
//! started, closed) and the name of its holder: the event loop (one per context) that holds the
//! end's JS `MessagePort` and runs its tasks, under the key the holder knows it by. An end whose
//! port is being transferred has no holder; its queue waits in the pair, and the holder that
//! adopts it finds its messages there, in order.
//!
//! Posting appends to the peer's queue and, when the peer is started, wakes the peer's holder
//! with one [`Wake::Message`] task per message; closing wakes both holders with
//! [`Wake::Close`]. A task only says "deliver the next message of this port": the message stays
//! in its queue until it is delivered, so a task that finds its port gone or moved does nothing.
//!
//! Messages are [`Message`]s: V8's serializer output (the only form that crosses isolates), or
//! a copy made in the receiving isolate and kept there ([`Payload::Local`]), which the core only
//! accepts for an end held by that very isolate. Functions that take messages out of a queue
//! return them, so that nothing is dropped while a pair's lock is held (a message can carry
//! ports, whose drop locks their own pairs). Ends in transit inside each other's queues, which
//! no holder can reach, are closed as soon as a message closes the cycle ([`transit`]).

mod message;
mod pair;
mod transit;

pub(crate) use message::{LocalKey, Message, Payload, Serialized};
pub(crate) use pair::{Holder, HolderId, PeerPlace, Posted, Sender, Wake, new_holder_id};
pub use pair::{Port, entangled_pair};
