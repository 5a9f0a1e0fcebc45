//! The SONAR agent's collection core: pure Rust, no Node. Collectors read the kernel's files,
//! keep per-cache-time baselines and produce the Beszel v0.17 CombinedData, encoded as CBOR
//! exactly as the Go agent encodes it.
#![deny(clippy::all)]

pub mod agent;
pub mod baselines;
pub mod cache;
pub mod collect;
pub mod deflate;
pub mod delta;
pub mod files;
pub mod filter;
pub mod fnv;
pub mod glob;
pub mod json;
pub mod metrics;
pub mod model;
pub mod probe;
pub mod resident;
pub mod roots;
pub mod service_control;
pub mod settings;
pub mod sha256;
#[cfg(test)]
mod test_tree;
pub mod units;
pub mod value;
pub mod warnings;

pub use agent::{Agent, Answer, CollectInput, DataRequest};
pub use cache::Payload;
pub use model::dialect::Dialect;
pub use settings::{SettingError, Settings};
pub use value::{Key, Value};
